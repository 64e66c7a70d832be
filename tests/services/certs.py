"""Fresh test certificates (a CA, two localhost server certificates) made by .setup/certs/make_test_certs.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.harness import ROOT


def make_test_certs(directory: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_test_certs", ROOT / ".setup" / "certs" / "make_test_certs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make(directory)
    return directory


@pytest.fixture(scope="session")
def test_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_certs(tmp_path_factory.mktemp("certs"))
