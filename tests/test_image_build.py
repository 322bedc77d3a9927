"""The images build and their programs start, proven without a Docker engine.

Each Dockerfile's builder stage is replayed in an empty folder: its ``COPY`` set (filtered by
``.dockerignore``) is copied from the repository, its ``ENV`` is set, its ``RUN`` steps are run with
the same uv (the version the Dockerfile pins must be the one installed here) and the same flags, the
image's absolute paths mapped into the folder. Then, as the runtime stage keeps only ``/opt/venv``,
the source folder is deleted and, from another empty folder: the service's app is built, its CLI's
``--help`` runs through the console script, and the image's ``HEALTHCHECK`` command says unhealthy
for a worker with no heartbeat and healthy once a round was recorded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVICES = {"directive-api": "directive_api", "report-api": "report_api"}
IMAGE_PYTHON = "/usr/local/bin/python"  # the base image's interpreter


def parse(service: str) -> list[Any]:
    parser: Any = importlib.import_module("dockerfile")  # compiled module without type information
    return list(parser.parse_file(str(ROOT / "services" / service / "Dockerfile")))


def stages(instructions: list[Any]) -> dict[str, list[Any]]:
    named: dict[str, list[Any]] = {}
    current: list[Any] = []
    for instruction in instructions:
        if instruction.cmd.upper() == "FROM":
            current = []
            named[instruction.value[-1]] = current
        current.append(instruction)
    return named


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether ``.dockerignore`` excludes ``relative`` (a path or one of its parents matches)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], pattern[3:]):
                return True
    return False


@dataclass
class Replay:
    """The builder stage run in ``root``, which stands for the image's ``/``.

    As Docker does, the result of each ``RUN`` is kept as a layer (a hard-linked snapshot in
    ``layers``) under the digest of every instruction and copied file before it, and reused by a
    later replay with the same prefix: both images share the layer with the pinned requirements.
    """

    root: Path
    layers: dict[str, Path]
    store: Path
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    digest: str = ""
    shims: Path = field(init=False)

    def __post_init__(self) -> None:
        # `python` in a RUN step: the base image's interpreter, here the one with uv installed.
        self.shims = self.root.parent / "shims"
        self.shims.mkdir()
        shim = self.shims / "python"
        shim.write_text(f'#!/bin/sh\nexec "{BIN / "python"}" "$@"\n')
        shim.chmod(0o755)

    def path(self, image_path: str) -> Path:
        absolute = image_path if image_path.startswith("/") else f"{self.workdir.rstrip('/')}/{image_path}"
        return self.root / absolute.lstrip("/")

    def chain(self, *parts: bytes) -> None:
        self.digest = hashlib.sha256(self.digest.encode() + b"\0".join(parts)).hexdigest()

    def copy(self, sources: tuple[str, ...], destination: str) -> None:
        patterns = dockerignore()
        target = self.path(destination)
        for source in sources:
            origin = ROOT / source
            if origin.is_file():
                dest = target / origin.name if destination.endswith("/") else target
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, dest)
                self.chain(str(dest).encode(), origin.read_bytes())
                continue
            for file in sorted(origin.rglob("*")):
                relative = file.relative_to(ROOT).as_posix()
                if file.is_dir() or ignored(relative, patterns):
                    continue
                dest = target / file.relative_to(origin)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, dest)
                self.chain(relative.encode(), file.read_bytes())

    def cached_run(self, command: str) -> None:
        self.chain(b"RUN", command.encode(), self.workdir.encode(), repr(sorted(self.env.items())).encode())
        layer = self.layers.get(self.digest)
        if layer is not None:
            shutil.rmtree(self.root)
            subprocess.run(["cp", "-al", str(layer), str(self.root)], check=True)
            return
        self.run(command)
        snapshot = self.store / self.digest
        subprocess.run(["cp", "-al", str(self.root), str(snapshot)], check=True)
        self.layers[self.digest] = snapshot

    def run(self, command: str) -> None:
        pinned = re.fullmatch(r"python -m pip install uv==([0-9.]+)", command)
        if pinned:
            installed = subprocess.run([BIN / "uv", "--version"], capture_output=True, text=True, check=True).stdout
            assert installed.split()[1] == pinned.group(1), (
                f"the image pins uv {pinned.group(1)}, make setup has {installed}"
            )
            return
        mapped = command.replace(IMAGE_PYTHON, sys._base_executable)  # type: ignore[attr-defined]
        mapped = re.sub(r"(?<![\w.])/opt/", f"{self.root}/opt/", mapped)
        cwd = self.path(self.workdir)
        cwd.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "PATH": f"{self.shims}:{os.environ['PATH']}"}
        env.pop("VIRTUAL_ENV", None)
        done = subprocess.run(["/bin/sh", "-c", mapped], cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"RUN {command}\n{done.stdout}\n{done.stderr}"

    def replay(self, instructions: list[Any]) -> None:
        for instruction in instructions:
            cmd, value, flags = instruction.cmd.upper(), tuple(instruction.value), tuple(instruction.flags)
            if cmd == "FROM":
                self.chain(b"FROM", " ".join(value).encode())
            elif cmd == "ENV":
                self.env.update(dict(zip(value[::2], value[1::2], strict=True)))
            elif cmd == "WORKDIR":
                self.workdir = value[0]
            elif cmd == "COPY":
                assert not [f for f in flags if not f.startswith("--chown")], flags  # the context only
                self.copy(value[:-1], value[-1])
            elif cmd == "RUN":
                assert all(f.startswith("--mount=type=cache") for f in flags), flags
                self.cached_run(value[0])
            else:
                assert cmd == "ARG", f"the replay does not know {cmd}"


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Path]:
    return {}, tmp_path_factory.mktemp("layers")


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
def test_image_builds_and_its_programs_start(
    service: str, tmp_path: Path, layers: tuple[dict[str, Path], Path]
) -> None:
    instructions = parse(service)
    named = stages(instructions)
    assert list(named) == ["builder", "runtime"]
    runtime = named["runtime"]
    # The runtime stage takes the venv from the builder and nothing else from it.
    taken = [tuple(i.value) for i in runtime if i.cmd.upper() == "COPY"]
    assert taken == [("/opt/venv", "/opt/venv")]
    assert [tuple(i.flags) for i in runtime if i.cmd.upper() == "COPY"] == [("--from=builder",)]

    image = Replay(tmp_path / "image", *layers)
    image.root.mkdir()
    image.replay(named["builder"])
    shutil.rmtree(image.root / "src")  # not in the runtime stage
    venv = image.root / "opt" / "venv"
    values = next(tuple(i.value) for i in runtime if i.cmd.upper() == "ENV")
    runtime_env = dict(zip(values[::2], values[1::2], strict=True))
    heartbeat = tmp_path / "worker.heartbeat"
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "WORKER_HEARTBEAT_FILE": str(heartbeat),
    }
    assert runtime_env["PATH"].startswith("/opt/venv/bin:")
    assert runtime_env["WORKER_HEARTBEAT_FILE"] == "/tmp/worker.heartbeat"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*argv: str, cwd: Path = elsewhere) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)

    package = SERVICES[service]
    probe = f"""
import common, {package}
from common.settings import AuthSettings, DatabaseSettings
from {package}.main import create_app
from {package}.settings import Settings
for module in (common, {package}):
    assert module.__file__.startswith({str(venv)!r}), module.__file__
app = create_app(Settings(database=DatabaseSettings(url="sqlite+aiosqlite:///:memory:"),
                          auth=AuthSettings(issuer="https://id.example.invalid", audience="tests", jwks_url="https://id.example.invalid/jwks.json")))
paths = app.openapi()["paths"]
assert "/healthz" in paths and "/readyz" in paths
from importlib import resources
fonts = [f.name for f in (resources.files("common") / "pdf" / "fonts").iterdir()]
assert any(name.endswith((".ttf", ".otf")) for name in fonts), fonts
print("ok", len(paths))
"""
    (tmp_path / "app").mkdir()
    done = run(str(venv / "bin" / "python"), "-c", probe, cwd=tmp_path / "app")
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr

    entrypoint = next(tuple(i.value) for i in runtime if i.cmd.upper() == "ENTRYPOINT")
    assert entrypoint == (service,)
    done = run(service, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {service}")
    cmd = next(tuple(i.value) for i in runtime if i.cmd.upper() == "CMD")
    done = run(service, cmd[0], "--help")
    assert done.returncode == 0 and "--no-migrate" in done.stdout, done.stderr
    assert not (elsewhere / "var").exists(), "--help must not create files"

    # The image's one health check: a worker that has not finished a round is unhealthy (nothing
    # answers on the API port here), and healthy once it has.
    check = next(tuple(i.value) for i in runtime if i.cmd.upper() == "HEALTHCHECK")
    assert check[0] == "CMD"
    argv = [str(heartbeat) if part == "/tmp/worker.heartbeat" else part for part in check[1:]]
    argv = [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:9", part) for part in argv]  # nothing listens on 9
    done = run(*argv)
    assert done.returncode == 1 and "unhealthy" in done.stderr, done.stderr
    heartbeat.touch()
    done = run(*argv)
    assert done.returncode == 0, done.stderr
