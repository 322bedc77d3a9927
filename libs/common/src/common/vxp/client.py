"""An async client of a VXP hub, speaking the vendor SDK's wire protocol (see :mod:`common.vxp.protocol`).

Unlike the SDK it reads the HTTP status, sets timeouts and raises :class:`VxpError` on a FAIL
envelope instead of returning nulls; what goes over the wire is the same.

It runs over an ``aiohttp.ClientSession`` (the worker's: a fan-out makes thousands of calls, and
aiohttp spends about a tenth of httpx's CPU on each, docs/benchmarks.md) or an
``httpx.AsyncClient`` (tests). On aiohttp a network failure or timeout is raised as
:class:`VxpUnreachable` (a :class:`VxpError`); httpx raises its own ``httpx.HTTPError``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

import aiohttp
import httpx

from common.vxp.protocol import (
    MESSAGE_TYPES,
    Knobstick,
    SentRow,
    VxpError,
    VxpUnreachable,
    hash_file,
    sign_headers,
    timestamp,
)


class VxpClient:
    """One member system of a hub: its ``systemId`` and shared secret.

    Args:
        base_url: The hub, e.g. ``http://vxp.example``; each operation is appended as ``/<name>``.
        system_id: The member's ``systemId`` (``vxp.saas.03``).
        secret: The shared secret (signs every call; never sent).
        http: The HTTP client to use (its timeouts apply): an ``aiohttp.ClientSession`` or an
            ``httpx.AsyncClient``.
    """

    def __init__(
        self, base_url: str, system_id: str, secret: str, http: aiohttp.ClientSession | httpx.AsyncClient
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system_id = system_id
        self.secret = secret
        self.http = http

    def _headers(self, logical: dict[str, str], content_type: str) -> dict[str, str]:
        ordered = {"systemid": self.system_id, **logical, "timestamp": timestamp(datetime.now())}
        ordered["Content-Type"] = content_type
        headers = sign_headers(ordered, self.secret)
        headers["Content-Type"] = content_type
        return headers

    async def _call(
        self, operation: str, logical: dict[str, str], *, body: bytes = b"", content_type: str = "application/json"
    ) -> dict[str, Any]:
        url, headers = f"{self.base_url}/{operation}", self._headers(logical, content_type)
        if isinstance(self.http, aiohttp.ClientSession):
            try:
                async with self.http.post(url, data=body, headers=headers) as answer:
                    status, content = answer.status, await answer.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise VxpUnreachable(operation, f"{type(exc).__name__}: {exc}") from exc
        else:
            response = await self.http.post(url, content=body, headers=headers)
            status, content = response.status_code, response.content
        try:
            envelope = json.loads(content)
        except ValueError:
            raise VxpError(operation, str(status), "the hub's answer is not JSON") from None
        if not isinstance(envelope, dict) or not {"status", "ErrorCode", "ErrorDesc"} <= envelope.keys():
            raise VxpError(operation, str(status), "the hub's answer is not a VXP envelope")
        if envelope["status"] != "OK" or str(envelope["ErrorCode"]) != "0":
            raise VxpError(operation, str(envelope["ErrorCode"]), str(envelope["ErrorDesc"]))
        return envelope

    async def send(self, data: bytes, *, sender: str, message_type: str, to: list[str] | None = None) -> str:
        """``/sendEdoc``: one edXML package (a document or a status); the hub's DocId."""
        if message_type not in MESSAGE_TYPES:
            raise ValueError(f"message type is one of {MESSAGE_TYPES}")
        logical = {"from": sender, "servicetype": "eDoc", "messagetype": message_type, "hash-file": hash_file(data)}
        if to:
            logical["to"] = "[" + ",".join(f'"{organ}"' for organ in to) + "]"
        envelope = await self._call("sendEdoc", logical, body=data + b"\r\n", content_type="application/octet-stream")
        return str(envelope["DocId"])

    async def received(self, message_type: str) -> list[Knobstick]:
        """``/getReceivedEdocList``: packages waiting for this member, not yet acknowledged."""
        envelope = await self._call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": message_type})
        return [
            Knobstick(
                doc_id=str(item.get("docId", "")),
                message_type=str(item.get("messageType", "")),
                sender=str(item.get("from", "")),
                recipient=str(item.get("to", "")),
                status=str(item.get("status", "")),
                created_time=str(item.get("created_time", "")),
            )
            for item in envelope.get("data") or []
        ]

    async def fetch(self, doc_id: str) -> bytes:
        """``/getEdoc``: the package's bytes (base64 in the JSON answer)."""
        envelope = await self._call("getEdoc", {"docId": doc_id}, body=b"{}")
        try:
            return base64.b64decode(str(envelope.get("data") or ""), validate=True)
        except binascii.Error:
            raise VxpError("getEdoc", "0", "the package is not valid base64") from None

    async def acknowledge(self, doc_id: str, status: str = "done") -> None:
        """``/updateStatus``: ``done`` once the package is applied (it leaves the inbox), ``fail`` if not."""
        await self._call("updateStatus", {"docId": doc_id, "status": status}, body=b"{}")

    async def sent(self, doc_id: str) -> list[SentRow]:
        """``/getSentEdocList``: per recipient, what became of a package this member sent."""
        envelope = await self._call("getSentEdocList", {"servicetype": "eDoc", "messagetype": "edoc", "docId": doc_id})
        return [
            SentRow(
                sender_doc_id=str(item.get("senderDocId", "")),
                receiver_doc_id=str(item.get("receiverDocId", "")),
                from_code=str(item.get("fromCode", "")),
                to_code=str(item.get("toCode", "")),
                receive_status=str(item.get("receiveStatus", "")),
            )
            for item in envelope.get("data") or []
        ]

    async def agencies(self) -> list[dict[str, Any]]:
        """``/getAgenciesList``: the organisations connected to the hub."""
        envelope = await self._call("getAgenciesList", {})
        return list(envelope.get("data") or [])
