"""Both services work through PgBouncer in transaction mode, as behind CloudNativePG's Pooler.

PgBouncer (Debian's) runs in front of the test PostgreSQL with ``pool_mode = transaction`` and two
server connections per database, fewer than the processes' own pools: consecutive transactions of
one process run on different server connections, so anything kept on a session between transactions
(a prepared statement, a session advisory lock, a ``SET``) would break. directive-api (web and relay)
and report-api (web and timers) run against it with ``DATABASE__TRANSACTION_POOLING=true``; the
start-up job migrates and seeds directly, as the Jobs do. The seed letter is walked to issued and
dispatched; report-api must get its 122 obligations, and every event must be delivered.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import make_url
from stack_testing import dispatch_walked_letter
from test_replicas import BIN, _port, _ready, _rows, _wait

from common.auth import ensure_dev_keys
from common.testing import PostgresServer, unique_name
from common.webhooks import generate_secret
from directive_api.cli import migrate as migrate_directive
from directive_api.cli import seed as seed_directive
from directive_api.cli.walk import tokens as seed_tokens
from directive_api.cli.walk import walk_seed_letter
from report_api.cli import migrate as migrate_report

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SERVER_CONNECTIONS = 2


pytestmark = pytest.mark.slow  # real processes of both services (a whole stack)


@pytest.fixture
def pgbouncer(postgres_server: PostgresServer) -> Iterator[dict[str, Any]]:
    names = {"directive": unique_name("pooled_dir"), "report": unique_name("pooled_rep")}
    direct = {key: postgres_server.create_database(name) for key, name in names.items()}
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # PgBouncer refuses to run as root: it runs as the postgres user here
    port = _port()
    server = make_url(postgres_server.admin_url)
    databases = "\n".join(
        f"{name} = host={server.host} port={server.port or 5432} dbname={name} user={server.username}"
        f" password={server.password}"
        for name in names.values()
    )
    config = folder / "pgbouncer.ini"
    config.write_text(
        f"[databases]\n{databases}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir =\nauth_type = any\npool_mode = transaction\ndefault_pool_size = {SERVER_CONNECTIONS}\n"
        "max_client_conn = 200\nserver_reset_query =\nignore_startup_parameters = extra_float_digits\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\nadmin_users = pgbouncer\n"
    )
    config.chmod(0o644)
    argv = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        argv = ["runuser", "-u", "postgres", "--", *argv]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pooled = {
            key: make_url(direct[key])
            .set(host="127.0.0.1", port=port, username="app", password="unused")
            .render_as_string(hide_password=False)
            for key in names
        }
        _wait(lambda: _answers(pooled["directive"]), "PgBouncer to accept connections", 30)
        yield {"direct": direct, "pooled": pooled, "admin": f"postgresql://pgbouncer@127.0.0.1:{port}/pgbouncer"}
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
        for name in names.values():
            postgres_server.drop_database(name)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), connect_timeout=2) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def test_the_services_work_through_transaction_pooling(pgbouncer: dict[str, Any], tmp_path: Path) -> None:
    direct, pooled = pgbouncer["direct"], pgbouncer["pooled"]
    # The start-up jobs, on the database itself.
    migrate_directive(direct["directive"])
    asyncio.run(seed_directive(direct["directive"]))
    migrate_report(direct["report"])
    keys = ensure_dev_keys(tmp_path / "keys")
    ports = {name: _port() for name in ("directive", "report")}
    to_report, to_directive = generate_secret(), generate_secret()
    env = {
        **os.environ,
        "DIRECTIVE_API_DATABASE__URL": pooled["directive"],
        "DIRECTIVE_API_DATABASE__TRANSACTION_POOLING": "true",
        "DIRECTIVE_API_DATABASE__POOL_SIZE": "4",
        "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
        "DIRECTIVE_API_FILES_DIR": str(tmp_path / "files"),
        "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(tmp_path / "pki"),
        "DIRECTIVE_API_PDF_WORKERS": "1",
        "DIRECTIVE_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([f"http://127.0.0.1:{ports['report']}"]),
        "DIRECTIVE_API_WEBHOOKS__POLL_INTERVAL_SECONDS": "0.2",
        "DIRECTIVE_API_SUBSCRIBERS": json.dumps(
            [
                {
                    "owner": "report-api",
                    "url": f"http://127.0.0.1:{ports['report']}/v1/inbox/events",
                    "secret": to_report,
                    "event_types": ["directive.*", "delivery.*"],
                }
            ]
        ),
        "DIRECTIVE_API_INBOX_SECRETS": json.dumps([to_directive]),
        "REPORT_API_DATABASE__URL": pooled["report"],
        "REPORT_API_DATABASE__TRANSACTION_POOLING": "true",
        "REPORT_API_DATABASE__POOL_SIZE": "4",
        "REPORT_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
        "REPORT_API_WEBHOOK_SECRETS": to_report,
        "REPORT_API_DIRECTIVE_API_INBOX_URL": f"http://127.0.0.1:{ports['directive']}/v1/inbox/events",
        "REPORT_API_DIRECTIVE_API_INBOX_SECRET": to_directive,
        "REPORT_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([f"http://127.0.0.1:{ports['directive']}"]),
        "REPORT_API_WEBHOOKS__POLL_INTERVAL_SECONDS": "0.2",
        "REPORT_API_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "LOG_LEVEL": "warning",
    }
    commands = [
        ["directive-api", "serve", "--no-migrate", "--port", str(ports["directive"])],
        ["directive-api", "relay"],
        ["report-api", "serve", "--no-migrate", "--port", str(ports["report"])],
        ["report-api", "run-timers", "--interval", "0.2"],
    ]
    log = open(tmp_path / "processes.log", "wb")  # noqa: SIM115 - closed with the processes
    processes = [subprocess.Popen([str(BIN / c[0]), *c[1:]], env=env, stdout=log, stderr=log) for c in commands]
    try:
        for name, port in ports.items():
            _wait(lambda port=port: _ready(f"http://127.0.0.1:{port}/readyz"), f"{name} to be ready", 60)  # type: ignore[misc]
        base = f"http://127.0.0.1:{ports['directive']}"
        assert walk_seed_letter(base, tmp_path / "keys", out=io.StringIO()) == 0
        tokens = seed_tokens(tmp_path / "keys")
        doc = dispatch_walked_letter(base, base, {"Authorization": f"Bearer {tokens['vo-thi-thu']}"})
        monitor = {"Authorization": f"Bearer {tokens['dang-minh-khoa']}"}

        def total() -> int:
            response = httpx.get(
                f"http://127.0.0.1:{ports['report']}/v1/directives/{doc['id']}/compliance", headers=monitor, timeout=10
            )
            return int(response.json().get("total", 0)) if response.status_code == 200 else 0

        _wait(lambda: total() == 122, "report-api to hold the 122 obligations")
        events = (
            "SELECT (SELECT count(*) FROM outbox_events WHERE sequence IS NULL)"
            " + (SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered')"
        )
        _wait(lambda: _rows(direct["directive"], events) == [(0,)], "every event to be delivered")
        received = _rows(direct["report"], "SELECT count(*) FROM received_events")[0][0]
        assert received == _rows(direct["directive"], "SELECT count(*) FROM outbox_events")[0][0]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    errors = (tmp_path / "processes.log").read_text(errors="replace")
    assert "prepared statement" not in errors, errors[-4000:]
    # The traffic went through PgBouncer: hundreds of transactions on each database.
    with psycopg.connect(pgbouncer["admin"], autocommit=True) as admin:
        cursor = admin.execute("SHOW STATS")
        columns = [c.name for c in cursor.description or []]
        stats = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    for url in pooled.values():
        assert int(stats[make_url(url).database]["total_xact_count"]) > 100, stats
