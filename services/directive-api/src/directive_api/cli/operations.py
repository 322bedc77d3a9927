"""Operator commands: directory maintenance, invariant checks and PDF verification, with progress bars."""

from __future__ import annotations

import argparse
import getpass
import json
import unicodedata
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from common.auth import Principal
from common.db import create_sessionmaker, engine_for, transaction, utc_now
from common.problems import ProblemError
from common.storage import FileStore
from directive_api.directory import service as directory
from directive_api.directory.schemas import DirectoryDocument
from directive_api.settings import Settings

console = Console()


def _nfc(value: str | None) -> str | None:
    return unicodedata.normalize("NFC", value) if value is not None else None


def _operator(settings: Settings) -> Principal:
    """Who the directory's history records for a change made on the command line."""
    return Principal(
        subject=f"cli:{getpass.getuser()}",
        name="operator",
        roles=frozenset({"admin"}),
        unit=settings.office_unit_code,
    )


def _document_for(args: argparse.Namespace) -> DirectoryDocument:
    """The entries a command adds or changes."""
    if args.command == "add-unit":
        unit = {"code": args.code, "name": args.name, "kind": args.kind, "short_name": args.short_name or args.name}
        if args.group:
            unit["group_code"] = args.group
        if args.notation:
            unit["notation"] = args.notation
        if args.organ_id:
            unit["organ_id"] = args.organ_id
        return DirectoryDocument.model_validate({"units": [unit]})
    if args.command == "add-person":
        lines = [_nfc(line.strip()) for line in args.signature_lines.split("|") if line.strip()]
        person = {
            "id": args.id,
            "full_name": args.name,
            "unit_code": args.unit,
            "position": args.position,
            "roles": [r.strip() for r in args.roles.split(",") if r.strip()],
            "signature_title_lines": lines,
        }
        return DirectoryDocument.model_validate({"people": [person]})
    text = unicodedata.normalize("NFC", args.file.read_text(encoding="utf-8-sig"))
    if args.file.suffix.lower() == ".csv":
        if args.kind is None:
            raise SystemExit("a CSV import needs --kind groups|units|people")
        return directory.from_csv(directory.KINDS[args.kind], text)
    data = json.loads(text)
    if "about" in data:  # the seed's unit list (can-tho-units.json)
        units = []
        for raw in data["units"]:
            record = {k: v for k, v in raw.items() if v is not None}
            record.pop("organ_id_development", None)
            for old, new in (("group", "group_code"), ("parent", "parent_code")):
                if old in record:
                    record[new] = record.pop(old)
            units.append(record)
        data = {"units": units}
    return DirectoryDocument.model_validate(data)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one operator command; returns the exit code."""
    engine = engine_for(settings.database, pre_ping=True)
    maker = create_sessionmaker(engine)
    try:
        if args.command == "check-invariants":
            from directive_api import invariants

            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
                tasks: dict[str, Any] = {}

                def progress(step: str, done: int, total: int) -> None:
                    if step not in tasks:
                        tasks[step] = bar.add_task(step, total=total)
                    bar.update(tasks[step], completed=done)

                async with maker() as session:
                    report = await invariants.check(session, FileStore(settings.files_dir), progress=progress)
            for name, count in report.checked.items():
                console.print(f"checked {count} {name}")
            for problem in report.problems:
                console.print(f"[red]✗ {problem}[/red]")
            console.print("[green]✓ all invariants hold[/green]" if report.ok else f"{len(report.problems)} problems")
            return 0 if report.ok else 1
        if args.command in ("add-unit", "add-person", "import-directory"):
            try:
                document = _document_for(args)
            except ValidationError as exc:
                for error in exc.errors(include_url=False, include_context=False, include_input=False):
                    console.print(f"[red]{'/'.join(str(p) for p in error['loc'])}: {error['msg']}[/red]")
                return 2
            except (ProblemError, ValueError) as exc:
                console.print(f"[red]{getattr(exc, 'detail', None) or exc}[/red]")
                return 2
            try:
                async with transaction(maker) as session:
                    imported = await directory.import_document(
                        session, document, actor=_operator(settings), now=utc_now()
                    )
            except ProblemError as exc:
                console.print(f"[red]{exc.detail or exc.title}[/red]")
                for error in exc.extra.get("errors", []):
                    console.print(f"[red]  {'/'.join(error['location'])}: {error['message']}[/red]")
                return 2
            console.print(
                f"{imported.created} created, {imported.updated} updated, {imported.unchanged} unchanged "
                "(each change is in the directory's history)"
            )
            return 0
        if args.command == "export-directory":
            async with maker() as session:
                exported = await directory.export(session)
            if args.format == "csv":
                if args.kind is None:
                    console.print("[red]--format csv needs --kind groups|units|people[/red]")
                    return 2
                text = directory.to_csv(directory.KINDS[args.kind], getattr(exported, args.kind))
                args.file.write_text(text, encoding="utf-8", newline="")
            else:
                data = exported.model_dump(mode="json", warnings=False)
                args.file.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
            console.print(
                f"{len(exported.groups)} groups, {len(exported.units)} units and {len(exported.people)} people "
                f"written to {args.file}"
            )
            return 0
        if args.command == "import-organ-ids":
            from directive_api.orgs.organ_ids import import_organ_ids

            text = args.file.read_text(encoding="utf-8")
            async with transaction(maker) as session:
                organ_report = await import_organ_ids(session, text, dry_run=args.dry_run)
            for problem in organ_report.errors:
                console.print(f"[red]✗ {problem}[/red]")
            if not organ_report.ok:
                console.print(f"{len(organ_report.errors)} problems: nothing was changed")
                return 1
            for code, organ_id in organ_report.updated:
                console.print(f"{code} → {organ_id}")
            for code in organ_report.cleared:
                console.print(f"[yellow]{code} loses its development identifier (now another unit's)[/yellow]")
            verb = "would be updated" if args.dry_run else "updated"
            console.print(
                f"{len(organ_report.updated)} units {verb}, {organ_report.unchanged} unchanged, "
                f"{len(organ_report.skipped)} rows match no unit of the directory"
            )
            return 0
        if args.command == "verify-pdf":
            from directive_api.pdfs.service import Keys

            keys = Keys.from_settings(settings.signing)
            from common.pdf.verify import PdfVerificationError, verify_pdf_async

            try:
                result = await verify_pdf_async(
                    args.file.read_bytes(), keys.trust_roots(), max_bytes=settings.max_verify_bytes
                )
            except PdfVerificationError as exc:
                console.print(f"[red]cannot verify: {exc}[/red]")
                return 2
            for sig in result.signatures:
                mark = "✓" if sig.intact and sig.valid and sig.trusted else "✗"
                console.print(
                    f"{mark} {sig.field_name}: {sig.signer_common_name} at {sig.signing_time} — intact={sig.intact} "
                    f"valid={sig.valid} trusted={sig.trusted} changes after={sig.modification}"
                )
            console.print("[red]ALTERED[/red]" if result.altered else "[green]not altered[/green]")
            return 1 if result.altered or not result.signatures else 0
        return 2
    finally:
        await engine.dispose()
