"""Random edit sequences through every entry point, each step checked against a clean build
(issue 10: "one pack path, one build state"; SPEC §8 step 6).

Each sequence builds a small project (3-4 glyph banks of 1-3 8x8 tiles, 1-2 sound banks of
short WAVs) and runs STEPS steps. A step applies one random edit:

* repaint pixels of a PNG (same size) and put its old mtime back;
* add a tile, drop a tile, swap two tiles; toggle preload; change a sound's loop points;
* `prometeu-packer exclude|include ID`, `prometeu-packer new ...`, `prometeu-packer remove ID`;
* revert all of assets/ to the sources of an earlier step (bytes *and* mtimes; files that
  did not exist then are deleted);
* touch a source (mtime only); hand-edit, truncate or delete a file in build/;
* or nothing;

then packs through a random entry point: `doit pack`, `prometeu-packer pack`, the watch
re-pack (one long-lived service that first looks at its snapshot, as `watch` does after a
change) or an embedding host (a fresh `PackerService.pack()`). build/ must then be, byte for
byte, a clean full build of the current sources (four outputs and the build record; no
staging left). About a third of the steps then pack again through another entry point: that
must be a no-op (nothing re-materialized, no file in build/ rewritten: same inode and mtime).

Clean builds copy assets/ into a fresh project and pack in-process without a cache; they are
memoised by the digest of the sources (reverts reuse them). The seed is in each test id:
`pytest 'tests/test_build_state_sequences.py::test_random_sequence[seed-17]'` replays one.
PROMETEU_HEAVY=1 runs more and longer sequences.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import make_png, make_wav
from PIL import Image
from test_build_state import (
    DODO,
    BuildState,
    Tree,
    assert_build,
    build_stat,
    clean_build_service,
    restore_tree,
    snapshot_tree,
    stat_changes,
    tree_digest,
)
from test_doit_support import run_doit, run_packer
from test_reliability_support import HEAVY, PALETTE, glyph_decl, sound_decl

from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project

SEQUENCES = 120 if HEAVY else 30
STEPS = 20 if HEAVY else 10
NOOP_CHANCE = 0.3
ENTRIES = ("doit", "packer", "watch", "service")
MAX_REGISTERED = 8
# Sequences run on tmpfs when there is one: they test what the packer decides, not how the
# disk keeps it (the crash and disk-fault suites do that), and fsync on a shared disk would
# otherwise be most of their time.
FAST_TMP = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
# Edit kinds and their weights (EditSequence.edit_<kind>).
EDITS: dict[str, float] = {
    "repaint": 3,
    "add_tile": 1.5,
    "drop_tile": 1,
    "swap_tiles": 1,
    "preload": 1.5,
    "loop": 1,
    "exclude_include": 1,
    "new": 0.7,
    "remove": 0.5,
    "revert": 3,
    "touch": 1,
    "build": 2,
    "nothing": 0.5,
}


# ------------------------------------------------------------------------------------------
# The project


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _tile(path: Path, rng: random.Random) -> None:
    make_png(path, 8, rng.sample(PALETTE, k=rng.randint(2, 4)))


def _wav(path: Path, rng: random.Random) -> None:
    frames = rng.choice([24, 48, 64])
    make_wav(
        path,
        frames=frames,
        rate=rng.choice([11025, 22050]),
        samples=[rng.randint(-30000, 30000) for _ in range(frames)],
    )


def make_project(root: Path, rng: random.Random) -> None:
    """A small valid project, written directly (registry and declarations), plus dodo.py."""
    assets = root / "assets"
    entries: list[dict[str, Any]] = []
    for g in range(rng.randint(3, 4)):
        folder = assets / "gfx" / f"bank_{g}"
        files = [f"t{t}.png" for t in range(rng.randint(1, 3))]
        for f in files:
            _tile(folder / f, rng)
        asset_uuid = _uuid(rng)
        decl = glyph_decl(asset_uuid, f"bank_{g}", files)
        decl["preload"] = {"enabled": rng.random() < 0.3}
        _write_json(folder / "asset.json", decl)
        entries.append({"root": f"gfx/bank_{g}", "asset_uuid": asset_uuid})
    for s in range(rng.randint(1, 2)):
        folder = assets / "sfx" / f"snd_{s}"
        files = [f"s{k}.wav" for k in range(rng.randint(1, 2))]
        for f in files:
            _wav(folder / f, rng)
        asset_uuid = _uuid(rng)
        decl = sound_decl(asset_uuid, f"snd_{s}", files)
        if rng.random() < 0.5:
            decl["artifacts"][0].update({"loop_start": 0, "loop_end": 8})
        _write_json(folder / "asset.json", decl)
        entries.append({"root": f"sfx/snd_{s}", "asset_uuid": asset_uuid})
    registry = {
        "assets": [
            {**e, "asset_id": i, "included_in_build": True} for i, e in enumerate(entries, 1)
        ],
        "next_asset_id": len(entries) + 1,
        "schema_version": 1,
    }
    _write_json(assets / ".prometeu" / "index.json", registry)
    (root / "dodo.py").write_text(DODO)


# ------------------------------------------------------------------------------------------
# One sequence


@dataclass
class Built:
    """What one pack said: how many assets it re-materialized (cache misses), and its text."""

    misses: int
    said: str


@dataclass
class EditSequence:
    seed: int
    tmp: Path
    rng: random.Random = field(init=False)
    project: Path = field(init=False)
    scratch: Path = field(init=False)
    watch_service: PackerService | None = None
    history: list[str] = field(default_factory=list)
    sources: list[Tree] = field(default_factory=list)  # the sources after each step's edit
    entries: list[str] = field(default_factory=list)  # the entry point that packed them
    last_packed: dict[str, int] = field(default_factory=dict)  # entry -> step it last packed
    next_entry: str | None = None  # an edit's choice of the entry point that packs next
    expected: dict[str, BuildState] = field(default_factory=dict)  # by sources digest
    made: int = 0  # counter for fresh file and root names

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.project = self.tmp / "work" / "game"
        self.scratch = self.tmp / "scratch"
        make_project(self.project, self.rng)
        self.sources.append(snapshot_tree(self.assets))
        self.entries.append("")

    # -- helpers -------------------------------------------------------------------------

    @property
    def assets(self) -> Path:
        return self.project / "assets"

    def fresh(self, stem: str) -> str:
        self.made += 1
        return f"{stem}_{self.made}"

    def registry(self) -> list[dict[str, Any]]:
        data = json.loads((self.assets / ".prometeu" / "index.json").read_text("utf-8"))
        entries: list[dict[str, Any]] = data["assets"]
        return sorted(entries, key=lambda e: int(e["asset_id"]))

    def declared(self, family: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Registered roots with a readable declaration (of `family`), in asset_id order."""
        out = []
        for e in self.registry():
            path = self.assets / e["root"] / "asset.json"
            if not path.is_file():
                continue
            decl = json.loads(path.read_text("utf-8"))
            if family is None or decl.get("type") == family:
                out.append((str(e["root"]), decl))
        return out

    def write_decl(self, root: str, decl: dict[str, Any]) -> None:
        _write_json(self.assets / root / "asset.json", decl)

    def build_set_size(self) -> int:
        return sum(1 for e in self.registry() if e["included_in_build"])

    def cli(self, *args: str) -> str:
        run_packer(self.project, *args)
        return f"prometeu-packer {' '.join(args)}"

    # -- the clean build of the current sources ------------------------------------------

    def clean(self) -> BuildState:
        """The clean full build of the sources now (the last snapshot taken)."""
        key = tree_digest(self.sources[-1])
        if key not in self.expected:
            with tempfile.TemporaryDirectory(prefix="clean-", dir=FAST_TMP) as work:
                self.expected[key] = clean_build_service(self.assets, Path(work), self.project.name)
        return self.expected[key]

    # -- entry points --------------------------------------------------------------------

    def pack(self, entry: str) -> Built:
        if entry == "doit":
            run = run_doit(self.project, "pack")
            return Built(run.counts()["misses"], run.output)
        if entry == "packer":
            run = run_packer(self.project, "pack", "--json")
            result = json.loads(run.stdout)
            assert result["status"] == "success", run.output
            return Built(int(result["cache_misses"]), str(result["summary"]))
        if entry == "watch":
            # What watch does after a change: look at its (long-lived) snapshot, then pack.
            if self.watch_service is None:
                self.watch_service = PackerService(Project(self.project))
            self.watch_service.snapshot()
            res = self.watch_service.pack()
        else:  # an embedding host
            res = PackerService(Project(self.project)).pack()
        assert res.status.value == "success", res.summary
        return Built(res.cache_misses, res.summary)

    # -- edits (each returns what it did, or None when it does not apply now) ------------

    def _pick_glyph(self, min_tiles: int = 1) -> tuple[str, dict[str, Any]] | None:
        banks = [(r, d) for r, d in self.declared("glyph_bank") if len(d["artifacts"]) >= min_tiles]
        return self.rng.choice(banks) if banks else None

    def edit_repaint(self) -> str | None:
        picked = self._pick_glyph()
        if picked is None:
            return None
        root, decl = picked
        tile = self.rng.choice(decl["artifacts"])["file"]
        png = self.assets / root / tile
        st = png.stat()
        with Image.open(png) as img:
            img.load()
            edited = img.convert("RGB")
        pixels = [
            (self.rng.randrange(8), self.rng.randrange(8)) for _ in range(self.rng.randint(1, 4))
        ]
        for n, xy in enumerate(pixels):
            current = edited.getpixel(xy)
            choices = [c for c in PALETTE if n or c != current]
            edited.putpixel(xy, self.rng.choice(choices))
        edited.save(png, format="PNG")
        os.utime(png, ns=(st.st_atime_ns, st.st_mtime_ns))
        return f"repaint {len(pixels)} pixel(s) of {root}/{tile}, old mtime put back"

    def edit_add_tile(self) -> str | None:
        picked = self._pick_glyph()
        if picked is None:
            return None
        root, decl = picked
        name = self.fresh("tile") + ".png"
        _tile(self.assets / root / name, self.rng)
        decl["inputs"]["tiles"].append(name)
        decl["artifacts"].append({"index": len(decl["artifacts"]), "file": name})
        self.write_decl(root, decl)
        return f"add tile {root}/{name}"

    def edit_drop_tile(self) -> str | None:
        picked = self._pick_glyph(min_tiles=2)
        if picked is None:
            return None
        root, decl = picked
        arts = sorted(decl["artifacts"], key=lambda a: a["index"])
        gone = arts.pop(self.rng.randrange(len(arts)))["file"]
        decl["artifacts"] = [{**a, "index": i} for i, a in enumerate(arts)]
        still = {a["file"] for a in arts}
        decl["inputs"]["tiles"] = [f for f in decl["inputs"]["tiles"] if f in still]
        self.write_decl(root, decl)
        delete = gone not in still and self.rng.random() < 0.5
        if delete:
            (self.assets / root / gone).unlink()
        return f"drop tile {root}/{gone}" + (" and delete the file" if delete else "")

    def edit_swap_tiles(self) -> str | None:
        picked = self._pick_glyph(min_tiles=2)
        if picked is None:
            return None
        root, decl = picked
        arts = sorted(decl["artifacts"], key=lambda a: a["index"])
        i, j = self.rng.sample(range(len(arts)), 2)
        arts[i]["file"], arts[j]["file"] = arts[j]["file"], arts[i]["file"]
        decl["artifacts"] = arts
        self.write_decl(root, decl)
        return f"swap tiles {i} and {j} of {root}"

    def edit_preload(self) -> str | None:
        declared = self.declared()
        if not declared:
            return None
        root, decl = self.rng.choice(declared)
        enabled = not decl.get("preload", {}).get("enabled", False)
        decl["preload"] = {"enabled": enabled}
        self.write_decl(root, decl)
        return f"preload {'on' if enabled else 'off'} for {root}"

    def edit_loop(self) -> str | None:
        sounds = self.declared("sound_bank")
        if not sounds:
            return None
        root, decl = self.rng.choice(sounds)
        art = self.rng.choice(decl["artifacts"])
        with wave.open(str(self.assets / root / art["file"]), "rb") as w:
            frames = w.getnframes()
        if "loop_start" in art and self.rng.random() < 0.3:
            del art["loop_start"], art["loop_end"]
            what = "no loop"
        else:
            start = self.rng.randrange(frames - 1)
            art["loop_start"], art["loop_end"] = start, self.rng.randint(start + 1, frames)
            what = f"loop {art['loop_start']}..{art['loop_end']}"
        self.write_decl(root, decl)
        return f"{what} for {root}/{art['file']}"

    def edit_exclude_include(self) -> str | None:
        entry = self.rng.choice(self.registry())
        if entry["included_in_build"]:
            if self.build_set_size() < 2:
                return None
            return self.cli("exclude", str(entry["asset_id"]))
        return self.cli("include", str(entry["asset_id"]))

    def edit_new(self) -> str | None:
        if len(self.registry()) >= MAX_REGISTERED:
            return None
        preload = ["--preload"] if self.rng.random() < 0.3 else []
        if self.rng.random() < 0.7:
            root = "gfx/" + self.fresh("new")
            files = [
                self.scratch / f"{self.fresh('in')}.png" for _ in range(self.rng.randint(1, 2))
            ]
            for f in files:
                _tile(f, self.rng)
            return self.cli(
                "new", "glyph_bank", root, "--tile-size", "8", *map(str, files), *preload
            )
        root = "sfx/" + self.fresh("new")
        wav = self.scratch / f"{self.fresh('in')}.wav"
        _wav(wav, self.rng)
        return self.cli("new", "sound_bank", root, str(wav), *preload)

    def edit_remove(self) -> str | None:
        entry = self.rng.choice(self.registry())
        if entry["included_in_build"] and self.build_set_size() < 2:
            return None
        return self.cli("remove", str(entry["asset_id"]))

    def edit_revert(self) -> str | None:
        """Back to the sources of an earlier step. Mostly: to the sources one entry
        point packed last, and then pack through that entry point (A there, B elsewhere,
        back to A: where doit's .doit.db or a long-lived watch service can lie)."""
        if len(self.sources) < 2:
            return None
        now = tree_digest(self.sources[-1])
        remembered = sorted(
            (entry, i)
            for entry, i in self.last_packed.items()
            if tree_digest(self.sources[i]) != now
        )
        if remembered and self.rng.random() < 0.7:
            # doit keeps the most memory of its own (.doit.db): it is drawn twice as often.
            weights = [2 if entry == "doit" else 1 for entry, _ in remembered]
            entry, step = self.rng.choices(remembered, weights)[0]
            self.next_entry = entry
            how = f" (which {entry} packed last)"
        else:
            step = self.rng.randrange(len(self.sources) - 1)
            how = ""
        restore_tree(self.assets, self.sources[step])
        return f"revert assets/ to the sources after step {step}{how} (bytes and mtimes)"

    def edit_touch(self) -> str | None:
        rel = self.rng.choice(sorted(snapshot_tree(self.assets)))
        now = time.time_ns() + self.rng.randrange(10**9)
        os.utime(self.assets / rel, ns=(now, now))
        return f"touch {rel}"

    def edit_build(self) -> str | None:
        build = self.project / "build"
        names = sorted(p.name for p in build.iterdir() if p.is_file()) if build.is_dir() else []
        if not names:
            return None
        name = self.rng.choice(names)
        path = build / name
        if self.rng.random() < 0.5:  # through the entry point that believes build/ is current
            self.next_entry = self.entries[-1]
        how = self.rng.choice(
            ["truncate", "overwrite", "flip a byte, keep size and mtime", "delete"]
        )
        data = path.read_bytes()
        st = path.stat()
        if how == "truncate":
            path.write_bytes(data[: self.rng.randrange(len(data))] if data else b"")
        elif how == "overwrite":
            other = b'{\n  "hand": "edit"\n}\n' if name.endswith(".json") else b"PMPA" + bytes(60)
            path.write_bytes(other)
        elif how == "delete":
            path.unlink()
        else:
            flipped = bytearray(data or b"\0")
            flipped[self.rng.randrange(len(flipped))] ^= 0x5A
            path.write_bytes(bytes(flipped))
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return f"build/{name}: {how}"

    def edit_nothing(self) -> str | None:
        return "no edit"

    def edit(self) -> str:
        names, weights = list(EDITS), list(EDITS.values())
        for _ in range(20):
            name = self.rng.choices(names, weights)[0]
            method: Callable[[], str | None] = getattr(self, f"edit_{name}")
            done = method()
            if done is not None:
                return done
        return "no edit"

    # -- the run -------------------------------------------------------------------------

    def where(self, step: int, entry: str) -> str:
        lines = "\n    ".join(self.history)
        return (
            f"seed {self.seed}, step {step}/{STEPS} (pack via {entry}); steps so far:\n    {lines}"
        )

    def run(self) -> None:
        for step in range(1, STEPS + 1):
            done = self.edit()
            self.sources.append(snapshot_tree(self.assets))
            entry = self.next_entry or self.rng.choice(ENTRIES)
            self.next_entry = None
            self.entries.append(entry)
            self.last_packed[entry] = step
            self.history.append(f"{step}. {done}; pack via {entry}")
            built = self.pack(entry)
            expected = self.clean()
            assert_build(
                self.project,
                expected,
                f"{self.where(step, entry)}\n  build/ is not a clean build of the current "
                f"sources; the pack said: {built.said.strip()[-600:]}",
            )
            if self.rng.random() < NOOP_CHANCE:
                self.no_op(step, self.rng.choice([e for e in ENTRIES if e != entry]), expected)

    def no_op(self, step: int, entry: str, expected: BuildState) -> None:
        self.history.append(f"{step}. again, via {entry}: must be a no-op")
        self.last_packed[entry] = step
        before = build_stat(self.project)
        built = self.pack(entry)
        where = self.where(step, entry)
        assert_build(self.project, expected, f"{where}\n  a second pack changed build/")
        assert built.misses == 0, (
            f"{where}\n  a second pack re-materialized {built.misses} asset(s): {built.said}"
        )
        changed = stat_changes(before, build_stat(self.project))
        assert not changed, f"{where}\n  a second pack rewrote build/: {changed}\n{built.said}"


@pytest.mark.parametrize("seed", range(SEQUENCES), ids=lambda s: f"seed-{s}")
def test_random_sequence(seed: int, tmp_path: Path) -> None:
    if FAST_TMP is None:
        EditSequence(seed, tmp_path).run()
        return
    with tempfile.TemporaryDirectory(prefix=f"prometeu-seq-{seed}-", dir=FAST_TMP) as work:
        EditSequence(seed, Path(work)).run()
