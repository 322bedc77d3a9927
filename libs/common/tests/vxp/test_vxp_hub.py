"""The VXP client and the hub double, each in its own process, over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import httpx
import pytest
from vxp_testing import OFFICE, SNV

from common.edxml import (
    Organization,
    ResponseFor,
    build_document_package,
    build_status_package,
    make_status_package,
    parse_document_package,
    parse_status_package,
)
from common.vxp import VxpError, VxpUnreachable, hash_file
from common.vxp.client import VxpClient
from common.vxp.hub import HubProcess
from common.vxp.protocol import sign_headers

STP = "000.00.03.H13"  # addressed, but no member system polls for it here
SAMPLES = Path(__file__).resolve().parents[1] / "edxml" / "samples"


def _letter() -> bytes:
    """The vendor's sample document, sent by the Office to two departments."""
    sample = parse_document_package((SAMPLES / "edoc_new.edxml").read_bytes())
    header = sample.header.model_copy(
        update={
            "sender": Organization(organ_id=OFFICE, organ_name="Văn phòng UBND thành phố Cần Thơ"),
            "recipients": (
                Organization(organ_id=SNV, organ_name="Sở Nội vụ"),
                Organization(organ_id=STP, organ_name="Sở Tư pháp"),
            ),
            "document_id": None,
        }
    )
    return build_document_package(sample.model_copy(update={"header": header}))


def _status(code: str) -> bytes:
    reference = ResponseFor(organ_id=OFFICE, code="01/VPUB-TTĐH", document_id=f"{OFFICE},2026/11/27,01/VPUB-TTĐH")
    package = make_status_package(
        sender=Organization(organ_id=SNV, organ_name="Sở Nội vụ"),
        document=reference,
        status_code=code,
        timestamp=datetime(2026, 11, 28, 9, 0),
    )
    return build_status_package(package)


@contextlib.asynccontextmanager
async def _http(kind: str) -> AsyncIterator[aiohttp.ClientSession | httpx.AsyncClient]:
    """The worker's client (aiohttp) or the tests' (httpx): the client speaks the same over both."""
    if kind == "aiohttp":
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            yield session
    else:
        async with httpx.AsyncClient(timeout=10) as client:
            yield client


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
async def test_a_letter_its_status_and_acknowledgements_go_through_the_hub(hub: HubProcess, kind: str) -> None:
    async with _http(kind) as http:
        office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        snv = VxpClient(hub.url, "vxp.snv", "snv-secret", http)
        letter = _letter()
        doc_id = await office.send(letter, sender=OFFICE, message_type="edoc")
        assert len(doc_id) == 24 and int(doc_id, 16) >= 0

        (waiting,) = await snv.received("edoc")
        assert (waiting.sender, waiting.recipient, waiting.message_type) == (OFFICE, SNV, "edoc")
        assert waiting.doc_id != doc_id  # the receiver's copy has its own id
        assert await snv.received("status") == []
        assert await office.received("edoc") == []  # nothing for the sender
        assert await snv.fetch(waiting.doc_id) == letter
        with pytest.raises(VxpError, match="404"):
            await office.fetch(waiting.doc_id)  # not addressed to the Office
        await snv.acknowledge(waiting.doc_id, "done")
        assert await snv.received("edoc") == []

        rows = {row.to_code: row for row in await office.sent(doc_id)}
        assert set(rows) == {SNV, STP}
        assert (rows[SNV].receive_status, rows[STP].receive_status) == ("done", "pending")

        status = _status("03")
        await snv.send(status, sender=SNV, message_type="status")  # routed by its ResponseFor
        (back,) = await office.received("status")
        assert (back.sender, back.recipient) == (SNV, OFFICE)
        assert await office.fetch(back.doc_id) == status

    # The store survives a restart of the hub.
    hub.stop()
    hub.start()
    async with _http(kind) as http:
        office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        assert [k.doc_id for k in await office.received("status")] == [back.doc_id]


async def test_an_unreachable_hub_is_a_vxp_error_on_aiohttp() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with _http("aiohttp") as http:
        office = VxpClient(f"http://127.0.0.1:{port}", "vxp.vpub", "office-secret", http)
        with pytest.raises(VxpUnreachable, match="getReceivedEdocList") as raised:
            await office.received("status")
    assert isinstance(raised.value, VxpError) and raised.value.error_code is None


async def test_the_hub_refuses_bad_signatures_foreign_senders_and_changed_headers(hub: HubProcess) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        wrong = VxpClient(hub.url, "vxp.snv", "not-the-secret", http)
        with pytest.raises(VxpError, match="401"):
            await wrong.received("edoc")
        snv = VxpClient(hub.url, "vxp.snv", "snv-secret", http)
        with pytest.raises(VxpError, match="khong dung voi ma da dang ky"):
            await snv.send(_letter(), sender=OFFICE, message_type="edoc")  # the Office's organ id
        with pytest.raises(VxpError, match="400"):
            await snv.acknowledge("00000000-0000-0000-0000-000000000000", "archived")

        # The SDK's own wire form: a signed call whose header is changed on the way is refused.
        data = _letter()
        logical = {
            "systemid": "vxp.vpub",
            "from": OFFICE,
            "servicetype": "eDoc",
            "messagetype": "edoc",
            "hash-file": hash_file(data),
            "timestamp": "02122026T093635+0677",
            "Content-Type": "application/octet-stream",
        }
        headers = sign_headers(logical, "office-secret") | {"Content-Type": "application/octet-stream"}
        ok = await http.post(f"{hub.url}/sendEdoc", content=data + b"\r\n", headers=headers)
        assert ok.status_code == 200
        assert ok.json()["status"] == "OK"
        changed = await http.post(
            f"{hub.url}/sendEdoc", content=data + b"\r\n", headers=headers | {"XroadVnpt-messagetype": "status"}
        )
        assert changed.json()["status"] == "FAIL"
        assert changed.json()["DocId"] == ""
        bad_hash = await http.post(f"{hub.url}/sendEdoc", content=data[:-5] + b"\r\n", headers=headers)
        assert (bad_hash.json()["status"], bad_hash.json()["ErrorCode"]) == ("FAIL", "400")
        # One package waits for Sở Nội vụ: the refused calls created none.
        assert len(await snv.received("edoc")) == 1
        count = await http.post(
            f"{hub.url}/countReceiveEdoc",
            headers=sign_headers(
                {"systemid": "vxp.snv", "timestamp": "x", "Content-Type": "application/json"}, "snv-secret"
            ),
        )
        assert count.json()["count"] == 1


async def test_concurrent_sends_and_acknowledgements_all_survive_a_restart(hub: HubProcess) -> None:
    """Calls arriving together share one journal fsync (group commit): each is still on disk before
    it is answered, so a restart finds every package and every acknowledgement that was answered."""
    codes = ("01", "02", "03", "04", "05", "06", "13", "15", "16")
    async with httpx.AsyncClient(timeout=30) as http:
        office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        snv = VxpClient(hub.url, "vxp.snv", "snv-secret", http)
        await asyncio.gather(*(snv.send(_status(code), sender=SNV, message_type="status") for code in codes))
        waiting = await office.received("status")
        assert len(waiting) == len(codes)
        done, kept = waiting[: len(codes) // 2 + 1], waiting[len(codes) // 2 + 1 :]
        await asyncio.gather(*(office.acknowledge(item.doc_id, "done") for item in done))
        assert [k.doc_id for k in await office.received("status")] == [k.doc_id for k in kept]

    hub.stop()
    hub.start()
    async with httpx.AsyncClient(timeout=10) as http:
        office = VxpClient(hub.url, "vxp.vpub", "office-secret", http)
        assert [k.doc_id for k in await office.received("status")] == [k.doc_id for k in kept]
        fetched = {parse_status_package(await office.fetch(k.doc_id)).status_code for k in kept}
        assert len(fetched) == len(kept)  # each kept knobstick still serves its own package
