from __future__ import annotations

import shutil

import pytest

from tests.cps.harness import CpsBuilder


@pytest.fixture(scope="session")
def builder(tmp_path_factory: pytest.TempPathFactory) -> CpsBuilder:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    return CpsBuilder(tmp_path_factory.mktemp("cps"))
