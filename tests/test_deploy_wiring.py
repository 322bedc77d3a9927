"""Compose and every Kubernetes overlay wire the two services to each other.

Each file is rendered as its tool would (Compose: the env file the documented command creates,
``${VAR:-default}`` interpolation, ``environment:`` over ``env_file``; Kubernetes: ``kubectl kustomize``,
then each container's environment from its ConfigMap and ``env`` with ``$(VAR)`` expansion, a value
from a Secret standing as ``<secret name/key>``). Then, for every process of each service:

- directive-api's subscriber URL and report-api's directive-api URLs name the other service's
  Compose service or Kubernetes Service, on the port its process listens on, and a path its app has;
- the secret directive-api signs events with is one report-api accepts, and the other way round
  (the same Secret key on Kubernetes, the same value in Compose);
- each process's webhook policy admits the other's URL (plain http, a private address) by an
  allow-list entry naming its host and port, not by opening every private address.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from dotenv import dotenv_values

from common.settings import AuthSettings, DatabaseSettings
from common.webhooks import check_webhook_url
from directive_api.main import create_app as create_directive_app
from directive_api.settings import Settings as DirectiveSettings
from report_api.main import create_app as create_report_app
from report_api.settings import Settings as ReportSettings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OVERLAYS = sorted(p.name for p in (ROOT / "deploy" / "k8s" / "overlays").iterdir() if p.is_dir())
SERVICES = ("directive-api", "report-api")


@dataclass(frozen=True)
class Process:
    """One process of a service as deployed: its environment and where it can be reached."""

    name: str
    service: str
    env: dict[str, str]


@dataclass(frozen=True)
class Deployment:
    processes: list[Process]
    endpoints: dict[str, tuple[str, int]]
    """Host and port that reach each service's web processes."""


@cache
def route_paths(service: str) -> frozenset[str]:
    database = DatabaseSettings(url="sqlite+aiosqlite:///:memory:")
    auth = AuthSettings(
        issuer="https://id.example.invalid",
        audience="tests",
        jwks_url="https://id.example.invalid/.well-known/jwks.json",
    )  # never fetched here
    if service == "directive-api":
        app = create_directive_app(DirectiveSettings(database=database, auth=auth))
    else:
        app = create_report_app(ReportSettings(database=database, auth=auth))
    return frozenset(app.openapi()["paths"])


def serve_port(args: list[str]) -> int:
    return int(args[args.index("--port") + 1])


# --- Compose ------------------------------------------------------------------------------------


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` interpolation of every string."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        found = variables.get(name)
        if found:
            return found
        assert operator != ":?", f"${{{name}}} is required: {argument}"
        return argument if operator == ":-" else ""

    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", substitute, value)
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    return value


def render_compose(project: Path) -> Deployment:
    """docker-compose.yml as ``docker compose config`` would resolve it in ``project``."""
    # Compose interpolates from the project's .env (and the shell, empty here).
    dotenv_file = project / ".env"
    variables = {k: v or "" for k, v in dotenv_values(dotenv_file).items()} if dotenv_file.exists() else {}
    data = interpolate(yaml.safe_load((project / "docker-compose.yml").read_text()), variables)
    processes = []
    endpoints = {}
    for name, spec in data["services"].items():
        image = spec.get("build", {}).get("dockerfile", "")
        service = next((s for s in SERVICES if f"services/{s}/" in image), None)
        if service is None:
            continue
        env: dict[str, str] = {}
        for entry in spec.get("env_file", []):
            path = project / entry["path"]
            if path.exists():
                env.update({k: v or "" for k, v in dotenv_values(path).items()})
            else:
                assert entry.get("required", True) is False, f"{name}: {path.name} is required"
        env.update({k: str(v) for k, v in (spec.get("environment") or {}).items()})
        processes.append(Process(name, service, env))
        command = spec.get("command", [])
        if command[:1] == ["serve"]:
            endpoints[service] = (name, serve_port(command))
    return Deployment(processes, endpoints)


# --- Kubernetes ---------------------------------------------------------------------------------


@cache
def rendered(overlay: str) -> list[dict[str, Any]]:
    kustomize = shutil.which("kustomize")
    argv = [kustomize, "build"] if kustomize else [str(BIN / "kubectl"), "kustomize"]
    out = subprocess.run(
        [*argv, str(ROOT / "deploy" / "k8s" / "overlays" / overlay)], check=True, capture_output=True, text=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def container_env(container: dict[str, Any], configs: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment the kubelet gives a container (``$(VAR)`` expanded in order, as it does)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configs[source["configMapRef"]["name"]])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), entry["value"])
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = f"<secret {ref['name']}/{ref['key']}>"
    return env


def render_overlay(overlay: str) -> Deployment:
    docs = rendered(overlay)
    configs = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    processes = []
    pods: dict[str, tuple[dict[str, str], dict[str, Any]]] = {}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        template = doc["spec"]["template"]
        (container,) = template["spec"]["containers"]
        service = next(s for s in SERVICES if re.search(rf"(^|/){s}(:|$)", container["image"]))
        processes.append(Process(doc["metadata"]["name"], service, container_env(container, configs)))
        if container["args"][:1] == ["serve"]:
            pods[service] = (template["metadata"]["labels"], container)
    endpoints = {}
    for service, (labels, container) in pods.items():
        matching = [d for d in docs if d["kind"] == "Service" and d["spec"]["selector"].items() <= labels.items()]
        assert len(matching) == 1, f"one Service selects {service}'s pods"
        (port,) = matching[0]["spec"]["ports"]
        named = {p["name"]: p["containerPort"] for p in container["ports"]}
        target = named.get(port["targetPort"], port["targetPort"])
        assert target == serve_port(container["args"]), f"{service}: the Service reaches the port it serves on"
        endpoints[service] = (matching[0]["metadata"]["name"], port["port"])
    return Deployment(processes, endpoints)


# --- the checks ---------------------------------------------------------------------------------


def deployments() -> Iterator[Any]:
    yield pytest.param("compose", id="compose")
    for overlay in OVERLAYS:
        yield pytest.param(overlay, id=f"k8s-{overlay}")


def render(target: str, tmp_path: Path) -> Deployment:
    if target == "compose":
        # The documented start: `cp .env.example .env`, then `docker compose up`.
        shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
        shutil.copy(ROOT / ".env.example", tmp_path / ".env")
        return render_compose(tmp_path)
    return render_overlay(target)


def assert_reaches(url: str, deployment: Deployment, service: str, path: str | None = None) -> None:
    host, port = deployment.endpoints[service]
    parts = urlsplit(url)
    assert (parts.hostname, parts.port) == (host, port), f"{url} does not reach {service} at {host}:{port}"
    if path is not None:
        assert parts.path == path and path in route_paths(service), url


def assert_delivers_to(url: str, env: dict[str, str], prefix: str) -> None:
    """The process's own webhook policy admits ``url`` at a private address (where the other service
    lives inside the stack), and admits it by its allow-list: nothing else is opened to it."""
    allow_hosts = json.loads(env[f"{prefix}WEBHOOKS__ALLOW_HOSTS"])
    allow_private = env.get(f"{prefix}WEBHOOKS__ALLOW_PRIVATE", "false") == "true"
    checked = check_webhook_url(
        url, allow_hosts=allow_hosts, allow_private=allow_private, resolver=lambda _host, _port: ["10.0.0.7"]
    )
    assert checked.allow_listed, f"{url} is not in {prefix}WEBHOOKS__ALLOW_HOSTS (an entry names host and port)"


@pytest.mark.parametrize("target", list(deployments()))
def test_each_service_reaches_the_other_with_matching_secrets(target: str, tmp_path: Path) -> None:
    check_wiring(render(target, tmp_path), from_secrets=target != "compose")


def check_wiring(deployment: Deployment, *, from_secrets: bool) -> None:
    assert set(deployment.endpoints) == set(SERVICES)
    directive = [p for p in deployment.processes if p.service == "directive-api"]
    report = [p for p in deployment.processes if p.service == "report-api"]
    # Every long-running process (web and workers) is wired; a one-shot migration needs none of it.
    long_running = [p for p in deployment.processes if "migrate" not in p.name and p.name != "dev-keys"]
    assert {p.service for p in long_running} == set(SERVICES)

    accepted_by_report = {p.env["REPORT_API_WEBHOOK_SECRETS"] for p in report if "migrate" not in p.name}
    accepted_by_directive = set()
    for process in directive:
        if "migrate" in process.name or process.name == "dev-keys":
            continue
        (subscriber,) = json.loads(process.env["DIRECTIVE_API_SUBSCRIBERS"])
        assert subscriber["owner"] == "report-api"
        assert_reaches(subscriber["url"], deployment, "report-api", "/v1/inbox/events")
        assert subscriber["event_types"] == ["directive.*", "delivery.*"]
        assert {subscriber["secret"]} == accepted_by_report, f"{process.name} signs with a secret report-api refuses"
        assert_delivers_to(subscriber["url"], process.env, "DIRECTIVE_API_")
        accepted_by_directive.update(json.loads(process.env["DIRECTIVE_API_INBOX_SECRETS"]))
    assert len(accepted_by_directive) == 1
    for process in report:
        if "migrate" in process.name:
            continue
        assert_reaches(process.env["REPORT_API_DIRECTIVE_API_URL"], deployment, "directive-api")
        inbox = process.env["REPORT_API_DIRECTIVE_API_INBOX_URL"]
        assert_reaches(inbox, deployment, "directive-api", "/v1/inbox/events")
        assert {process.env["REPORT_API_DIRECTIVE_API_INBOX_SECRET"]} == accepted_by_directive
        assert_delivers_to(inbox, process.env, "REPORT_API_")
    for secret in accepted_by_report | accepted_by_directive:
        if from_secrets:
            assert re.fullmatch(r"<secret service-webhooks/[a-z-]+>", secret), "secrets come from a Secret"
        else:
            assert secret.startswith("whsec_")
    if from_secrets:  # each direction has its own secret
        assert accepted_by_report.isdisjoint(accepted_by_directive)


def test_a_container_environment_expands_secret_references_in_order() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "c"}}],
        "env": [
            {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "B", "value": "x-$(A)-$(C)-$(LATER)"},
            {"name": "LATER", "value": "late"},
        ],
    }
    assert container_env(container, {"c": {"C": "from-config"}}) == {
        "C": "from-config",
        "A": "<secret s/k>",
        "B": "x-<secret s/k>-from-config-$(LATER)",
        "LATER": "late",
    }


def test_a_wrong_port_or_secret_is_caught(tmp_path: Path) -> None:
    """The checks above fail on a miswired file (so that passing means something)."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    compose = (ROOT / "docker-compose.yml").read_text()
    (tmp_path / "docker-compose.yml").write_text(compose)
    deployment = render_compose(tmp_path)
    with pytest.raises(AssertionError, match="does not reach report-api"):
        assert_reaches("http://report-api:8003/v1/inbox/events", deployment, "report-api")
    env = (tmp_path / ".env").read_text()
    (tmp_path / ".env").write_text(
        env.replace("REPORT_API_WEBHOOK_SECRETS=whsec_", "REPORT_API_WEBHOOK_SECRETS=whsec_x")
    )
    with pytest.raises(AssertionError, match="signs with a secret report-api refuses"):
        check_wiring(render_compose(tmp_path), from_secrets=False)


def documented_secrets(namespace: str) -> dict[str, set[str]]:
    """Secrets the operator docs tell to create in ``namespace``, with their keys."""
    found: dict[str, set[str]] = {}
    for doc in (ROOT / "docs" / "operations.md", ROOT / "deploy" / "README.md"):
        text = doc.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            match = re.search(rf"kubectl -n {namespace} create secret generic ([a-z0-9-]+)(.*)", line)
            if match:
                keys = {k.split("=")[0] for k in re.findall(r"--from-(?:literal|file)=([\w.=-]+)", match.group(2))}
                found.setdefault(match.group(1), set()).update(keys)
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_docs_create_every_secret_the_overlay_reads(overlay: str) -> None:
    used: dict[str, set[str]] = {}
    for doc in rendered(overlay):
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in pod["containers"]:
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    used.setdefault(ref["name"], set()).add(ref["key"])
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                used.setdefault(volume["secret"]["secretName"], set())
    # CloudNativePG creates <cluster>-app itself.
    clusters = {f"{d['metadata']['name']}-app" for d in rendered(overlay) if d["kind"] == "Cluster"}
    assert clusters <= set(used)
    needed = {name: keys for name, keys in used.items() if name not in clusters}
    documented = documented_secrets(f"cantho-{overlay}")
    assert set(needed) == set(documented), f"documented {sorted(documented)}, used {sorted(needed)}"
    for name, keys in needed.items():
        assert keys <= documented[name], f"{name}: the docs create {documented[name]}, the overlay reads {keys}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_connections_go_through_the_pooler_within_budget(overlay: str) -> None:
    """Web processes and workers reach PostgreSQL through a transaction-mode Pooler; the Jobs go to
    the primary. However far the HPAs scale, the Poolers' server connections fit the cluster's
    ``max_connections`` and the clients fit the Poolers' ``max_client_conn``."""
    docs = rendered(overlay)
    clusters = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Cluster"}
    poolers = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Pooler"}
    hpas = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicas"]
        for d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    clients: dict[str, int] = dict.fromkeys(poolers, 0)
    for process in render_overlay(overlay).processes:
        prefix = "DIRECTIVE_API_" if process.service == "directive-api" else "REPORT_API_"
        # The credentials are Secret placeholders here: take the host after the last "@".
        host = re.fullmatch(r".*@([\w.-]+):5432/\w+", process.env[f"{prefix}DATABASE__URL"]).group(1)  # type: ignore[union-attr]
        if "migrate" in process.name:
            assert host.removesuffix("-rw") in clusters, f"{process.name} migrates on the primary, not {host}"
            continue
        assert host in poolers, f"{process.name} connects to {host}, not a Pooler"
        assert process.env[f"{prefix}DATABASE__TRANSACTION_POOLING"] == "true"
        deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == process.name)
        replicas = hpas.get(process.name, deployment["spec"]["replicas"])
        per_process = int(process.env[f"{prefix}DATABASE__POOL_SIZE"]) + int(
            process.env[f"{prefix}DATABASE__MAX_OVERFLOW"]
        )
        clients[host] += replicas * per_process
    for name, pooler in poolers.items():
        spec = pooler["spec"]
        assert spec["type"] == "rw" and spec["pgbouncer"]["poolMode"] == "transaction"
        parameters = spec["pgbouncer"]["parameters"]
        cluster = clusters[spec["cluster"]["name"]]
        max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
        reserve = 20  # superuser, replication, the start-up Job, operators' psql
        assert spec["instances"] * int(parameters["default_pool_size"]) <= max_connections - reserve, name
        assert clients[name] <= spec["instances"] * int(parameters["max_client_conn"]), (name, clients[name])
        assert clients[name] > 0
