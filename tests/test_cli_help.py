"""`--help` and shell completion stay quick (issue 13): no heavy module loads before a
command needs it, and <TAB> completes asset roots and ids from the registry. Real
processes: in this one, the heavy modules are long loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli_env

HEAVY = ("PIL", "pydantic", "rich", "diskcache", "doit", "packer_tasks.service", "watchfiles")
PROBE = f"""
import sys
from packer_tasks.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("HEAVY:" + ",".join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)
"""


def probe(*args: str, cwd: Path, **env: str) -> tuple[str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("HEAVY:"), proc.stderr
    loaded = [m for m in last.removeprefix("HEAVY:").split(",") if m]
    return proc.stdout, loaded


@pytest.mark.parametrize(
    "args", [("--help",), ("pack", "--help"), ("show", "--help"), ("set", "--help")]
)
def test_help_loads_nothing_heavy(starter_copy: Path, args: tuple[str, ...]) -> None:
    out, loaded = probe(*args, cwd=starter_copy)
    assert "Usage:" in out
    assert loaded == []


def test_completion_of_asset_roots_ids_and_commands(starter_copy: Path) -> None:
    def complete(words: str, cword: int) -> tuple[list[str], list[str]]:
        out, loaded = probe(
            cwd=starter_copy,
            _PROMETEU_PACKER_COMPLETE="bash_complete",
            COMP_WORDS=words,
            COMP_CWORD=str(cword),
        )
        return [line.split(",", 1)[1] for line in out.splitlines()], loaded

    roots, loaded = complete("prometeu-packer show ui/", 2)
    assert loaded == []
    assert "ui/hud_icons" in roots and all(r.startswith("ui/") for r in roots)
    ids, _ = complete("prometeu-packer exclude 1", 2)
    assert ids == ["1"]
    commands, _ = complete("prometeu-packer sh", 1)
    assert commands == ["show"]
    families, _ = complete("prometeu-packer new so", 2)
    assert families == ["sound_bank"]
