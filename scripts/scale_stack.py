"""Several replicas of each service as processes on one PostgreSQL, behind round-robin proxies.

Used by ``tests/test_scale_out.py`` (replicas killed and restarted while documents are issued) and
``bench/scale_out.py`` (documents issued per minute, three replicas against one). Not part of the
product: a stand-in for what Kubernetes gives (a Service in front of a Deployment's Pods).

- :class:`RoundRobinProxy`: a tiny HTTP proxy (ASGI, httpx) that sends each request to the next
  backend; a backend that refuses the connection (a killed replica) is skipped, a request that
  fails after it was sent answers 502, as a load balancer would.
- :class:`Stack`: directive-api and report-api web replicas, directive-api relays and report-api
  timer workers, each a real process, wired to each other through the proxies.
- :func:`issue_and_dispatch`: one document created, submitted, approved, issued and dispatched
  through a proxy, surviving a replica that dies under it (every step re-reads the document and
  does what its state still needs; creation is idempotent by key).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

BIN = Path(sys.executable).parent
_HOP_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RoundRobinProxy:
    """An ASGI app forwarding each request to the next of ``backends`` (base URLs)."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.served: dict[str, int] = dict.fromkeys(backends, 0)
        self.skipped = 0
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._client = httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=200))
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http" and self._client is not None
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() not in _HOP_HEADERS]
        path = scope["raw_path"].decode() + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        status, out_headers, content = 502, [(b"content-type", b"text/plain")], b"no backend answered"
        for _ in range(len(self.backends)):
            backend = self.backends[next(self._next)]
            try:
                response = await self._client.request(scope["method"], backend + path, headers=headers, content=body)
            except httpx.ConnectError:
                self.skipped += 1  # refused: the request never reached it; the next one gets it
                continue
            except httpx.TransportError as exc:
                content = f"backend failed: {exc!r}".encode()
                break
            self.served[backend] += 1
            status, content = response.status_code, response.content
            out_headers = [
                (k.encode(), v.encode()) for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS
            ]
            break
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content})


@contextlib.contextmanager
def serve_proxy(proxy: RoundRobinProxy, port: int) -> Iterator[str]:
    """Run ``proxy`` on ``port`` in a thread of this process; yields its base URL."""
    config = uvicorn.Config(proxy, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"proxy-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the proxy on {port} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Stack:
    """The processes of both services on two PostgreSQL databases (migrated and seeded by the caller)."""

    directive_db: str
    report_db: str
    folder: Path
    public_key: Path
    directive_replicas: int = 3
    relays: int = 2
    report_replicas: int = 2
    timer_workers: int = 2
    pdf_workers: int = 1
    poll_interval: float = 1.0
    """The workers' idle poll (the services' default; PostgreSQL ``NOTIFY`` wakes them on a commit)."""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directive_proxy_port, self.report_proxy_port = free_port(), free_port()
        self.log_path = self.folder / "processes.log"
        for i in range(1, self.directive_replicas + 1):
            self.ports[f"directive-{i}"] = free_port()
        for i in range(1, self.report_replicas + 1):
            self.ports[f"report-{i}"] = free_port()
        for name, port in self.ports.items():
            service = "directive-api" if name.startswith("directive") else "report-api"
            self.commands[name] = [service, "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)]
        for i in range(1, self.relays + 1):
            self.commands[f"relay-{i}"] = ["directive-api", "relay"]
        for i in range(1, self.timer_workers + 1):
            self.commands[f"timers-{i}"] = ["report-api", "run-timers", "--interval", str(self.poll_interval)]

    @property
    def directive_backends(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for n, p in self.ports.items() if n.startswith("directive")]

    @property
    def report_backends(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for n, p in self.ports.items() if n.startswith("report")]

    def env(self, to_report: str, to_directive: str) -> dict[str, str]:
        directive_proxy = f"http://127.0.0.1:{self.directive_proxy_port}"
        report_proxy = f"http://127.0.0.1:{self.report_proxy_port}"
        return {
            **os.environ,
            "DIRECTIVE_API_DATABASE__URL": self.directive_db,
            "DIRECTIVE_API_AUTH__PUBLIC_KEY_FILE": str(self.public_key),
            "DIRECTIVE_API_FILES_DIR": str(self.folder / "files"),
            "DIRECTIVE_API_SIGNING__DEV_PKI_DIR": str(self.folder / "pki"),
            "DIRECTIVE_API_PUBLIC_BASE_URL": directive_proxy,
            "DIRECTIVE_API_RUN_WORKERS_IN_PROCESS": "false",
            "DIRECTIVE_API_PDF_WORKERS": str(self.pdf_workers),
            "DIRECTIVE_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([report_proxy]),
            "DIRECTIVE_API_WEBHOOKS__POLL_INTERVAL_SECONDS": str(self.poll_interval),
            "DIRECTIVE_API_SUBSCRIBERS": json.dumps(
                [
                    {
                        "owner": "report-api",
                        "url": f"{report_proxy}/v1/inbox/events",
                        "secret": to_report,
                        "event_types": ["directive.*", "delivery.*"],
                    }
                ]
            ),
            "DIRECTIVE_API_INBOX_SECRETS": json.dumps([to_directive]),
            "REPORT_API_DATABASE__URL": self.report_db,
            "REPORT_API_AUTH__PUBLIC_KEY_FILE": str(self.public_key),
            "REPORT_API_RUN_WORKERS_IN_PROCESS": "false",
            "REPORT_API_WEBHOOK_SECRETS": to_report,
            "REPORT_API_DIRECTIVE_API_URL": directive_proxy,
            "REPORT_API_DIRECTIVE_API_INBOX_URL": f"{directive_proxy}/v1/inbox/events",
            "REPORT_API_DIRECTIVE_API_INBOX_SECRET": to_directive,
            "REPORT_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([directive_proxy]),
            "REPORT_API_WEBHOOKS__POLL_INTERVAL_SECONDS": str(self.poll_interval),
            "REPORT_API_EVIDENCE_DIR": str(self.folder / "evidence"),
            "LOG_LEVEL": "warning",
        }

    def start(self, env: dict[str, str]) -> None:
        self._env = env
        for name in self.commands:
            self.start_one(name)

    def start_one(self, name: str) -> None:
        command = self.commands[name]
        with self.log_path.open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [str(BIN / command[0]), *command[1:]], env=self._env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self, name: str) -> None:
        """SIGKILL, as the OOM killer or a node failure would: no draining, no clean-up."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def wait_ready(self, names: list[str] | None = None, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        for name in names or list(self.ports):
            url = f"http://127.0.0.1:{self.ports[name]}/readyz"
            while True:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited: {self.log_tail()}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready: {self.log_tail()}")
                time.sleep(0.3)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each kind of process (``directive``, ``relay``,
        ``report``, ``timers``; ``pdf`` for directive-api's PDF worker processes), from ``/proc``: what
        the running processes used (a killed one's CPU is gone with it)."""
        used: dict[str, float] = {}
        for name, process in self.processes.items():
            kind = name.rsplit("-", 1)[0]
            used[kind] = used.get(kind, 0.0) + _cpu(process.pid)
            for child in _children(process.pid):
                key = "pdf" if kind == "directive" else kind
                used[key] = used.get(key, 0.0) + _cpu(child)
        return used

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


class WalkError(RuntimeError):
    """A document could not be taken to dispatched within the attempts allowed."""


_NEXT = {
    "draft": ("submit", "drafter"),
    "submitted": ("approve", "signer"),
    "approved": ("issue", "clerk"),
    "issued": ("dispatch", "clerk"),
}


async def issue_and_dispatch(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], body: dict[str, Any], *, within: float = 900
) -> str:
    """Take one new document to ``dispatched`` through ``client`` (a proxy's base URL); returns its id.

    ``headers`` has the Authorization header of a ``drafter``, a ``signer`` and a ``clerk``. A 502
    (the replica died under the request), a 409 or a 412 (another try already moved the document)
    is answered by reading the document again and doing what its state still needs.
    """
    key = str(uuid.uuid4())
    doc_id: str | None = None
    last = "nothing sent"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if doc_id is None:
                created = await client.post(
                    "/v1/directives", json=body, headers={**headers["drafter"], "Idempotency-Key": key}
                )
                if created.status_code in (200, 201):
                    doc_id = str(created.json()["id"])
                else:
                    last = f"create: {created.status_code} {created.text[:200]}"
                    if created.status_code in (400, 401, 403, 404, 422):
                        raise WalkError(last)  # the request itself is refused: retrying will not help
                    await asyncio.sleep(0.2)
                continue
            read = await client.get(f"/v1/directives/{doc_id}", headers=headers["clerk"])
            if read.status_code != 200:
                last = f"read: {read.status_code} {read.text[:200]}"
                await asyncio.sleep(0.2)
                continue
            doc = read.json()
            if doc["status"] == "dispatched":
                return doc_id
            if doc["status"] not in _NEXT:
                raise WalkError(f"{doc_id} is {doc['status']}")
            action, who = _NEXT[doc["status"]]
            done = await client.post(
                f"/v1/directives/{doc_id}/{action}", headers={**headers[who], "If-Match": doc["etag"]}
            )
            last = f"{action} of a {doc['status']} document: {done.status_code} {done.text[:200]}"
            if done.status_code >= 300:
                await asyncio.sleep(0.2)
        except httpx.TransportError as exc:
            last = repr(exc)
            await asyncio.sleep(0.2)
    raise WalkError(f"document {doc_id or key} not dispatched within {within:.0f} s; last: {last}")
