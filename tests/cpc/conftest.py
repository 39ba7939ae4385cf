from __future__ import annotations

import shutil

import pytest

from tests.cps.harness import CpsBuilder


@pytest.fixture(scope="session")
def cpc_builder(tmp_path_factory: pytest.TempPathFactory) -> CpsBuilder:
    """Translate + compile (-Wall -Wextra -Werror) + link against the cpc runtime, or natively."""
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    return CpsBuilder(tmp_path_factory.mktemp("cpc-regressions"))
