"""A department's own copy receives a letter through the VXP hub double (its own process) and answers
the sender with its status packages: 01 on arrival, 03 when its officer acknowledges in report-api,
06 when the unit reports; each once, signed with the unit's seal, never backwards."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.serialization import pkcs12
from directive_testing import Clock
from exchange_testing import OFFICE, SNV, hub_clients, letter, report_api_event
from fastapi import FastAPI
from sqlalchemy import select, text

from common.db import create_sessionmaker
from common.edxml import (
    Code,
    DocumentType,
    MessageHeader,
    Organization,
    PromulgationInfo,
    build_document_package,
    make_document_package,
    parse_status_package,
)
from common.edxml.signature import verify_package
from common.pdf.dev_pki import ensure_dev_pki
from common.vxp.client import VxpClient
from common.vxp.hub import HubProcess
from directive_api.events.models import OutboxEvent
from directive_api.exchange import transport
from directive_api.exchange.models import ExchangeOutbox, ReceivedDocument
from directive_api.orgs.models import Unit

STP = "000.00.03.H13"
DOCUMENT_ID = f"{OFFICE.organ_id},2026/12/01,07/VPUB-TTĐH"


def letter_to_both() -> tuple[bytes, str]:
    return letter("07", also=(Organization(organ_id=STP),))


async def _codes(office: VxpClient) -> list[str]:
    """The status packages waiting for the Office: their codes, checked and acknowledged."""
    codes = []
    for item in await office.received("status"):
        package = parse_status_package(await office.fetch(item.doc_id))
        assert item.sender == SNV
        assert package.sender.organ_id == SNV
        assert [r.document_id for r in package.response_for] == [DOCUMENT_ID]
        codes.append(package.status_code)
        await office.acknowledge(item.doc_id, "done")
    return sorted(codes)


async def test_a_received_letter_is_answered_01_then_03_then_06_once_each(
    department: FastAPI, hub: HubProcess, clock: Clock, pki_dir: Path
) -> None:
    async with hub_clients(department, hub) as (client, office, snv):
        maker = department.state.sessionmaker

        async def step() -> transport.Round:
            return await transport.step(maker, snv, department.state.pdf, now=clock())

        package, _ = letter_to_both()
        await office.send(package, sender=OFFICE.organ_id, message_type="edoc")
        first = await step()
        assert (first.applied, first.refused) == (1, 0)
        assert await snv.received("edoc") == []  # acknowledged done
        async with create_sessionmaker(department.state.engine)() as session:
            (received,) = (await session.scalars(select(ReceivedDocument))).all()
            assert (received.unit_code, received.sender_unit_code, received.status) == ("SNV", "VPUB", "01")
            assert (received.notation, received.due_date) == ("07/VPUB-TTĐH", date(2026, 12, 15))
            (event,) = (await session.scalars(select(OutboxEvent).where(OutboxEvent.subject == str(received.id)))).all()
            assert event.type == "directive.dispatched"
            assert event.data["addressees"] == [
                {"unit_code": "SNV", "unit_name": "Sở Nội vụ", "group_code": "department", "must_act": True}
            ]
            assert event.data["directive"]["compliance"] == {"due_date": "2026-12-15"}
            unit = await session.get(Unit, "SNV")
            assert unit is not None
        received_id = str(received.id)

        # The next round sends our 01, sealed with Sở Nội vụ's seal.
        assert (await step()).sent == 1
        (waiting,) = await office.received("status")
        raw = await office.fetch(waiting.doc_id)
        pki = ensure_dev_pki(pki_dir)
        seal_p12, _image = pki.seal_for("SNV", unit.name)
        _key, seal_cert, _chain = pkcs12.load_key_and_certificates(seal_p12.read_bytes(), pki.passphrase)
        assert seal_cert is not None
        verify_package(raw, certificate=seal_cert)
        assert await _codes(office) == ["01"]

        # The same letter delivered again is recorded once and answered once.
        await office.send(package, sender=OFFICE.organ_id, message_type="edoc")
        again = await step()
        assert (again.applied, again.sent) == (1, 0)
        assert (await step()).sent == 0

        # The officer acknowledges (03) and reports (06) in report-api; events come twice and late.
        assert await report_api_event(client, "evt-1", "obligation.acknowledged", received_id, 1)
        assert await report_api_event(client, "evt-2", "obligation.submitted", received_id, 2)
        assert not await report_api_event(client, "evt-3", "obligation.acknowledged", received_id, 3)  # 06 said already
        assert not await report_api_event(client, "evt-4", "obligation.accepted", received_id, 4)
        assert (await step()).sent == 2
        assert (await step()).sent == 0
        assert await _codes(office) == ["03", "06"]

        # An event about a document that is neither ours nor received changes nothing.
        assert not await report_api_event(
            client, "evt-5", "obligation.acknowledged", "9" * 8 + "-0000-4000-8000-" + "0" * 12, 5
        )
        async with department.state.engine.connect() as connection:
            rows = await connection.execute(
                select(ExchangeOutbox.package_key, ExchangeOutbox.state).order_by(ExchangeOutbox.id)
            )
            assert [tuple(r) for r in rows] == [(f"status:{received_id}:{code}", "sent") for code in ("01", "03", "06")]
            kept = await connection.execute(
                text("SELECT status_code FROM exchange_packages WHERE direction = 'out' ORDER BY id")
            )
            assert [r[0] for r in kept] == ["01", "03", "06"]
            status = await connection.execute(select(ReceivedDocument.status))
            assert status.scalar_one() == "06"


async def test_a_letter_for_a_unit_that_is_not_ours_is_refused(
    department: FastAPI, hub: HubProcess, clock: Clock
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        snv = VxpClient(hub.url, "vxp.snv", "snv-secret", http)
        header = MessageHeader(
            sender=OFFICE,
            recipients=(Organization(organ_id=SNV),),
            document_id=DOCUMENT_ID,
            code=Code(code_number="07", code_notation="VPUB-TTĐH"),
            promulgation_info=PromulgationInfo(place="Cần Thơ", promulgation_date=date(2026, 12, 1)),
            document_type=DocumentType(type=1, type_detail=0, type_name="Công văn"),
            subject="V/v thử",
        )
        letter = build_document_package(make_document_package(header))
        await office.send(letter, sender=OFFICE.organ_id, message_type="edoc")
        # The hub delivers it to Sở Nội vụ, but this copy's directory gives SNV's organ id to no unit.
        async with department.state.sessionmaker() as session, session.begin():
            unit = await session.get(Unit, "SNV")
            assert unit is not None
            unit.organ_id = None
        polled = await transport.step(department.state.sessionmaker, snv, department.state.pdf, now=clock())
        assert (polled.applied, polled.refused) == (0, 1)
        assert await snv.received("edoc") == []  # acknowledged fail, not left to come back forever
        async with department.state.engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM received_documents"))).scalar_one() == 0
            assert (await connection.execute(text("SELECT count(*) FROM exchange_outbox"))).scalar_one() == 0
