"""A local double of a VXP hub: its own process, a file store, the vendor SDK's wire protocol.

For tests and ``make run`` only — it stands in for the national exchange, which cannot be reached
from here. What it does follows the protocol reference (docs/exchange.md): members are known by
``systemId`` and secret and serve one or more organ ids; every call's HMAC is checked over the
received sign-header string; ``/sendEdoc`` fans a document out to its ``To`` organ ids (a status
package to its ``to`` header, else its ``ResponseFor`` organ id), one knobstick each, kept until the
addressee acknowledges it with ``done`` or ``fail``. Answers are always HTTP 200 with the JSON
envelope (``status``, ``ErrorCode``, ``ErrorDesc``) and ASCII-only descriptions, as the SDK expects.

Run: ``python -m common.vxp.hub --port 8010 --store var/vxp --agencies agencies.json`` where the
agencies file is ``{"agencies": [{"system_id", "secret", "organ_ids": [...], "name"}]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.edxml import EdxmlError, parse_package, status_routing
from common.edxml.models import DocumentPackage
from common.vxp.protocol import ACK_STATUSES, HASH_HEADER, MESSAGE_TYPES, PREFIX, SIGN_HEADER, hash_file, hmac_hex

OK = {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thanh cong"}
COMMIT_DELAY = 0.002
"""Seconds a group commit of the journal waits for more calls to join it."""
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Agency:
    system_id: str
    secret: str
    organ_ids: tuple[str, ...]
    name: str = ""


@dataclass
class Item:
    """A knobstick: one package for one addressee."""

    doc_id: str
    sender_doc_id: str
    message_type: str
    sender: str
    recipient: str
    sha256: str
    status: str = "pending"
    created_time: str = ""
    updated_time: str = ""


@dataclass
class State:
    items: list[Item] = field(default_factory=list)


class HubError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Hub:
    """The hub's state on disk: ``packages.pack`` and ``journal.jsonl``.

    Packages are appended to one pack file, each kept once (by SHA-256); the journal is appended to
    (one line per package stored — its place in the pack —, per new knobstick and per status
    change) and replayed at start, so a call costs the same however many packages the hub holds.
    A call is answered only once its lines are on disk: the pack, then the journal, are synced
    (the package before the line that names it). The calls that arrive while one sync runs, or
    within :data:`COMMIT_DELAY`, share the next one (group commit, off the event loop). One file
    per package, each created between two journal syncs, cost a busy double most of its CPU in
    the file system (docs/benchmarks.md); a store of an earlier version (``packages/<sha256>.edxml``)
    is still read."""

    def __init__(self, store: Path, agencies: list[Agency]) -> None:
        self.store = store
        store.mkdir(parents=True, exist_ok=True)
        self._legacy_store = (store / "packages").is_dir()  # an earlier version's file per package
        self.agencies = {a.system_id: a for a in agencies}
        self.state = State()
        self.by_id: dict[str, Item] = {}
        self.by_recipient: dict[str, list[Item]] = {}
        # Knobsticks not yet acknowledged ``done``/``fail``, per recipient, in arrival order: what an
        # inbox lists, without walking everything the hub ever held.
        self.waiting: dict[str, dict[str, Item]] = {}
        self.pending: list[tuple[list[dict[str, Any]], list[bytes], asyncio.Future[None]]] = []
        self.flusher: asyncio.Task[None] | None = None
        self.packed: dict[str, tuple[int, int]] = {}
        """Where each stored package is in the pack: SHA-256 → (offset, length)."""
        self.journal = store / "journal.jsonl"
        self._journal: TextIO | None = None
        self._pack = os.open(store / "packages.pack", os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        if self.journal.exists():
            for line in self.journal.read_text().splitlines():
                entry = json.loads(line)
                if "item" in entry:
                    self._add(Item(**entry["item"]))
                elif "package" in entry:
                    self.packed[entry["package"]] = (entry["offset"], entry["length"])
                else:
                    self._set(self.by_id[entry["doc_id"]], entry["status"], entry["updated_time"])

    def _add(self, item: Item) -> None:
        self.state.items.append(item)
        self.by_id[item.doc_id] = item
        self.by_recipient.setdefault(item.recipient, []).append(item)
        if item.status not in ("done", "fail"):
            self.waiting.setdefault(item.recipient, {})[item.doc_id] = item

    def _set(self, item: Item, status: str, updated_time: str) -> None:
        item.status, item.updated_time = status, updated_time
        if status in ("done", "fail"):
            self.waiting.get(item.recipient, {}).pop(item.doc_id, None)

    def _write(self, entries: list[dict[str, Any]], files: list[bytes]) -> None:
        stored: list[dict[str, Any]] = []
        for data in files:
            digest = hashlib.sha256(data).hexdigest()
            if digest in self.packed or (self._legacy_store and self._legacy(digest).exists()):
                continue
            offset = os.lseek(self._pack, 0, os.SEEK_END)  # one writer: this thread, one group at a time
            os.write(self._pack, data)
            self.packed[digest] = (offset, len(data))
            stored.append({"package": digest, "offset": offset, "length": len(data)})
        if stored:
            os.fdatasync(self._pack)  # the package is on disk before the journal names it
        # Opened once: reopening the journal for every group commit cost more than the write.
        if self._journal is None:
            self._journal = self.journal.open("a")
        self._journal.write("".join(json.dumps(e) + "\n" for e in [*stored, *entries]))
        self._journal.flush()
        os.fsync(self._journal.fileno())

    async def _append(self, entries: list[dict[str, Any]], files: list[bytes] | None = None) -> None:
        """Return once ``entries`` are durable in the journal (written and fsynced, in call order),
        the package ``files`` stored before them."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((entries, files or [], done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self.pending:
            # A commit delay (as PostgreSQL's ``commit_delay``): the calls that arrive meanwhile
            # share this sync.
            await asyncio.sleep(COMMIT_DELAY)
            batch, self.pending = self.pending, []
            try:
                await asyncio.to_thread(
                    self._write,
                    [e for entries, _files, _done in batch for e in entries],
                    [f for _entries, files, _done in batch for f in files],
                )
            except Exception as exc:  # the callers answer FAIL; nothing was taken for done
                for _entries, _files, done in batch:
                    done.set_exception(exc)
            else:
                for _entries, _files, done in batch:
                    done.set_result(None)

    async def add(self, items: list[Item], data: bytes) -> None:
        """Knobsticks of one package (``data``), kept with the package once the journal has them."""
        await self._append([{"item": asdict(i)} for i in items], [data])
        for item in items:
            self._add(item)

    async def set_status(self, item: Item, status: str) -> None:
        now = _now()
        await self._append([{"doc_id": item.doc_id, "status": status, "updated_time": now}])
        self._set(item, status, now)

    def _legacy(self, digest: str) -> Path:
        return self.store / "packages" / f"{digest}.edxml"

    def get(self, digest: str) -> bytes:
        place = self.packed.get(digest)
        if place is None:
            return self._legacy(digest).read_bytes()
        offset, length = place
        return os.pread(self._pack, length, offset)

    def caller(self, request: Request) -> tuple[Agency, dict[str, str]]:
        """The signed logical headers (lower-case names) of a call whose HMAC checks out."""
        signed = request.headers.get(SIGN_HEADER)
        claimed = request.headers.get(HASH_HEADER, "")
        if not signed:
            raise HubError("401", "Thieu chu ky")
        try:
            members = json.loads(signed)
        except ValueError:
            raise HubError("401", "Chu ky khong hop le") from None
        if not isinstance(members, dict):
            raise HubError("401", "Chu ky khong hop le")
        logical = {str(k)[len(PREFIX) :].lower(): str(v) for k, v in members.items() if str(k).startswith(PREFIX)}
        agency = self.agencies.get(logical.get("systemid", ""))
        if agency is None or not hmac.compare_digest(hmac_hex(agency.secret, signed), claimed.lower()):
            raise HubError("401", "Xac thuc khong thanh cong")
        # What was signed must be what was sent: a header changed on the way is refused.
        for name, value in logical.items():
            sent = request.headers.get(PREFIX + name)
            if sent is not None and sent != value:
                raise HubError("401", f"Header {name} khong khop chu ky")
        return agency, logical

    def recipients(self, data: bytes, message_type: str, to_header: str | None) -> list[str]:
        if message_type == "edoc":
            try:
                package = parse_package(data)
            except EdxmlError as exc:
                raise HubError("400", f"Goi tin khong hop le: {exc.code}") from None
            if not isinstance(package, DocumentPackage):
                raise HubError("400", "Goi tin khong phai van ban")
            return list(dict.fromkeys(r.organ_id for r in package.header.recipients))
        # A status package is routed by its header alone (a fan-out brings thousands; parsing each
        # whole was a third of the double's CPU): its recipient parses it.
        try:
            answered = status_routing(data)
        except EdxmlError as exc:
            raise HubError("400", f"Goi tin khong hop le: {exc.code}") from None
        if to_header:
            try:
                listed = json.loads(to_header)
            except ValueError:
                listed = to_header
            return [str(o) for o in (listed if isinstance(listed, list) else [listed])]
        if answered is None:
            raise HubError("400", "Goi tin khong phai trang thai")
        return list(answered)

    async def send(self, agency: Agency, logical: dict[str, str], body: bytes) -> str:
        data = body[:-2] if body.endswith(b"\r\n") else body
        sender = logical.get("from", "")
        if sender not in agency.organ_ids:
            raise HubError("403", f"Don vi gui {sender} khong dung voi ma da dang ky: {','.join(agency.organ_ids)}")
        message_type = logical.get("messagetype", "")
        if message_type not in MESSAGE_TYPES:
            raise HubError("400", "messagetype khong hop le")
        digest = hashlib.sha256(data).hexdigest()
        if logical.get("hash-file", "").lower() not in (hash_file(data), digest):
            raise HubError("400", "hash-file khong khop")
        recipients = self.recipients(data, message_type, logical.get("to"))
        if not recipients:
            raise HubError("400", "Khong co don vi nhan")
        if set(recipients) == {sender}:
            # A status package without `to` goes to its ResponseFor organ id: about a document the
            # sender received, that is the sender itself, and the answer would never leave it.
            raise HubError("400", f"Don vi nhan chi la don vi gui {sender}: goi tin trang thai can header to")
        sender_doc_id = secrets.token_hex(12)
        now = _now()
        await self.add(
            [
                Item(
                    doc_id=str(uuid.uuid4()),
                    sender_doc_id=sender_doc_id,
                    message_type=message_type,
                    sender=sender,
                    recipient=organ,
                    sha256=digest,
                    created_time=now,
                    updated_time=now,
                )
                for organ in recipients
            ],
            data,
        )
        return sender_doc_id

    def inbox(self, agency: Agency, message_type: str | None) -> list[Item]:
        return [
            i
            for organ in agency.organ_ids
            for i in self.waiting.get(organ, {}).values()
            if message_type is None or i.message_type == message_type
        ]

    def own(self, agency: Agency, doc_id: str) -> Item:
        item = self.by_id.get(doc_id)
        if item is None or item.recipient not in agency.organ_ids:
            raise HubError("404", "Khong tim thay goi tin")
        return item


def create_hub_app(store: Path, agencies: list[Agency]) -> Starlette:
    """The hub double as an ASGI application: plain Starlette routes, the double's whole protocol
    being a dozen paths that read their own headers (a fan-out is thousands of calls; FastAPI's
    per-request machinery was a sixth of the double's CPU)."""
    hub = Hub(store, agencies)
    routes: list[Route] = []

    def route(path: str, methods: tuple[str, ...] = ("POST",)) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            routes.append(Route(path, endpoint, methods=list(methods)))
            return endpoint

        return register

    def envelope(**extra: Any) -> JSONResponse:
        return JSONResponse({**OK, **extra})

    def fail(exc: HubError, **extra: Any) -> JSONResponse:
        return JSONResponse({"status": "FAIL", "ErrorCode": exc.code, "ErrorDesc": exc.description, **extra})

    @route("/healthz", ("GET",))
    async def healthz(_request: Request) -> JSONResponse:  # double-only: for start-up scripts, not in the protocol
        return JSONResponse({"status": "ok"})

    @route("/sendEdoc")
    async def send_edoc(request: Request) -> JSONResponse:
        try:
            agency, logical = hub.caller(request)
            doc_id = await hub.send(agency, logical, await request.body())
        except HubError as exc:
            return fail(exc, DocId="")
        return envelope(DocId=doc_id)

    @route("/getReceivedEdocList")
    async def received(request: Request) -> JSONResponse:
        try:
            agency, logical = hub.caller(request)
        except HubError as exc:
            return fail(exc)
        data = [
            {
                "docId": i.doc_id,
                "serviceType": "eDoc",
                "messageType": i.message_type,
                "from": i.sender,
                "to": i.recipient,
                "status": i.status,
                "status_desc": i.status,
                "created_time": i.created_time,
                "updated_time": i.updated_time,
            }
            for i in hub.inbox(agency, logical.get("messagetype"))
        ]
        return envelope(data=data)

    async def count(request: Request, message_type: str) -> JSONResponse:
        try:
            agency, _logical = hub.caller(request)
        except HubError as exc:
            return fail(exc)
        return envelope(count=len(hub.inbox(agency, message_type)))

    @route("/countReceiveEdoc", ("GET", "POST"))
    async def count_edoc(request: Request) -> JSONResponse:
        return await count(request, "edoc")

    @route("/countReceiveStatus", ("GET", "POST"))
    async def count_status(request: Request) -> JSONResponse:
        return await count(request, "status")

    @route("/getEdoc")
    async def get_edoc(request: Request) -> JSONResponse:
        try:
            agency, logical = hub.caller(request)
            item = hub.own(agency, logical.get("docid", ""))
        except HubError as exc:
            return fail(exc)
        return envelope(data=base64.b64encode(hub.get(item.sha256)).decode())

    @route("/downloadEdoc", ("GET",))
    async def download_edoc(request: Request) -> Response:
        try:
            agency, logical = hub.caller(request)
            item = hub.own(agency, logical.get("docid", ""))
        except HubError:
            return Response(b"")  # the only failure the SDK can see
        return Response(hub.get(item.sha256), media_type="application/octet-stream")

    @route("/updateStatus")
    async def update_status(request: Request) -> JSONResponse:
        try:
            agency, logical = hub.caller(request)
            status = logical.get("status", "")
            if status not in ACK_STATUSES:
                raise HubError("400", "Trang thai khong hop le")
            await hub.set_status(hub.own(agency, logical.get("docid", "")), status)
        except HubError as exc:
            return fail(exc)
        return envelope()

    @route("/getSentEdocList")
    async def sent(request: Request) -> JSONResponse:
        try:
            agency, logical = hub.caller(request)
        except HubError as exc:
            return fail(exc)
        doc_id = logical.get("docid", "")
        data = [
            {
                "senderDocId": i.sender_doc_id,
                "receiverDocId": i.doc_id,
                "fromCode": i.sender,
                "toCode": i.recipient,
                "sendStatus": "sent",
                "receiveStatus": i.status,
                "sentTime": i.created_time,
                "receivedTime": i.updated_time,
                "messageType": i.message_type,
                "serviceType": "eDoc",
            }
            for i in hub.state.items
            if i.sender_doc_id == doc_id and i.sender in agency.organ_ids
        ]
        return envelope(data=data)

    @route("/getAgenciesList")
    async def agencies_list(request: Request) -> JSONResponse:
        try:
            hub.caller(request)
        except HubError as exc:
            return fail(exc)
        data = [
            {"id": a.system_id, "pid": "", "code": organ, "name": a.name, "mail": "", "oldCode": ""}
            for a in hub.agencies.values()
            for organ in a.organ_ids
        ]
        return envelope(data=data)

    app = Starlette(routes=routes)
    app.state.hub = hub
    return app


def load_agencies(path: Path) -> list[Agency]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [
        Agency(system_id=a["system_id"], secret=a["secret"], organ_ids=tuple(a["organ_ids"]), name=a.get("name", ""))
        for a in raw["agencies"]
    ]


class HubProcess:
    """The hub double run as its own process on a free local port, as tests and benches start it.

    Args:
        directory: Where its member list (``agencies.json``) and package store (``store/``) live.
        agencies: The member list, ``{"agencies": [{"system_id", "secret", "organ_ids"}, …]}``.
    """

    def __init__(self, directory: Path, agencies: Mapping[str, Any]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        directory.mkdir(parents=True, exist_ok=True)
        self.agencies = directory / "agencies.json"
        self.agencies.write_text(json.dumps(agencies))
        self.store = directory / "store"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        """Start it and wait until it accepts connections (its store survives a restart)."""
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "common.vxp.hub", "--port", str(self.port)),
                *("--store", str(self.store), "--agencies", str(self.agencies)),
            ]
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("the hub double did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="vxp-hub-double", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--agencies", type=Path, required=True)
    args = parser.parse_args(argv)
    app = create_hub_app(args.store, load_agencies(args.agencies))
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
