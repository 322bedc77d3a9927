"""The seed letter leaves through the VXP hub double (its own process) and its statuses come back."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from directive_testing import Actors, Api, Clock
from fastapi import FastAPI
from sqlalchemy import select, text

from common.db import create_sessionmaker
from common.edxml import (
    OrganIdFormat,
    Organization,
    ResponseFor,
    build_document_package,
    build_status_package,
    classify_organ_id,
    make_document_package,
    make_status_package,
    parse_document_package,
    parse_status_package,
)
from common.edxml.signature import verify_package
from common.pdf.dev_pki import ensure_dev_pki
from common.vxp.client import VxpClient
from common.vxp.hub import HubProcess
from directive_api.exchange import transport
from directive_api.exchange.models import ExchangeOutbox
from directive_api.main import create_app
from directive_api.orgs.models import Unit
from directive_api.pdfs.service import PdfContext
from directive_api.settings import ExchangeSettings, Settings, VxpSettings

OFFICE = "000.00.01.H13"
SNV = Organization(organ_id="000.00.02.H13", organ_name="Sở Nội vụ")
OURS = ResponseFor(organ_id=OFFICE, code="01/VPUB-TTĐH", document_id=f"{OFFICE},2026/11/27,01/VPUB-TTĐH")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    double = HubProcess(
        tmp_path,
        {
            "agencies": [
                {"system_id": "vxp.vpub", "secret": "office-secret", "organ_ids": [OFFICE]},
                {"system_id": "vxp.snv", "secret": "snv-secret", "organ_ids": [SNV.organ_id]},
            ]
        },
    )
    double.start()
    yield double
    double.stop()


@pytest.fixture
async def office(settings: Settings, clock: Clock, hub: HubProcess) -> AsyncIterator[FastAPI]:
    vxp = VxpSettings(base_url=hub.url, system_id="vxp.vpub", secret="office-secret", max_attempts=2)  # type: ignore[arg-type]
    application = create_app(settings.model_copy(update={"exchange": ExchangeSettings(vxp=vxp)}), clock=clock)
    yield application
    await application.state.engine.dispose()


def _status(code: str, minute: int) -> bytes:
    package = make_status_package(
        sender=SNV, document=OURS, status_code=code, timestamp=datetime(2026, 11, 28, 9, minute)
    )
    return build_status_package(package)


async def _outbox(app: FastAPI) -> list[ExchangeOutbox]:
    async with create_sessionmaker(app.state.engine)() as session:
        return list((await session.scalars(select(ExchangeOutbox).order_by(ExchangeOutbox.id))).all())


async def test_the_seed_letter_goes_out_and_its_statuses_and_reply_come_back(
    office: FastAPI, hub: HubProcess, actors: Actors, letter: dict[str, Any], clock: Clock, pki_dir: Path
) -> None:
    asgi = httpx.ASGITransport(app=office, raise_app_exceptions=False)
    async with (
        httpx.AsyncClient(transport=asgi, base_url="http://directive-api.test") as client,
        httpx.AsyncClient(timeout=30) as http,
    ):
        api = Api(client, actors)
        issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
        doc = await api.advance(issued, "dispatch", actors.clerk)
        pdf: PdfContext = office.state.pdf
        hub_office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        department = VxpClient(hub.url, "vxp.snv", "snv-secret", http)

        async def step() -> transport.Round:
            return await transport.step(office.state.sessionmaker, hub_office, pdf, now=clock())

        first = await step()
        assert (first.enqueued, first.sent, first.failed) == (1, 1, 0)
        (row,) = await _outbox(office)
        assert (row.state, row.kind, row.attempts) == ("sent", "document", 1)
        assert row.hub_doc_id is not None
        async with office.state.engine.connect() as connection:
            out = await connection.execute(
                text("SELECT kind, summary FROM exchange_packages WHERE direction = 'out' ORDER BY id")
            )
            assert [tuple(r) for r in out] == [("document", f"{OFFICE},2026/11/27,01/VPUB-TTĐH")]  # recorded once

        # The department's system finds the letter at the hub: 130 organ ids, sealed by the Office.
        (waiting,) = await department.received("edoc")
        assert waiting.sender == OFFICE
        raw = await department.fetch(waiting.doc_id)
        package = parse_document_package(raw)
        organs = [r.organ_id for r in package.header.recipients]
        assert len(set(organs)) == 130
        assert all(classify_organ_id(o) is OrganIdFormat.QCVN_102 for o in organs)
        # Sealed with the Office's own development seal, which names the unit as the directory does.
        async with create_sessionmaker(office.state.engine)() as session:
            office_unit = await session.get(Unit, "VPUB")
        assert office_unit is not None
        pki = ensure_dev_pki(pki_dir)
        seal_p12, _image = pki.seal_for("VPUB", office_unit.name)
        _key, seal_cert, _chain = pkcs12.load_key_and_certificates(seal_p12.read_bytes(), pki.passphrase)
        assert seal_cert is not None
        verify_package(raw, certificate=seal_cert)
        await department.acknowledge(waiting.doc_id, "done")
        sent_rows = await hub_office.sent(row.hub_doc_id)
        assert len(sent_rows) == 130
        assert {r.receive_status for r in sent_rows if r.to_code == SNV.organ_id} == {"done"}

        # Once per package: another round sends nothing again.
        again = await step()
        assert (again.enqueued, again.sent) == (0, 0)
        assert len(await hub_office.sent(row.hub_doc_id)) == 130

        # Its statuses come back out of order and twice; the delivery ends at 06.
        packages = [_status("01", 0), _status("03", 5), _status("06", 30)]
        for body in [*random.Random(18).sample(packages, 3), packages[1]]:
            await department.send(body, sender=SNV.organ_id, message_type="status")
        polled = await step()
        assert (polled.applied, polled.refused) == (4, 0)
        assert await hub_office.received("status") == []  # acknowledged
        recipients = (await client.get(f"/v1/directives/{doc['id']}/recipients", headers=actors.clerk)).json()
        snv = next(i for i in recipients["items"] if i["unit_code"] == "SNV")
        assert snv["status"] == "06"
        async with office.state.engine.connect() as connection:
            kept = await connection.execute(
                text("SELECT count(*) FROM exchange_packages WHERE direction = 'in' AND kind = 'status'")
            )
            assert kept.scalar_one() == 3  # the repeated 03 is recorded once

        # The department replies to the letter; the reply is linked to its delivery.
        header = package.header.model_copy(
            update={
                "sender": SNV,
                "recipients": (package.header.sender,),
                "subject": "Báo cáo kết quả theo dõi, chia sẻ Kênh thông tin chính thức",
                "document_id": f"{SNV.organ_id},2026/12/01,15/BC-SNV",
                "response_for": (OURS,),
            }
        )
        reply = build_document_package(make_document_package(header))
        await department.send(reply, sender=SNV.organ_id, message_type="edoc")
        linked = await step()
        assert linked.applied == 1
        async with office.state.engine.connect() as connection:
            reply_id = (
                await connection.execute(text("SELECT reply_package_id FROM deliveries WHERE unit_code = 'SNV'"))
            ).scalar_one()
            assert reply_id is not None

        # The Office answers the reply with its own 01 (arrived) and 03 (registered), sealed, once each.
        answered = await step()
        assert answered.sent == 2
        assert (await step()).sent == 0
        answers = await department.received("status")
        assert {item.sender for item in answers} == {OFFICE}
        codes = []
        for item in answers:
            raw_status = await department.fetch(item.doc_id)
            verify_package(raw_status, certificate=seal_cert)
            status = parse_status_package(raw_status)
            assert status.sender.organ_id == OFFICE
            assert [r.document_id for r in status.response_for] == [f"{SNV.organ_id},2026/12/01,15/BC-SNV"]
            codes.append(status.status_code)
        assert sorted(codes) == ["01", "03"]


async def test_a_package_the_hub_cannot_take_is_retried_then_dead_lettered(
    office: FastAPI, hub: HubProcess, actors: Actors, letter: dict[str, Any], clock: Clock
) -> None:
    asgi = httpx.ASGITransport(app=office, raise_app_exceptions=False)
    async with (
        httpx.AsyncClient(transport=asgi, base_url="http://directive-api.test") as client,
        httpx.AsyncClient(timeout=5) as http,
    ):
        api = Api(client, actors)
        issued = await api.advance(await api.approved(letter), "issue", actors.clerk)
        await api.advance(issued, "dispatch", actors.clerk)
        hub_office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        pdf: PdfContext = office.state.pdf
        hub.stop()
        maker = office.state.sessionmaker
        async with maker() as session, session.begin():
            await transport.enqueue(session, now=clock())
        sent, failed = await transport.send_due(maker, hub_office, pdf, now=clock())
        assert (sent, failed) == (0, 1)
        (row,) = await _outbox(office)
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.last_error is not None and "ConnectError" in row.last_error
        assert row.next_attempt_at > clock()
        # Not due yet: nothing is tried.
        assert await transport.send_due(maker, hub_office, pdf, now=clock()) == (0, 0)
        later = clock() + timedelta(hours=1)
        assert await transport.send_due(maker, hub_office, pdf, now=later) == (0, 1)
        (row,) = await _outbox(office)
        assert (row.state, row.attempts) == ("dead", 2)  # max_attempts=2

        # A package that cannot be built is dead at once, with the units to fix.
        async with office.state.engine.begin() as connection:
            await connection.execute(text("UPDATE units SET organ_id = NULL WHERE code = 'SYT'"))
            await connection.execute(text("DELETE FROM exchange_outbox"))
        hub.start()
        assert await transport.send_due(maker, hub_office, pdf, now=later) == (0, 0)
        async with maker() as session, session.begin():
            assert await transport.enqueue(session, now=later) == 1
        assert await transport.send_due(maker, hub_office, pdf, now=later) == (0, 1)
        (row,) = await _outbox(office)
        assert (row.state, row.attempts) == ("dead", 1)
        assert row.last_error is not None and "SYT" in row.last_error
