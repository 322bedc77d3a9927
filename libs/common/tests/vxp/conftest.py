from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vxp_testing import AGENCIES

from common.vxp.hub import HubProcess


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    """The hub double as its own process, with the Office and Sở Nội vụ as members."""
    process = HubProcess(tmp_path, AGENCIES)
    process.start()
    yield process
    process.stop()
