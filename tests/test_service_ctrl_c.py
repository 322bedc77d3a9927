"""Ctrl-C on ``make run`` (SIGINT to the terminal's whole process group): directive-api stops without
the KeyboardInterrupt tracebacks its PDF worker processes used to print (SpawnProcess-1, -2), even
while the workers are still starting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import run_local
from stack_testing import free_port

pytestmark = pytest.mark.slow  # a real service process with its PDF worker pool

BIN = Path(sys.executable).parent


def _pdf_workers(pid: int) -> list[int]:
    """The spawned children of ``pid`` (multiprocessing's spawn_main)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def test_sigint_to_the_process_group_stops_the_service_without_tracebacks(tmp_path: Path) -> None:
    port = free_port()
    env = run_local.service_env(tmp_path / "var", directive_port=port, report_port=free_port())
    env["DIRECTIVE_API_PDF_WORKERS"] = "2"
    process = subprocess.Popen(
        [str(BIN / "directive-api"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as the terminal's foreground job
    )
    try:
        run_local.wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=120)
        deadline = time.monotonic() + 60
        while len(_pdf_workers(process.pid)) < 2:
            assert time.monotonic() < deadline, "the PDF workers did not start"
            time.sleep(0.2)
        # At once: the workers may still be importing (the hardest moment), or already idle.
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
