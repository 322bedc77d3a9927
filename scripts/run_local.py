"""Start the whole system on its embedded default: both services on SQLite files under ``var/``, and
the local double of the national exchange (a VXP hub, its own process, its store in ``var/vxp``).

Development keys are created on first run (``var/keys``), migrations applied, the directory seeded.
The hub knows two member systems: the Office (``vxp.vpub``, the organ ids of every unit it issues
for: VPUB's and UBND-TP's), whose directive-api sends dispatched documents through it and applies
the statuses it finds there, and Sở Nội vụ (``vxp.snv``), for a department's own system. The development
OpenID Connect provider (``scripts/dev_oidc_provider.py``, its own process) signs people in to report-api's pages: its
sign-in page lists the seeded people and one officer per addressee unit. The development CA's CRL and
OCSP service (``scripts/dev_ca.py``, its own process) answers for the certificates the development
PKI issues, which name it, so signatures carry their validation data (PAdES B-LT). Stops everything
on Ctrl-C or SIGTERM. Used by ``make run`` and by the end-to-end tests.
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
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from common.auth import ensure_dev_keys
from common.pdf.dev_pki import ensure_dev_pki
from common.webhooks import generate_secret
from directive_api.settings import AUTH_AUDIENCE, AUTH_ISSUER

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "services" / "directive-api" / "src" / "directive_api" / "seed"
ADDRESSEE_GROUPS = ("department", "socio_political_org", "commune_level")
sys.path.insert(0, str(ROOT / "scripts"))
import csc_service  # noqa: E402  (the local remote-signing service, a script beside this one)


def _secret(path: Path) -> str:
    """A development webhook secret kept in the state folder (created on first run)."""
    if not path.exists():
        path.write_text(generate_secret())
        path.chmod(0o600)
    return path.read_text().strip()


OFFICE_ORGAN_ID = "000.00.01.H13"  # VPUB's development identifier (directive_api/seed)
DEPARTMENT_ORGAN_ID = "000.00.02.H13"  # Sở Nội vụ's


def issuing_organ_ids() -> list[str]:
    """The exchange identifiers of every unit the Office's instance issues for (each unit with its own
    notation in the seeded directory: VPUB, UBND-TP), VPUB's first: the Office's directive-api sends
    each issuer's letters as that issuer, so the hub must let its one credential speak for all of them."""
    from directive_api.seed.loader import ISSUERS

    units = json.loads((SEED / "can-tho-units.json").read_text(encoding="utf-8"))["units"]
    development = json.loads((SEED / "organ-ids-development.json").read_text(encoding="utf-8"))["development"]
    organ_ids = [OFFICE_ORGAN_ID]
    for unit in units:
        if unit["code"] in ISSUERS or unit.get("notation"):
            organ_id = unit.get("organ_id") or development.get(unit["code"])
            if organ_id and organ_id not in organ_ids:
                organ_ids.append(organ_id)
    return organ_ids


def hub_agencies(var: Path) -> Path:
    """The hub double's member systems, with development secrets kept in ``var/keys``."""
    agencies = {
        "agencies": [
            {
                "system_id": "vxp.vpub",
                "secret": _secret(var / "keys" / "vxp-vpub.secret"),
                "organ_ids": issuing_organ_ids(),
                "name": "Van phong UBND thanh pho Can Tho",
            },
            {
                "system_id": "vxp.snv",
                "secret": _secret(var / "keys" / "vxp-snv.secret"),
                "organ_ids": [DEPARTMENT_ORGAN_ID],
                "name": "So Noi vu",
            },
        ]
    }
    path = var / "vxp" / "agencies.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(agencies, indent=1))
    return path


def dev_people(var: Path) -> Path:
    """The people the development provider lists: the seed's, and an officer of each addressee unit."""
    people = json.loads((SEED / "people.json").read_text(encoding="utf-8"))
    units = json.loads((SEED / "can-tho-units.json").read_text(encoding="utf-8"))["units"]
    people += [
        {
            "id": f"can-bo-{u['code'].lower()}",
            "name": f"Cán bộ đầu mối — {u['name']}",
            "roles": ["unit_officer"],
            "unit": u["code"],
        }
        for u in units
        if u["group"] in ADDRESSEE_GROUPS
    ]
    path = var / "keys" / "dev-people.json"
    path.write_text(json.dumps(people, ensure_ascii=False), encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_if_free(url: str | None) -> int | None:
    """The port of a loopback URL when nothing listens on it."""
    port = urllib.parse.urlsplit(url).port if url else None
    if port is None:
        return None
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return None
    return port


def service_env(
    var: Path, *, directive_port: int, report_port: int, vxp_port: int | None = None, idp_port: int = 8090
) -> dict[str, str]:
    """Environment of both services for a state folder ``var`` (with the exchange transport to the hub
    double on ``vxp_port`` when given, and the pages' identity provider on ``idp_port``)."""
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
            "DIRECTIVE_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([f"http://127.0.0.1:{report_port}"]),
            "DIRECTIVE_API_SUBSCRIBERS": json.dumps([subscriber]),
            "DIRECTIVE_API_INBOX_SECRETS": json.dumps([to_directive]),
            "REPORT_API_WEBHOOK_SECRETS": to_report,
            "REPORT_API_DIRECTIVE_API_INBOX_URL": f"http://127.0.0.1:{directive_port}/v1/inbox/events",
            "REPORT_API_DIRECTIVE_API_INBOX_SECRET": to_directive,
            "REPORT_API_EVIDENCE_DIR": str(var / "evidence"),
            "REPORT_API_RUN_WORKERS_IN_PROCESS": "true",
            "REPORT_API_WEBHOOKS__ALLOW_HOSTS": json.dumps([f"http://127.0.0.1:{directive_port}"]),
            "REPORT_API_DATABASE__URL": f"sqlite+aiosqlite:///{var / 'report-api.db'}",
            "REPORT_API_AUTH__PUBLIC_KEY_FILE": str(keys.public_key_file),
            "REPORT_API_DIRECTIVE_API_URL": f"http://127.0.0.1:{directive_port}",
            "REPORT_API_PAGES__OIDC_ISSUER": f"http://127.0.0.1:{idp_port}",
            "REPORT_API_PAGES__OIDC_CLIENT_SECRET": _secret(var / "keys" / "oidc-client.secret"),
            "REPORT_API_PAGES__SESSION_SECRET": _secret(var / "keys" / "session.secret"),
            "REPORT_API_PAGES__COOKIE_SECURE": "false",  # plain HTTP on loopback
        }
    )
    if vxp_port is not None:
        env.update(
            {
                "DIRECTIVE_API_EXCHANGE__VXP__BASE_URL": f"http://127.0.0.1:{vxp_port}",
                "DIRECTIVE_API_EXCHANGE__VXP__SYSTEM_ID": "vxp.vpub",
                "DIRECTIVE_API_EXCHANGE__VXP__SECRET": _secret(var / "keys" / "vxp-vpub.secret"),
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


def start(
    var: Path,
    *,
    directive_port: int = 8001,
    report_port: int = 8002,
    vxp_port: int | None = None,
    idp_port: int | None = None,
    ca_port: int | None = None,
    csc_port: int | None = None,
    pdf_workers: int | None = None,
) -> list[subprocess.Popen[bytes]]:
    """Start the hub double, the identity provider double, the remote-signing service (CSC API v2), the
    development CA's CRL/OCSP service and both services, and wait until they are ready (``vxp_port``,
    ``idp_port``, ``ca_port``, ``csc_port``: free ports when not given; ``pdf_workers``: directive-api's
    ``PDF_WORKERS``, else the environment's or one per core)."""
    var.mkdir(parents=True, exist_ok=True)
    vxp_port = vxp_port or _free_port()
    idp_port = idp_port or _free_port()
    if ca_port is None:
        # The CA keeps its port across restarts: the certificates already issued name its URL.
        ca_port = _port_if_free(ensure_dev_pki(var / "pki").revocation_url) or _free_port()
    # Recorded before any certificate is issued, so every one names the CA's CRL and OCSP URLs.
    ensure_dev_pki(var / "pki", revocation_url=f"http://127.0.0.1:{ca_port}")
    ca_command = [sys.executable, str(ROOT / "scripts" / "dev_ca.py"), "--pki", str(var / "pki")]
    ca_command += ["--port", str(ca_port)]
    env = service_env(var, directive_port=directive_port, report_port=report_port, vxp_port=vxp_port, idp_port=idp_port)
    if pdf_workers is not None:
        env["DIRECTIVE_API_PDF_WORKERS"] = str(pdf_workers)
    agencies = hub_agencies(var)
    bin_dir = Path(sys.executable).parent
    hub = [sys.executable, "-m", "common.vxp.hub", "--port", str(vxp_port), "--store", str(var / "vxp" / "store")]
    csc_config, csc_env = csc_service.prepare_state(var / "csc")
    csc_port = csc_port or _free_port()
    env["DIRECTIVE_API_SIGNING__CSC_URL"] = f"http://127.0.0.1:{csc_port}"
    env["DIRECTIVE_API_SIGNING__CSC_TOKEN"] = csc_service.client_token(csc_config)
    csc_command = [sys.executable, str(ROOT / "scripts" / "csc_service.py"), "--config", str(csc_config)]
    csc_command += ["--port", str(csc_port)]
    processes = [
        subprocess.Popen(ca_command, env=env),
        subprocess.Popen([*hub, "--agencies", str(agencies)], env=env),
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "dev_oidc_provider.py"),
                "--port",
                str(idp_port),
                "--people",
                str(dev_people(var)),
                "--client",
                f"report-api:{env['REPORT_API_PAGES__OIDC_CLIENT_SECRET']}",
                "--keys",
                str(var / "keys"),
                # Access tokens the APIs accept as bearer tokens: their issuer and audience.
                *("--access-issuer", AUTH_ISSUER, "--access-audience", AUTH_AUDIENCE),
            ],
            env=env,
        ),
        subprocess.Popen([str(bin_dir / "directive-api"), "serve", "--port", str(directive_port)], env=env),
        subprocess.Popen([str(bin_dir / "report-api"), "serve", "--port", str(report_port)], env=env),
        subprocess.Popen(csc_command, env=csc_env),
    ]
    try:
        # Generous: on a loaded machine the first start (migrations, seed, keys) takes minutes.
        for url in (
            f"http://127.0.0.1:{ca_port}/healthz",
            f"http://127.0.0.1:{vxp_port}/healthz",
            f"http://127.0.0.1:{idp_port}/.well-known/openid-configuration",
            f"http://127.0.0.1:{directive_port}/readyz",
            f"http://127.0.0.1:{report_port}/readyz",
            f"http://127.0.0.1:{csc_port}/openapi.json",
        ):
            wait_ready(url, timeout=180)
    except BaseException:
        stop(processes)
        raise
    return processes


DEPARTMENT_PEOPLE = (
    ("nguyen-van-nam", "Nguyễn Văn Nam", "Chuyên viên", "drafter", ""),
    ("ho-thi-lan", "Hồ Thị Lan", "Giám đốc", "signer", "GIÁM ĐỐC"),
    ("le-minh-tam", "Lê Minh Tâm", "Văn thư", "clerk", ""),
)
"""Sở Nội vụ's own people in its copy of the product (the seed has the Office's)."""


def department_env(
    var: Path, office_var: Path, *, directive_port: int, report_port: int, vxp_port: int, idp_port: int = 8090
) -> dict[str, str]:
    """Environment of Sở Nội vụ's own copy: its own state folder (databases, keys, files), a member of
    the Office's hub double as ``vxp.snv`` (the secret the hub was given, in the Office's ``var``)."""
    env = service_env(var, directive_port=directive_port, report_port=report_port, vxp_port=vxp_port, idp_port=idp_port)
    env["DIRECTIVE_API_EXCHANGE__VXP__SYSTEM_ID"] = "vxp.snv"
    env["DIRECTIVE_API_EXCHANGE__VXP__SECRET"] = _secret(office_var / "keys" / "vxp-snv.secret")
    return env


def start_department(
    var: Path,
    office_var: Path,
    *,
    directive_port: int,
    report_port: int,
    vxp_port: int,
    idp_port: int = 8090,
    pdf_workers: int | None = None,
) -> list[subprocess.Popen[bytes]]:
    """Start Sở Nội vụ's own directive-api and report-api (``var``: its state), receiving from and
    sending to the hub double the Office's :func:`start` runs on ``vxp_port``. The directory is the
    seed's; SNV issues documents (notation ``SNV``) with its own drafter, director and clerk
    (``pdf_workers``: as in :func:`start`)."""
    var.mkdir(parents=True, exist_ok=True)
    env = department_env(
        var, office_var, directive_port=directive_port, report_port=report_port, vxp_port=vxp_port, idp_port=idp_port
    )
    if pdf_workers is not None:
        env["DIRECTIVE_API_PDF_WORKERS"] = str(pdf_workers)
    cli = str(Path(sys.executable).parent / "directive-api")
    subprocess.run([cli, "migrate"], env=env, check=True)
    # SNV and its people in one import (what add-unit and add-person write, one process not four).
    unit = {"code": "SNV", "name": "Sở Nội vụ", "short_name": "Sở Nội vụ", "kind": "department"}
    unit |= {"group_code": "department", "organ_id": DEPARTMENT_ORGAN_ID, "notation": "SNV"}
    people = [
        {"id": person_id, "full_name": name, "unit_code": "SNV", "position": position, "roles": [role]}
        | {"signature_title_lines": [line for line in lines.split("|") if line]}
        for person_id, name, position, role, lines in DEPARTMENT_PEOPLE
    ]
    directory = var / "snv-directory.json"
    directory.write_text(json.dumps({"units": [unit], "people": people}, ensure_ascii=False), encoding="utf-8")
    subprocess.run([cli, "import-directory", str(directory)], env=env, check=True)
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen([cli, "serve", "--no-migrate", "--port", str(directive_port)], env=env),
        subprocess.Popen([str(bin_dir / "report-api"), "serve", "--port", str(report_port)], env=env),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{directive_port}/readyz", timeout=180)
        wait_ready(f"http://127.0.0.1:{report_port}/readyz", timeout=180)
    except BaseException:
        stop(processes)
        raise
    return processes


def describe(process: subprocess.Popen[bytes]) -> str:
    """A process of the stack by what it runs: ``directive-api serve``, ``dev_ca.py``, ``common.vxp.hub``…"""
    args = [str(a) for a in process.args] if isinstance(process.args, list | tuple) else [str(process.args)]
    program = Path(args[0]).name
    if program.startswith("python") and len(args) > 1:
        return args[2] if args[1] == "-m" and len(args) > 2 else Path(args[1]).name
    return f"{program} {args[1]}" if len(args) > 1 and not args[1].startswith("-") else program


def watch(processes: list[subprocess.Popen[bytes]], *, poll: float = 0.5) -> subprocess.Popen[bytes]:
    """Wait until one process of the stack exits, say which (with its exit code) on stderr, and return
    it: the caller then stops the rest, so a stack that stops is never a silent one."""
    while True:
        for process in processes:
            code = process.poll()
            if code is not None:
                print(
                    f"run_local: {describe(process)} (pid {process.pid}) exited with code {code}; stopping the rest",
                    file=sys.stderr,
                    flush=True,
                )
                return process
        time.sleep(poll)


def stop(processes: Sequence[subprocess.Popen[bytes]], *, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--var", type=Path, default=ROOT / "var")
    parser.add_argument("--directive-port", type=int, default=8001)
    parser.add_argument("--report-port", type=int, default=8002)
    parser.add_argument("--vxp-port", type=int, default=8010)
    parser.add_argument("--idp-port", type=int, default=8090)
    parser.add_argument("--ca-port", type=int, default=8020)
    parser.add_argument(
        "--department",
        action="store_true",
        help="also start Sở Nội vụ's own copy (directive-api :8003, report-api :8004, state in <var>/snv)",
    )
    parser.add_argument("--csc-port", type=int, default=8030)
    args = parser.parse_args()
    processes = start(
        args.var,
        directive_port=args.directive_port,
        report_port=args.report_port,
        vxp_port=args.vxp_port,
        idp_port=args.idp_port,
        ca_port=args.ca_port,
        csc_port=args.csc_port,
    )
    if args.department:
        processes += start_department(
            args.var / "snv",
            args.var,
            directive_port=8003,
            report_port=8004,
            vxp_port=args.vxp_port,
            idp_port=args.idp_port,
        )
        print(
            "\nSở Nội vụ's own copy: directive-api http://127.0.0.1:8003/docs, report-api http://127.0.0.1:8004/docs "
            f"(state {args.var / 'snv'}; tokens: directive-api mint-token <id> --keys {args.var / 'snv' / 'keys'})",
            flush=True,
        )
    keys = args.var / "keys"
    print(
        f"\ndirective-api  http://127.0.0.1:{args.directive_port}/docs\n"
        f"report-api     http://127.0.0.1:{args.report_port}/docs\n"
        f"exchange hub   http://127.0.0.1:{args.vxp_port} (VXP double; members in {args.var / 'vxp'})\n"
        f"dev CA         http://127.0.0.1:{args.ca_port}/crl and /ocsp (revoke: .venv/bin/python "
        f"scripts/dev_ca.py --pki {args.var / 'pki'} --revoke <serial>)\n"
        f"pages          http://127.0.0.1:{args.report_port}/pages (sign in: choose a seeded person)\n"
        f"sign-in (OIDC) http://127.0.0.1:{args.idp_port} (development identity provider)\n"
        f"CSC service    http://127.0.0.1:{args.csc_port} (remote-signing double, CSC API v2)\n"
        f"state          {args.var}\n"
        f"a token        .venv/bin/directive-api mint-token tran-van-an --keys {keys}\n"
        f"the seed walk  .venv/bin/directive-api walk-seed --keys {keys} --base-url http://127.0.0.1:{args.directive_port}\n"
        f"remote signing .venv/bin/python scripts/csc_service.py --config {args.var / 'csc' / 'csc.json'} "
        f"--enroll <person id> --name '<full name>' --pki {args.var / 'pki'}  (then set the person's signing_mode "
        "remote and signing_certificate; see docs/api.md)\n"
        f"client signing .venv/bin/directive-api dev-pki issue <person id> --out DIR --pki {args.var / 'pki'} "
        f"(a key and certificate chaining to {args.var / 'pki' / 'root-ca.pem'}; see docs/api.md)\n"
        "Ctrl-C stops all.\n",
        flush=True,
    )

    def terminate(*_: object) -> None:
        raise KeyboardInterrupt  # as Ctrl-C: stop all, no "exited" line for children we stop ourselves

    signal.signal(signal.SIGTERM, terminate)
    try:
        watch(processes)
        return 1  # a process stopped on its own: `make run` fails visibly
    except KeyboardInterrupt:
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    raise SystemExit(main())
