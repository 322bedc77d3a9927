"""The pages' forms over HTTP: the session cookie, CSRF, scoping, and extension requests and decisions."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from fastapi import FastAPI
from report_testing import Api, directive_payload, dispatched, small_addressees

from report_api.pages.session import SESSION_COOKIE, Signer, new_session

OFFICE = {"sub": "dang-minh-khoa", "name": "Đặng Minh Khoa", "roles": ["monitor"], "unit": "VPUB"}


def _officer(unit: str) -> dict[str, Any]:
    return {"sub": f"officer-{unit.lower()}", "name": f"Cán bộ {unit}", "roles": ["unit_officer"], "unit": unit}


def _sign_in(api: Api, app: FastAPI, claims: dict[str, Any]) -> str:
    """Sets a valid session cookie on the client (as the OpenID Connect callback would); returns its CSRF token."""
    signer = Signer(b"k" * 32)
    app.state.page_signer = signer
    session = new_session(claims)
    api.client.cookies.set(SESSION_COOKIE, signer.dumps(session, 3600))
    return str(session["csrf"])


def _notice(response: Any) -> str:
    assert response.status_code == 303, response.text
    return parse_qs(urlparse(response.headers["location"]).query)["notice"][0]


async def test_forms_need_the_sessions_csrf_token_and_a_valid_cookie(api: Api, app: FastAPI) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    _sign_in(api, app, _officer("SNV"))
    forged = await api.client.post(f"/pages/obligations/{ob['id']}/acknowledge", data={"csrf": "not-it"})
    assert forged.status_code == 403 and forged.headers["content-type"] == "application/problem+json"
    assert (await api.get(ob["id"], api.actors.unit_officer("SNV"))).json()["status"] == "assigned"
    # a tampered cookie is no session: the browser goes to sign in
    value = api.client.cookies[SESSION_COOKIE]
    api.client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    page = await api.client.get(f"/pages/obligations/{ob['id']}")
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in?next=")


async def test_other_units_obligations_are_not_disclosed(api: Api, app: FastAPI) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    _sign_in(api, app, _officer("X31299"))
    response = await api.client.get(f"/pages/obligations/{ob['id']}")
    assert response.status_code == 404 and "Sở Nội vụ" not in response.text
    inbox = await api.client.get("/pages/inbox")
    assert inbox.status_code == 200 and "Sở Nội vụ" not in inbox.text and "01/VPUB-TTĐH" in inbox.text


async def test_extension_requested_on_the_page_and_approved_by_the_office(api: Api, app: FastAPI) -> None:
    directive = await api.dispatch()
    ob = await api.obligation_of("SNV", directive["id"])
    url = f"/pages/obligations/{ob['id']}"
    csrf = _sign_in(api, app, _officer("SNV"))
    page = await api.client.get(url)
    assert page.status_code == 200 and "Đề nghị gia hạn" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    too_early = await api.client.post(
        f"{url}/extension", data={"csrf": csrf, "requested_due_on": "2026-12-01", "reason": "Chờ số liệu"}
    )
    assert _notice(too_early) == "Không gửi được đề nghị: hạn đề nghị phải sau hạn hiện tại."
    assert (await api.get(ob["id"], api.actors.monitor)).json()["extension_requests"] == []
    asked = await api.client.post(
        f"{url}/extension", data={"csrf": csrf, "requested_due_on": "2026-12-18", "reason": "Chờ số liệu xã"}
    )
    assert _notice(asked) == "Đã gửi đề nghị gia hạn. Văn phòng sẽ xem xét."
    request_id = (await api.get(ob["id"], api.actors.monitor)).json()["extension_requests"][0]["id"]

    office_csrf = _sign_in(api, app, OFFICE)
    shown = await api.client.get(url)
    assert "Đồng ý gia hạn" in shown.text and "18/12/2026" in shown.text
    approved = await api.client.post(
        f"{url}/extension/{request_id}/decision", data={"csrf": office_csrf, "decision": "approve"}
    )
    assert _notice(approved) == "Đã gia hạn đến 18/12/2026."
    after = (await api.get(ob["id"], api.actors.monitor)).json()
    assert after["due_on"] == "2026-12-18" and after["extension_requests"][0]["status"] == "approved"


async def test_portfolio_pages_and_searches_every_followed_document(api: Api, app: FastAPI) -> None:
    for n in range(1, 53):
        await api.dispatch(notation=f"{n:02d}/VPUB-TTĐH", addressees=[{"unit_code": "SNV", "unit_name": "Sở Nội vụ"}])
    informative = directive_payload(notation="99/VPUB-TTĐH", compliance={})
    informative["compliance"] = None  # asks for no report: not followed
    await api.deliver(dispatched(informative, small_addressees()))
    _sign_in(api, app, OFFICE)
    first = await api.client.get("/pages")
    assert first.status_code == 200 and first.text.count('data-testid="row"') == 50
    assert "52 văn bản" in first.text and "99/VPUB-TTĐH" not in first.text
    second = await api.client.get("/pages", params={"page": 2})
    assert second.text.count('data-testid="row"') == 2
    beyond = await api.client.get("/pages", params={"page": 9})  # past the end: the last page
    assert beyond.text.count('data-testid="row"') == 2
    found = await api.client.get("/pages", params={"q": "07/vpub-ttdh"})  # no marks, any case
    assert found.text.count('data-testid="row"') == 1 and "07/VPUB-TTĐH" in found.text
