"""A department's own copy of the product and the VXP hub double it is a member of (its own process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from directive_testing import Clock
from exchange_testing import INBOX_SECRET, OFFICE, SNV, STRANGER
from fastapi import FastAPI
from pydantic import SecretStr

from common.vxp.hub import HubProcess
from directive_api.main import create_app
from directive_api.settings import ExchangeSettings, Settings, VxpSettings


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    double = HubProcess(
        tmp_path,
        {
            "agencies": [
                {"system_id": "vxp.vpub", "secret": "office-secret", "organ_ids": [OFFICE.organ_id]},
                {"system_id": "vxp.snv", "secret": "snv-secret", "organ_ids": [SNV]},
                {"system_id": "vxp.xa", "secret": "xa-secret", "organ_ids": [STRANGER.organ_id]},
            ]
        },
    )
    double.start()
    yield double
    double.stop()


@pytest.fixture
async def department(settings: Settings, clock: Clock, hub: HubProcess) -> AsyncIterator[FastAPI]:
    """Sở Nội vụ's own copy of the product: a member of the hub as ``vxp.snv``."""
    vxp = VxpSettings(base_url=hub.url, system_id="vxp.snv", secret=SecretStr("snv-secret"), max_attempts=2)
    configured = settings.model_copy(
        update={"exchange": ExchangeSettings(vxp=vxp), "inbox_secrets": [SecretStr(INBOX_SECRET)]}
    )
    application = create_app(configured, clock=clock)
    yield application
    await application.state.engine.dispose()
