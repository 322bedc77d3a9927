"""Every command docs/operations.md gives an operator is one this test runs or renders.

The commands are read from the document itself: each line of a ``sh`` block, and each inline code
span that starts with a program (``kubectl``, ``docker``, ``directive-api``, …). Each is checked
the way it can be without a cluster or a Docker engine:

- ``directive-api`` / ``report-api``: parsed by the service's own command line (placeholders such
  as ``FILE`` or ``PERSON`` stand for an example value), so a removed command or option fails here;
- ``kubectl create namespace`` / ``create secret``: run by kubectl itself (``--dry-run=client``) in
  a folder holding the named files; each Secret is one the rendered overlay of that namespace reads,
  with the keys it mounts or reads, and every file the overlay's settings name is in a mounted Secret;
- ``kubectl apply -k``, ``wait``, ``rollout``, ``scale``, ``get crd``: name an overlay, and objects
  of the kinds and names its rendering (``kubectl kustomize``, as ``tests/test_deploy_wiring.py``)
  has in that namespace;
- ``docker compose``: against docker-compose.yml rendered from ``.env.example`` as the document's
  ``cp`` makes it (services, published ports, health checks ``--wait`` waits for);
- ``curl``: the URL is one a published port and a route of the app answer;
- ``make``, ``scripts/…``, ``python -m …``, ``bench/run.py``: run (backups on SQLite), or their
  ``--help`` with the documented options.

A command the test has no check for fails it: a new command in the document needs one here.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from test_deploy_wiring import OVERLAYS, render_compose, rendered, route_paths

from common.webhooks import sign
from directive_api.cli import build_parser as directive_parser
from report_api.cli import build_parser as report_parser

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "operations.md"
BIN = Path(sys.executable).parent
PROGRAMS = (
    "kubectl",
    "docker",
    "cp",
    "curl",
    "directive-api",
    "report-api",
    "make",
    "python",
    ".venv/bin/python",
    "scripts/",
    "bench/",
)
# Placeholders the document uses for values the operator chooses.
EXAMPLES = {
    "FILE.csv": "organs.csv",
    "FILE": "file.pdf",
    "DIR": "out",
    "PERSON": "le-xuan-hoa",
    "URL": "postgresql://u:p@db:5432/directive_api",
    "DATABASE_URL": "postgresql://u:p@db:5432/directive_api",
}


def documented_commands() -> list[str]:
    """The commands of docs/operations.md, in order (continuation lines joined, comments dropped)."""
    text = DOC.read_text()
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line:
                commands.append(" ".join(line.split()))
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`\n]+)`", prose):
        if any(span == p.rstrip("/") or span.startswith(p if p.endswith("/") else p + " ") for p in PROGRAMS):
            commands.append(span)
    return commands


def words(command: str) -> list[str]:
    """The command's words, optional ``[…]`` groups included, placeholders replaced by examples."""
    command = command.replace("[", "").replace("]", "")
    return [EXAMPLES.get(word, word) for word in shlex.split(command)]


# --- the service command lines ------------------------------------------------------------------


def check_service_cli(argv: list[str]) -> None:
    parser = {"directive-api": directive_parser, "report-api": report_parser}[argv[0]]()
    if len(argv) == 1:
        return  # the program named as such (e.g. "`directive-api` commands")
    try:
        parser.parse_args(argv[1:])
    except SystemExit as exc:
        raise AssertionError(f"{shlex.join(argv)}: the command line refuses it (exit {exc.code})") from None


# --- Kubernetes ---------------------------------------------------------------------------------


def overlay_of(namespace: str) -> str:
    matches = [o for o in OVERLAYS if {d["metadata"].get("namespace") for d in rendered(o)} == {namespace}]
    assert len(matches) == 1, f"no overlay renders into namespace {namespace}"
    overlay: str = matches[0]
    return overlay


def objects(overlay: str, kind: str) -> set[str]:
    return {d["metadata"]["name"] for d in rendered(overlay) if d["kind"] == kind}


def secrets_read(overlay: str) -> dict[str, set[str]]:
    """Secrets the overlay's pods read (env) or mount (volumes), with the keys, but the ones
    CloudNativePG makes (``<cluster>-app``)."""
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
    return {name: keys for name, keys in used.items() if name.removesuffix("-app") not in objects(overlay, "Cluster")}


def mounted_files(overlay: str, secrets: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Per Deployment, the files its container sees from the Secrets the document creates."""
    files: dict[str, set[str]] = {}
    for doc in rendered(overlay):
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        volumes = {v["name"]: v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        seen = files.setdefault(doc["metadata"]["name"], set())
        for container in pod["containers"]:
            for mount in container.get("volumeMounts", []):
                secret = volumes.get(mount["name"])
                if secret is not None:
                    seen.update(f"{mount['mountPath']}/{key}" for key in secrets.get(secret, {}).get("data", {}))
    return files


def kubectl(command: str, cwd: Path) -> dict[str, Any]:
    """Run ``command`` as the operator's shell would (``$(openssl …)`` included), as a dry run."""
    done = subprocess.run(
        ["bash", "-c", f"{command} --dry-run=client -o yaml"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert done.returncode == 0, f"{command}: {done.stderr}"
    result: dict[str, Any] = yaml.safe_load(done.stdout)
    return result


class Kubernetes:
    """Runs the document's kubectl commands in order; the Secrets made are checked at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.namespaces: set[str] = set()
        self.secrets: dict[str, dict[str, dict[str, Any]]] = {}
        self.applied: set[str] = set()

    def check(self, argv: list[str], command: str) -> None:
        args = argv[1:]
        if not args:
            return  # the program named as such
        namespace = None
        if args[:1] == ["-n"]:
            namespace, args = args[1], args[2:]
        if args[:2] == ["create", "namespace"]:
            made = kubectl(command, self.folder)
            overlay_of(made["metadata"]["name"])
            self.namespaces.add(made["metadata"]["name"])
            return
        if args[:2] == ["get", "crd"]:
            # The operator's resource definitions: every CloudNativePG kind the overlays use.
            used = {
                f"{d['kind'].lower()}s.{d['apiVersion'].split('/')[0]}"
                for o in OVERLAYS
                for d in rendered(o)
                if d["apiVersion"].startswith("postgresql.cnpg.io/")
            }
            assert set(args[2:]) == used, f"the overlays use {sorted(used)}"
            return
        if args[:2] == ["apply", "-k"]:
            folder = Path(args[2])
            assert folder.parent == Path("deploy/k8s/overlays") and folder.name in OVERLAYS, args
            self.applied.add(folder.name)
            return
        assert namespace is not None, f"kubectl {shlex.join(args)}: name the namespace (-n)"
        overlay = overlay_of(namespace)
        if args[:3] == ["create", "secret", "generic"]:
            assert namespace in self.namespaces, f"the namespace {namespace} is created before its Secrets"
            for name in re.findall(r"--from-file=(?:[\w.-]+=)?([\w./-]+)", " ".join(args)):
                path = self.folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"operator's file")
            made = kubectl(command, self.folder)
            assert made["kind"] == "Secret" and made["metadata"]["namespace"] == namespace
            for key, value in made.get("data", {}).items():
                if key.endswith("-inbox"):  # a webhook secret the services accept
                    sign(base64.b64decode(value).decode(), "msg_1", 0, b"{}")
            self.secrets.setdefault(namespace, {})[made["metadata"]["name"]] = made
            return
        kinds = {"job": "Job", "deploy": "Deployment", "deployment": "Deployment"}
        targets = [a for a in args if "/" in a and not a.startswith("--")]
        if args[:2] == ["delete", "job"]:
            targets = [f"job/{a}" for a in args[2:] if not a.startswith("--")]
        if args[0] == "wait":
            assert any(a.startswith("--for=condition=") for a in args)
        elif args[:2] == ["rollout", "status"] or args[:2] == ["rollout", "restart"]:
            pass
        elif args[:2] == ["delete", "job"]:
            assert "--ignore-not-found" in args, "the first release has no Jobs to delete"
        elif args[0] == "scale":
            (replicas,) = [a for a in args if a.startswith("--replicas=")]
            assert int(replicas.split("=")[1]) >= 1
            hpa = objects(overlay, "HorizontalPodAutoscaler")
            assert not {t.split("/")[1] for t in targets} & hpa, "an HPA would undo a manual scale"
        else:
            raise AssertionError(f"no check for kubectl {shlex.join(args)}")
        assert targets
        for target in targets:
            kind, name = target.split("/")
            assert name in objects(overlay, kinds[kind]), f"{overlay} has no {kinds[kind]} {name}"

    def finish(self) -> None:
        """Every overlay applied has each Secret it reads created, with the keys it reads."""
        assert self.applied, "the document applies an overlay"
        for overlay in OVERLAYS:
            namespace = rendered(overlay)[0]["metadata"]["namespace"]
            made = self.secrets.get(namespace, {})
            needed = secrets_read(overlay)
            assert set(made) == set(needed), f"{namespace}: the document creates {sorted(made)}, needs {sorted(needed)}"
            for name, keys in needed.items():
                assert keys <= set(made[name]["data"]), f"{name}: keys {sorted(made[name]['data'])}, read {keys}"
            # Each file the settings name (seal keys, trust roots) is a key of a mounted Secret.
            files = mounted_files(overlay, made)
            for doc in rendered(overlay):
                if doc["kind"] != "ConfigMap":
                    continue
                for value in doc.get("data", {}).values():
                    for path in re.findall(r"(/(?:run/secrets|etc/cantho)/[\w./-]+)", value):
                        for deployment in ("directive-api", "directive-relay"):
                            assert path in files[deployment], f"{overlay}: {deployment} does not see {path}"


# --- Compose ------------------------------------------------------------------------------------


class Compose:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.copied = False

    def cp(self, argv: list[str]) -> None:
        assert argv[1:] == [".env.example", ".env"], argv
        (self.folder / "docker-compose.yml").write_text((ROOT / "docker-compose.yml").read_text())
        (self.folder / ".env").write_text((ROOT / ".env.example").read_text())
        self.copied = True

    def spec(self) -> dict[str, Any]:
        assert self.copied, "docker compose runs after the .env is made"
        render_compose(self.folder)  # every ${VAR:?} is set by that .env
        data: dict[str, Any] = yaml.safe_load((self.folder / "docker-compose.yml").read_text())
        return data

    def check(self, argv: list[str]) -> None:
        assert argv[1] == "compose", argv
        services = self.spec()["services"]
        args = argv[2:]
        if args[:1] == ["up"]:
            assert set(args[1:]) <= {"--build", "--wait", "-d"}, args
            for name, spec in services.items():
                if spec.get("restart") == "no":
                    # A one-shot job: what depends on it waits for it to exit 0.
                    assert any(
                        other.get("depends_on", {}).get(name, {}).get("condition") == "service_completed_successfully"
                        for other in services.values()
                    ), f"nothing waits for {name}"
                elif "--wait" in args:
                    assert "healthcheck" in spec, f"--wait needs a health check on {name}"
                if "--build" in args and name != "postgres":
                    assert (ROOT / spec["build"]["dockerfile"]).exists()
        elif args[:1] == ["exec"]:
            service, command = args[1], args[2:]
            assert service in services, service
            assert command[0] == service, f"{service}'s image runs {service}'s command line"
            check_service_cli(command)
            keys = [o for o in command if o.startswith("/app/")]
            volumes = {v.split(":")[1] for v in services[service].get("volumes", [])}
            assert all(k in volumes for k in keys), f"{keys} are not volumes of {service}"
        else:
            raise AssertionError(f"no check for docker compose {shlex.join(args)}")

    def curl(self, argv: list[str]) -> None:
        (url,) = [a for a in argv[1:] if a.startswith("http")]
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/.*)", url)
        assert match, url
        for name, spec in self.spec()["services"].items():
            for published in spec.get("ports", []):
                host, container = published.rsplit(":", 1)
                if host == f"127.0.0.1:{match.group(1)}":
                    assert f"--port {container}" in " ".join(spec["command"]), name
                    assert match.group(2) in route_paths(name), f"{name} has no route {match.group(2)}"
                    return
        raise AssertionError(f"nothing publishes {url}")


# --- the rest -----------------------------------------------------------------------------------


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})


def check_make(argv: list[str], folder: Path) -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = argv[1]
    assert re.search(rf"^{target}:", makefile, flags=re.M), f"the Makefile has no {target}"
    for assignment in argv[2:]:
        name, value = assignment.split("=", 1)
        assert name == "ARGS" and target == "run" and "scripts/run_local.py $(ARGS)" in makefile
        check_run_local(["scripts/run_local.py", *shlex.split(value)], folder)


def help_of(script: str, args: list[str]) -> str:
    """What the script's ``main`` prints for ``args`` followed by ``--help`` (argparse checks the
    options before it; nothing starts), run in this process (its imports are this test's)."""
    folder = str((ROOT / script).parent)
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(f"_doc_{Path(script).stem}", ROOT / script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out = io.StringIO()
        with (
            mock.patch.object(sys, "argv", [script, *args, "--help"]),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
            pytest.raises(SystemExit) as exited,
        ):
            module.main()
    finally:
        sys.path.remove(folder)
    assert exited.value.code == 0, f"{script} {shlex.join(args)}: {out.getvalue()}"
    return out.getvalue()


def check_run_local(argv: list[str], folder: Path) -> None:
    """``scripts/run_local.py`` accepts the options."""
    assert "--directive-port" in help_of(argv[0], argv[1:])


def check_python(argv: list[str], folder: Path) -> None:
    if argv[0] == ".venv/bin/python":
        check_run_local(argv[1:], folder)
        return
    assert argv[1:3] == ["-m", "common.health"], argv
    heartbeat = folder / "worker.heartbeat"
    args = [a if a != "/tmp/worker.heartbeat" else str(heartbeat) for a in argv[3:]]
    assert str(heartbeat) in args, "the document names the images' heartbeat file"
    heartbeat.touch()
    assert run([sys.executable, "-m", "common.health", *args], folder).returncode == 0
    os.utime(heartbeat, (time.time() - 600, time.time() - 600))  # 10 minutes without a round
    assert run([sys.executable, "-m", "common.health", *args], folder).returncode != 0


def check_script(argv: list[str], folder: Path) -> None:
    script = argv[0]
    if len(argv) == 1:  # a file the text refers to
        assert (ROOT / script).is_file(), f"no {script}"
        if script == "scripts/run_local.py":
            check_run_local(argv, folder)
        return
    if script.startswith("bench/"):
        assert "--only" in help_of(script, argv[1:])  # argparse checks --only's choices first
        return
    assert script in ("scripts/backup", "scripts/restore"), f"no check for {script}"
    # Run on SQLite (the document's URLs are PostgreSQL ones; tests/test_backup_invariants.py runs
    # the same scripts against PostgreSQL).
    source = folder / "source.db"
    if not source.exists():
        with sqlite3.connect(source) as connection:
            connection.execute("CREATE TABLE t (x)")
            connection.execute("INSERT INTO t VALUES (42)")
    args = argv[1:]
    if "--from-env" in args:
        out = folder / "backups"
        env = {
            "DIRECTIVE_API_DATABASE__URL": f"sqlite+aiosqlite:///{source}",
            "REPORT_API_DATABASE__URL": f"sqlite+aiosqlite:///{source}",
        }
        done = run([sys.executable, str(ROOT / script), *[str(out) if a == "out" else a for a in args]], folder, env)
        assert done.returncode == 0, done.stderr
        assert len(list(out.iterdir())) == 2
        return
    url = EXAMPLES["URL"]
    if script == "scripts/backup":
        args = [f"sqlite:///{source}" if a == url else a for a in args]
        done = run([sys.executable, str(ROOT / script), *args], folder)
        assert done.returncode == 0, done.stderr
        assert (folder / args[-1]).stat().st_size > 0
    else:
        target = folder / "restored.db"
        args = [f"sqlite:///{target}" if a == url else a for a in args]
        done = run([sys.executable, str(ROOT / script), *args], folder)
        assert done.returncode == 0, done.stderr
        with sqlite3.connect(target) as connection:
            assert connection.execute("SELECT x FROM t").fetchall() == [(42,)]


def test_every_command_of_the_operations_guide_is_checked(tmp_path: Path) -> None:
    commands = documented_commands()
    assert len(commands) > 20
    kubernetes, compose = Kubernetes(tmp_path / "k8s"), Compose(tmp_path / "compose")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "compose").mkdir()
    checks: dict[str, Callable[[list[str]], None]] = {
        "kubectl": lambda argv: kubernetes.check(argv, command),
        "docker": compose.check,
        "cp": compose.cp,
        "curl": compose.curl,
        "directive-api": check_service_cli,
        "report-api": check_service_cli,
        "make": lambda argv: check_make(argv, tmp_path),
        "python": lambda argv: check_python(argv, tmp_path),
        ".venv/bin/python": lambda argv: check_python(argv, tmp_path),
    }
    # Backups first: the restore in the text restores the file the backup made.
    ordered = sorted(commands, key=lambda c: not c.startswith("scripts/backup"))
    for command in ordered:
        argv = words(command)
        check = checks.get(argv[0])
        if check is None and argv[0].startswith(("scripts/", "bench/")):
            check = lambda argv: check_script(argv, tmp_path)  # noqa: E731
        assert check is not None, f"no check for `{command}`"
        try:
            check(argv)
        except AssertionError as exc:
            raise AssertionError(f"`{command}`: {exc}") from None
    kubernetes.finish()


def test_the_checks_catch_a_wrong_command(tmp_path: Path) -> None:
    """Each kind of check fails on a command that is not true (so that passing means something)."""
    with pytest.raises(AssertionError, match="refuses"):
        check_service_cli(["directive-api", "serve", "--no-such-option"])
    kubernetes = Kubernetes(tmp_path)
    kubernetes.check(["kubectl", "create", "namespace", "cantho-prod"], "kubectl create namespace cantho-prod")
    with pytest.raises(AssertionError, match="has no Deployment"):
        kubernetes.check(["kubectl", "-n", "cantho-prod", "rollout", "status", "deploy/directive-worker"], "")
    with pytest.raises(AssertionError, match="no overlay"):
        kubernetes.check(["kubectl", "-n", "cantho-staging", "rollout", "status", "deploy/directive-api"], "")
    lone = "kubectl -n cantho-prod create secret generic directive-api-trust-roots --from-file=root-ca.pem"
    kubernetes.check(lone.split(), lone)
    kubernetes.applied.add("prod")
    with pytest.raises(AssertionError, match="the document creates"):
        kubernetes.finish()
    compose = Compose(tmp_path)
    compose.cp(["cp", ".env.example", ".env"])
    with pytest.raises(AssertionError, match="nothing publishes"):
        compose.curl(["curl", "-fsS", "http://127.0.0.1:8003/readyz"])
    with pytest.raises(AssertionError, match="no route"):
        compose.curl(["curl", "-fsS", "http://127.0.0.1:8001/ready"])
    assert json.loads(json.dumps(documented_commands()))  # the extraction finds the document's commands
