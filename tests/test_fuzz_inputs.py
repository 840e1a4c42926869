"""Fuzzing every input the packer reads from users or from other machines (hypothesis).

* `asset.json` bytes (random bytes, random JSON, mutated valid declarations: deleted and
  replaced keys, wrong types, huge integers, floats, NaN, deep nesting, unicode and lone
  surrogates, `..`, absolute and Windows paths, other encodings) →
  `parse_declaration` + `declaration_problems` + `load_asset` never raise and give either a
  declaration or at least one blocking diagnostic; escaping paths are always blocking.
* `index.json` bytes → `load_registry` never raises; a valid registry round-trips.
* PNG bytes (random, truncated, mutated with or without fixed CRCs, absurd IHDR sizes,
  zlib bombs) → `GlyphBank().materialize` never raises, returns a payload or blocking
  diagnostics, and stays fast.
* WAV bytes (random, structured with random header fields, truncated, mutated, absurd chunk
  sizes) → `SoundBank().materialize` likewise; valid 8/16-bit mono PCM converts exactly.
* `assets.pa` bytes (mutations of real packs) → `read_assets_pa` never raises.
* CLI level: fuzzed `asset.json` in a real project, then `validate --json` and `pack --json`
  in real CLI processes: exit 0/1, one JSON result, no traceback, build/ untouched when
  blocked and coherent when packed, and `validate` is green exactly when `pack` succeeds.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from test_reliability_support import (
    HEAVY,
    Zygote,
    assert_clean_exit,
    build_problems,
    build_project,
    count,
    glyph_decl,
    read_build,
    sound_decl,
)

from packer_tasks.artifact.reader import ReadResult, read_assets_pa
from packer_tasks.families.glyph_bank import DECODED_SIZE, PAYLOAD_SIZE, GlyphBank
from packer_tasks.families.sound_bank import SoundBank
from packer_tasks.models.declaration import AssetDeclaration
from packer_tasks.models.diagnostic import Diagnostic
from packer_tasks.models.registry import Registry, RegistryEntry
from packer_tasks.workspace.declarations import declaration_problems, load_asset, parse_declaration
from packer_tasks.workspace.paths import relative_path_problem
from packer_tasks.workspace.registry_store import load_registry, registry_bytes, save_registry

EXAMPLES = 2000 if HEAVY else 150
CLI_EXAMPLES = 150 if HEAVY else 30

FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
CLI_FUZZ = settings(
    max_examples=CLI_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)

UUID = "6f1c2a3b-1111-4222-8333-444455556666"

# ------------------------------------------------------------------------------------------
# JSON building blocks


HUGE_INT = "__HUGE_INT__"  # spliced into the JSON text (Python cannot print such ints)
DEEP = "__DEEP_{}_{}__"

NASTY_STRINGS = [
    "",
    " ",
    ".",
    "..",
    "../escape.png",
    "../../etc/passwd",
    "/etc/passwd",
    "C:\\tile.png",
    "C:tile.png",
    "a\\b.png",
    "./tile.png",
    "tile//x.png",
    "tile/",
    "\x00",
    "a\x00.png",
    "\ud800",
    "\udfff.png",
    "é.png",
    "e\u0301.png",
    "\ufb01.png",
    "\U0001f600.png",
    "x" * 300 + ".png",
    "CON",
    "tile.PNG",
    "~/x.png",
    "%s%n",
    "\u202e.png",
    "tile.png ",
    "\t",
    "tile.png",
    "a.wav",
    "glyph_bank",
    "sound_bank",
    "GLYPH/indexed_v1",
    "SOUNDS/pcm16le_v1",
    "NONE",
    UUID,
    HUGE_INT,
]
NASTY_NUMBERS: list[Any] = [
    0,
    -1,
    1,
    2,
    7,
    8,
    15,
    16,
    17,
    32,
    63,
    64,
    255,
    256,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32,
    2**53 + 1,
    2**63,
    2**64,
    10**30,
    -(10**30),
    0.5,
    -0.0,
    1e308,
    8.0,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(NASTY_STRINGS),
    st.sampled_from(NASTY_NUMBERS),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def nasty_values(draw: st.DrawFn) -> Any:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return DEEP.format(
            draw(st.sampled_from(["list", "dict"])),
            draw(st.sampled_from([50, 200, 900, 990, 1200, 5000, 100000])),
        )
    if kind == 1:
        return HUGE_INT
    return draw(json_values)


def encode(doc: Any, draw: st.DrawFn) -> bytes:
    """JSON text of `doc` in one of several spellings, with placeholders spliced in."""
    style = draw(st.integers(0, 3))
    text = json.dumps(
        doc, ensure_ascii=style != 1, indent=2 if style == 2 else None, sort_keys=style == 3
    )
    text = text.replace(json.dumps(HUGE_INT), "9" * draw(st.sampled_from([30, 4299, 4301, 20000])))
    for kind in ("list", "dict"):
        for depth in (50, 200, 900, 990, 1200, 5000, 100000):
            token = json.dumps(DEEP.format(kind, depth))
            if token in text:
                nested = (
                    "[" * depth + "]" * depth
                    if kind == "list"
                    else '{"a":' * depth + "0" + "}" * depth
                )
                text = text.replace(token, nested)
    enc = draw(st.sampled_from(["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1"]))
    data = text.encode(enc, errors="surrogatepass" if enc.startswith("utf") else "replace")
    return mutate_bytes(data, draw) if draw(st.integers(0, 7)) == 0 else data


def mutate_bytes(data: bytes, draw: st.DrawFn, *, max_edits: int = 4) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, max_edits))):
        op = draw(st.integers(0, 4))
        pos = draw(st.integers(0, max(len(buf), 1) - 1)) if buf else 0
        if op == 0 and buf:  # flip one byte
            buf[pos] ^= draw(st.integers(1, 255))
        elif op == 1:  # truncate
            del buf[pos:]
        elif op == 2:  # insert random bytes
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == 3 and buf:  # delete a run
            del buf[pos : pos + draw(st.integers(1, 16))]
        else:  # overwrite a run with an extreme byte
            run = draw(st.integers(1, 8))
            buf[pos : pos + run] = bytes([draw(st.sampled_from([0, 0x7F, 0x80, 0xFF]))]) * run
    return bytes(buf)


def node_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from node_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from node_paths(v, (*prefix, i))


TARGETS = [
    ("output", "metadata"),
    ("output", "pipeline"),
    ("artifacts", 0),
    ("artifacts", 1),
    ("preload",),
    ("inputs",),
    ("output",),
    (),
]
TARGET_KEYS = [
    "tile_size",
    "x",
    "palettes",
    "loop_start",
    "loop_end",
    "index",
    "file",
    "slot",
    "enabled",
    "tiles",
    "samples",
    "codec",
    "format",
    "name",
    "type",
    "asset_uuid",
    "schema_version",
]


def _has_dict(doc: Any, path: tuple[Any, ...]) -> bool:
    node = doc
    for key in path:
        if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node)
        ):
            node = node[key]
        else:
            return False
    return isinstance(node, dict)


def mutate_doc(doc: Any, draw: st.DrawFn, *, max_edits: int = 4) -> Any:
    """Delete, replace, add or wrap nodes of a JSON document at random paths."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, max_edits))):
        value = draw(nasty_values())
        targets = [p for p in TARGETS if _has_dict(doc, p)]
        if targets and draw(st.integers(0, 2)) == 0:  # where payloads and headers are made
            node = doc
            for key in draw(st.sampled_from(targets)):
                node = node[key]
            node[draw(st.sampled_from(TARGET_KEYS))] = value
            continue
        path = draw(st.sampled_from(list(node_paths(doc))))
        op = draw(st.sampled_from(["delete", "replace", "replace", "add", "wrap"]))
        if not path:
            doc = value if op in ("replace", "wrap") else ({} if op == "delete" else doc)
            continue
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = value
        elif op == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "asset_id", "root", "index", "ü"]))] = value
        else:
            parent.insert(key, value)
    return doc


# ------------------------------------------------------------------------------------------
# asset.json


def valid_declarations() -> list[dict[str, Any]]:
    glyph = glyph_decl(UUID, "hud", ["a.png", "sub/b.png"], tile_size=16)
    glyph["output"]["pipeline"] = {
        "palettes": [{"index": 0, "palette": {"colors": ["#000000", "#ff0044"]}}]
    }
    glyph["preload"] = {"enabled": True, "slot": 3}
    sound = sound_decl(str(uuid.uuid4()), "sfx", ["a.wav", "b.wav"])
    sound["artifacts"][1].update(loop_start=0, loop_end=10)
    return [glyph, sound]


@st.composite
def asset_json_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return encode(draw(json_values), draw)
    return encode(mutate_doc(draw(st.sampled_from(valid_declarations())), draw), draw)


def check_diagnostics(diags: Any) -> None:
    assert isinstance(diags, list | tuple)
    for d in diags:
        assert isinstance(d, Diagnostic)
        assert d.code and "." in d.code and d.message
        assert not d.blocking or d.severity.value == "error"


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An assets/ folder with one root holding real files, and a secret outside it."""
    assets = tmp_path_factory.mktemp("fuzz") / "assets"
    root = assets / "ui" / "hud"
    (root / "sub").mkdir(parents=True)
    for name in ("a.png", "sub/b.png", "a.wav", "b.wav"):
        (root / name).write_bytes(b"x")
    (assets.parent / "secret.png").write_bytes(b"outside")
    return assets


def _spliced(doc: dict[str, Any], where: tuple[str, ...], key: str, raw: str) -> bytes:
    """`doc` with `raw` JSON text stored at doc[where...][key] (text Python can't dump)."""
    doc = copy.deepcopy(doc)
    node: Any = doc
    for k in where:
        node = node[k]
    node[key] = "__SPLICE__"
    return json.dumps(doc).replace('"__SPLICE__"', raw).encode()


GLYPH, SOUND = valid_declarations()
HUGE_METADATA_INT = _spliced(GLYPH, ("output", "metadata"), "x", "9" * 5000)
DEEP_METADATA = _spliced(GLYPH, ("output", "metadata"), "deep", "[" * 800 + "]" * 800)


def test_fuzz_asset_json(fuzz_root: Path) -> None:
    @FUZZ
    @given(asset_json_bytes())
    @example(HUGE_METADATA_INT)
    @example(b"1" * 4301)
    @example(DEEP_METADATA)
    def check(data: bytes) -> None:
        count("fuzz.asset_json")
        decl, diags = parse_declaration(data, "ui/hud/asset.json")
        check_diagnostics(diags)
        if decl is None:
            assert any(d.blocking for d in diags), "no declaration and no blocking diagnostic"
            return
        assert isinstance(decl, AssetDeclaration)
        check_diagnostics(declaration_problems(decl))
        # The whole load path (declaration on disk, stat of every input) never raises, and
        # a path that leaves the root is always a blocking problem.
        (fuzz_root / "ui" / "hud" / "asset.json").write_bytes(data)
        loaded = load_asset(fuzz_root, "ui/hud")
        check_diagnostics(loaded.diagnostics)
        for rel in decl.input_files():
            if relative_path_problem(rel, "input") is not None:
                assert any(d.blocking and d.path == rel for d in loaded.diagnostics), rel
        assert all(
            Path(f.path).resolve().is_relative_to(fuzz_root / "ui" / "hud") for f in loaded.inputs
        )

    check()


# ------------------------------------------------------------------------------------------
# index.json


VALID_REGISTRY = {
    "assets": [
        {"asset_id": 1, "asset_uuid": UUID, "included_in_build": True, "root": "ui/hud"},
        {
            "asset_id": 4,
            "asset_uuid": str(uuid.UUID(int=7, version=4)),
            "included_in_build": False,
            "root": "sfx/jump",
        },
    ],
    "next_asset_id": 5,
    "schema_version": 1,
}


@st.composite
def index_json_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200))
    if kind == 1:
        return encode(draw(json_values), draw)
    return encode(mutate_doc(VALID_REGISTRY, draw), draw)


def test_fuzz_index_json(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("registry") / "index.json"

    @FUZZ
    @given(index_json_bytes())
    @example(
        json.dumps(VALID_REGISTRY)
        .replace('"next_asset_id": 5', '"next_asset_id": ' + "5" * 4400)
        .encode()
    )
    @example(
        json.dumps(VALID_REGISTRY).replace('"root": "ui/hud"', '"root": "ui/\\ud800"').encode()
    )
    @example(json.dumps(VALID_REGISTRY).replace(UUID, "\\udfff").encode())
    def check(data: bytes) -> None:
        count("fuzz.index_json")
        path.write_bytes(data)
        registry, diags = load_registry(path)
        check_diagnostics(diags)
        if registry is None:
            assert any(d.blocking for d in diags)
            return
        canonical = data == registry_bytes(registry)
        assert canonical == ("registry.not_canonical" not in [d.code for d in diags])

    check()


roots = st.lists(
    st.sampled_from(["ui", "sfx", "a", "é", "x y", "deep"]), min_size=1, max_size=3
).map("/".join)


@st.composite
def registries(draw: st.DrawFn) -> Registry:
    ids = sorted(draw(st.sets(st.integers(1, 2**40), max_size=6)))
    used_roots = draw(st.lists(roots, min_size=len(ids), max_size=len(ids), unique=True))
    entries = [
        RegistryEntry(
            asset_id=i,
            asset_uuid=str(uuid.UUID(int=i, version=4)),
            included_in_build=draw(st.booleans()),
            root=r,
        )
        for i, r in zip(ids, used_roots, strict=True)
    ]
    nested = {e.root for e in entries if any(o.root.startswith(e.root + "/") for o in entries)}
    entries = [e for e in entries if e.root not in nested]
    top = max(ids, default=0)
    return Registry(assets=entries, next_asset_id=top + draw(st.integers(1, 5)))


def test_fuzz_registry_round_trip(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("roundtrip") / "index.json"

    @FUZZ
    @given(registries())
    def check(registry: Registry) -> None:
        count("fuzz.index_json_round_trip")
        save_registry(path, registry)
        again, diags = load_registry(path)
        assert again == registry
        assert diags == []

    check()


# ------------------------------------------------------------------------------------------
# PNG


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    out, pos = [], 8
    while pos + 8 <= len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        out.append((kind, data[pos + 8 : pos + 8 + n]))
        pos += 12 + n
    return out


def png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF)
        for k, d in chunks
    )
    return b"\x89PNG\r\n\x1a\n" + body


@st.composite
def pil_png(draw: st.DrawFn, size: int) -> bytes:
    mode = draw(st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16"]))
    side = draw(st.sampled_from([size, size, size, 1, size + 1, size * 2]))
    w, h = (side, side) if draw(st.booleans()) else (side, draw(st.integers(1, 40)))
    seed = draw(st.integers(0, 2**32 - 1))
    raw = bytes((seed >> (i % 24)) & 0xFF ^ (i * 37 & 0xFF) for i in range(w * h * 4))
    base = Image.frombytes("RGBA", (w, h), raw)
    if mode == "P":
        img = base.convert("RGB").quantize(colors=draw(st.sampled_from([2, 16, 17, 256])))
    elif mode == "I;16":
        img = base.convert("L").convert(mode)
    else:
        img = base.convert(mode)
    extra: dict[str, Any] = {}
    if mode in ("L", "RGB", "P") and draw(st.booleans()):
        extra["transparency"] = (0, 0, 0) if mode == "RGB" else 0
    buf = io.BytesIO()
    img.save(buf, format="PNG", **extra)
    return buf.getvalue()


@st.composite
def png_bytes(draw: st.DrawFn, size: int) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return b"\x89PNG\r\n\x1a\n" + draw(st.binary(max_size=300))
    valid = draw(pil_png(size))
    if kind in (2, 3):
        return valid
    if kind == 4:
        return valid[: draw(st.integers(0, len(valid)))]
    if kind == 5:
        return mutate_bytes(valid, draw, max_edits=3)
    chunks = png_chunks(valid) or []
    if kind == 6 and chunks:  # IHDR claiming an absurd size (decompression-bomb shape)
        ihdr = bytearray(chunks[0][1])
        ihdr[0:8] = struct.pack(
            ">II",
            draw(st.sampled_from([0, size, 1 << 16, 2**31 - 1])),
            draw(st.sampled_from([0, size, 1 << 16, 2**31 - 1])),
        )
        if draw(st.booleans()):
            ihdr[8] = draw(st.sampled_from([1, 2, 4, 8, 16, 3, 0, 255]))  # bit depth
            ihdr[9] = draw(st.sampled_from([0, 2, 3, 4, 6, 1, 7]))  # colour type
        chunks[0] = (b"IHDR", bytes(ihdr))
        return png_from_chunks(chunks)
    if kind == 7 and chunks:  # a zlib bomb behind a small, honest header
        bomb = zlib.compress(b"\x00" * draw(st.sampled_from([1 << 20, 1 << 24])), 9)
        return png_from_chunks([chunks[0], (b"IDAT", bomb), (b"IEND", b"")])
    if chunks:  # mutate inside chunks, then fix the CRCs so the decoder goes deeper
        i = draw(st.integers(0, len(chunks) - 1))
        chunks[i] = (chunks[i][0], mutate_bytes(chunks[i][1], draw, max_edits=3))
        if draw(st.booleans()):
            chunks.insert(
                draw(st.integers(0, len(chunks))),
                (
                    draw(
                        st.sampled_from(
                            [b"PLTE", b"tRNS", b"IDAT", b"zTXt", b"iCCP", b"acTL", b"IEND"]
                        )
                    ),
                    draw(st.binary(max_size=64)),
                ),
            )
        return png_from_chunks(chunks)
    return valid


def test_fuzz_png_materialize() -> None:
    family = GlyphBank()

    @FUZZ
    @given(st.data())
    def check(data: st.DataObject) -> None:
        size = data.draw(st.sampled_from([8, 16, 32]))
        files = {"t0.png": data.draw(png_bytes(size))}
        if data.draw(st.booleans()):
            files["t1.png"] = data.draw(pil_png(size))
        decl_doc = glyph_decl(UUID, "fuzz", list(files), tile_size=size)
        if data.draw(st.booleans()):
            decl_doc["output"]["pipeline"] = {
                "palettes": [
                    {
                        "index": 0,
                        "palette": {
                            "colors": data.draw(
                                st.lists(
                                    st.sampled_from(
                                        ["#000000", "#ffffff", "#ff0044", "#00ff00", "#0000ff"]
                                    ),
                                    max_size=16,
                                )
                            )
                        },
                    }
                ]
            }
        decl = AssetDeclaration.model_validate(decl_doc)
        count("fuzz.png")
        t0 = time.monotonic()
        outcome = family.materialize(decl, files)
        elapsed = time.monotonic() - t0
        assert elapsed < 10, f"materialize took {elapsed:.1f}s (decompression bomb?)"
        check_diagnostics(outcome.diagnostics)
        if outcome.materialized is None:
            assert any(d.blocking for d in outcome.diagnostics)
        else:
            assert not any(d.blocking for d in outcome.diagnostics)
            m = outcome.materialized
            assert len(m.payload) == PAYLOAD_SIZE and m.decoded_size == DECODED_SIZE
            assert m.metadata["tile_size"] == size
            assert m.metadata["tile_count"] == len(files)

    check()


# ------------------------------------------------------------------------------------------
# WAV


def wav(
    fmt: bytes,
    body: bytes,
    *,
    extra: list[tuple[bytes, bytes]] | None = None,
    data_first: bool = False,
    sizes: dict[bytes, int] | None = None,
) -> bytes:
    sizes = sizes or {}

    def chunk(kind: bytes, payload: bytes) -> bytes:
        n = sizes.get(kind, len(payload))
        return kind + struct.pack("<I", n) + payload + (b"\x00" if len(payload) & 1 else b"")

    parts = [chunk(b"fmt ", fmt), chunk(b"data", body)]
    if data_first:
        parts.reverse()
    for kind, payload in extra or []:
        parts.insert(1, chunk(kind, payload))
    riff = b"".join(parts)
    return b"RIFF" + struct.pack("<I", 4 + len(riff)) + b"WAVE" + riff


PCM_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


@st.composite
def wav_case(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    """WAV bytes, and the exact expected s16le payload when the file is a plain valid one."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200)), None
    if kind == 1:
        return b"RIFF" + draw(st.binary(max_size=8)) + b"WAVE" + draw(st.binary(max_size=200)), None
    plain = kind in (2, 3, 4)
    channels = 1 if plain else draw(st.sampled_from([0, 1, 2, 3, 8, 255, 65535]))
    bits = (
        draw(st.sampled_from([8, 16]))
        if plain
        else draw(st.sampled_from([0, 1, 4, 8, 12, 16, 20, 24, 32, 40, 64]))
    )
    rate = (
        draw(st.sampled_from([8000, 22050, 48000]))
        if plain
        else draw(st.sampled_from([0, 1, 7999, 8000, 44100, 48000, 48001, 96000, 2**32 - 1]))
    )
    width = max(bits // 8, 1)
    align = channels * width if plain or draw(st.booleans()) else draw(st.integers(0, 65535))
    tag = 1 if plain else draw(st.sampled_from([1, 1, 3, 2, 6, 0xFFFE, 0, 0x55]))
    fmt = struct.pack(
        "<HHIIHH", tag, channels, rate, rate * align & 0xFFFFFFFF, align & 0xFFFF, bits
    )
    if tag == 0xFFFE:
        sub = draw(st.sampled_from([1, 3, 2]))
        fmt += struct.pack("<HHIH", 22, bits, 0, sub) + (
            PCM_TAIL if draw(st.booleans()) else b"\x00" * 14
        )
    frames = draw(st.integers(0 if not plain else 1, 64))
    n = frames * max(align, 1)
    if n > 2048:  # keep examples small; the size mismatch is then the interesting part
        body = draw(st.binary(max_size=64))
    else:
        n += 0 if plain or draw(st.integers(0, 3)) else draw(st.sampled_from([-1, 1]))
        body = draw(st.binary(min_size=max(n, 0), max_size=max(n, 0)))
    if plain:
        expected = body if bits == 16 else b"".join(struct.pack("<h", (v - 128) << 8) for v in body)
        return wav(fmt, body), expected
    extra = (
        [
            (
                draw(st.sampled_from([b"LIST", b"fact", b"junk", b"data", b"fmt "])),
                draw(st.binary(max_size=9)),
            )
        ]
        if draw(st.booleans())
        else None
    )
    sizes = (
        {
            draw(st.sampled_from([b"fmt ", b"data"])): draw(
                st.sampled_from([0, 1, 15, 0x7FFFFFFF, 0xFFFFFFFF])
            )
        }
        if draw(st.booleans())
        else None
    )
    data = wav(fmt, body, extra=extra, data_first=draw(st.booleans()), sizes=sizes)
    if kind == 9:
        data = (
            mutate_bytes(data, draw)
            if draw(st.booleans())
            else data[: draw(st.integers(0, len(data)))]
        )
    return data, None


def test_fuzz_wav_materialize() -> None:
    family = SoundBank()

    @FUZZ
    @given(wav_case(), st.one_of(st.none(), st.tuples(st.integers(-5, 80), st.integers(-5, 80))))
    def check(case: tuple[bytes, bytes | None], loop: tuple[int, int] | None) -> None:
        data, expected = case
        doc = sound_decl(UUID, "fuzz", ["s.wav"])
        if loop is not None:
            doc["artifacts"][0].update(loop_start=loop[0], loop_end=loop[1])
        decl = AssetDeclaration.model_validate(doc)
        count("fuzz.wav")
        t0 = time.monotonic()
        outcome = family.materialize(decl, {"s.wav": data})
        assert time.monotonic() - t0 < 10
        check_diagnostics(outcome.diagnostics)
        if outcome.materialized is None:
            assert any(d.blocking for d in outcome.diagnostics)
            assert expected is None or loop is not None, [d.code for d in outcome.diagnostics]
            return
        m = outcome.materialized
        assert not any(d.blocking for d in outcome.diagnostics)
        assert len(m.payload) % 2 == 0 and m.decoded_size == len(m.payload)
        sample = m.metadata["samples"]["0"]
        assert sample["frames"] * 2 == len(m.payload) and m.metadata["sample_count"] == 1
        assert 8000 <= sample["sample_rate"] <= 48000
        if expected is not None:
            assert m.payload == expected, "valid mono PCM did not convert exactly"

    check()


# ------------------------------------------------------------------------------------------
# assets.pa


@pytest.fixture(scope="module")
def real_packs(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    out = []
    for n, (glyphs, sounds) in enumerate([(2, 2), (1, 0), (0, 1)]):
        game = tmp_path_factory.mktemp(f"pa{n}") / "game"
        svc = build_project(game, glyphs=glyphs, sounds=sounds, tiles=2, seed=n)
        assert svc.pack().status.value == "success"
        out.append((game / "build" / "assets.pa").read_bytes())
    return out


@st.composite
def pa_mutation(draw: st.DrawFn, packs: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(packs)))
    header_len = struct.unpack_from("<I", data, 16)[0]
    kind = draw(st.integers(0, 6))
    if kind == 0:  # flip bytes in the prelude or the header
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, 24 + header_len - 1))] ^= draw(st.integers(1, 255))
    elif kind == 1:  # absurd prelude numbers
        field = draw(st.sampled_from([4, 8, 12, 16, 20]))
        data[field : field + 4] = struct.pack(
            "<I",
            draw(
                st.sampled_from(
                    [0, 1, 23, 24, 25, header_len - 1, header_len + 1, 2**31, 2**32 - 1]
                )
            ),
        )
    elif kind == 2:  # truncate or extend
        if draw(st.booleans()):
            del data[draw(st.integers(0, len(data))) :]
        else:
            data += draw(st.binary(min_size=1, max_size=40))
    elif kind == 3:  # a different, well-framed header
        header = json.loads(data[24 : 24 + header_len])
        header = mutate_doc(header, draw, max_edits=3)
        text = json.dumps(
            header, separators=(",", ":"), sort_keys=draw(st.booleans()), ensure_ascii=False
        ).replace(json.dumps(HUGE_INT), "9" * 40)
        for kind_, depth in (("list", 5000), ("dict", 5000)):
            text = text.replace(json.dumps(DEEP.format(kind_, depth)), "[" * 50 + "]" * 50)
        raw = text.encode("utf-8", errors="surrogatepass")
        payload = bytes(data[(24 + header_len + 15) // 16 * 16 :])
        offset = (24 + len(raw) + 15) // 16 * 16
        data = bytearray(
            struct.pack("<4sIIIII", b"PMPA", 1, 0, 0, len(raw), offset)
            + raw
            + b"\x00" * (offset - 24 - len(raw))
            + payload
        )
    elif kind == 4:  # scribble anywhere
        data = bytearray(mutate_bytes(bytes(data), draw))
    elif kind == 5:  # random bytes with a plausible prelude
        data = bytearray(
            b"PMPA"
            + struct.pack("<IIIII", 1, 0, 0, draw(st.integers(0, 64)), draw(st.integers(0, 96)))
            + draw(st.binary(max_size=120))
        )
    return bytes(data)


def test_fuzz_assets_pa_reader(real_packs: list[bytes]) -> None:
    for data in real_packs:
        assert read_assets_pa(data).problems == []

    @FUZZ
    @given(pa_mutation(real_packs))
    def check(data: bytes) -> None:
        count("fuzz.assets_pa")
        result = read_assets_pa(data)
        assert isinstance(result, ReadResult)
        check_diagnostics(result.problems)
        assert all(p.code.startswith("pa.") for p in result.problems)
        assert isinstance(result.asset_table, list) and isinstance(result.preload, list)
        if result.ok:
            for entry in result.asset_table:
                payload = result.payload(entry["asset_id"])
                assert len(payload) == entry["size"]

    check()


# ------------------------------------------------------------------------------------------
# The same, through the CLI of a real project


@pytest.fixture(scope="module")
def cli_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Zygote]]:
    base = tmp_path_factory.mktemp("cli-fuzz")
    game = base / "game"
    svc = build_project(game, glyphs=1, tiles=2, sounds=1)
    assert svc.pack().status.value == "success"
    with Zygote(base / "zygote") as z:
        yield game, z


def test_fuzz_asset_json_through_the_cli(cli_world: tuple[Path, Zygote]) -> None:
    game, zygote = cli_world
    build = game / "build"
    roots = {
        "gfx/bank_0": (game / "assets/gfx/bank_0/asset.json").read_bytes(),
        "sfx/snd_0": (game / "assets/sfx/snd_0/asset.json").read_bytes(),
    }
    state = {"build": read_build(build)}

    @st.composite
    def fuzzed(draw: st.DrawFn) -> tuple[str, bytes]:
        root = draw(st.sampled_from(sorted(roots)))
        kind = draw(st.integers(0, 9))
        if kind == 0:
            return root, draw(st.binary(max_size=100))
        if kind == 1:
            return root, roots[root]  # untouched: must pack
        doc = json.loads(roots[root])
        return root, encode(mutate_doc(doc, draw, max_edits=2), draw)

    @CLI_FUZZ
    @given(fuzzed())
    @example(
        (
            "gfx/bank_0",
            _spliced(json.loads(roots["gfx/bank_0"]), ("output", "metadata"), "x", "9" * 5000),
        )
    )
    @example(
        (
            "gfx/bank_0",
            _spliced(json.loads(roots["gfx/bank_0"]), ("output", "pipeline"), "dither", "0.5"),
        )
    )
    @example(
        (
            "sfx/snd_0",
            _spliced(json.loads(roots["sfx/snd_0"]), ("output", "pipeline"), "gain", "NaN"),
        )
    )
    @example(
        (
            "gfx/bank_0",
            _spliced(
                json.loads(roots["gfx/bank_0"]),
                ("output", "metadata"),
                "deep",
                "[" * 800 + "]" * 800,
            ),
        )
    )
    def check(case: tuple[str, bytes]) -> None:
        root, data = case
        for r, original in roots.items():
            (game / "assets" / r / "asset.json").write_bytes(data if r == root else original)
        count("fuzz.cli_asset_json")
        validate = zygote.run(["validate", "--json"], game, timeout=120)
        assert_clean_exit(validate, "validate")
        v = validate.json()
        assert v["status"] in ("success", "blocked"), v["summary"]
        assert (validate.exit == 0) == v["green"] == (v["status"] == "success")
        pack = zygote.run(["pack", "--json"], game, timeout=120)
        assert_clean_exit(pack, "pack")
        p = pack.json()
        assert p["status"] in ("success", "blocked"), (
            f"pack {p['status']} on a bad asset.json (bad input must block, not fail): "
            f"{p['summary']}"
        )
        assert (p["status"] == "success") == v["green"], (
            f"validate green={v['green']} but pack {p['status']}: {p['summary']}"
        )
        if p["status"] == "blocked":
            assert p["diagnostics"] and read_build(build) == state["build"], (
                "blocked pack changed build/"
            )
        else:
            assert not build_problems(build)
            state["build"] = read_build(build)

    check()
