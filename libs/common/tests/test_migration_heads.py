"""/readyz compares the database with the head revision(s) read from the revision files without
Alembic: the heads must be the ones Alembic itself finds, for a linear, a branched and a merged history."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from common.app import migration_heads


def _revision(folder: Path, name: str, revision: str, down: str | tuple[str, ...] | None, *, typed: bool) -> None:
    if typed:
        head = f'revision: str = "{revision}"\ndown_revision: str | tuple[str, ...] | None = {down!r}\n'
    else:
        head = f'revision = "{revision}"\ndown_revision = {down!r}\n'
    body = "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n"
    (folder / "versions" / f"{name}.py").write_text(f'"""{name}"""\n{head}{body}', encoding="utf-8")


def _alembic_heads(folder: Path) -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(folder))
    return set(ScriptDirectory.from_config(config).get_heads())


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([("a", None), ("b", "a"), ("c", "b")], {"c"}),
        ([("a", None), ("b", "a"), ("c", "a")], {"b", "c"}),  # two branches: two heads (readyz wants both)
        ([("a", None), ("b", "a"), ("c", "a"), ("m", ("b", "c"))], {"m"}),  # merged again
    ],
)
def test_heads_read_from_the_files_are_alembics(
    tmp_path: Path, history: list[tuple[str, str | tuple[str, ...] | None]], expected: set[str]
) -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "versions" / "__init__.py").write_text("", encoding="utf-8")
    for index, (revision, down) in enumerate(history):
        _revision(tmp_path, f"{index:04d}_{revision}", revision, down, typed=index % 2 == 0)
    assert migration_heads(str(tmp_path)) == expected
    assert _alembic_heads(tmp_path) == expected


def test_a_revision_file_changed_in_place_is_read_again(tmp_path: Path) -> None:
    """Each file is parsed once per process (applications are built per test); a file rewritten in
    place — a branch merged, a revision renamed — is parsed again, never answered from the cache."""
    (tmp_path / "versions").mkdir()
    for index, (revision, down) in enumerate([("a", None), ("b", "a"), ("c", "a")]):
        _revision(tmp_path, f"{index:04d}_{revision}", revision, down, typed=False)
    assert migration_heads(str(tmp_path)) == {"b", "c"}
    _revision(tmp_path, "0002_c", "c", "b", typed=False)  # same path, now after b
    assert migration_heads(str(tmp_path)) == {"c"} == _alembic_heads(tmp_path)
