"""`tracker --check-config` on a Cassandra entry, in a real process: ok with the driver, and without it (the
driver hidden from the interpreter) one line saying which extra to install, exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT

HIDE_DRIVER = "import sys; sys.modules['cassandra'] = None; from tracker.cli import main; sys.exit(main(sys.argv[1:]))"
ENTRY = {"Service": "cassandra", "Hosts": ["127.0.0.1:9042"], "Context": "tracker"}


def check(config: Path, *prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *prefix, "--check-config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"Notify": [ENTRY]}))
    return config


def test_check_config_passes_with_the_driver_installed(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = check(config, "-m", "tracker")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{config}: ok"


def test_check_config_without_the_driver_says_which_extra_to_install_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = check(config, "-c", HIDE_DRIVER)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f'{config}: Notify[0].Service: sink "cassandra" is not available here: '
        "cassandra-driver is not installed; pip install 'tracker[cassandra]'"
    ]


def test_a_disabled_cassandra_entry_needs_no_driver(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"Notify": [{**ENTRY, "Service": "cassandra_"}]}))
    done = check(config, "-c", HIDE_DRIVER)
    assert done.returncode == 0, done.stderr
