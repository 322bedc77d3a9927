"""Ctrl-C in a terminal sends SIGINT to the whole foreground process group, the PDF workers included:
they ignore it (their parent shuts them down), so stopping a service prints no worker tracebacks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent(
    """
    import faulthandler
    import signal
    import time

    # As in a terminal, whatever the test runner's process inherited: Ctrl-C interrupts, and a
    # SIGUSR1 prints every thread's stack (the test asks for it when the process does not stop).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
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
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            process.kill()
            out, err = process.communicate()
            raise AssertionError(f"not stopped 60 s after Ctrl-C; stdout {out!r}; stacks:\n{err}") from None
    finally:
        if process.poll() is None:
            process.kill()
    assert "stopped" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert process.returncode == 0
