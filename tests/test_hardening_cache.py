"""A restored cache is untrusted input (issue 12): special files never block, forged entries
are never packed, and the cache-directory setting never moves user data aside."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import call_in_process, cli_env, run_cli
from prometeu_cache.keys import blake3_hex, canonical_bytes
from prometeu_cache.store import MARKER_NAME
from test_doit_support import run_doit

from packer_tasks.cli import main

_PREFIX = struct.Struct("<4sI")


def _no_cache_reference(project: Path) -> bytes:
    code, out, err = run_cli("--no-cache", "pack", cwd=project)
    assert code == 0, out + err
    data = (project / "build" / "assets.pa").read_bytes()
    _drop_build(project)
    return data


def _drop_build(project: Path) -> None:
    for f in sorted((project / "build").rglob("*"), reverse=True):
        f.rmdir() if f.is_dir() else f.unlink()


def _value_files(cache_dir: Path) -> list[Path]:
    files = sorted(cache_dir.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*.val"))
    assert files
    return files


def _seed(project: Path) -> bytes:
    """A no-cache reference build, then a cached build (fills `.prometeu-cache`)."""
    reference = _no_cache_reference(project)
    code, out, err = run_cli("pack", cwd=project)
    assert code == 0, out + err
    assert (project / "build" / "assets.pa").read_bytes() == reference
    _drop_build(project)
    return reference


def test_fifo_value_file_does_not_block_pack_or_verify(starter_copy: Path) -> None:
    reference = _seed(starter_copy)
    cache_dir = starter_copy / ".prometeu-cache"
    victim = _value_files(cache_dir)[0]
    victim.unlink()
    os.mkfifo(victim)
    code, out, err = run_cli("--events", "jsonl", "pack", cwd=starter_copy, timeout=30)
    assert code == 0, out + err
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference
    assert "not a regular file" in out + err and "corrupt entry evicted" in out + err
    # The same special file under `cache verify`: reported as corrupt, never opened blocking.
    _drop_build(starter_copy)
    victim = _value_files(cache_dir)[0]
    victim.unlink()
    os.mkfifo(victim)
    code, out, err = run_cli("cache", "verify", "--json", cwd=starter_copy, timeout=30)
    assert code == 0, out + err
    assert json.loads(out)["evicted"] == 1


def test_directory_in_place_of_value_file_is_a_miss(starter_copy: Path) -> None:
    reference = _seed(starter_copy)
    victim = _value_files(starter_copy / ".prometeu-cache")[0]
    victim.unlink()
    victim.mkdir()
    code, out, err = run_cli("pack", cwd=starter_copy, timeout=30)
    assert code == 0, out + err
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference


def _forge_short_payload(value_file: Path, cut: int) -> None:
    """Rewrite a cached entry so that every digest agrees but the payload is `cut` bytes short."""
    blob = value_file.read_bytes()
    magic, n = _PREFIX.unpack_from(blob)
    record = json.loads(blob[_PREFIX.size : _PREFIX.size + n])
    payload = blob[_PREFIX.size + n :][:-cut]
    del record["record_blake3"]
    record["payload_blake3"] = blake3_hex(payload)
    record["payload_size"] = len(payload)
    record["record_blake3"] = blake3_hex(canonical_bytes(record))
    body = canonical_bytes(record)
    value_file.write_bytes(_PREFIX.pack(magic, len(body)) + body + payload)


def test_forged_entry_with_consistent_digests_is_not_packed(starter_copy: Path) -> None:
    reference = _seed(starter_copy)
    forged = 0
    for value_file in _value_files(starter_copy / ".prometeu-cache"):
        blob = value_file.read_bytes()
        _magic, n = _PREFIX.unpack_from(blob)
        record = json.loads(blob[_PREFIX.size : _PREFIX.size + n])
        # 34,809 bytes for a glyph bank; a sound bank loses its last frames.
        _forge_short_payload(value_file, 7)
        forged += 1
        assert record["meta"]["family"] in ("glyph_bank", "sound_bank")
    code, out, err = run_cli("--events", "jsonl", "pack", cwd=starter_copy, timeout=60)
    assert code == 0, out + err
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference
    assert out.count('"kind":"cache_miss"') == forged, out
    assert "corrupt entry evicted" in out
    # Evicted and replaced by fresh materializations: the next build hits everything.
    _drop_build(starter_copy)
    code, out, err = run_cli("--events", "jsonl", "pack", cwd=starter_copy, timeout=60)
    assert code == 0, out + err
    assert out.count('"kind":"cache_hit"') == forged
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference


def _run_with_cache_env(project: Path, value: str, *args: str) -> tuple[int, str, str]:
    return call_in_process(
        lambda: main([*args]),
        cwd=project,
        env=cli_env(PROMETEU_PACKER_CACHE=value),
        timeout=60,
    )


def test_cache_setting_naming_a_file_leaves_it_untouched(starter_copy: Path) -> None:
    reference = _no_cache_reference(starter_copy)
    notes = starter_copy / "notes.txt"
    notes.write_bytes(b"my notes\x00\xff\n")
    code, out, err = _run_with_cache_env(starter_copy, "notes.txt", "pack")
    assert code == 0, out + err
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference
    assert notes.read_bytes() == b"my notes\x00\xff\n"
    assert not list(starter_copy.glob("notes.txt.corrupt*"))
    code, out, err = _run_with_cache_env(starter_copy, "notes.txt", "cache", "stats")
    assert code == 1, out + err
    assert "notes.txt" in out + err and "without the cache" in out + err
    assert notes.read_bytes() == b"my notes\x00\xff\n"


def test_foreign_directory_with_a_cache_db_is_not_moved(starter_copy: Path) -> None:
    reference = _no_cache_reference(starter_copy)
    foreign = starter_copy / "other"
    foreign.mkdir()
    (foreign / "cache.db").write_bytes(b"someone else's database")
    (foreign / "keep.me").write_bytes(b"precious")
    code, out, err = run_cli("--cache-dir", foreign, "pack", cwd=starter_copy)
    assert code == 0, out + err
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference
    assert sorted(p.name for p in foreign.iterdir()) == ["cache.db", "keep.me"]
    assert (foreign / "cache.db").read_bytes() == b"someone else's database"
    assert (foreign / "keep.me").read_bytes() == b"precious"
    assert not list(starter_copy.glob("other.corrupt*"))
    code, out, err = run_cli("--cache-dir", foreign, "cache", "stats", cwd=starter_copy)
    assert code == 1, out + err
    assert str(foreign) in out + err


def test_corrupt_cache_the_packer_created_is_still_moved_aside(starter_copy: Path) -> None:
    reference = _seed(starter_copy)
    cache_dir = starter_copy / ".prometeu-cache"
    assert (cache_dir / MARKER_NAME).is_file()
    (cache_dir / "cache.db").write_bytes(b"garbage" * 100)
    code, out, err = run_cli("pack", cwd=starter_copy)
    assert code == 0, out + err
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference
    assert list(starter_copy.glob(".prometeu-cache.corrupt-*"))
    assert (cache_dir / MARKER_NAME).is_file()


def test_empty_existing_directory_is_adopted(starter_copy: Path, tmp_path: Path) -> None:
    empty = tmp_path / "fresh-cache"
    empty.mkdir()
    code, out, err = run_cli("--cache-dir", empty, "pack", cwd=starter_copy)
    assert code == 0, out + err
    assert (empty / MARKER_NAME).is_file() and (empty / "cache.db").is_file()


def _read_only_mount_works(folder: Path) -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    check = _RO_MOUNT + ' && ! touch "$1/probe" 2>/dev/null'
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", check, "sh", str(folder)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


_RO_MOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"'


def test_read_only_cache_builds_without_it_and_stats_says_so(
    starter_copy: Path,
) -> None:
    reference = _seed(starter_copy)
    cache_dir = starter_copy / ".prometeu-cache"
    if not _read_only_mount_works(cache_dir):
        pytest.skip("no private read-only bind mount on this machine")
    before = sorted(p.relative_to(cache_dir) for p in cache_dir.rglob("*"))
    script = (
        _RO_MOUNT + ' && cd "$2" && "$3" -m packer_tasks pack; echo "pack=$?";'
        ' "$3" -m packer_tasks cache stats; echo "stats=$?"'
    )
    py = sys.executable
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", *map(str, (cache_dir, starter_copy, py))],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = proc.stdout + proc.stderr
    assert "pack=0" in text and "stats=1" in text, text
    assert "Traceback" not in text and "read-only" in text, text
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference
    assert sorted(p.relative_to(cache_dir) for p in cache_dir.rglob("*")) == before
    assert not list(starter_copy.glob(".prometeu-cache.corrupt*"))


def test_fifo_value_file_does_not_block_doit_pack(starter_copy: Path) -> None:
    reference = _seed(starter_copy)
    victim = _value_files(starter_copy / ".prometeu-cache")[-1]
    victim.unlink()
    os.mkfifo(victim)
    run = run_doit(starter_copy)
    assert run.returncode == 0, run.output
    assert run.counts()["misses"] == 1 and run.counts()["hits"] == 4, run.output
    assert (starter_copy / "build" / "assets.pa").read_bytes() == reference
