"""Benchmarks, measured side by side in one run; prints a table of ratios.

1. directive-api: authenticated ``GET /v1/directives/{id}`` against a bare FastAPI endpoint doing
   the same primary-key lookup with the same driver (asyncpg), both on PostgreSQL, one uvicorn
   worker each, loaded by wrk in alternating rounds. Goal: ratio ≥ 0.6.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from run_local import wait_ready  # noqa: E402

from common.auth import ensure_dev_keys, mint_token  # noqa: E402
from common.testing import LOCAL_POSTGRES, PostgresServer, unique_name  # noqa: E402
from directive_api.cli import migrate, seed  # noqa: E402
from directive_api.seed.loader import seed_letter  # noqa: E402


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{output}")
    assert match, output
    return float(match.group(1))


def _serve(app: str, port: int, env: dict[str, str], factory: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if factory:
        command.append("--factory")
    return subprocess.Popen(command, env=env, cwd=ROOT / "bench")


async def _issue_one(base: str, tokens: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base) as client:

        async def act(doc: dict[str, str], action: str, who: str) -> dict[str, str]:
            response = await client.post(
                f"/v1/directives/{doc['id']}/{action}", headers={"Authorization": tokens[who], "If-Match": doc["etag"]}
            )
            response.raise_for_status()
            result: dict[str, str] = response.json()
            return result

        created = await client.post("/v1/directives", json=seed_letter(), headers={"Authorization": tokens["drafter"]})
        created.raise_for_status()
        doc = await act(created.json(), "submit", "drafter")
        doc = await act(doc, "approve", "signer")
        doc = await act(doc, "issue", "clerk")
        return doc["id"]


def bench_document_read(server: PostgresServer, *, seconds: int, rounds: int, connections: int) -> dict[str, float]:
    name = unique_name("bench_directive")
    url = server.create_database(name)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        migrate(url)
        asyncio.run(seed(url))
        keys = ensure_dev_keys(Path(tempfile.mkdtemp()) / "keys")
        private = keys.private_key_file.read_bytes()
        tokens = {
            role: "Bearer " + mint_token(private, subject=person, roles=[role], unit="VPUB", name=person)
            for role, person in [
                ("drafter", "tran-van-an"),
                ("signer", "le-xuan-hoa"),
                ("clerk", "vo-thi-thu"),
                ("monitor", "dang-minh-khoa"),
            ]
        }
        env = dict(os.environ)
        env.update(
            {
                "DIRECTIVE_API_DATABASE__URL": url,
                "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
                "BENCH_DATABASE_URL": url,
                "PYTHONPATH": str(ROOT / "bench"),
            }
        )
        processes.append(_serve("directive_api.main:create_app", 8101, env, factory=True))
        processes.append(_serve("bare_app:app", 8102, env, factory=False))
        wait_ready("http://127.0.0.1:8101/readyz")
        wait_ready("http://127.0.0.1:8102/docs")
        doc_id = asyncio.run(_issue_one("http://127.0.0.1:8101", tokens))
        full_url = f"http://127.0.0.1:8101/v1/directives/{doc_id}"
        bare_url = f"http://127.0.0.1:8102/bare/{doc_id}"
        _wrk(full_url, {"Authorization": tokens["monitor"]}, 2, connections)  # warm-up
        _wrk(bare_url, {}, 2, connections)
        full, bare = [], []
        for _ in range(rounds):
            full.append(_wrk(full_url, {"Authorization": tokens["monitor"]}, seconds, connections))
            bare.append(_wrk(bare_url, {}, seconds, connections))
        full_rps, bare_rps = sum(full) / rounds, sum(bare) / rounds
        return {"full_rps": full_rps, "bare_rps": bare_rps, "ratio": full_rps / bare_rps}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        time.sleep(0.2)
        server.drop_database(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    server = PostgresServer(os.environ.get("TEST_DATABASE_URL") or LOCAL_POSTGRES)
    read = bench_document_read(server, seconds=args.seconds, rounds=args.rounds, connections=args.connections)
    rows = [
        (
            "GET one document (auth, problems, response model) / bare FastAPI PK lookup, asyncpg, PostgreSQL",
            f"{read['full_rps']:.0f} / {read['bare_rps']:.0f} req/s",
            f"{read['ratio']:.2f}",
            "≥ 0.6",
            "ok" if read["ratio"] >= 0.6 else "MISSED",
        )
    ]
    print("| benchmark | measured | ratio | goal | |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
