"""Output a person reads (issue 13): 80 columns, numbers as words, nothing before an error,
fast listings, one summary line per pack, Ctrl-C as one line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import call_in_process, cli_env, run_cli

from packer_tasks.cli import humanize, main

COLS = 80


def run80(*args: str | Path, cwd: Path) -> tuple[int, str, str]:
    argv = [str(a) for a in args]
    return call_in_process(lambda: main(argv), cwd=cwd, env=cli_env(COLUMNS=str(COLS)))


def test_humanize() -> None:
    assert humanize.plural(1, "asset") == "1 asset"
    assert humanize.plural(2, "miss", "misses") == "2 misses"
    assert humanize.size(180635) == "176 KiB"
    assert humanize.size(2147483648) == "2.0 GiB"
    assert humanize.size(512) == "512 B"
    assert humanize.duration(850) == "850 ms" and humanize.duration(4200) == "4.2 s"
    assert humanize.words(["a", "b", "c"], "or") == "a, b or c"
    assert humanize.when(0) == "-" and humanize.when(1796215778133).startswith("2026-")
    lines = humanize.columns([("1", "x" * 200)], 80, ("id", "root"))
    assert all(len(x) <= 80 for x in lines)


def test_tables_fit_80_columns(starter_copy: Path) -> None:
    assert run80("pack", cwd=starter_copy)[0] == 0
    for args in (("list",), ("summary",), ("inspect",), ("validate",), ("show", "1")):
        rc, out, err = run80(*args, cwd=starter_copy)
        assert rc == 0, (args, err)
        assert "Traceback" not in out + err
        too_wide = [x for x in out.splitlines() if len(x) > COLS and "hint:" not in x]
        assert not too_wide, (args, too_wide)
    rc, out, _ = run80("summary", cwd=starter_copy)
    assert "last modified (ms)" not in out and "asset(s)" not in out
    assert humanize.when(1).split()[0][:2] in out or "-" in out  # dates, not epochs
    rc, out, _ = run80("inspect", cwd=starter_copy)
    assert "hud_icons" in out and " KiB" in out


def test_nothing_before_an_error(tmp_path: Path) -> None:
    rc, out, _err = run80("inspect", tmp_path / "nope.pa", cwd=tmp_path)
    assert rc == 1
    assert out.splitlines()[0].startswith("failed: cannot read")
    assert "asset_table" not in out and "preload" not in out


def test_pack_prints_one_summary_line(starter_copy: Path) -> None:
    rc, out, err = run80("pack", cwd=starter_copy)
    assert rc == 0
    assert out.count("packed 5 asset") == 1, out
    assert "miss " not in out and "cache miss for" not in out + err  # per-asset lines: -v only
    assert len(out.strip().splitlines()) == 1, out


def test_list_renders_thousands_of_rows_fast() -> None:
    from packer_tasks.cli.workspace_views import render_list
    from packer_tasks.models.results import AssetSummary, ListAssetsResult, Status

    rows = [
        AssetSummary(
            asset_id=i,
            asset_uuid=None,
            root=f"gfx/bank_{i:05d}",
            name=f"bank_{i}",
            family="glyph_bank",
            registered=True,
            included_in_build=True,
            artifact_count=8,
            blocking=False,
            checked=True,
        )
        for i in range(1, 2001)
    ]
    result = ListAssetsResult(
        operation="list_assets", operation_id="x", status=Status.SUCCESS, summary="s", assets=rows
    )

    def render() -> int:
        render_list(result)
        return 0

    start = time.monotonic()
    _rc, out, _ = call_in_process(render, env=cli_env(COLUMNS="80"))
    assert time.monotonic() - start < 2.0
    assert len(out.splitlines()) == 2002 and all(len(x) <= COLS for x in out.splitlines())


@pytest.mark.parametrize("args", [("list",), ("validate",), ("doctor",)])
def test_ctrl_c_is_one_line_and_130(
    starter_copy: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    from packer_tasks.service import PackerService

    def interrupted(self: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(PackerService, "recover", interrupted)
    rc, out, err = run_cli(*args, cwd=starter_copy)
    assert rc == 130
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and out == ""
    assert err.strip().startswith("interrupted: nothing was left half-done")


def test_packer_sentences_read_as_words() -> None:
    said = "packed 5 asset(s) into build/assets.pa (0 local + 5 remote cache hit(s), 1 miss(es))"
    assert humanize.readable(said) == (
        "packed 5 assets into build/assets.pa (0 local + 5 remote cache hits, 1 miss)"
    )
    stats = "6 entr(ies), 180635 bytes of 2147483648 in .prometeu-cache"
    assert humanize.readable(stats) == "6 entries, 176 KiB of 2.0 GiB in .prometeu-cache"
    assert humanize.readable("1 entr(ies)") == "1 entry"


def test_cache_stats_reads_as_words(starter_copy: Path) -> None:
    assert run80("pack", cwd=starter_copy)[0] == 0
    rc, out, _ = run80("cache", "stats", cwd=starter_copy)
    assert rc == 0 and "(ies)" not in out and "bytes of" not in out and " KiB of " in out


def test_a_terminal_pack_is_one_bar_and_one_line(starter_copy: Path) -> None:
    """On a real pseudo-terminal: no per-asset lines (only with -v), the bar's total right
    from its first frame, one summary line."""
    import re
    import sys

    from test_doit_terminal import _run_on_a_terminal

    cli = [sys.executable, "-m", "packer_tasks", "pack"]
    code, screen = _run_on_a_terminal(cli, starter_copy)
    assert code == 0, screen
    assert "miss" not in screen.replace("0 misses", "").replace("5 misses", ""), screen
    totals = set(re.findall(r"\b\d+/(\d+)\b", screen))
    assert totals == {"5"}, screen  # never 0/100: the total is known from the first frame
    assert screen.count("packed 5 assets") == 1, screen

    (starter_copy / "build").rename(starter_copy / "old-build")
    code, screen = _run_on_a_terminal([*cli, "-v", "--no-cache"], starter_copy)
    assert code == 0 and screen.count("cache miss for") == 5, screen
