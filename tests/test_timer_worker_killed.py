"""A timer worker killed with SIGKILL in the middle of its work, then restarted: every due reminder
is sent once, none twice, none lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from common.testing import PostgresServer, unique_name
from common.webhooks import generate_secret, signature_headers
from report_api.cli import migrate

BIN = Path(sys.executable).parent
UNITS = json.loads(
    (
        Path(__file__).resolve().parents[1] / "services/directive-api/src/directive_api/seed/can-tho-units.json"
    ).read_text()
)


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://")) as connection:
        row = connection.execute(sql).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return int(row[0])


async def _dispatch(url: str, secret: str, tmp_path: Path) -> None:
    """Feed report-api a dispatched letter addressed to the 122 units, through its signed inbox."""
    import httpx

    from common.auth import ensure_dev_keys
    from common.settings import AuthSettings, DatabaseSettings
    from report_api.main import create_app
    from report_api.settings import Settings

    keys = ensure_dev_keys(tmp_path)
    settings = Settings(
        database=DatabaseSettings(url=url),
        auth=AuthSettings(issuer="https://id.example.invalid", audience="tests", public_key_file=keys.public_key_file),
        webhook_secrets=secret,
        evidence_dir=tmp_path / "evidence",
    )
    groups = {"department", "socio_political_org", "commune_level"}
    addressees = [
        {"unit_code": u["code"], "unit_name": u["name"], "group_code": u["group"], "must_act": True}
        for u in UNITS["units"]
        if u["group"] in groups
    ]
    directive = {
        "id": str(uuid.uuid4()),
        "public_id": "abcd",
        "doc_type": "CV",
        "notation": "01/VPUB-TTĐH",
        "subject": "tăng cường theo dõi, chia sẻ",
        "issuer_code": "VPUB",
        "issued_on": "2026-11-27",
        "urgency": None,
        "status": "dispatched",
        "compliance": {"deadline_working_days": 10, "report_fields": []},
    }
    envelope = {
        "id": "evt_dispatch",
        "type": "directive.dispatched",
        "occurred_at": "2026-11-27T02:15:00Z",
        "source": "directive-api",
        "subject": directive["id"],
        "sequence": 1,
        "data": {"directive": directive, "addressees": addressees, "information_recipients": []},
    }
    body = json.dumps(envelope, ensure_ascii=False).encode()
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post(
            "/v1/inbox/events",
            content=body,
            headers={**signature_headers(secret, "evt_dispatch", body), "content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
    await app.state.engine.dispose()


def test_killed_timer_worker_loses_and_doubles_nothing(postgres_server: PostgresServer, tmp_path: Path) -> None:
    name = unique_name("timers_kill")
    url = postgres_server.create_database(name)
    try:
        migrate(url)
        secret = generate_secret()
        asyncio.run(_dispatch(url, secret, tmp_path))
        # Time passes: every planned timer comes due.
        with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), autocommit=True) as connection:
            connection.execute("UPDATE timers SET due_at = now() - interval '1 minute'")
        total = _count(url, "SELECT count(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL")
        assert total >= 300
        env = {**os.environ, "REPORT_API_DATABASE__URL": url, "REPORT_API_EVIDENCE_DIR": str(tmp_path / "ev")}
        worker = subprocess.Popen(
            [str(BIN / "report-api"), "run-timers", "--interval", "0.1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while _count(url, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL") == 0:
                assert time.monotonic() < deadline, "the worker fired nothing"
                time.sleep(0.02)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
        fired_at_kill = _count(url, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL")
        assert 0 < fired_at_kill < total, "the kill must land in the middle of the work"
        sent_at_kill = _count(url, "SELECT count(*) FROM reminders")

        restarted = subprocess.run(
            [str(BIN / "report-api"), "run-timers", "--once"], env=env, capture_output=True, text=True, timeout=300
        )
        assert restarted.returncode == 0, restarted.stderr
        assert (
            _count(
                url, "SELECT count(*) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at < now()"
            )
            == 0
        )
        sent = _count(url, "SELECT count(*) FROM reminders")
        assert sent > sent_at_kill
        # Exactly one reminder per timer that reported sending one; none twice (the unique key holds too).
        assert sent == _count(url, "SELECT count(*) FROM timers WHERE outcome LIKE 'sent:%'")
        assert (
            _count(
                url,
                "SELECT count(*) FROM (SELECT 1 FROM reminders"
                " GROUP BY obligation_id, kind, sequence HAVING count(*) > 1) d",
            )
            == 0
        )
    finally:
        postgres_server.drop_database(name)


pytestmark = pytest.mark.slow
