"""A Cassandra Notify entry read by the real config loader: the Go keys, ours, and each mistake named by its path."""

from __future__ import annotations

from typing import Any

import pytest

from tracker.config import ConfigError, from_mapping
from tracker.sinks.cassandra.settings import CassandraSettings


def settings(**keys: Any) -> CassandraSettings:
    config = from_mapping({"Notify": [{"Service": "cassandra", **keys}]})
    (entry,) = config.notify
    assert isinstance(entry, CassandraSettings)
    return entry


def test_a_go_entry_loads_with_our_defaults() -> None:
    entry = settings(
        Hosts=["10.0.0.1", "10.0.0.2:19042"],
        Context="sfpla",
        Username="tracker",
        Password="secret",
        CACert="/etc/ca.pem",
        Cert="/etc/client.pem",
        Key="/etc/client.key",
        Secure=True,
        Timeout=2000,
        Retries=2,
        Prune=[{"Table": "events", "TTL": 86400, "ClearAll": True}],
    )
    assert entry.hosts == ("10.0.0.1", "10.0.0.2:19042") and entry.context == "sfpla"
    assert entry.tls and entry.secure and entry.timeout_ms == 2000 and entry.retries == 2
    assert entry.consistency == "LOCAL_ONE" and entry.schema == "auto"  # Go wrote at LOCAL_ONE
    assert dict(entry.replication) == {"class": "SimpleStrategy", "replication_factor": 1}
    assert entry.prune[0].clear_all


def test_our_keys_for_consistency_data_centre_replication_and_batches() -> None:
    entry = settings(
        Consistency="local_quorum",
        LocalDC="dc1",
        Replication={"class": "NetworkTopologyStrategy", "dc1": 3},
        BatchRows=10,
        BatchBytes=4096,
        InFlight=8,
        Schema="manual",
    )
    assert entry.consistency == "local_quorum" and entry.local_dc == "dc1"
    assert entry.replication["dc1"] == 3 and entry.batch_rows == 10 and entry.in_flight == 8


def test_go_connections_is_accepted_with_a_warning_as_the_driver_multiplexes() -> None:
    config = from_mapping({"Notify": [{"Service": "cassandra", "Connections": 8}]})
    assert "Notify[0].Connections" in config.unsupported


@pytest.mark.parametrize(
    ("keys", "path", "message"),
    [
        ({"Consistency": "SERIAL"}, "Notify[0].Consistency", "for lightweight transactions only"),
        ({"Consistency": "MOST"}, "Notify[0].Consistency", '"MOST" is not one of ANY, ONE'),
        ({"Hosts": ["db:90420"]}, "Notify[0].Hosts", '"db:90420" is not host or host:port'),
        ({"Context": "my-keyspace"}, "Notify[0].Context", "is not a keyspace name"),
        ({"Cert": "/etc/c.pem"}, "Notify[0].Cert", "Cert and Key go together"),
        ({"Replication": {"dc1": 3}}, "Notify[0].Replication", 'needs a "class"'),
        ({"BatchRows": 0}, "Notify[0].BatchRows", "must be at least 1"),
        ({"Timeout": "5s"}, "Notify[0].Timeout", "expected an integer"),
        ({"Keyspace": "x"}, "Notify[0].Keyspace", "unknown key"),
        ({"Consistancy": "ONE"}, "Notify[0].Consistancy", 'did you mean "Consistency"'),
    ],
)
def test_mistakes_are_named_by_their_key_path(keys: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(**keys)
    assert raised.value.path.startswith(path), str(raised.value)
    assert message in str(raised.value)
