"""Start the whole system on its embedded default: both services on SQLite files under ``var/``.

Development keys are created on first run (``var/keys``), migrations applied, the directory seeded.
Stops both services on Ctrl-C or SIGTERM. Used by ``make run`` and by the end-to-end tests.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common.auth import ensure_dev_keys
from common.webhooks import generate_secret

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import csc_service  # noqa: E402  (the local remote-signing service, a script beside this one)


def _secret(path: Path) -> str:
    """A development webhook secret kept in the state folder (created on first run)."""
    if not path.exists():
        path.write_text(generate_secret())
        path.chmod(0o600)
    return path.read_text().strip()


def service_env(var: Path, *, directive_port: int, report_port: int) -> dict[str, str]:
    """Environment of both services for a state folder ``var``."""
    keys = ensure_dev_keys(var / "keys")
    to_report = _secret(var / "keys" / "webhook-directive-to-report.secret")
    to_directive = _secret(var / "keys" / "webhook-report-to-directive.secret")
    subscriber = {
        "owner": "report-api",
        "url": f"http://127.0.0.1:{report_port}/v1/inbox/events",
        "secret": to_report,
        "event_types": ["directive.*", "delivery.*"],
    }
    env = dict(os.environ)
    env.update(
        {
            "DIRECTIVE_API_DATABASE__URL": f"sqlite+aiosqlite:///{var / 'directive-api.db'}",
            "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
            "DIRECTIVE_API_PUBLIC_BASE_URL": f"http://127.0.0.1:{directive_port}",
            "DIRECTIVE_API_FILES_DIR": str(var / "files"),
            "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(var / "pki"),
            "DIRECTIVE_API_RUN_WORKERS_IN_PROCESS": "true",
            "DIRECTIVE_API_WEBHOOKS__ALLOW_HOSTS": json.dumps(["127.0.0.1"]),
            "DIRECTIVE_API_SUBSCRIBERS": json.dumps([subscriber]),
            "DIRECTIVE_API_INBOX_SECRETS": json.dumps([to_directive]),
            "REPORT_API_WEBHOOK_SECRETS": to_report,
            "REPORT_API_DIRECTIVE_API_INBOX_URL": f"http://127.0.0.1:{directive_port}/v1/inbox/events",
            "REPORT_API_DIRECTIVE_API_INBOX_SECRET": to_directive,
            "REPORT_API_EVIDENCE_DIR": str(var / "evidence"),
            "REPORT_API_RUN_WORKERS_IN_PROCESS": "true",
            "REPORT_API_WEBHOOKS__ALLOW_HOSTS": json.dumps(["127.0.0.1"]),
            "REPORT_API_DATABASE__URL": f"sqlite+aiosqlite:///{var / 'report-api.db'}",
            "REPORT_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
            "REPORT_API_DIRECTIVE_API_URL": f"http://127.0.0.1:{directive_port}",
        }
    )
    return env


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL we built)
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not become ready")
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(var: Path, *, directive_port: int = 8001, report_port: int = 8002) -> list[subprocess.Popen[bytes]]:
    """Start both services and the local remote-signing service (CSC API v2), and wait until they are ready."""
    var.mkdir(parents=True, exist_ok=True)
    env = service_env(var, directive_port=directive_port, report_port=report_port)
    csc_config, csc_env = csc_service.prepare_state(var / "csc")
    csc_port = _free_port()
    env["DIRECTIVE_API_SIGNING__CSC_URL"] = f"http://127.0.0.1:{csc_port}"
    env["DIRECTIVE_API_SIGNING__CSC_TOKEN"] = csc_service.client_token(csc_config)
    bin_dir = Path(sys.executable).parent
    csc_command = [sys.executable, str(ROOT / "scripts" / "csc_service.py"), "--config", str(csc_config)]
    csc_command += ["--port", str(csc_port)]
    processes = [
        subprocess.Popen([str(bin_dir / "directive-api"), "serve", "--port", str(directive_port)], env=env),
        subprocess.Popen([str(bin_dir / "report-api"), "serve", "--port", str(report_port)], env=env),
        subprocess.Popen(csc_command, env=csc_env),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{directive_port}/readyz")
        wait_ready(f"http://127.0.0.1:{report_port}/readyz")
        wait_ready(f"http://127.0.0.1:{csc_port}/openapi.json")
    except BaseException:
        stop(processes)
        raise
    return processes


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--var", type=Path, default=ROOT / "var")
    parser.add_argument("--directive-port", type=int, default=8001)
    parser.add_argument("--report-port", type=int, default=8002)
    args = parser.parse_args()
    processes = start(args.var, directive_port=args.directive_port, report_port=args.report_port)
    keys = args.var / "keys"
    print(
        f"\ndirective-api  http://127.0.0.1:{args.directive_port}/docs\n"
        f"report-api     http://127.0.0.1:{args.report_port}/docs\n"
        f"state          {args.var}\n"
        f"a token        .venv/bin/directive-api mint-token tran-van-an --keys {keys}\n"
        f"the seed walk  .venv/bin/directive-api walk-seed --keys {keys}\n"
        f"remote signing .venv/bin/python scripts/csc_service.py --config {args.var / 'csc' / 'csc.json'} "
        f"--enroll <person id> --name '<full name>' --pki {args.var / 'pki'}  (then set the person's signing_mode "
        "remote and signing_certificate; see docs/api.md)\n"
        "Ctrl-C stops all.\n",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: stop(processes))
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
