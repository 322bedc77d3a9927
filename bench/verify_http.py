"""Verification throughput through the service: ``POST /v1/verify`` of issued documents, wrk, PostgreSQL.

directive-api (``directive-api serve``: one uvicorn worker, its PDF worker pool, PostgreSQL) issues
``documents`` letters; wrk then posts their PDFs in turn (``connections`` connections, ``seconds``).
Each answer is a full verification report: per-signature signer, time, integrity, validity, trust,
what changed after it, and the registry status. The verdict of an issued file was made when it was
issued (the issue step verifies what it sealed) and is found by SHA-256 under the same trust roots,
until the first signing certificate expires; the registry status is read on every request.
Goal: ≥ 100 documents/s on this machine's 2 cores.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import httpx
from benchlib import (
    Row,
    database,
    issue_letter,
    start_directive_api_alone,
    stop_processes,
    temp_dir,
)

from common.testing import PostgresServer

GOAL = 100.0
NAME = "POST /v1/verify of issued letters (full report + registry status), HTTP, wrk, PostgreSQL"

_LUA = """
local bodies = {}
local index = 0
local token = os.getenv("BENCH_TOKEN")
for path in io.lines(os.getenv("BENCH_PDF_LIST")) do
  local file = io.open(path, "rb")
  bodies[#bodies + 1] = file:read("*a")
  file:close()
end
request = function()
  index = index % #bodies + 1
  return wrk.format("POST", "/v1/verify", {
    ["Content-Type"] = "application/pdf",
    ["Authorization"] = token,
  }, bodies[index])
end
"""


def run(server: PostgresServer, *, seconds: int, documents: int = 8, connections: int = 8) -> Row:
    with temp_dir("bench-verify-http-") as var, database(server, "bench_verify") as url:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            tokens, base = start_directive_api_alone(var, url, processes)
            auth = tokens.headers["monitor"]

            async def issue_all() -> list[bytes]:
                async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                    pdfs = []
                    for _ in range(documents):
                        doc = await issue_letter(client, tokens)
                        response = await client.get(f"/v1/directives/{doc['id']}/pdf", headers={"Authorization": auth})
                        response.raise_for_status()
                        pdfs.append(response.content)
                    # Every answer is the full, valid report of a registered document.
                    for pdf in pdfs:
                        checked = await client.post(
                            "/v1/verify",
                            content=pdf,
                            headers={"Authorization": auth, "Content-Type": "application/pdf"},
                        )
                        result = checked.json()
                        if result["verdict"] != "valid" or len(result["signatures"]) != 2:
                            raise RuntimeError(f"unexpected verification: {result}")
                    return pdfs

            pdfs = asyncio.run(issue_all())
            paths = []
            for i, pdf in enumerate(pdfs):
                path = var / f"issued-{i}.pdf"
                path.write_bytes(pdf)
                paths.append(str(path))
            listing = var / "pdfs.txt"
            listing.write_text("\n".join(paths) + "\n")
            script = var / "post.lua"
            script.write_text(_LUA)
            wrk_env = {"BENCH_TOKEN": auth, "BENCH_PDF_LIST": str(listing), "PATH": "/usr/bin:/bin"}
            command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base]
            output = subprocess.run(command, capture_output=True, text=True, check=True, env=wrk_env).stdout
        finally:
            stop_processes(processes)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} error responses\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    size = sum(len(p) for p in pdfs) // len(pdfs) // 1024
    return Row(
        NAME,
        f"{rate * seconds:.0f} verifications in {seconds} s ({documents} letters of ≈{size} KiB, {connections} conn.)",
        f"{rate:.0f} documents/s",
        f"≥ {GOAL:.0f}/s",
        rate >= GOAL,
        [
            f"the uncached figure above is pyHanko re-validating both signatures and the changes after them; "
            f"here the verdict made at issue is found by SHA-256 ({Path(script).name} posts the files in turn)"
        ],
    )
