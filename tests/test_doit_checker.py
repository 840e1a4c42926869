"""The blake3 file checker: mtime/size as the shortcut, content as the authority, and one
hash per file per run (shared by the checker, the digest memo and the frozen snapshot).

Hash counting runs doit in this process (`run_doit` is in-process) with the two
hashing entry points wrapped: `prometeu_cache.keys.blake3_file` (the checker's streaming hash) and
the frozen snapshot's `blake3_hex` (hash of the bytes a run reads).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import prometeu_cache.keys
import pytest
from test_doit_support import (
    STARTER,
    build_bytes,
    copy_project,
    hex_rgb,
    read_json,
    repaint,
    run_doit,
    run_doit_in_process,
)

import packer_tasks.build_system.checker
import packer_tasks.pipeline.frozen

ALL_UP = {"packed": 5, "hits": 0, "misses": 0, "up": 5}


def _inputs(project: Path) -> list[Path]:
    """Every file `doit pack` hashes: the registry, each registered asset's asset.json and
    declared inputs."""
    files: list[Path] = [project / "assets" / ".prometeu" / "index.json"]
    for asset_json in sorted((project / "assets").rglob("asset.json")):
        if "wip" in asset_json.parts:
            continue  # the unregistered example is never built, never hashed
        files.append(asset_json)
        decl = read_json(asset_json)
        files += [asset_json.parent / f for names in decl["inputs"].values() for f in names]
    return files


class HashCounter:
    """Counts hashes per file, recognised by content digest (the starter's inputs are all
    distinct), across the checker and the frozen snapshot."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.by_digest: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.refresh()

    def refresh(self) -> None:
        self.by_digest = {}
        for f in self.files:
            digest = prometeu_cache.keys.blake3_hex(f.read_bytes())
            assert digest not in self.by_digest, f"{f} duplicates {self.by_digest[digest]}"
            self.by_digest[digest] = f.name if f.suffix != ".json" else f"{f.parent.name}/"
            if f.name == "index.json":
                self.by_digest[digest] = "index.json"
        self.counts.clear()

    def note(self, digest: str) -> None:
        self.counts[self.by_digest.get(digest, f"<other {digest[:8]}>")] += 1


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, HashCounter]]:
    project = copy_project(STARTER, tmp_path / "starter")
    # The files were written a moment ago; the racy-mtime guard (tested on its own below)
    # would make the next run re-check them once. Counting hashes wants it out of the way.
    monkeypatch.setattr("prometeu_cache.digests.RACY_NS", 0)
    counter = HashCounter(_inputs(project))
    real_file = prometeu_cache.keys.blake3_file
    real_hex = prometeu_cache.keys.blake3_hex  # what the frozen snapshot hashes its bytes with
    # Both modules bound the functions at import: wrap them where they are called (whether
    # or not an earlier test of this process imported them).
    assert vars(packer_tasks.build_system.checker)["blake3_file"] is real_file
    assert vars(packer_tasks.pipeline.frozen)["blake3_hex"] is real_hex

    def counting_file(path: str | os.PathLike[str]) -> str:
        digest: str = real_file(path)
        counter.note(digest)
        return digest

    def counting_hex(data: bytes | bytearray | memoryview) -> str:
        digest: str = real_hex(data)
        counter.note(digest)
        return digest

    monkeypatch.setattr(prometeu_cache.keys, "blake3_file", counting_file)
    monkeypatch.setattr(packer_tasks.build_system.checker, "blake3_file", counting_file)
    monkeypatch.setattr(packer_tasks.pipeline.frozen, "blake3_hex", counting_hex)
    yield project, counter


def _doit_in_process(project: Path) -> dict[str, int]:
    """`doit pack` in this process, so the wrapped hash functions see every hash."""
    return run_doit_in_process(project).counts()


def test_one_run_hashes_each_file_at_most_once(
    counted: tuple[Path, HashCounter],
) -> None:
    project, counter = counted
    names = set(counter.by_digest.values())

    # A clean build reads and hashes every input exactly once.
    assert _doit_in_process(project) == {"packed": 5, "hits": 0, "misses": 5, "up": 0}
    assert set(counter.counts) == names and max(counter.counts.values()) == 1, counter.counts

    # A no-op run hashes nothing.
    counter.counts.clear()
    assert _doit_in_process(project) == ALL_UP
    assert not counter.counts, counter.counts

    # Touch every input (new mtime, same bytes): each is hashed once, nothing rebuilds.
    later = os.stat(counter.files[0]).st_mtime_ns + 5_000_000_000
    for f in counter.files:
        os.utime(f, ns=(later, later))
    counter.counts.clear()
    assert _doit_in_process(project) == ALL_UP
    assert set(counter.counts) == names and max(counter.counts.values()) == 1, counter.counts

    # ... and the digest memo remembers them: the next run hashes nothing again.
    counter.counts.clear()
    assert _doit_in_process(project) == ALL_UP
    assert not counter.counts, counter.counts

    # Change one file's content: the checker finds the change and the asset is then
    # materialized from the bytes it read (its other inputs are read for the miss); still
    # one hash per file, and no other asset's files are touched.
    hud = project / "assets" / "ui" / "hud_icons"
    colors = read_json(hud / "asset.json")["output"]["pipeline"]["palettes"][0]["palette"]
    repaint(hud / "coin.png", [(0, 15), (15, 15)], (*hex_rgb(colors["colors"][2]), 255))
    counter.refresh()
    assert _doit_in_process(project) == {"packed": 5, "hits": 0, "misses": 1, "up": 4}
    hud_files = {"coin.png", "heart.png", "key.png", "skull.png", "star.png"}
    assert counter.counts["coin.png"] == 1, counter.counts
    assert set(counter.counts) <= hud_files and max(counter.counts.values()) == 1, counter.counts

    # The same with a same-size edit, where only the content can tell (the checker hashes).
    wav = project / "assets" / "music" / "loop" / "loop.wav"
    _flip_tail(wav)
    counter.refresh()
    assert _doit_in_process(project) == {"packed": 5, "hits": 0, "misses": 1, "up": 4}
    # coin.png was edited under 2 s ago: racily fresh stat facts are not trusted (like
    # git), so it may be hashed once more; still never twice in one run.
    assert counter.counts["loop.wav"] == 1, counter.counts
    assert set(counter.counts) <= {"loop.wav", "coin.png"}, counter.counts
    assert max(counter.counts.values()) == 1, counter.counts


def _flip_tail(wav: Path) -> None:
    """Change the last PCM frames in place: same size, new content, a later mtime."""
    st = os.stat(wav)
    data = bytearray(wav.read_bytes())
    for at in range(len(data) - 64, len(data)):
        data[at] ^= 0x21
    wav.write_bytes(bytes(data))
    os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns + 7_000_000_000))
    assert os.stat(wav).st_size == st.st_size


def test_touch_does_not_rebuild_but_same_size_new_content_does(tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "starter")
    assert run_doit(project).counts()["misses"] == 5
    before = build_bytes(project)
    wav = project / "assets" / "music" / "loop" / "loop.wav"

    # New mtime, same bytes: nothing rebuilds, build/ is untouched.
    stamp = os.stat(project / "build" / "assets.pa").st_mtime_ns
    st = os.stat(wav)
    os.utime(wav, ns=(st.st_atime_ns, st.st_mtime_ns + 3_000_000_000))
    assert run_doit(project).counts() == ALL_UP
    assert os.stat(project / "build" / "assets.pa").st_mtime_ns == stamp
    assert build_bytes(project) == before

    # Same size, different content, different mtime: the content decides, it rebuilds.
    _flip_tail(wav)
    run = run_doit(project)
    assert run.counts() == {"packed": 5, "hits": 0, "misses": 1, "up": 4}, run.output
    after = build_bytes(project)
    assert after["assets.pa"] != before["assets.pa"]

    clean = copy_project(project, tmp_path / "clean")
    assert run_doit(clean).counts()["misses"] == 5
    assert build_bytes(clean) == after


def test_racily_fresh_digests_are_not_remembered(tmp_path: Path) -> None:
    """git's racily-clean rule: a digest of a file modified in the last 2 s stays in this
    run's memory only, so a same-size rewrite within one timestamp tick is seen next run."""
    import time

    from prometeu_cache.digests import DigestMemo, stat_key

    f = tmp_path / "tile.png"
    f.write_bytes(b"x" * 10)
    memo = DigestMemo(tmp_path / "memo")
    memo.put(stat_key("tile.png", os.stat(f)), "a" * 64)
    memo.close()
    again = DigestMemo(tmp_path / "memo")
    assert again.get(stat_key("tile.png", os.stat(f))) is None
    old = time.time_ns() - 10_000_000_000
    os.utime(f, ns=(old, old))
    st = os.stat(f)
    settled = ("tile.png", st.st_size, st.st_mtime_ns, old, st.st_ino)  # as if ctime were old
    again.put(settled, "b" * 64)
    again.close()
    assert DigestMemo(tmp_path / "memo").get(settled) == "b" * 64


def test_the_digest_memo_keeps_one_row_per_file(tmp_path: Path) -> None:
    """Edits replace a file's row instead of adding one: the memo stays project-sized."""
    from prometeu_cache.digests import DigestMemo

    memo_dir = tmp_path / "memo"
    old = time.time_ns() - 10_000_000_000  # settled facts (not racily fresh)
    for i in range(5):
        memo = DigestMemo(memo_dir)
        memo.put(("tile.png", 10, old + i, old + i, 7), f"{i}" * 64)
        memo.close()
    with sqlite3.connect(memo_dir / ".digests.sqlite") as conn:
        rows = conn.execute("SELECT label, d FROM digests").fetchall()
    conn.close()
    assert rows == [("tile.png", "4" * 64)]
    again = DigestMemo(memo_dir)
    assert again.get(("tile.png", 10, old + 4, old + 4, 7)) == "4" * 64
    assert again.get(("tile.png", 10, old + 3, old + 3, 7)) is None
