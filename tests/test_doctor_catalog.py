"""The diagnostic catalogue: every code the packer can emit is listed, with its severity."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from click.testing import CliRunner

import packer_tasks
from packer_tasks.cli import cli
from packer_tasks.doctor.catalog import CATALOG, CodeKind, catalog_entries
from packer_tasks.doctor.fixes import FIX_IDS
from packer_tasks.models.diagnostic import Severity

PACKAGE = Path(packer_tasks.__file__).parent
CODE = re.compile(r"[a-z][a-z0-9]*\.[a-z][a-z0-9_]*")
# Dotted strings in the source that are file names or field paths, not codes.
NOT_CODES = re.compile(
    r".*\.(json|jsonl|pa|png|wav|toml|sqlite|py|lock|tmp|md|html|css|js)|output\.metadata"
)


def _source_strings() -> tuple[set[str], set[str]]:
    """Code-shaped string literals, and the fixed tails of codes built as f"{prefix}.x"."""
    literals: set[str] = set()
    suffixes: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if CODE.fullmatch(node.value) and not NOT_CODES.fullmatch(node.value):
                    literals.add(node.value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("error", "warning", "info")
                and node.args
                and isinstance(node.args[0], ast.JoinedStr)
            ):
                tail = node.args[0].values[-1]
                assert isinstance(tail, ast.Constant) and isinstance(tail.value, str)
                suffixes.add(tail.value)
    return literals, suffixes


def test_every_emitted_code_is_in_the_catalogue() -> None:
    literals, suffixes = _source_strings()
    assert len(literals) > 100  # the scan really saw the source
    assert sorted(literals - CATALOG.keys()) == []
    assert suffixes  # e.g. f"{code_prefix}.invalid_json"
    for suffix in suffixes:
        assert any(code.endswith(suffix) for code in CATALOG), suffix


def test_catalogue_entries_are_consistent() -> None:
    for entry in catalog_entries():
        assert CODE.fullmatch(entry.code)
        assert entry.blocking == (entry.severity is Severity.ERROR)
        assert entry.description
        assert set(entry.fixes) <= set(FIX_IDS), entry
        if entry.kind is CodeKind.HYGIENE:
            assert not entry.blocking
    fixed = {fix for e in CATALOG.values() for fix in e.fixes}
    assert fixed == set(FIX_IDS)


def test_doctor_catalog_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--project", str(tmp_path), "doctor", "--catalog", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    codes = [e["code"] for e in data["entries"]]
    assert codes == sorted(CATALOG)
    row = next(e for e in data["entries"] if e["code"] == "registry.not_canonical")
    assert row == {
        "code": "registry.not_canonical",
        "severity": "warning",
        "blocking": False,
        "kind": "structural",
        "description": row["description"],
        "fixes": ["canonicalize_registry"],
    }
    human = CliRunner().invoke(cli, ["--project", str(tmp_path), "doctor", "--catalog"])
    assert human.exit_code == 0 and "hygiene.unused_large_file" in human.stdout
