"""Operator commands of directive-api: ``directive-api migrate|seed|serve|mint-token|walk-seed|…``.

The directory, invariant and PDF commands are in :mod:`.operations`; the seed walk (a demo client of
the REST API) in :mod:`.walk`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from common.cli import ServiceCommands, fail
from directive_api.settings import Settings, production_problems

# Each command imports what it needs when it runs (the database layer, the PDF stack, HTTP): a
# command starts without paying for the others' imports, and none of them imports FastAPI.

COMMANDS = ServiceCommands(
    prog="directive-api", package="directive_api", database_env="DIRECTIVE_API_DATABASE__URL", port=8001
)
alembic_config = COMMANDS.alembic_config
migrate = COMMANDS.migrate

MIGRATION_LOCK = "migrations:directive-api"
"""The advisory lock the migrations (migrations/env.py) and the seeding take."""


async def seed(url: str) -> dict[str, int]:
    """Load the directory (units, groups, people); idempotent (upserts)."""
    from common.db import advisory_lock_async, create_engine, create_sessionmaker, transaction
    from directive_api.seed.loader import load_directory

    engine = create_engine(url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            # The migrations' lock: replicas and start-up jobs starting together take turns, and
            # none seeds while another is still changing the schema.
            await advisory_lock_async(session, MIGRATION_LOCK)
            return await load_directory(session)
    finally:
        await engine.dispose()


async def _worker(settings: Settings) -> None:
    import signal

    from common.db import create_sessionmaker, engine_for
    from common.health import heartbeat_file
    from directive_api import workers

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = engine_for(settings.database, pre_ping=True)  # workers always ping
    try:
        await workers.run(create_sessionmaker(engine), settings, stop, heartbeat=heartbeat_file())
    finally:
        await engine.dispose()


# Commands that read an existing database: from a folder without it they say so in one line.
NEEDS_DATABASE = frozenset(
    {"seed", "relay", "verify-audit", "check-invariants", "add-unit", "add-person", "export-directory",
     "import-directory", "verify-pdf"}
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``directive-api`` command line."""
    parser = argparse.ArgumentParser(prog="directive-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db = [COMMANDS.database_options()]
    migrate_ = sub.add_parser(
        "migrate",
        parents=db,
        help="apply database migrations, then load the directory (the start-up job; safe to rerun)",
    )
    migrate_.add_argument("--no-seed", action="store_true", help="only migrate; do not load the directory")
    sub.add_parser("seed", parents=db, help="load the organisation directory and people (safe to rerun)")
    COMMANDS.add_serve(
        sub,
        summary="migrate, seed and serve over HTTP",
        no_migrate="skip migrations and seeding (replicas: a migration job does them)",
    )
    token = sub.add_parser("mint-token", help="print a development token for a person")
    token.add_argument("person", help="person id, e.g. le-xuan-hoa, or any id with --roles")
    token.add_argument("--roles", help="comma-separated roles (default: the person's roles)")
    token.add_argument("--unit", help="unit code (default: the person's unit)")
    token.add_argument(
        "--keys", type=Path, default=Path("var/keys"), help="folder of the development key pair (default: %(default)s)"
    )
    token.add_argument(
        "--create-keys", action="store_true", help="create a new key pair in --keys when there is none there"
    )
    sub.add_parser(
        "relay", parents=db, help="worker: relay events to webhooks and dispatch due documents (SIGTERM stops it)"
    )
    COMMANDS.add_verify_audit(sub, summary="recompute the hash chain of the history; exit 1 and say where it breaks")
    sub.add_parser(
        "check-invariants", parents=db, help="numbers, history, hash chain, stored PDFs, outbox; exit 1 on any problem"
    )
    unit = sub.add_parser("add-unit", parents=db, help="add or update a unit of the directory")
    unit.add_argument("code", help="unit code, e.g. X31299")
    unit.add_argument("--name", required=True, help="full name, with diacritics")
    unit.add_argument("--short-name", help="short name for lists")
    unit.add_argument("--kind", required=True, help="department, ward, commune, socio_political_org, …")
    unit.add_argument("--group", help="group code, e.g. commune_level")
    unit.add_argument("--organ-id", help="QCVN 102:2016 identifier")
    unit.add_argument("--notation", help="set when the unit issues documents (e.g. UBND)")
    person = sub.add_parser("add-person", parents=db, help="add or update a person")
    person.add_argument("id", help="person id, e.g. tran-thi-c")
    person.add_argument("--name", required=True, help="full name, with diacritics")
    person.add_argument("--unit", required=True, help="code of the person's unit")
    person.add_argument("--position", required=True, help="position title, e.g. Phó Chánh Văn phòng")
    person.add_argument("--roles", required=True, help="comma-separated")
    person.add_argument(
        "--signature-lines", default="", help="'|'-separated, e.g. 'KT. CHÁNH VĂN PHÒNG|PHÓ CHÁNH VĂN PHÒNG'"
    )
    export = sub.add_parser(
        "export-directory", parents=db, help="write groups, units and people as JSON, or one kind as CSV"
    )
    export.add_argument("file", type=Path, help="file to write")
    export.add_argument("--format", choices=["json", "csv"], default="json", help="JSON (everything) or CSV (one kind)")
    export.add_argument("--kind", choices=["groups", "units", "people"], help="with --format csv: what to write")
    import_ = sub.add_parser(
        "import-directory",
        parents=db,
        help="create or overwrite entries from the JSON the export writes (or the seed's unit list), or a CSV",
    )
    import_.add_argument("file", type=Path, help="*.json, or *.csv with --kind")
    import_.add_argument("--kind", choices=["groups", "units", "people"], help="what the CSV's rows are")
    organs = sub.add_parser(
        "import-organ-ids",
        parents=db,
        help="give units their exchange identifiers from a CSV of the national list (organ_id and unit_code or name)",
    )
    organs.add_argument("file", type=Path, help="the CSV file (header row: organ_id and unit_code or name)")
    organs.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    verify = sub.add_parser(
        "verify-pdf", parents=db, help="check the signatures of a PDF file against the trusted roots"
    )
    verify.add_argument("file", type=Path, help="the PDF file")
    dev_pki = sub.add_parser("dev-pki", help="the development PKI of `make run` (development only)")
    dev_pki_sub = dev_pki.add_subparsers(dest="dev_pki_command", required=True, help="issue")
    issue = dev_pki_sub.add_parser(
        "issue", help="issue a key and certificate for a person's own signing client (client-mode signing)"
    )
    issue.add_argument("person", help="person id, e.g. le-xuan-hoa (name and unit from the seed, or --name/--org)")
    issue.add_argument("--out", type=Path, required=True, help="folder to write the key, certificate and root to")
    issue.add_argument("--pki", type=Path, default=Path("var/pki"), help="the development PKI (default: %(default)s)")
    issue.add_argument("--name", help="the holder's full name (CN; default: the seed person's)")
    issue.add_argument("--org", help="the holder's unit name (O; default: the seed person's unit)")
    walk = sub.add_parser("walk-seed", help="take the seed letter from draft to issued through the API")
    walk.add_argument("--base-url", default="http://127.0.0.1:8001", help="directive-api's URL (default: %(default)s)")
    walk.add_argument(
        "--keys", type=Path, default=Path("var/keys"), help="folder of the development key pair (default: %(default)s)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``directive-api`` command."""
    parser = build_parser()
    return COMMANDS.main(
        parser,
        argv,
        settings=Settings,
        run=lambda args, settings: _run(parser, args, settings),
        guarded={"serve", "relay"},
        production_problems=production_problems,
        needs_database=NEEDS_DATABASE,
    )


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        from sqlalchemy import make_url

        migrate(settings.database.url)
        print("migrated", make_url(settings.database.url).render_as_string(hide_password=True))
        if not args.no_seed:
            print("seeded", asyncio.run(seed(settings.database.url)))
    elif args.command == "seed":
        print("seeded", asyncio.run(seed(settings.database.url)))
    elif args.command == "serve":

        def prepare() -> None:
            migrate(settings.database.url)
            asyncio.run(seed(settings.database.url))

        COMMANDS.serve(args, settings, prepare)
    elif args.command == "mint-token":
        from common.auth import ensure_dev_keys, mint_token
        from directive_api.seed.loader import read_json

        people = {p["id"]: p for p in read_json("people.json")}
        person = people.get(args.person, {})
        roles = args.roles.split(",") if args.roles else person.get("roles")
        unit = args.unit or person.get("unit_code")
        if not roles:
            parser.error("unknown person: give --roles and --unit")
        if not (args.keys / "jwt-private.pem").exists() and not args.create_keys:
            # A new pair would sign tokens no running service accepts.
            return fail(
                parser.prog,
                f"no development key pair in {args.keys.absolute()}: give --keys with the folder the services"
                " use (var/keys of `make run`, /app/var/keys in Compose), or --create-keys for a new pair",
            )
        keys = ensure_dev_keys(args.keys)
        print(
            mint_token(
                keys.private_key_file.read_bytes(),
                subject=args.person,
                name=person.get("full_name", args.person),
                roles=roles,
                unit=unit,
                issuer=settings.auth.issuer,
                audience=settings.auth.audience,
                ttl_seconds=8 * 3600,
            )
        )
    elif args.command == "relay":
        from common.http_tracing import configure_process_tracing
        from common.observability.logs import configure_logging

        observability = settings.observability
        configure_logging("directive-api", observability.log_level, json=observability.json_logs)
        configure_process_tracing("directive-api-relay", observability.otlp_endpoint)
        asyncio.run(_worker(settings))
    elif args.command == "verify-audit":
        from directive_api.directives.models import DirectiveHistory

        return COMMANDS.verify_audit(settings.database.url, DirectiveHistory)
    elif args.command in (
        "check-invariants",
        "add-unit",
        "add-person",
        "export-directory",
        "import-directory",
        "import-organ-ids",
        "verify-pdf",
    ):
        from directive_api.cli import operations

        return asyncio.run(operations.run(args, settings))
    elif args.command == "dev-pki":
        return _dev_pki_issue(parser, args)
    elif args.command == "walk-seed":
        import httpx

        from directive_api.cli.walk import walk_seed_letter

        try:
            return walk_seed_letter(args.base_url, args.keys, out=sys.stdout)
        except httpx.TransportError as error:
            print(
                f"directive-api walk-seed: directive-api does not answer at {args.base_url}"
                f" ({error or type(error).__name__}); start it (make run) or give its URL with --base-url",
                file=sys.stderr,
            )
            return 1
    return 0


def _dev_pki_issue(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import json

    from common.pdf.dev_pki import ensure_dev_pki
    from directive_api.seed.loader import read_json

    if not (args.pki / "root-ca.pem").exists():
        # A new root would chain to nothing the running services trust.
        return fail(parser.prog, f"no development PKI in {args.pki.absolute()}: start `make run` once, or give --pki")
    person = {p["id"]: p for p in read_json("people.json")}.get(args.person, {})
    units = {u["code"]: u["name"] for u in read_json("can-tho-units.json")["units"]}
    name, org = args.name or person.get("full_name"), args.org or units.get(person.get("unit_code", ""))
    if not (name and org):
        parser.error(f"{args.person} is not a seed person: give --name and --org")
    pki = ensure_dev_pki(args.pki)
    key_file, cert_file = pki.issue_signing_identity(args.out, name, org)
    certificate = cert_file.read_text()
    register = args.out / "register.json"
    register.write_text(json.dumps({"signing_mode": "client", "signing_certificate": certificate}))
    print(f"key          {key_file}  (ECDSA P-256, PKCS#8, unencrypted: development only)")
    print(f"certificate  {cert_file}  (CN {name}, O {org}; OCSP/CRL at {pki.revocation_url or 'none'})")
    print(f"trust root   {args.out / 'root-ca.pem'}")
    print(f"register it  PATCH /v1/people/{args.person} (admin, If-Match) with the body in {register}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
