"""Ctrl-C in a terminal sends SIGINT to the whole foreground process group, the PDF workers included:
they ignore it (their parent shuts them down), so stopping a service prints no worker tracebacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import time
    from common.pdf import pool

    pool.default_executor().submit(abs, -1).result()  # a worker is started and warmed up
    try:  # entered before "ready": the test's Ctrl-C can only arrive inside it
        print("ready", flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        pool._DefaultExecutor.shutdown()
        print("stopped", flush=True)
    """
)


def test_ctrl_c_stops_the_pool_without_worker_tracebacks() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the parent and its workers
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "stopped" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert process.returncode == 0
