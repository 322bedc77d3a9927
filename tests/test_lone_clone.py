"""The product is whole on its own: no file of it reaches for a path outside the repository.

A user's clone has nothing beside it; a test, script, setting or document that reads (or tells the
reader to open) a sibling folder works on the developers' machines and fails everywhere else.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".git", ".venv", "var", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".hypothesis"}
# Spelled in pieces so that this file does not match itself.
ESCAPES = re.compile(
    rb"\.\.[/\\]" + rb"shared"  # the reference material beside the product
    rb"|/" + rb"work/"  # the developers' workplace
    rb"|\.\.[/\\]\.\.[/\\]\.\.[/\\]"  # three levels up: above any file of this tree's depth
)


def _candidates() -> list[Path]:
    """The product's files: what git tracks or would add (not what it ignores, such as caches that
    tools write with absolute paths); every file under the root where this is no git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return list(ROOT.rglob("*"))
    return [ROOT / name for name in listed.decode().split("\0") if name]


def _product_files() -> list[Path]:
    files = []
    for path in _candidates():
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS for part in relative.parts) or not path.is_file():
            continue
        if path.suffix in {".db", ".pyc", ".png", ".pdf", ".xlsx", ".p12", ".der"}:
            continue
        files.append(path)
    return files


def _levels_up(node: ast.AST) -> int | None:
    """How many folders above its file an expression built on ``__file__`` points, if it is one."""
    levels = 0
    while True:
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
            if not isinstance(node.slice, ast.Constant) or not isinstance(node.slice.value, int):
                return None
            levels += node.slice.value + 1
            node = node.value.value
        elif isinstance(node, ast.Attribute) and node.attr == "parent":
            levels += 1
            node = node.value
        elif isinstance(node, ast.Attribute) and node.attr in {"resolve", "absolute"}:
            node = node.value
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "Path" and node.args:
                node = node.args[0]
            else:
                node = node.func
        elif isinstance(node, ast.Name) and node.id == "__file__":
            return levels
        else:
            return None


def test_no_file_names_a_path_outside_the_repository() -> None:
    offenders = []
    for path in _product_files():
        data = path.read_bytes()
        for number, line in enumerate(data.splitlines(), start=1):
            if ESCAPES.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.decode(errors='replace').strip()}")
    assert offenders == []


def test_no_python_file_climbs_above_the_repository_from_its_own_location() -> None:
    offenders = []
    for path in _product_files():
        if path.suffix != ".py":
            continue
        depth = len(path.relative_to(ROOT).parts) - 1  # folders between the file and the root
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.Subscript | ast.Attribute):
                continue
            levels = _levels_up(node)
            if levels is not None and levels > depth + 1:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {levels} levels up from depth {depth}")
    assert offenders == []


def test_the_escape_checks_catch_what_they_are_for() -> None:
    assert ESCAPES.search(b'Path(__file__).parents[3] / "../' + b'shared/seed/x.txt"')
    assert not ESCAPES.search(b"services/directive-api/tests/fixtures/cong-van.txt")
    escaping = ast.parse("Path(__file__).resolve().parents[4] / 'x'").body[0]
    assert isinstance(escaping, ast.Expr) and isinstance(escaping.value, ast.BinOp)
    assert _levels_up(escaping.value.left) == 5
    assert _levels_up(ast.parse("Path(__file__).parent.parent").body[0].value) == 2  # type: ignore[attr-defined]
