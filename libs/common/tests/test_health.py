"""The images' one health check: a worker's heartbeat file, else a web process's URL."""

from __future__ import annotations

import os
import time
from pathlib import Path

from common.health import beat, check, main


def test_a_fresh_heartbeat_is_healthy_and_a_stale_one_is_not(tmp_path: Path) -> None:
    heartbeat = tmp_path / "worker.heartbeat"
    assert (
        check(heartbeat=heartbeat, url=None, max_age=60) == f"no worker round finished yet ({heartbeat} does not exist)"
    )
    beat(heartbeat)
    assert check(heartbeat=heartbeat, url=None, max_age=60) is None
    old = time.time() - 120
    os.utime(heartbeat, (old, old))
    problem = check(heartbeat=heartbeat, url=None, max_age=60)
    assert problem is not None and problem.startswith("last worker round 120 s ago")


def test_without_a_heartbeat_the_url_decides(tmp_path: Path) -> None:
    argv = ["--heartbeat", str(tmp_path / "none"), "--url", "http://127.0.0.1:9/healthz", "--max-age", "5"]
    assert main(argv) == 1
    beat(tmp_path / "none")
    assert main(argv) == 0


def test_beat_into_a_missing_folder_does_not_raise(tmp_path: Path) -> None:
    beat(tmp_path / "missing" / "worker.heartbeat")
    beat(None)
