"""Debian's `pebble` ACME test server on free loopback ports, validating HTTP-01 against a given port."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness import free_port, wait_until


@dataclass
class Pebble:
    directory_url: str
    management_url: str
    ca_bundle: Path  # verifies pebble's own HTTPS endpoints
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def issuing_root(self) -> str:
        """The root pebble issues under (it makes a new one each start)."""
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        return httpx.get(self.management_url + "/roots/0", verify=context, timeout=5).text


@pytest.fixture
def pebble_for(tmp_path: Path, test_certs: Path) -> Iterator[Callable[[int], Pebble]]:
    """Start pebble with its HTTP-01 validation pointed at `http_port` (the tracker's plain port)."""
    binary = shutil.which("pebble")
    if binary is None:
        pytest.skip("pebble is not installed (make test installs Debian's pebble)")
    started: list[Pebble] = []

    def start(http_port: int) -> Pebble:
        port, management = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{port}",
                "managementListenAddress": f"127.0.0.1:{management}",
                "certificate": str(test_certs / "localhost.pem"),
                "privateKey": str(test_certs / "localhost.key"),
                "httpPort": http_port,
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        path = tmp_path / "pebble.json"
        path.write_text(json.dumps(config))
        # real validation; no random nonce rejections; a valid authorization is always reused (the renewal path)
        env = {
            **os.environ,
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_VA_ALWAYS_VALID": "0",
            "PEBBLE_WFE_NONCEREJECT": "0",
            "PEBBLE_AUTHZREUSE": "100",
        }
        log_path = tmp_path / "pebble.log"
        log = log_path.open("ab")
        process = subprocess.Popen([binary, "-config", str(path)], env=env, stdout=log, stderr=log)
        pebble = Pebble(
            f"https://127.0.0.1:{port}/dir", f"https://127.0.0.1:{management}", test_certs / "ca.pem", process, log_path
        )
        context = ssl.create_default_context(cafile=str(pebble.ca_bundle))
        wait_until(
            lambda: httpx.get(pebble.directory_url, verify=context, timeout=1).status_code == 200, 20, what="pebble"
        )
        started.append(pebble)
        return pebble

    yield start
    for pebble in started:
        pebble.process.terminate()
        pebble.process.wait(10)
