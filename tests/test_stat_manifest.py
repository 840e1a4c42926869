"""The no-op shortcut (the stat manifest) and the edit shortcut (payloads kept from the
previous build): both fast, neither ever trusted over a change.

The manifest refuses racily fresh stat facts (a same-tick rewrite could hide behind them);
files in a test are seconds old, so most tests lower that window to zero in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import prometeu_cache.digests
import pytest
from test_doit_support import (
    STARTER,
    base_env,
    build_bytes,
    copy_project,
    events,
    hex_rgb,
    read_json,
    repaint,
    run_doit,
    run_packer,
)

from packer_tasks.workspace import stat_manifest

UP_TO_DATE = {"packed": 5, "hits": 0, "misses": 0, "up": 5}
HUD = Path("assets/ui/hud_icons")
# A no-op decided by stats alone imports none of these.
HEAVY = ("packer_tasks.pipeline", "packer_tasks.service", "PIL", "pydantic", "diskcache", "rich")
NOOP_SCRIPT = f"""
import runpy, sys
from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain
code = DoitMain(ModuleTaskLoader(runpy.run_path("dodo.py", run_name="dodo"))).run(["pack"])
heavy = sorted({{m.split(".")[0] + "." + (m.split(".") + [""])[1] for m in sys.modules
                 if m.startswith({HEAVY!r})}})
print("HEAVY:", ",".join(heavy))
sys.exit(code)
"""


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prometeu_cache.digests, "RACY_NS", 0)


def _packed(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    project = copy_project(STARTER, tmp_path / "starter")
    run_doit(project)
    if prometeu_cache.digests.RACY_NS == 0:  # a test without `settled`: the files are too fresh
        assert stat_manifest.manifest_path(project).is_file()
    return project, build_bytes(project)


def _edit_coin(project: Path) -> None:
    colors = read_json(project / HUD / "asset.json")["output"]["pipeline"]["palettes"][0]
    repaint(project / HUD / "coin.png", [(0, 15)], (*hex_rgb(colors["palette"]["colors"][2]), 255))


def test_noop_doit_pack_is_decided_by_stats_alone(tmp_path: Path, settled: None) -> None:
    project, reference = _packed(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", NOOP_SCRIPT],
        cwd=project,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "build/assets.pa is up to date: 5 asset(s)" in run.stdout, run.stdout
    assert "HEAVY: \n" in run.stdout, run.stdout
    assert build_bytes(project) == reference


def _same_size_rewrite(path: Path) -> None:
    """New bytes, same size, the old mtime put back (only ctime and content tell)."""
    st = os.stat(path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x5A
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _stage_folder(project: Path) -> None:
    (project / "build" / ".staging").mkdir()


def _garbage_manifest(project: Path) -> None:
    stat_manifest.manifest_path(project).write_bytes(b'{"format": 2, "facts": [1, 2')


def _wrong_inode_manifest(project: Path) -> None:
    path = stat_manifest.manifest_path(project)
    raw = json.loads(path.read_bytes())
    raw["facts"] = [v + 1 if i % 4 == 3 else v for i, v in enumerate(raw["facts"])]
    path.write_text(json.dumps(raw))


@pytest.mark.parametrize(
    "change",
    [
        lambda p: _same_size_rewrite(p / "build" / "assets.pa"),
        lambda p: _same_size_rewrite(p / "build" / "asset_table.json"),
        lambda p: (p / "build" / ".prometeu-build.json").unlink(),
        _stage_folder,
        _garbage_manifest,
        _wrong_inode_manifest,
    ],
    ids=["torn-assets-pa", "torn-companion", "record-gone", "staging", "garbage", "inodes"],
)
def test_anything_moved_in_build_goes_to_the_full_check(
    tmp_path: Path, settled: None, change: Callable[[Path], None]
) -> None:
    project, reference = _packed(tmp_path)
    change(project)
    run_doit(project)
    assert build_bytes(project) == reference


def test_same_size_input_rewrite_with_old_mtime_rebuilds(tmp_path: Path, settled: None) -> None:
    project, reference = _packed(tmp_path)
    wav = project / "assets" / "music" / "loop" / "loop.wav"
    _same_size_rewrite(wav)
    run = run_doit(project)
    assert run.counts() == {"packed": 5, "hits": 0, "misses": 1, "up": 4}, run.output
    clean = copy_project(project, tmp_path / "clean")
    run_doit(clean)
    assert build_bytes(project) == build_bytes(clean) != reference


def test_an_edit_keeps_the_other_payloads_from_the_previous_build(tmp_path: Path) -> None:
    project, reference = _packed(tmp_path)
    _edit_coin(project)
    run = run_doit(project)
    assert run.counts() == {"packed": 5, "hits": 0, "misses": 1, "up": 4}, run.output
    clean = copy_project(project, tmp_path / "clean")
    run_doit(clean)
    assert build_bytes(project) == build_bytes(clean) != reference
    assert run_doit(project).counts() == UP_TO_DATE


def test_a_tampered_previous_build_lends_no_bytes(tmp_path: Path) -> None:
    """Bytes of the previous assets.pa are used only while it matches its record."""
    project, _ = _packed(tmp_path)
    pa = project / "build" / "assets.pa"
    data = bytearray(pa.read_bytes())
    data[-40:] = bytes(b ^ 0xFF for b in data[-40:])  # inside the last asset's payload
    pa.write_bytes(bytes(data))
    _edit_coin(project)
    run = run_doit(project)
    assert run.counts() == {"packed": 5, "hits": 4, "misses": 1, "up": 0}, run.output
    clean = copy_project(project, tmp_path / "clean")
    run_doit(clean)
    assert build_bytes(project) == build_bytes(clean)


def test_the_cli_pack_keeps_the_manifest_true(tmp_path: Path, settled: None) -> None:
    """`prometeu-packer pack` after an edit rewrites the manifest: the next doit no-op is
    decided by stats and is right."""
    project, reference = _packed(tmp_path)
    _edit_coin(project)
    run_packer(project, "pack")
    edited = build_bytes(project)
    assert edited != reference
    assert run_doit(project).counts() == UP_TO_DATE
    assert build_bytes(project) == edited


# -- outputs written moments before the manifest ------------------------------------------


def _fresh_output_manifest(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> stat_manifest.StatManifest:
    """Write the manifest as if right after the outputs were published: the sources are
    settled, the outputs are racily fresh (a clock pinned 1 ns after the newest output)."""
    from packer_tasks.service import PackerService
    from packer_tasks.workspace.project import Project

    def newest(paths: list[Path]) -> int:
        return max(max(os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in paths)

    outputs = [project / "build" / n for n in os.listdir(project / "build") if n != ".staging"]
    meta = project / "assets" / ".prometeu"
    sources = [meta / "index.json"] + [
        p for p in (project / "assets").rglob("*") if p.is_file() and meta not in p.parents
    ]
    t_out, t_src = newest(outputs), newest(sources)
    assert t_out > t_src
    monkeypatch.setattr(prometeu_cache.digests, "RACY_NS", (t_out - t_src) // 2 or 1)
    monkeypatch.setattr(stat_manifest, "clock", lambda: t_out + 1)
    assert PackerService(Project(project)).build_status() is None
    monkeypatch.undo()
    found = stat_manifest.read_manifest(project, _versions())
    assert found is not None
    return found


def _versions() -> dict[str, object]:
    from packer_tasks.format_versions import manifest_versions

    return manifest_versions()


def test_fresh_outputs_are_checked_by_content_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, reference = _packed(tmp_path)
    manifest = _fresh_output_manifest(project, monkeypatch)
    assert {r.rsplit("/", 1)[-1] for r in manifest.recheck} == set(reference) | {
        ".prometeu-build.json"
    }
    monkeypatch.setattr(
        prometeu_cache.digests, "RACY_NS", 0
    )  # a later run: the outputs have settled
    assert stat_manifest.unchanged(project, manifest)  # hashed against the record ...
    settled = stat_manifest.read_manifest(project, _versions())
    assert settled is not None and settled.recheck == ()  # ... once: now stats suffice
    assert run_doit(project).counts() == UP_TO_DATE


def test_a_same_tick_rewrite_of_a_fresh_output_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, reference = _packed(tmp_path)
    manifest = _fresh_output_manifest(project, monkeypatch)
    pa = project / "build" / "assets.pa"
    data = bytearray(pa.read_bytes())
    data[-1] ^= 0xFF
    pa.write_bytes(bytes(data))
    # What a rewrite within one timestamp tick looks like: identical stat facts.
    st = os.stat(pa)
    facts = dict(manifest.facts)
    facts["build/assets.pa"] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    same_tick = stat_manifest.StatManifest(
        manifest.versions,
        manifest.assets,
        manifest.sources,
        facts,
        manifest.build_key,
        manifest.recheck,
    )
    assert not stat_manifest.unchanged(project, same_tick)
    other_key = stat_manifest.StatManifest(
        manifest.versions, manifest.assets, manifest.sources, facts, "0" * 64, manifest.recheck
    )
    assert not stat_manifest.unchanged(project, other_key)
    run_doit(project)
    assert build_bytes(project) == reference


def test_validate_reuses_what_build_holds_and_decodes_the_rest(tmp_path: Path) -> None:
    """An asset keyed as in build/ was packed, so it passed the content checks: validate
    neither decodes it nor asks the cache. A changed asset is decoded and judged."""
    project, _ = _packed(tmp_path)
    log = tmp_path / "validate.jsonl"
    run_packer(project, "--events", str(log), "validate")
    looked = [e for e in events(log) if e["kind"] in ("cache_hit", "cache_miss")]
    assert looked == [], looked

    heart = project / HUD / "heart.png"
    from PIL import Image

    with Image.open(heart) as img:
        broken = img.convert("RGBA")
    broken.putpixel((3, 3), (0, 255, 0, 255))  # not in the declared palette
    broken.save(heart, format="PNG")
    log.unlink()
    run = run_packer(project, "--events", str(log), "validate", check=False)
    assert run.returncode == 1, run.output
    assert "heart.png" in run.output
    looked = [e for e in events(log) if e["kind"] in ("cache_hit", "cache_miss")]
    assert [e["affected_assets"][0]["root"] for e in looked] == ["ui/hud_icons"]
