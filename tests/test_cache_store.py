"""CacheStore against a real diskcache directory: verified reads, no pickle, self-healing."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import pathlib
import pickle
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from diskcache.core import MODE_BINARY, MODE_PICKLE, MODE_RAW
from prometeu_cache import CacheStore, CacheUnavailableError, blake3_hex
from prometeu_cache.store import MAGIC

SMALL = 200  # stored inline in cache.db
BIG = 100_000  # above diskcache's 32 KiB threshold: stored as a separate value file


def payload_for(key: str, size: int) -> bytes:
    """Deterministic bytes for a key, so any process can check what it reads."""
    seed = blake3_hex(key.encode()).encode()
    return (seed * (size // len(seed) + 1))[:size]


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def store(cache_dir: Path) -> Iterator[CacheStore]:
    with CacheStore(cache_dir) as s:
        yield s


@contextlib.contextmanager
def db(cache_dir: Path) -> Iterator[sqlite3.Connection]:
    """Raw access, the way a tampered or damaged cache would look."""
    con = sqlite3.connect(cache_dir / "cache.db", isolation_level=None)
    try:
        yield con
    finally:
        con.close()


def row_of(cache_dir: Path, key: str) -> tuple[Any, Any, Any]:
    with db(cache_dir) as con:
        row = con.execute(
            "SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = 1", (key,)
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def value_file(cache_dir: Path, key: str) -> Path:
    mode, filename, _ = row_of(cache_dir, key)
    assert mode == MODE_BINARY and isinstance(filename, str)
    return cache_dir / filename


def rewrite_inline(cache_dir: Path, key: str, blob: bytes) -> None:
    with db(cache_dir) as con:
        con.execute("UPDATE Cache SET value = ? WHERE key = ?", (blob, key))


class Marker:
    """Unpickling this creates `path`: proof that something called pickle.load."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def hostile_pickle(marker: Path) -> bytes:
    data = pickle.dumps(Marker(marker))
    # Positive control: this blob really does create the marker when unpickled.
    control = marker.with_name(marker.name + ".control")
    pickle.loads(pickle.dumps(Marker(control)))
    assert control.exists()
    return data


# --------------------------------------------------------------------------- basics


@pytest.mark.parametrize("size", [0, SMALL, BIG])
def test_roundtrip_and_persistence(cache_dir: Path, size: int) -> None:
    payload = payload_for("k", size)
    with CacheStore(cache_dir) as s:
        assert s.get("k").reason == "absent"
        s.put("k", payload, {"tile_count": 3, "name": "żółw"})
        hit = s.get("k")
        assert hit.hit and hit.payload == payload and not hit.evicted_corrupt
        assert hit.meta == {"tile_count": 3, "name": "żółw"}
    with CacheStore(cache_dir) as again:
        assert again.get("k").payload == payload
        assert again.recovered is None


def test_small_and_big_take_both_storage_paths(store: CacheStore, cache_dir: Path) -> None:
    store.put("small", payload_for("small", SMALL), {})
    store.put("big", payload_for("big", BIG), {})
    assert row_of(cache_dir, "small")[0] == MODE_RAW
    assert row_of(cache_dir, "big")[0] == MODE_BINARY


def test_value_layout(store: CacheStore, cache_dir: Path) -> None:
    store.put("k", b"payload", {"a": 1})
    blob = bytes(row_of(cache_dir, "k")[2])
    assert blob[:4] == MAGIC
    n = int.from_bytes(blob[4:8], "little")
    record = json.loads(blob[8 : 8 + n])
    assert blob[8 + n :] == b"payload"
    assert record["payload_blake3"] == blake3_hex(b"payload")
    assert record["payload_size"] == 7 and record["meta"] == {"a": 1}
    assert isinstance(record["created"], int)


def test_put_replaces(store: CacheStore) -> None:
    store.put("k", payload_for("a", BIG), {"v": 1})
    store.put("k", b"short", {"v": 2})
    got = store.get("k")
    assert got.payload == b"short" and got.meta == {"v": 2}
    assert store.stats().entries == 1


def test_caller_mistakes_raise(store: CacheStore) -> None:
    with pytest.raises(ValueError):
        store.put("k", b"x", {"bad": float("nan")})
    with pytest.raises(ValueError):
        store.put("k", b"x", {1: "non-string key"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        store.put("k", "text", {})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.get("")
    assert store.get("k").reason == "absent"


def test_nothing_depends_on_the_folder(tmp_path: Path) -> None:
    a, b = tmp_path / "one" / "c", tmp_path / "two" / "c"
    with CacheStore(a) as s:
        s.put("k", payload_for("k", BIG), {"m": 1})
    os.renames(a, b)
    with CacheStore(b) as s:
        assert s.get("k").payload == payload_for("k", BIG)


# --------------------------------------------------------------------------- corruption


@pytest.mark.parametrize("where", ["magic", "record", "payload", "last"])
def test_flipped_byte_in_value_file_is_evicted(
    store: CacheStore, cache_dir: Path, where: str
) -> None:
    store.put("k", payload_for("k", BIG), {"m": "x"})
    path = value_file(cache_dir, "k")
    data = bytearray(path.read_bytes())
    pos = {"magic": 0, "record": 20, "payload": len(data) // 2, "last": len(data) - 1}[where]
    data[pos] ^= 0x01
    path.write_bytes(bytes(data))

    got = store.get("k")
    assert not got.hit and got.evicted_corrupt and got.payload is None
    assert "corrupt" in got.reason
    assert not path.exists()
    assert store.get("k").reason == "absent"
    assert store.stats().entries == 0


@pytest.mark.parametrize("where", ["record", "payload"])
def test_flipped_byte_inline_is_evicted(store: CacheStore, cache_dir: Path, where: str) -> None:
    store.put("k", payload_for("k", SMALL), {"m": "x"})
    blob = bytearray(row_of(cache_dir, "k")[2])
    blob[20 if where == "record" else len(blob) - 3] ^= 0x40
    rewrite_inline(cache_dir, "k", bytes(blob))
    got = store.get("k")
    assert not got.hit and got.evicted_corrupt
    assert store.get("k").reason == "absent"


@pytest.mark.parametrize("keep", [0, 3, 8, 40, BIG - 1])
def test_truncated_value_file(store: CacheStore, cache_dir: Path, keep: int) -> None:
    store.put("k", payload_for("k", BIG), {})
    path = value_file(cache_dir, "k")
    with path.open("r+b") as handle:
        handle.truncate(keep)
    got = store.get("k")
    assert not got.hit and got.evicted_corrupt


@pytest.mark.parametrize("keep", [0, 5, 30, SMALL - 1])
def test_truncated_inline_value(store: CacheStore, cache_dir: Path, keep: int) -> None:
    store.put("k", payload_for("k", SMALL), {})
    rewrite_inline(cache_dir, "k", bytes(row_of(cache_dir, "k")[2])[:keep])
    got = store.get("k")
    assert not got.hit and got.evicted_corrupt


def test_missing_value_file(store: CacheStore, cache_dir: Path) -> None:
    store.put("k", payload_for("k", BIG), {})
    value_file(cache_dir, "k").unlink()
    got = store.get("k")
    assert got.evicted_corrupt and "unreadable" in got.reason
    assert store.stats().entries == 0


def test_entry_under_the_wrong_key(store: CacheStore, cache_dir: Path) -> None:
    store.put("a", b"payload of a", {})
    store.put("b", b"payload of b", {})
    rewrite_inline(cache_dir, "b", bytes(row_of(cache_dir, "a")[2]))
    got = store.get("b")
    assert got.evicted_corrupt and "another key" in got.reason
    assert store.get("a").hit


def test_deleted_cache_db(cache_dir: Path) -> None:
    with CacheStore(cache_dir) as s:
        s.put("big", payload_for("big", BIG), {})
        s.put("small", b"s", {})
    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        (cache_dir / name).unlink(missing_ok=True)
    with CacheStore(cache_dir) as s:
        assert s.get("big").reason == "absent"
        assert s.get("small").reason == "absent"
        s.put("big", payload_for("big", BIG), {})
        assert s.get("big").hit
        orphans = [p for p in cache_dir.rglob("*.val") if p != value_file(cache_dir, "big")]
        assert len(orphans) == 1
        assert s.verify().orphans_removed == 0  # too fresh: could be an uncommitted put
        old = time.time() - 3600
        os.utime(orphans[0], (old, old))
        report = s.verify()
        assert report.orphans_removed == 1 and report.valid == 1
        assert not orphans[0].exists() and s.get("big").hit


def test_cache_db_deleted_while_open(store: CacheStore, cache_dir: Path) -> None:
    store.put("k", b"x", {})
    (cache_dir / "cache.db").unlink()
    store.put("k2", payload_for("k2", BIG), {})
    assert store.get("k2").hit
    with CacheStore(cache_dir) as fresh:
        assert not fresh.get("k2").hit


def test_directory_removed_while_open(store: CacheStore, cache_dir: Path) -> None:
    import shutil

    store.put("k", payload_for("k", BIG), {})
    shutil.rmtree(cache_dir)
    assert not store.get("k").hit
    store.put("k", payload_for("k", BIG), {})
    store.get("k")  # must not raise; hit or miss both acceptable


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00" * 4096, b"not a database at all" * 100, os.urandom(70_000)],
    ids=["empty", "zeros", "text", "random"],
)
def test_garbage_cache_db(cache_dir: Path, garbage: bytes) -> None:
    with CacheStore(cache_dir) as s:
        s.put("k", payload_for("k", BIG), {})
    (cache_dir / "cache.db").write_bytes(garbage)
    for name in ("cache.db-wal", "cache.db-shm"):
        (cache_dir / name).unlink(missing_ok=True)
    with CacheStore(cache_dir) as s:
        assert not s.get("k").hit
        s.put("k", b"fresh", {})
        assert s.get("k").payload == b"fresh"
        if garbage:  # an empty file is simply a new sqlite database
            assert s.recovered is not None
            aside = cache_dir.with_name("cache.corrupt-1")
            assert (aside / "cache.db").read_bytes() == garbage


def test_corrupt_pages_found_mid_run(cache_dir: Path) -> None:
    with CacheStore(cache_dir) as s:
        for i in range(400):
            s.put(f"k{i}", payload_for(f"k{i}", 1000), {})
    with CacheStore(cache_dir) as s:
        with (cache_dir / "cache.db").open("r+b") as handle:
            handle.seek(64 * 1024)
            handle.write(os.urandom(256 * 1024))
        results = [s.get(f"k{i}") for i in range(400)]
        for i, got in enumerate(results):
            assert not got.hit or got.payload == payload_for(f"k{i}", 1000)
        assert s.recovered is not None
        s.put("after", b"ok", {})
        assert s.get("after").hit


def test_cache_path_is_a_file(cache_dir: Path) -> None:
    """A file where the cache should be is the user's: it is never moved aside or written;
    the store is unavailable (builds run without it) and says why, naming the path."""
    cache_dir.write_bytes(b"oops")
    with CacheStore(cache_dir) as s:
        s.put("k", b"v", {})
        assert not s.get("k").hit
        assert not s.available
        assert str(cache_dir) in (s.unavailable_reason or "")
    assert cache_dir.read_bytes() == b"oops"
    assert not list(cache_dir.parent.glob(f"{cache_dir.name}.corrupt*"))


# --------------------------------------------------------------------------- hostile caches


@pytest.mark.parametrize("in_file", [False, True])
def test_pickle_value_is_never_loaded(
    store: CacheStore, cache_dir: Path, tmp_path: Path, in_file: bool
) -> None:
    marker = tmp_path / "pwned"
    evil = hostile_pickle(marker)
    store.put("k", payload_for("k", BIG if in_file else SMALL), {})
    _, filename, _ = row_of(cache_dir, "k")
    with db(cache_dir) as con:
        if in_file:
            (cache_dir / filename).write_bytes(evil)
            con.execute("UPDATE Cache SET mode = ? WHERE key = 'k'", (MODE_PICKLE,))
        else:
            con.execute("UPDATE Cache SET mode = ?, value = ? WHERE key = 'k'", (MODE_PICKLE, evil))
    got = store.get("k")
    assert not got.hit and got.evicted_corrupt and "pickle" in got.reason
    assert not marker.exists()
    assert store.get("k").reason == "absent"


def test_pickled_key_rows_are_never_loaded(
    store: CacheStore, cache_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    evil = hostile_pickle(marker)
    store.put("good", b"fine", {})
    with db(cache_dir) as con:
        con.execute(
            "INSERT INTO Cache (key, raw, store_time, access_time, mode, value)"
            " VALUES (?, 0, 0, 0, ?, ?)",
            (evil, MODE_PICKLE, evil),
        )
    assert store.stats().entries == 2
    report = store.verify()
    assert report.evicted == 1 and report.valid == 1
    assert report.evicted_keys[0].startswith("<row ")
    assert store.prune(max_size=0).evicted == 1
    assert store.clear() == 0
    assert not marker.exists()


def test_value_path_escaping_the_cache_is_ignored(
    store: CacheStore, cache_dir: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "precious.val"
    victim.write_bytes(b"do not delete")
    store.put("a", payload_for("a", BIG), {})
    store.put("b", payload_for("b", BIG), {})
    with db(cache_dir) as con:
        con.execute("UPDATE Cache SET filename = ? WHERE key = 'a'", (str(victim),))
        con.execute("UPDATE Cache SET filename = ? WHERE key = 'b'", ("../../precious.val",))
    for key in ("a", "b"):
        got = store.get(key)
        assert got.evicted_corrupt and "not a cache file" in got.reason
    store.clear()
    assert victim.read_bytes() == b"do not delete"


def test_symlinked_value_file_is_not_followed(
    store: CacheStore, cache_dir: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "precious"
    victim.write_bytes(b"do not delete")
    store.put("k", payload_for("k", BIG), {})
    path = value_file(cache_dir, "k")
    path.unlink()
    path.symlink_to(victim)
    assert store.get("k").evicted_corrupt
    assert victim.read_bytes() == b"do not delete"


@pytest.mark.parametrize(
    "tamper",
    [
        "INSERT INTO Settings VALUES ('disk__directory', '/')",
        "INSERT INTO Settings VALUES ('sqlite_user_version', 7)",
        "UPDATE Settings SET value = 'lots' WHERE key = 'size'",
        "CREATE VIEW sneaky AS SELECT 1",
        "CREATE TRIGGER sneaky AFTER INSERT ON Cache BEGIN DELETE FROM Cache; END",
    ],
)
def test_tampered_database_is_moved_aside(cache_dir: Path, tamper: str) -> None:
    with CacheStore(cache_dir) as s:
        s.put("k", b"v", {})
    with db(cache_dir) as con:
        con.execute(tamper)
    with CacheStore(cache_dir) as s:
        assert s.recovered is not None
        assert s.get("k").reason == "absent"
        s.put("k", b"v", {})
        assert s.get("k").hit


def test_symlinked_cache_db_is_refused(cache_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.db"
    sqlite3.connect(elsewhere).close()
    cache_dir.mkdir()
    (cache_dir / "cache.db").symlink_to(elsewhere)
    with CacheStore(cache_dir) as s:
        # not a cache the packer made (no marker): refused, never "recovered" by moving it
        assert not s.available and s.recovered is None
        s.put("k", b"v", {})
    assert elsewhere.stat().st_size == 0
    assert (cache_dir / "cache.db").is_symlink()


# --------------------------------------------------------------------------- maintenance


def test_stats(store: CacheStore, cache_dir: Path) -> None:
    empty = store.stats()
    assert empty.entries == 0 and empty.directory == str(cache_dir)
    assert empty.size_limit == 2 * 1024**3
    store.put("a", payload_for("a", BIG), {})
    store.put("b", b"b", {})
    stats = store.stats()
    assert stats.entries == 2
    assert stats.volume_bytes >= empty.volume_bytes + BIG


def test_verify_reports_and_evicts(store: CacheStore, cache_dir: Path) -> None:
    for i in range(6):
        store.put(f"k{i}", payload_for(f"k{i}", BIG if i % 2 else SMALL), {})
    path = value_file(cache_dir, "k1")
    path.write_bytes(path.read_bytes()[:-1] + b"?")
    rewrite_inline(cache_dir, "k2", b"PPC1garbage")
    report = store.verify()
    assert (report.checked, report.valid, report.evicted) == (6, 4, 2)
    assert sorted(report.evicted_keys) == ["k1", "k2"]
    again = store.verify()
    assert (again.checked, again.valid, again.evicted) == (4, 4, 0)


def test_prune_by_size_evicts_oldest_first(store: CacheStore) -> None:
    for i in range(8):
        store.put(f"k{i}", payload_for(f"k{i}", BIG), {})
    before = store.stats().volume_bytes
    target = before - 3 * BIG
    report = store.prune(max_size=target)
    assert report.evicted == 3
    assert report.volume_before == before and report.volume_after <= target
    assert [store.get(f"k{i}").hit for i in range(8)] == [False] * 3 + [True] * 5


def test_prune_by_age(store: CacheStore, cache_dir: Path) -> None:
    for i in range(4):
        store.put(f"k{i}", payload_for(f"k{i}", BIG if i % 2 else SMALL), {})
    with db(cache_dir) as con:
        con.execute("UPDATE Cache SET store_time = store_time - 7200 WHERE key IN ('k0', 'k1')")
    assert store.prune(older_than_seconds=3600).evicted == 2
    assert [store.get(f"k{i}").hit for i in range(4)] == [False, False, True, True]
    assert store.prune(older_than_seconds=3600).evicted == 0
    assert not list(cache_dir.rglob("*.val"))[1:]  # only k3's file remains


def test_prune_rejects_negative(store: CacheStore) -> None:
    with pytest.raises(ValueError):
        store.prune(max_size=-1)
    assert store.prune().evicted == 0


def test_clear(store: CacheStore, cache_dir: Path) -> None:
    for i in range(5):
        store.put(f"k{i}", payload_for(f"k{i}", BIG if i % 2 else SMALL), {})
    assert store.clear() == 5
    assert store.stats().entries == 0
    assert not list(cache_dir.rglob("*.val"))
    assert store.get("k1").reason == "absent"


def test_size_limit_culls_oldest(cache_dir: Path) -> None:
    with CacheStore(cache_dir, size_limit=600_000) as s:
        for i in range(20):
            s.put(f"k{i}", payload_for(f"k{i}", BIG), {})
        stats = s.stats()
        assert stats.entries < 20
        assert stats.volume_bytes <= 600_000 + BIG
        assert s.get("k19").hit and not s.get("k0").hit
        s.put("huge", payload_for("huge", 700_000), {})
        assert s.last_error and not s.get("huge").hit


# --------------------------------------------------------------------------- concurrency


def _worker(args: tuple[str, str]) -> list[str]:
    directory, tag = args
    problems: list[str] = []
    with CacheStore(directory) as s:
        for i in range(200):
            size = BIG if i % 7 == 0 else SMALL + i
            own, shared = f"{tag}-{i}", f"shared-{i % 25}"
            s.put(own, payload_for(own, size), {"i": i})
            s.put(shared, payload_for(shared, size if i < 25 else 0), {})
            got = s.get(own)
            if not got.hit or got.payload != payload_for(own, size) or got.meta != {"i": i}:
                problems.append(f"{own}: {got.reason}")
            other = s.get(shared)
            if other.evicted_corrupt:
                problems.append(f"{shared}: {other.reason}")
            if s.last_error:
                problems.append(f"put: {s.last_error}")
    return problems


def test_two_processes_share_one_directory(cache_dir: Path) -> None:
    CacheStore(cache_dir).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        problems = pool.map(_worker, [(str(cache_dir), "a"), (str(cache_dir), "b")])
    assert problems == [[], []]
    with CacheStore(cache_dir) as s:
        report = s.verify()
        assert report.evicted == 0 and report.valid == report.checked == 400 + 25
        for tag in "ab":
            for i in range(200):
                size = BIG if i % 7 == 0 else SMALL + i
                assert s.get(f"{tag}-{i}").payload == payload_for(f"{tag}-{i}", size)


def test_lock_contention_is_not_corruption(cache_dir: Path) -> None:
    with CacheStore(cache_dir, timeout=0.2) as s:
        s.put("k", b"before", {})
        with db(cache_dir) as con:
            con.execute("BEGIN EXCLUSIVE")
            s.put("k2", b"blocked", {})  # dropped, not raised
            assert s.last_error is not None
            with pytest.raises(CacheUnavailableError):
                s.clear()
            con.execute("ROLLBACK")
        assert s.recovered is None
        assert s.get("k").payload == b"before"
        s.put("k2", b"now", {})
        assert s.get("k2").payload == b"now"
