# ruff: noqa: S608  (constant SQL, parameters bound by psycopg)
"""Compliance queries at scale: report-api on a database of 1,000,000 obligations.

A migrated report-api PostgreSQL database is filled with ``INSERT … SELECT generate_series``:
``directives`` synthetic documents of 100 obligations each over 3,321 units (about 300 per unit),
plus one document with 3,321 obligations in varied statuses and one accepted submission per
accepted obligation. report-api (``report-api serve``, one worker) then answers, sequentially after
a warm-up: the Office's ``GET /v1/directives/{id}/compliance`` (JSON) and a unit's inbox
``GET /v1/me/obligations``. Goals: p50 ≤ 50 ms and ≤ 10 ms. On the same data (10,000 documents of
100 obligations: the issue's scale), the pages for people, with a session cookie: the Office's
portfolio ``GET /pages`` (p50 ≤ 150 ms) and the unit officer's inbox ``GET /pages/inbox`` (≤ 50 ms).
"""

from __future__ import annotations

import subprocess
import time

import httpx
import psycopg
from benchlib import (
    Row,
    database,
    free_port,
    get_latencies,
    libpq,
    office_tokens,
    percentile,
    services_env,
    start_service,
    stop_processes,
    temp_dir,
    wait_all,
)

from common.testing import PostgresServer
from report_api.cli import migrate
from report_api.pages.session import SESSION_COOKIE, Signer, new_session

GOAL_COMPLIANCE_MS = 50.0
GOAL_INBOX_MS = 10.0
GOAL_PORTFOLIO_PAGE_MS = 150.0
GOAL_INBOX_PAGE_MS = 50.0
UNITS = 3321
BIG = "bench-big"
COMPLIANCE = (
    '{"deadline_working_days": 10, "instructions": "Báo cáo.", "report_fields": ['
    '{"key": "facebook_followers", "label": "Facebook", "type": "non_negative_integer", "required": true},'
    '{"key": "zalo_followers", "label": "Zalo", "type": "non_negative_integer", "required": true}]}'
)
STATUSES = "(ARRAY['assigned','acknowledged','submitted','accepted','returned'])"

_FILL = [
    # the synthetic documents, 100 obligations each
    """INSERT INTO directives (id, public_id, doc_type, notation, subject, issuer_code, issued_on, status,
                              compliance, created_at, updated_at)
       SELECT 'bench-' || d, 'P' || d, 'CV', d || '/VPUB-TTĐH', 'Văn bản thử nghiệm ' || d, 'VPUB',
              DATE '2026-01-01' + (d % 300), 'active', %(compliance)s::jsonb, now(), now()
       FROM generate_series(0, %(directives)s - 1) AS d""",
    """INSERT INTO obligations (id, directive_id, unit_code, unit_name, group_code, supervisor_code, must_act,
                               status, version, due_on, original_due_on, submission_count, nhac_nho_count,
                               phe_binh_count, kiem_diem_count, first_submission_late, created_at, updated_at)
       SELECT gen_random_uuid(), 'bench-' || d, 'U' || lpad(((d * 100 + j) % 3321)::text, 5, '0'),
              'Đơn vị ' || ((d * 100 + j) % 3321), 'commune_level', 'UBND', true,
              """
    + STATUSES
    + """[1 + (d + j) % 5], 1, DATE '2026-01-15' + (d % 330), DATE '2026-01-15' + (d % 330),
              0, 0, 0, 0, CASE WHEN (d + j) % 5 = 3 THEN (j % 2 = 0) END, now(), now()
       FROM generate_series(0, %(directives)s - 1) AS d, generate_series(0, 99) AS j""",
    # the big document: every unit, varied statuses
    """INSERT INTO directives (id, public_id, doc_type, notation, subject, issuer_code, issued_on, status,
                              compliance, created_at, updated_at)
       VALUES ('"""
    + BIG
    + """', 'PBIG', 'CV', '1/VPUB-TTĐH', 'Văn bản gửi mọi đơn vị', 'VPUB', DATE '2026-11-01', 'active',
               %(compliance)s::jsonb, now(), now())""",
    """INSERT INTO obligations (id, directive_id, unit_code, unit_name, group_code, supervisor_code, must_act,
                               status, version, due_on, original_due_on, submission_count, nhac_nho_count,
                               phe_binh_count, kiem_diem_count, first_submission_late, first_submitted_at,
                               created_at, updated_at)
       SELECT gen_random_uuid(), '"""
    + BIG
    + """', 'U' || lpad(u::text, 5, '0'), 'Đơn vị ' || u,
              (ARRAY['department','socio_political_org','commune_level'])[1 + u % 3], 'UBND', true,
              """
    + STATUSES
    + """[1 + u % 5], 1, DATE '2026-11-15', DATE '2026-11-15', (u % 5 >= 2)::int,
              u % 3, u % 2, 0, CASE WHEN u % 5 >= 2 THEN (u % 7 = 0) END,
              CASE WHEN u % 5 >= 2 THEN now() END, now(), now()
       FROM generate_series(0, 3320) AS u""",
    """INSERT INTO submissions (id, obligation_id, version, data, evidence_ids, late, submitted_by, submitted_at,
                               review_status, reviewed_by, reviewed_at)
       SELECT gen_random_uuid(), o.id, 1,
              jsonb_build_object('facebook_followers', 40 + o.kiem_diem_count, 'zalo_followers', 25),
              '[]'::jsonb, coalesce(o.first_submission_late, false), 'officer', now(),
              CASE o.status WHEN 'accepted' THEN 'accepted' WHEN 'returned' THEN 'returned' ELSE 'pending' END,
              CASE WHEN o.status IN ('accepted', 'returned') THEN 'monitor' END,
              CASE WHEN o.status IN ('accepted', 'returned') THEN now() END
       FROM obligations o
       WHERE o.directive_id = '"""
    + BIG
    + """' AND o.status IN ('submitted', 'accepted', 'returned')""",
]


def fill(url: str, directives: int) -> int:
    """Insert the data set; returns the number of obligations."""
    with psycopg.connect(libpq(url)) as connection:
        for statement in _FILL:
            connection.execute(statement.replace(" % ", " %% "), {"compliance": COMPLIANCE, "directives": directives})
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        row = connection.execute("SELECT count(*) FROM obligations").fetchone()
        assert row is not None
        return int(row[0])


def run(server: PostgresServer, *, directives: int, requests: int) -> list[Row]:
    with temp_dir("bench-compliance-") as var, database(server, "bench_compliance") as url:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            migrate(url)
            started = time.perf_counter()
            total = fill(url, directives)
            fill_s = time.perf_counter() - started
            tokens, _ = office_tokens(var / "keys")
            port = free_port()
            env = services_env(var, directive_port=free_port(), report_port=port, directive_db=url, report_db=url)
            env["REPORT_API_RUN_WORKERS_IN_PROCESS"] = "false"  # no timers over the synthetic data
            log = var / "report-api.log"
            processes.append(start_service("report-api", port, env, log))
            base = f"http://127.0.0.1:{port}"
            wait_all([f"{base}/readyz"], processes, log)
            office = {"Authorization": tokens.headers["monitor"]}
            signer = Signer(env["REPORT_API_PAGES__SESSION_SECRET"].encode())
            monitor_page = {
                "Cookie": f"{SESSION_COOKIE}="
                + signer.dumps(new_session({"sub": "dang-minh-khoa", "roles": ["monitor"], "unit": "VPUB"}), 7200)
            }
            officer_page = {
                "Cookie": f"{SESSION_COOKIE}="
                + signer.dumps(
                    new_session({"sub": "officer-u00042", "roles": ["unit_officer"], "unit": "U00042"}), 7200
                )
            }
            unit = {"Authorization": tokens.bearer("officer-u00042", ["unit_officer"], "U00042")}
            with httpx.Client(base_url=base, timeout=60) as client:
                body = client.get(f"/v1/directives/{BIG}/compliance", headers=office).json()
                inbox = client.get("/v1/me/obligations", headers=unit).json()
                if body["total"] != UNITS or not inbox["items"]:
                    raise RuntimeError(f"unexpected answers: total={body['total']}, inbox={len(inbox['items'])}")
                get_latencies(client, f"/v1/directives/{BIG}/compliance", office, 5)
                get_latencies(client, "/v1/me/obligations", unit, 20)
                comp = get_latencies(client, f"/v1/directives/{BIG}/compliance", office, requests)
                mine = get_latencies(client, "/v1/me/obligations", unit, requests * 4)
                size_kib = len(client.get(f"/v1/directives/{BIG}/compliance", headers=office).content) // 1024
                portfolio_page = client.get("/pages", headers=monitor_page)
                if portfolio_page.status_code != 200 or portfolio_page.text.count('data-testid="row"') != 50:
                    raise RuntimeError(f"unexpected portfolio page: HTTP {portfolio_page.status_code}")
                get_latencies(client, "/pages", monitor_page, 3)
                get_latencies(client, "/pages/inbox", officer_page, 5)
                portfolio = get_latencies(client, "/pages", monitor_page, requests)
                inbox_page = get_latencies(client, "/pages/inbox", officer_page, requests)
        finally:
            stop_processes(processes)
    p50_comp, p50_mine = percentile(comp, 50) * 1000, percentile(mine, 50) * 1000
    p50_portfolio, p50_inbox_page = percentile(portfolio, 50) * 1000, percentile(inbox_page, 50) * 1000
    scale = f"{total:,} obligations in {directives + 1:,} documents, filled in {fill_s:.0f} s"
    return [
        Row(
            f"GET /v1/directives/{{id}}/compliance (JSON, {UNITS:,} units, {size_kib} KiB) on {total:,} obligations",
            f"p50 {p50_comp:.1f} ms, p90 {percentile(comp, 90) * 1000:.1f} ms ({requests} sequential)",
            f"{p50_comp:.1f} ms",
            f"p50 ≤ {GOAL_COMPLIANCE_MS:.0f} ms",
            p50_comp <= GOAL_COMPLIANCE_MS,
            [scale],
        ),
        Row(
            f"GET /v1/me/obligations (a unit's inbox, first page of 50 of ~{total // UNITS} rows)",
            f"p50 {p50_mine:.1f} ms, p90 {percentile(mine, 90) * 1000:.1f} ms ({requests * 4} sequential)",
            f"{p50_mine:.1f} ms",
            f"p50 ≤ {GOAL_INBOX_MS:.0f} ms",
            p50_mine <= GOAL_INBOX_MS,
            [scale],
        ),
        Row(
            f"GET /pages (the Office's portfolio page, first 50 of {directives + 1:,} documents)",
            f"p50 {p50_portfolio:.1f} ms, p90 {percentile(portfolio, 90) * 1000:.1f} ms ({requests} sequential)",
            f"{p50_portfolio:.1f} ms",
            f"p50 ≤ {GOAL_PORTFOLIO_PAGE_MS:.0f} ms",
            p50_portfolio <= GOAL_PORTFOLIO_PAGE_MS,
            [scale],
        ),
        Row(
            f"GET /pages/inbox (a unit officer's inbox page, ~{total // UNITS} documents)",
            f"p50 {p50_inbox_page:.1f} ms, p90 {percentile(inbox_page, 90) * 1000:.1f} ms ({requests} sequential)",
            f"{p50_inbox_page:.1f} ms",
            f"p50 ≤ {GOAL_INBOX_PAGE_MS:.0f} ms",
            p50_inbox_page <= GOAL_INBOX_PAGE_MS,
            [scale],
        ),
    ]
