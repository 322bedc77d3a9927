"""``make run`` stops the whole stack when one of its processes exits, and says which one and how."""

from __future__ import annotations

import subprocess
import sys

import pytest
import run_local


def test_the_process_that_exits_is_named_with_its_code_before_the_rest_stop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    waiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    failing = subprocess.Popen([sys.executable, "-m", "json.tool", "--no-such-option"], stderr=subprocess.DEVNULL)
    try:
        exited = run_local.watch([waiting, failing], poll=0.05)
        assert exited is failing
        err = capsys.readouterr().err
        assert f"json.tool (pid {failing.pid}) exited with code 2; stopping the rest" in err
        assert waiting.poll() is None  # watch only reports; stop() ends the rest
        run_local.stop([waiting, failing])
        assert waiting.returncode is not None
    finally:
        for process in (waiting, failing):
            if process.poll() is None:
                process.kill()


def test_processes_are_named_by_what_they_run() -> None:
    def named(args: list[str]) -> str:
        process = subprocess.Popen([sys.executable, "-c", "pass"])
        process.wait()
        process.args = args
        return run_local.describe(process)

    assert named([sys.executable, "-m", "common.vxp.hub", "--port", "1"]) == "common.vxp.hub"
    assert named([sys.executable, "/x/scripts/dev_ca.py", "--pki", "p"]) == "dev_ca.py"
    assert named(["/x/.venv/bin/directive-api", "serve", "--port", "8001"]) == "directive-api serve"
