"""Generate a synthetic but valid PROMETEU project of N assets for benchmarking.

About 75% of the assets are glyph banks (tile size 8/16/32; RGBA tiles with a declared or a
derived palette, or indexed PNGs) and 25% are sound banks (short WAV samples of real PCM:
8/16-bit, mono/stereo, 8000-48000 Hz). Asset roots sit in nested folders
(`world/zone_07/tiles_0123` at depth 3), every asset is registered and included, a few are
preloaded, and every input file has unique content (so a cold build has no accidental
cache hits). The same seed and shape always give the same bytes.

Shapes: `issue11` (the default, issue 11's reference: 8 tiles per glyph bank, 2 samples per
sound bank, depth 3) and `mixed` (the earlier mix: 8, 16 or 32 tiles, 1-3 samples, depth 3;
byte-identical to the generator before shapes existed). `--tiles-per-asset`,
`--samples-per-asset` and `--depth` override a shape's value, for other shapes (more tiles,
more sounds, deeper folders).

    python benchmarks/generate.py DEST --assets 1000 [--seed 0] [--shape issue11|mixed]
        [--tiles-per-asset N] [--samples-per-asset N] [--depth N]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import struct
import sys
import time
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

TILE_SIZES = (8, 16, 32)
TILE_COUNTS = (8, 16, 32)
TILE_CAPACITY = {8: 1024, 16: 256, 32: 64}  # the packer's glyph-bank capacity by tile size
SAMPLE_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
PATTERNS_PER_SIZE = 24
ASSETS_PER_ZONE = 40
GLYPH_AREAS = ("world", "ui", "chars", "fx")
SOUND_AREAS = ("sfx", "music", "voice")
MAX_PRELOADS = 10  # per bank type; the format allows 16
UID_BITS = 24  # every tile carries its own id in pixels, so no two tiles are identical


@dataclass(frozen=True)
class Shape:
    """What one generated project looks like; None = drawn at random per asset."""

    name: str
    tiles_per_asset: int | None  # None: 8, 16 or 32 (random per glyph bank)
    samples_per_asset: int | None  # None: 1, 2 or 3 (random per sound bank)
    depth: int = 3  # folder levels of an asset root: area/zone/name = 3

    def describe(self) -> str:
        tiles = self.tiles_per_asset or "8/16/32"
        samples = self.samples_per_asset or "1-3"
        return (
            f"{self.name}: {tiles} tiles/glyph bank, {samples} samples/sound bank, "
            f"depth {self.depth}"
        )


SHAPES = {
    "issue11": Shape("issue11", tiles_per_asset=8, samples_per_asset=2),
    "mixed": Shape("mixed", tiles_per_asset=None, samples_per_asset=None),
}
DEFAULT_SHAPE = "issue11"


def make_shape(
    base: str = DEFAULT_SHAPE,
    *,
    tiles_per_asset: int | None = None,
    samples_per_asset: int | None = None,
    depth: int | None = None,
) -> Shape:
    """A named shape with some of its values overridden (the name says what was changed)."""
    shape = SHAPES[base]
    tiles = shape.tiles_per_asset if tiles_per_asset is None else tiles_per_asset
    samples = shape.samples_per_asset if samples_per_asset is None else samples_per_asset
    levels = shape.depth if depth is None else depth
    if min(tiles or 1, samples or 1, levels) < 1 or 0 in (tiles, samples):
        raise ValueError("tiles, samples and depth must be >= 1")
    if (tiles or 0) > max(TILE_CAPACITY.values()):
        raise ValueError(f"a glyph bank holds at most {max(TILE_CAPACITY.values())} tiles")
    changed = [
        f"{label}={value}"
        for label, value, default in (
            ("tiles", tiles, shape.tiles_per_asset),
            ("samples", samples, shape.samples_per_asset),
            ("depth", levels, shape.depth),
        )
        if value != default
    ]
    name = base + (f"({','.join(changed)})" if changed else "")
    return Shape(name, tiles, samples, levels)


DODO = (
    '"""doit pack — packs this synthetic benchmark project."""\n'
    "from packer_tasks.dodo import *  # noqa: F401,F403\n"
)
PROJECT_GITIGNORE = "build/\n.prometeu-cache/\n.doit*.db*\n"
META_GITIGNORE = ".write.lock\n.digests.sqlite*\n"

RGB = tuple[int, int, int]


def canonical_json(obj: object) -> str:
    """The packer's canonical spelling: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(obj, sort_keys=True, indent=2) + "\n"


def hex_color(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _color_pool(rng: random.Random, count: int = 64) -> list[RGB]:
    """Distinct, non-black colours that survive RGB565 exactly (r, b multiples of 8; g of 4)."""
    seen: set[RGB] = set()
    pool: list[RGB] = []
    while len(pool) < count:
        rgb = (rng.randrange(32) * 8, rng.randrange(64) * 4, rng.randrange(32) * 8)
        if rgb != (0, 0, 0) and rgb not in seen:
            seen.add(rgb)
            pool.append(rgb)
    return pool


def _patterns(rng: random.Random, size: int) -> list[bytes]:
    """Base index grids (values 0..15, 0 = transparent) with some structure, like pixel art."""
    out: list[bytes] = []
    for p in range(PATTERNS_PER_SIZE):
        kind = p % 4
        a, b, c = rng.randrange(1, 16), rng.randrange(1, 16), rng.randrange(1, 16)
        grid = bytearray(size * size)
        half = size / 2
        for y in range(size):
            for x in range(size):
                if kind == 0:  # disc on transparent ground
                    inside = (x - half + 0.5) ** 2 + (y - half + 0.5) ** 2 < (half * 0.8) ** 2
                    v = (a if (x + y) % 5 else b) if inside else 0
                elif kind == 1:  # stripes
                    v = a if (y // 2) % 2 else b
                elif kind == 2:  # checker with a border
                    edge = x in (0, size - 1) or y in (0, size - 1)
                    v = c if edge else (a if (x // 4 + y // 4) % 2 else b)
                else:  # noisy terrain
                    v = rng.choice((a, a, b, c, 0))
                grid[y * size + x] = v
        out.append(bytes(grid))
    return out


@dataclass(frozen=True)
class _Palette:
    colors: list[RGB]  # entry 0 is black (transparency), then 1..k opaque colours

    def flat(self) -> list[int]:
        padded = self.colors + [(0, 0, 0)] * (16 - len(self.colors))
        return [ch for rgb in padded for ch in rgb]

    def hexes(self) -> list[str]:
        return [hex_color(c) for c in self.colors]


class _Generator:
    def __init__(self, dest: Path, n_assets: int, seed: int, shape: Shape) -> None:
        self.dest = dest
        self.shape = shape
        # per-asset uid strides: tile/sample uids stay unique whatever the counts are
        self.tile_stride = max(64, shape.tiles_per_asset or 0)
        # tile sizes whose glyph-bank capacity holds the shape's tile count
        self.tile_sizes = tuple(
            s for s in TILE_SIZES if (shape.tiles_per_asset or 0) <= TILE_CAPACITY[s]
        )
        self.sample_stride = max(4, shape.samples_per_asset or 0)
        self.assets_dir = dest / "assets"
        self.n = n_assets
        self.rng = random.Random(seed)
        self.pool = _color_pool(self.rng)
        self.patterns = {s: _patterns(self.rng, s) for s in TILE_SIZES}
        self.width = max(4, len(str(n_assets)))
        self.entries: list[dict[str, Any]] = []
        self.preloads: dict[str, list[int]] = {"glyph_bank": [], "sound_bank": []}

    # ------------------------------------------------------------------ glyph banks

    def _tile_indices(self, size: int, k: int, uid: int) -> bytes:
        """A base pattern folded onto k colours, a few random flips and the tile's uid bits."""
        base = self.rng.choice(self.patterns[size])
        fold = bytes([0] + [((v - 1) % k) + 1 for v in range(1, 256)])
        grid = bytearray(base.translate(fold))
        for _ in range(self.rng.randrange(1, 4)):
            grid[self.rng.randrange(len(grid))] = self.rng.randrange(k + 1)
        tail = len(grid) - UID_BITS
        for bit in range(UID_BITS):
            grid[tail + bit] = 1 + ((uid >> bit) & 1)
        return bytes(grid)

    def glyph_bank(self, asset_id: int, root: Path) -> dict[str, Any]:
        rng = self.rng
        size = rng.choice(self.tile_sizes)
        count = self.shape.tiles_per_asset or rng.choice(TILE_COUNTS)
        k = rng.randrange(4, 16)  # opaque colours; <= 15 so a derived palette fits
        palette = _Palette([(0, 0, 0), *rng.sample(self.pool, k)])
        style = rng.choices(("rgba_declared", "rgba_derived", "indexed"), (40, 35, 25))[0]
        declare = style == "rgba_declared" or (style == "indexed" and rng.random() < 0.3)
        files: list[str] = []
        for t in range(count):
            name = f"tile_{t:02d}.png"
            idx = self._tile_indices(size, k, asset_id * self.tile_stride + t)
            img = Image.frombytes("P", (size, size), idx)
            img.putpalette(palette.flat())
            if style != "indexed":
                img.info["transparency"] = 0
                img = img.convert("RGBA")
            img.save(root / name, format="PNG", compress_level=1)
            files.append(name)
        pipeline: dict[str, Any] = {}
        if declare:
            palettes: list[dict[str, Any]] = [{"index": 0, "palette": {"colors": palette.hexes()}}]
            if rng.random() < 0.25:  # an alternate palette (tooling only for palette 0 matching)
                alt = [(0, 0, 0), *rng.sample(self.pool, k)]
                palettes.append({"index": 1, "palette": {"colors": [hex_color(c) for c in alt]}})
            pipeline["palettes"] = palettes
        return {
            "type": "glyph_bank",
            "inputs": {"tiles": files},
            "artifacts": [{"file": f, "index": i} for i, f in enumerate(files)],
            "output": {
                "codec": "NONE",
                "format": "GLYPH/indexed_v1",
                "metadata": {"tile_size": size},
                "pipeline": pipeline,
            },
        }

    # ------------------------------------------------------------------ sound banks

    def _pcm(self, frames: int, bits: int, channels: int, uid: int) -> bytes:
        """Real PCM: a whole-period sine (repeated) or seeded noise, tagged with the uid."""
        rng = self.rng
        width = bits // 8
        frame_bytes = width * channels
        if rng.random() < 0.7:
            period = rng.randrange(16, 200)
            amp = rng.randrange(2000, 30000)
            one: list[int] = []
            for i in range(period):
                for ch in range(channels):
                    v = int(amp * math.sin(2 * math.pi * (i + ch * period // 4) / period))
                    one.append(v)
            if bits == 8:
                chunk = bytes(128 + (v >> 8) for v in one)
            else:
                chunk = struct.pack(f"<{len(one)}h", *one)
            data = bytearray(chunk * (frames // period + 1))
            del data[frames * frame_bytes :]
        else:
            data = bytearray(rng.randbytes(frames * frame_bytes))
        data[0:4] = struct.pack("<I", uid)
        return bytes(data)

    def sound_bank(self, asset_id: int, root: Path) -> dict[str, Any]:
        rng = self.rng
        files: list[str] = []
        artifacts: list[dict[str, Any]] = []
        for s in range(self.shape.samples_per_asset or rng.randrange(1, 4)):
            rate = rng.choice(SAMPLE_RATES)
            bits = rng.choice((8, 16))
            channels = rng.choice((1, 2))
            frames = max(8, int(rate * rng.uniform(0.05, 0.3)))
            kind = rng.choice(("blip", "hit", "tone", "noise"))
            name = f"{kind}_{s}.wav"
            with wave.open(str(root / name), "wb") as w:
                w.setnchannels(channels)
                w.setsampwidth(bits // 8)
                w.setframerate(rate)
                uid = asset_id * self.sample_stride + s
                w.writeframes(self._pcm(frames, bits, channels, uid))
            art: dict[str, Any] = {"file": name, "index": s}
            if rng.random() < 0.3:
                art["loop_start"] = rng.randrange(0, frames // 2)
                art["loop_end"] = frames
            files.append(name)
            artifacts.append(art)
        return {
            "type": "sound_bank",
            "inputs": {"samples": files},
            "artifacts": artifacts,
            "output": {
                "codec": "NONE",
                "format": "SOUNDS/pcm16le_v1",
                "metadata": {},
                "pipeline": {},
            },
        }

    # ------------------------------------------------------------------ project

    def _root_for(self, i: int, sound: bool) -> str:
        """`area/zone_07/tiles_0123` at depth 3; deeper shapes nest `part_<k>_<n>` folders
        under the zone (a few per level), shallower ones drop the zone, then the area."""
        zone = i // ASSETS_PER_ZONE
        areas = SOUND_AREAS if sound else GLYPH_AREAS
        name = f"{'sound' if sound else 'tiles'}_{i:0{self.width}d}"
        folders = [areas[zone % len(areas)], f"zone_{zone:02d}"]
        folders += [f"part_{k}_{(i >> k) % 3}" for k in range(self.shape.depth - 3)]
        return "/".join([*folders[: self.shape.depth - 1], name])

    def _preload(self, family: str, asset_id: int) -> dict[str, Any]:
        """Preload the first few assets of each family: half with explicit distinct slots."""
        chosen = self.preloads[family]
        if len(chosen) >= MAX_PRELOADS or self.rng.random() > 0.2:
            return {"enabled": False}
        chosen.append(asset_id)
        if len(chosen) % 2:
            return {"enabled": True, "slot": 15 - len(chosen) // 2}  # 15, 14, 13, ...
        return {"enabled": True}

    def run(self) -> None:
        if self.dest.exists() and any(self.dest.iterdir()):
            raise FileExistsError(f"{self.dest} exists and is not empty")
        meta = self.assets_dir / ".prometeu"
        meta.mkdir(parents=True, exist_ok=True)
        for i in range(self.n):
            asset_id = i + 1
            sound = self.rng.random() < 0.25
            root = self._root_for(i, sound)
            folder = self.assets_dir.joinpath(*root.split("/"))
            folder.mkdir(parents=True, exist_ok=True)
            body = self.sound_bank(asset_id, folder) if sound else self.glyph_bank(asset_id, folder)
            asset_uuid = str(uuid.UUID(bytes=self.rng.randbytes(16), version=4))
            decl = {
                "schema_version": 1,
                "asset_uuid": asset_uuid,
                "name": root.rsplit("/", 1)[-1],
                **body,
                "preload": self._preload(body["type"], asset_id),
            }
            (folder / "asset.json").write_text(canonical_json(decl), encoding="utf-8")
            self.entries.append(
                {
                    "asset_id": asset_id,
                    "asset_uuid": asset_uuid,
                    "included_in_build": True,
                    "root": root,
                }
            )
        registry = {"assets": self.entries, "next_asset_id": self.n + 1, "schema_version": 1}
        (meta / "index.json").write_text(canonical_json(registry), encoding="utf-8")
        (meta / ".gitignore").write_text(META_GITIGNORE, encoding="utf-8")
        (self.dest / "dodo.py").write_text(DODO, encoding="utf-8")
        (self.dest / ".gitignore").write_text(PROJECT_GITIGNORE, encoding="utf-8")


def generate(dest: Path, n_assets: int, seed: int = 0, shape: Shape | None = None) -> None:
    """Write a valid project with `n_assets` registered, included assets into `dest`."""
    if n_assets < 1:
        raise ValueError("n_assets must be >= 1")
    _Generator(Path(dest), n_assets, seed, shape or SHAPES[DEFAULT_SHAPE]).run()


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    """--shape, --tiles-per-asset, --samples-per-asset, --depth (shared with run.py)."""
    parser.add_argument(
        "--shape",
        choices=sorted(SHAPES),
        default=DEFAULT_SHAPE,
        help=f"project shape (default {DEFAULT_SHAPE}: "
        + "; ".join(s.describe() for s in SHAPES.values())
        + ")",
    )
    parser.add_argument(
        "--tiles-per-asset", type=int, default=None, help="tiles in every glyph bank"
    )
    parser.add_argument(
        "--samples-per-asset", type=int, default=None, help="samples in every sound bank"
    )
    parser.add_argument(
        "--depth", type=int, default=None, help="folder levels of an asset root (default 3)"
    )


def shape_from_args(args: argparse.Namespace) -> Shape:
    return make_shape(
        args.shape,
        tiles_per_asset=args.tiles_per_asset,
        samples_per_asset=args.samples_per_asset,
        depth=args.depth,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="project folder to create (must be empty)")
    parser.add_argument("--assets", type=int, default=100, help="number of assets (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_shape_arguments(parser)
    args = parser.parse_args(argv)
    shape = shape_from_args(args)
    t0 = time.perf_counter()
    generate(args.dest, args.assets, args.seed, shape)
    elapsed = time.perf_counter() - t0
    print(f"generated {args.assets} assets ({shape.describe()}) in {args.dest} ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
