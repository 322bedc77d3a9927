"""Operator commands: directory maintenance, invariant checks and PDF verification, with progress bars."""

from __future__ import annotations

import argparse
import json
import unicodedata
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select

from common.db import create_sessionmaker, engine_for, transaction
from common.storage import FileStore
from directive_api.orgs.models import Unit, UnitGroup
from directive_api.people.models import Person
from directive_api.settings import Settings

console = Console()


def _nfc(value: str | None) -> str | None:
    return unicodedata.normalize("NFC", value) if value is not None else None


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
        if args.command == "add-unit":
            async with transaction(maker) as session:
                if args.group and await session.get(UnitGroup, args.group) is None:
                    console.print(f"[red]unknown group {args.group}[/red]")
                    return 2
                await session.merge(
                    Unit(
                        code=args.code,
                        name=_nfc(args.name),
                        short_name=_nfc(args.short_name or args.name),
                        kind=args.kind,
                        group_code=args.group,
                        organ_id=args.organ_id,
                        is_active=True,
                    )
                )
            console.print(f"unit {args.code} saved")
            return 0
        if args.command == "add-person":
            async with transaction(maker) as session:
                if await session.get(Unit, args.unit) is None:
                    console.print(f"[red]unknown unit {args.unit}[/red]")
                    return 2
                lines = [_nfc(line.strip()) or "" for line in args.signature_lines.split("|") if line.strip()]
                await session.merge(
                    Person(
                        id=args.id,
                        full_name=_nfc(args.name),
                        unit_code=args.unit,
                        position=_nfc(args.position),
                        roles=[r.strip() for r in args.roles.split(",") if r.strip()],
                        signature_title_lines=lines,
                        is_active=True,
                    )
                )
            console.print(f"person {args.id} saved")
            return 0
        if args.command == "export-directory":
            async with maker() as session:
                units = (await session.scalars(select(Unit).order_by(Unit.code))).all()
                people = (await session.scalars(select(Person).order_by(Person.id))).all()
                data = {
                    "units": [
                        {
                            "code": u.code,
                            "name": u.name,
                            "short_name": u.short_name,
                            "kind": u.kind,
                            "group": u.group_code,
                            "parent": u.parent_code,
                            "organ_id": u.organ_id,
                            "gso_code": u.gso_code,
                            "notation": u.notation,
                        }
                        for u in units
                    ],
                    "people": [p.as_dict() for p in people],
                }
            args.file.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
            console.print(f"{len(data['units'])} units and {len(data['people'])} people written to {args.file}")
            return 0
        if args.command == "import-directory":
            from directive_api.seed.loader import load_directory

            data = json.loads(unicodedata.normalize("NFC", args.file.read_text(encoding="utf-8")))
            with console.status("importing…"):
                async with transaction(maker) as session:
                    counts = await load_directory(session, {"units": data["units"]})
            console.print(f"imported {counts['units']} units")
            return 0
        if args.command == "verify-pdf":
            from directive_api.documents.service import Keys

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
