"""Container health checks for every process of an image: web processes and workers.

A worker serves no HTTP, so it proves it is alive by touching a heartbeat file after every round
(:func:`beat`). ``python -m common.health --heartbeat FILE --url URL`` is healthy when the file is
fresh (a worker), or else when ``URL`` answers 2xx (a web process, which never writes the file):
the images use it as their one ``HEALTHCHECK``, whatever command the container runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.request
from pathlib import Path

HEARTBEAT_ENV = "WORKER_HEARTBEAT_FILE"
"""Where a worker touches its heartbeat (the images set ``/tmp/worker.heartbeat``); unset: nowhere."""


def heartbeat_file() -> Path | None:
    """The heartbeat file this process should touch, from ``WORKER_HEARTBEAT_FILE``."""
    value = os.environ.get(HEARTBEAT_ENV, "").strip()
    return Path(value) if value else None


def beat(path: Path | None) -> None:
    """Record that a worker finished a round (nothing when ``path`` is None)."""
    if path is None:
        return
    try:
        path.touch()
    except OSError:  # a read-only or missing folder must not stop the worker; the check will say it
        return


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the last beat, or None when there was none."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None


def check(*, heartbeat: Path | None, url: str | None, max_age: float, timeout: float = 4.0) -> str | None:
    """None when healthy, else why not (one line)."""
    if heartbeat is not None:
        age = heartbeat_age(heartbeat)
        if age is not None:
            return None if age <= max_age else f"last worker round {age:.0f} s ago (more than {max_age:.0f} s)"
        if url is None:
            return f"no worker round finished yet ({heartbeat} does not exist)"
    if url is None:
        return "nothing to check: give --heartbeat and/or --url"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a local, configured URL)
            status = int(response.status)
    except OSError as exc:
        return f"{url}: {exc}"
    return None if 200 <= status < 300 else f"{url}: HTTP {status}"


def main(argv: list[str] | None = None) -> int:
    """``python -m common.health``: exit 0 when healthy, 1 (with the reason on stderr) when not."""
    parser = argparse.ArgumentParser(prog="python -m common.health", description=__doc__)
    parser.add_argument("--heartbeat", type=Path, help="a worker's heartbeat file (healthy when fresh)")
    parser.add_argument("--url", help="a web process's liveness URL, checked when there is no heartbeat")
    parser.add_argument(
        "--max-age", type=float, default=300.0, help="seconds a heartbeat stays fresh (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    problem = check(heartbeat=args.heartbeat, url=args.url, max_age=args.max_age)
    if problem is not None:
        sys.stderr.write(f"unhealthy: {problem}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
