"""The deployment files agree with each other and with the code.

Dockerfiles (parsed with BuildKit's parser through the ``dockerfile`` package), docker-compose.yml,
.env.example and the rendered kustomize overlays must name the same commands, ports, probe paths and
settings as the services' CLIs and Settings classes. Schema validation itself is scripts/validate-deploy,
run here too so that ``make test`` covers it.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from pydantic import BaseModel
from pydantic_settings import BaseSettings

from common.settings import AuthSettings, DatabaseSettings
from directive_api.main import create_app as create_directive_app
from directive_api.settings import Settings as DirectiveSettings
from report_api.main import create_app as create_report_app
from report_api.settings import Settings as ReportSettings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVICES = {"directive-api": 8001, "report-api": 8002}
SETTINGS: dict[str, tuple[str, type[BaseSettings]]] = {
    "directive-api": ("DIRECTIVE_API_", DirectiveSettings),
    "report-api": ("REPORT_API_", ReportSettings),
}
# Worker subcommands the manifests already run while their CLI code is being written elsewhere.
PENDING_SUBCOMMANDS = {"run-timers"}
EXTRA_VARIABLES = {"LOG_LEVEL", "ENVIRONMENT"}  # read directly, not through Settings
# Read by docker-compose.yml itself (secrets, host port), listed in .env.example.
COMPOSE_VARIABLES = {"POSTGRES_PASSWORD", "DIRECTIVE_DB_PASSWORD", "REPORT_DB_PASSWORD", "POSTGRES_HOST_PORT"}
# Pod-only variables that other variables are assembled from ($(VAR) in the manifests).
POD_VARIABLES = {"DB_USERNAME", "DB_PASSWORD", "REPORT_INBOX_SECRET", "DIRECTIVE_INBOX_SECRET"}

Instruction = tuple[str, tuple[str, ...], tuple[str, ...], bool]  # cmd, value, flags, json form


@cache
def dockerfile(service: str) -> list[Instruction]:
    parser: Any = importlib.import_module("dockerfile")  # compiled module without type information
    return [
        (str(c.cmd).upper(), tuple(c.value), tuple(c.flags), bool(c.json))
        for c in parser.parse_file(str(ROOT / "services" / service / "Dockerfile"))
    ]


def last_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, (cmd, *_) in enumerate(instructions) if cmd == "FROM"]
    return instructions[starts[-1] :]


def only(instructions: list[Instruction], cmd: str) -> Instruction:
    found = [i for i in instructions if i[0] == cmd]
    assert len(found) == 1, f"expected one {cmd}, found {found}"
    return found[0]


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


@cache
def rendered(overlay: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(BIN / "kubectl"), "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@cache
def route_paths(service: str) -> frozenset[str]:
    database = DatabaseSettings(url="sqlite+aiosqlite:///:memory:")
    auth = AuthSettings(
        issuer="https://id.example.invalid",
        audience="tests",
        jwks_url="https://id.example.invalid/.well-known/jwks.json",
    )  # never fetched here
    app: FastAPI
    if service == "directive-api":
        app = create_directive_app(DirectiveSettings(database=database, auth=auth))
    else:
        app = create_report_app(ReportSettings(database=database, auth=auth))
    return frozenset(app.openapi()["paths"])


@cache
def subcommands(service: str) -> frozenset[str]:
    """The subcommands the installed console script offers (from argparse's usage line)."""
    usage = subprocess.run([str(BIN / service), "--help"], check=True, capture_output=True, text=True).stdout
    match = re.search(r"\{([a-z,-]+)\}", usage)
    assert match, usage
    return frozenset(match.group(1).split(","))


def setting_variables(prefix: str, model: type[BaseModel]) -> Iterator[str]:
    """Every environment variable a Settings class reads (nested models joined with ``__``)."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        optional = [a for a in typing.get_args(annotation) if a is not type(None)]
        if isinstance(annotation, types.UnionType) and len(optional) == 1:
            annotation = optional[0]  # an optional nested model (``VxpSettings | None``) is read the same way
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from setting_variables(f"{prefix}{name.upper()}__", annotation)
        else:
            yield f"{prefix}{name.upper()}"


def known_variables() -> set[str]:
    names = set(EXTRA_VARIABLES)
    for prefix, settings in SETTINGS.values():
        names.update(setting_variables(prefix, settings))
    return names


def service_of(image: str) -> str:
    return next(s for s in SERVICES if re.search(rf"(^|/){s}(:|$)", image))


def workloads(overlay: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(resource, pod spec) of every Deployment and Job."""
    for doc in rendered(overlay):
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("service", SERVICES)
def test_image_runs_the_service_as_the_plain_process_does(service: str) -> None:
    port = SERVICES[service]
    instructions = dockerfile(service)
    stages = [value for cmd, value, *_ in instructions if cmd == "FROM"]
    assert len(stages) >= 2 and [s[-1] for s in stages[:-1]] == ["builder"], stages
    runtime = last_stage(instructions)
    assert runtime[0][1][0].startswith("${PYTHON_IMAGE}") or runtime[0][1][0].startswith("python:3.11-slim")
    default_image = next(value for cmd, value, *_ in instructions if cmd == "ARG")
    assert default_image[0].startswith("PYTHON_IMAGE=python:3.11-slim")
    assert only(runtime, "ENTRYPOINT")[1:] == ((service,), (), True)
    assert only(runtime, "CMD")[1:] == (("serve", "--host", "0.0.0.0", "--port", str(port), "--no-migrate"), (), True)  # noqa: S104
    assert only(runtime, "EXPOSE")[1] == (str(port),)
    user = only(runtime, "USER")[1][0].split(":")[0]
    assert user not in ("root", "0")
    healthcheck = " ".join(only(runtime, "HEALTHCHECK")[1])
    assert f"http://127.0.0.1:{port}/healthz" in healthcheck
    assert "/healthz" in route_paths(service) and "/readyz" in route_paths(service)
    runs = " ".join(" ".join(value) for cmd, value, *_ in runtime if cmd == "RUN")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz0b", "fontconfig"):
        assert package in runs
    builder = " ".join(" ".join(value) for cmd, value, *_ in instructions[: len(instructions) - len(runtime)])
    assert "-r requirements.txt" in builder and f"./libs/common ./services/{service}" in builder
    assert "-e " not in builder  # non-editable install
    assert {"serve", "migrate"} <= subcommands(service)


def test_compose_wires_migrations_services_and_workers() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert "./deploy/postgres/init:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    for service, port in SERVICES.items():
        app = services[service]
        assert app["build"]["dockerfile"] == f"services/{service}/Dockerfile"
        assert app["command"] == list(only(last_stage(dockerfile(service)), "CMD")[1])
        assert f"127.0.0.1:{port}:{port}" in app["ports"]
        assert any(f"127.0.0.1:{port}/readyz" in part for part in app["healthcheck"]["test"])
        migrate_service = f"{service.split('-')[0]}-migrate"
        assert services[migrate_service]["command"] == ["migrate"]
        assert services[migrate_service]["build"] == app["build"]
        assert services[migrate_service]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert app["depends_on"][migrate_service]["condition"] == "service_completed_successfully"
        assert [e["path"] for e in app["env_file"]] == [".env"]  # never .env.example implicitly
    assert services["directive-relay"]["command"] == ["relay"]
    assert services["report-timers"]["command"] == ["run-timers"]
    used = {s["command"][0] for name, s in services.items() if "build" in s and name != "dev-keys"}
    assert used <= subcommands("directive-api") | subcommands("report-api") | PENDING_SUBCOMMANDS
    assert services["dev-keys"]["entrypoint"] == ["python", "-c"]


def test_postgres_init_takes_the_passwords_from_compose_secrets() -> None:
    """The init script creates each service's role and database with the password of a Compose secret;
    the secret and the service's database URL come from the same .env variable; no literal password."""
    init = (ROOT / "deploy" / "postgres" / "init" / "01-databases.sh").read_text()
    assert "PASSWORD '" not in init  # no literal
    data = compose()
    postgres = data["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert ":5432:5432" not in " ".join(postgres["ports"]), "the host's own PostgreSQL keeps 5432"
    env_example = dotenv(ROOT / ".env.example")
    for service, role in (("directive-api", "directive_api"), ("report-api", "report_api")):
        secret = f"{role.split('_')[0]}_db_password"
        variable = data["secrets"][secret]["environment"]
        assert secret in postgres["secrets"]
        assert f'{role.split("_")[0]}_password="$(cat /run/secrets/{secret})"' in init
        assert f"CREATE ROLE {role} LOGIN PASSWORD :'{role.split('_')[0]}_password';" in init
        assert f"CREATE DATABASE {role} OWNER {role} " in init
        url = data["services"][service]["environment"][f"{SETTINGS[service][0]}DATABASE__URL"]
        assert re.fullmatch(rf"postgresql\+asyncpg://{role}:\$\{{{variable}:\?[^}}]+\}}@postgres:5432/{role}", url), url
        assert env_example[variable], f"{variable} has a development value in .env.example"


def dotenv(path: Path, *, commented: bool = False) -> dict[str, str]:
    pattern = r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$" if commented else r"^([A-Z][A-Z0-9_]*)=(.*)$"
    return {m.group(1): m.group(2) for m in re.finditer(pattern, path.read_text(), re.MULTILINE)}


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    listed = set(dotenv(ROOT / ".env.example", commented=True))
    known = known_variables()
    assert known - listed == set(), "settings missing from .env.example: list each (commented out if unset)"
    assert listed - known - COMPOSE_VARIABLES == set(), ".env.example names no such setting"
    # The development values it gives are valid settings.
    values = dotenv(ROOT / ".env.example")
    for prefix, settings in SETTINGS.values():
        environment = {k: v for k, v in values.items() if k.startswith(prefix)}
        with pytest.MonkeyPatch.context() as patch:
            for key, value in environment.items():
                patch.setenv(key, value)
            settings()


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_workloads_match_the_images(overlay: str) -> None:
    docs = rendered(overlay)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for expected in [
        ("Deployment", "directive-api"),
        ("Deployment", "report-api"),
        ("Deployment", "directive-relay"),
        ("Deployment", "report-timers"),
        ("Job", "directive-api-migrate"),
        ("Job", "report-api-migrate"),
        ("Service", "directive-api"),
        ("Service", "report-api"),
        ("HorizontalPodAutoscaler", "directive-api"),
        ("HorizontalPodAutoscaler", "report-api"),
        ("PodDisruptionBudget", "directive-api"),
        ("PodDisruptionBudget", "report-api"),
        ("Ingress", "cantho-directives"),
        ("Cluster", "directive-db"),
        ("Cluster", "report-db"),
    ]:
        assert expected in kinds
    assert not [d for d in docs if d["kind"] == "Secret"], "secret values are never committed"
    assert all(d["metadata"]["namespace"] == f"cantho-{overlay}" for d in docs)
    configs = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    known = known_variables()
    for data in configs.values():
        assert set(data) <= known
    expected_args = {"directive-api": ["relay"], "report-api": ["run-timers"]}
    for doc, pod in workloads(overlay):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        service = service_of(container["image"])
        args = container["args"]
        if doc["kind"] == "Job":
            assert args == ["migrate"]
        elif doc["metadata"]["name"] == service:
            port = SERVICES[service]
            assert args == list(only(last_stage(dockerfile(service)), "CMD")[1])
            assert container["ports"][0]["containerPort"] == port
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert {"/healthz", "/readyz"} <= route_paths(service)
        else:
            assert args == expected_args[service]
            assert args[0] in subcommands(service) | PENDING_SUBCOMMANDS
        assert set(container["resources"]) == {"requests", "limits"}
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        env = {e["name"]: e for e in container.get("env", [])}
        prefix = SETTINGS[service][0]
        assert f"{prefix}DATABASE__URL" in env
        for name, entry in env.items():
            assert name in known or name in POD_VARIABLES
            assert "value" in entry or "secretKeyRef" in entry["valueFrom"]
            if name in (
                "DB_PASSWORD",
                f"{prefix}WEBHOOK_SECRETS",
                f"{prefix}DIRECTIVE_API_INBOX_SECRET",
            ) or name.endswith(("PUBLIC_KEY_PEM", "INBOX_SECRET")):
                assert "value" not in entry, f"{name} must come from a Secret"
        (config_ref,) = container["envFrom"]
        assert config_ref["configMapRef"]["name"] in configs
        assert all(k.startswith(prefix) or k in EXTRA_VARIABLES for k in configs[config_ref["configMapRef"]["name"]])
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    for rule in next(d for d in docs if d["kind"] == "Ingress")["spec"]["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend["name"] in services


def test_validate_deploy_script_passes() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "validate-deploy")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "VENV_BIN": str(BIN)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("resources valid") == len(list((ROOT / "deploy" / "k8s" / "overlays").iterdir()))
