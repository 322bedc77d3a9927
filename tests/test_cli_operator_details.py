"""The command lines as an operator meets them: help for everything, one-line errors, no surprises.

Every option of both CLIs has help; ``--database-url`` chooses the database; a command run from a
folder without the database says so in one line and creates nothing; an unreachable PostgreSQL is
one line without its password; ``mint-token`` never makes a key pair silently.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from directive_api.cli import build_parser as directive_parser
from directive_api.cli import main as directive_main
from report_api.cli import build_parser as report_parser
from report_api.cli import main as report_main

BIN = Path(sys.executable).parent
Cli = Callable[..., subprocess.CompletedProcess[str]]


def _cli(service: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIRECTIVE_API_", "REPORT_API_"))}
    return subprocess.run(
        [str(BIN / service), *args], cwd=cwd, env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    """The same entry points called in this process (quicker than a new one), in a clean environment."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("DIRECTIVE_API_", "REPORT_API_")):
            monkeypatch.delenv(name)

    def run(service: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = (directive_main if service == "directive-api" else report_main)(list(args))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess([service, *args], code, out, err)

    yield run
    os.environ.clear()  # --database-url sets the variable for the process (uvicorn's factory reads it)
    os.environ.update(saved)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("build", [directive_parser, report_parser], ids=["directive-api", "report-api"])
def test_every_command_and_option_has_help(build: object) -> None:
    parser = build()  # type: ignore[operator]
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helped = {choice.dest for choice in action._choices_actions if choice.help}
    assert helped == set(action.choices), "every command has help"
    for name, sub in _subparsers(parser).items():
        for option in sub._actions:
            if isinstance(option, argparse._HelpAction):
                continue
            assert option.help, f"{parser.prog} {name} {option.option_strings or option.dest} has no help"
        if name not in ("mint-token", "walk-seed", "dev-pki"):  # files only, no database
            assert any("--database-url" in o.option_strings for o in sub._actions), f"{name} takes --database-url"


@pytest.mark.parametrize(
    ("service", "command", "own_process"),
    [
        ("directive-api", "check-invariants", True),
        ("directive-api", "seed", False),
        ("report-api", "verify-audit", False),
    ],
)
def test_a_command_run_from_another_folder_says_so_in_one_line(
    service: str, command: str, own_process: bool, tmp_path: Path, cli: Cli
) -> None:
    done = (_cli if own_process else cli)(service, command, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{service}: no database at {tmp_path / 'var'}")
    assert "--database-url" in lines[0]
    assert list(tmp_path.iterdir()) == [], "nothing is created"


def test_the_database_url_option_chooses_the_database(tmp_path: Path, cli: Cli) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chosen' / 'directive.db'}"
    done = cli("directive-api", "migrate", "--database-url", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "seeded" in done.stdout
    verified = cli("directive-api", "verify-audit", "--database-url", url, cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "the chain is intact" in verified.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chosen"]


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path, cli: Cli) -> None:
    url = "postgresql+asyncpg://directive_api:s3cret-pass@127.0.0.1:9/directive_api"
    done = cli("report-api", "verify-audit", "--database-url", url.replace("directive", "report"), cwd=tmp_path)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("report-api: ") and "s3cret" not in done.stderr


def test_mint_token_does_not_make_a_key_pair_silently(tmp_path: Path, cli: Cli) -> None:
    wrong = tmp_path / "keys"
    done = cli("directive-api", "mint-token", "le-xuan-hoa", "--keys", str(wrong), cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "--create-keys" in done.stderr, done.stderr
    assert not wrong.exists()
    default = cli("directive-api", "mint-token", "le-xuan-hoa", cwd=tmp_path)  # var/keys of another folder
    assert default.returncode == 2 and not (tmp_path / "var").exists()
    made = cli("directive-api", "mint-token", "le-xuan-hoa", "--keys", str(wrong), "--create-keys", cwd=tmp_path)
    assert made.returncode == 0 and made.stdout.count(".") == 2
    again = cli("directive-api", "mint-token", "le-xuan-hoa", "--keys", str(wrong), cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_serve_stops_without_leaked_semaphores(tmp_path: Path) -> None:
    """SIGTERM: the app's shutdown stops the PDF workers, so multiprocessing reports nothing leaked."""
    import socket
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIRECTIVE_API_", "REPORT_API_"))}
    env.update({"DIRECTIVE_API_PDF_WORKERS": "1", "LOG_LEVEL": "warning"})
    process = subprocess.Popen(
        [str(BIN / "directive-api"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "leaked semaphore" not in stderr, stderr[-2000:]


def test_dev_pki_issue_gives_a_key_and_a_recorded_certificate_of_the_existing_pki(tmp_path: Path, cli: Cli) -> None:
    from cryptography import x509

    from common.pdf.dev_pki import ensure_dev_pki

    missing = cli("directive-api", "dev-pki", "issue", "le-xuan-hoa", "--out", "token", cwd=tmp_path)
    assert missing.returncode == 2 and "no development PKI" in missing.stderr and len(missing.stderr.splitlines()) == 1
    assert not (tmp_path / "var").exists()  # no new root made silently

    pki = ensure_dev_pki(tmp_path / "var" / "pki", revocation_url="http://127.0.0.1:8020")
    made = cli("directive-api", "dev-pki", "issue", "le-xuan-hoa", "--out", "token", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    certificate = x509.load_pem_x509_certificate((tmp_path / "token" / "signing-certificate.pem").read_bytes())
    assert certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Lê Xuân Hoa"
    access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [a.access_location.value for a in access] == ["http://127.0.0.1:8020/ocsp"]
    assert pki.issued_certificate(certificate.serial_number) == certificate  # the CA answers "good"
    assert (tmp_path / "token" / "signing-key.pem").stat().st_mode & 0o077 == 0
    assert (tmp_path / "token" / "root-ca.pem").read_bytes() == pki.root_cert_pem.read_bytes()


def test_the_seed_walk_against_no_service_is_one_line_naming_the_url(tmp_path: Path, cli: Cli) -> None:
    """A walk against a directive-api on another port (``make run ARGS=…``) than the one given."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    done = cli("directive-api", "walk-seed", "--keys", str(tmp_path / "keys"), "--base-url", url, cwd=tmp_path)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"directive-api walk-seed: directive-api does not answer at {url}")
    assert "--base-url" in done.stderr and "Traceback" not in done.stderr
