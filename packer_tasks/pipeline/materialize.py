"""Materializing one asset: key it, ask the cache, and only on a miss run its family.

The cache key (SPEC §11) covers everything that changes the payload or its header metadata:
the packer payload-format version, family, format, codec, metadata, pipeline, and each
artifact's index, path and content digest. Names, absolute paths and mtimes never enter it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometeu_cache.keys import blake3_hex, cache_key
from prometeu_cache.store import CacheStore
from prometeu_cache.tiered import TieredCache, TieredLookup

from ..events.sink import OperationEmitter
from ..families import get_family
from ..families import glyph_bank as _glyph_bank
from ..families.base import MaterializeOutcome
from ..format_versions import PAYLOAD_FORMAT_VERSION
from ..models.declaration import AssetDeclaration
from ..models.diagnostic import Diagnostic, any_blocking
from ..models.diagnostic_codes import input_unreadable
from ..models.event import AssetRef, EventKind
from ..workspace.project import Project
from ..workspace.snapshot import RegisteredAsset
from .frozen import FrozenInputs
from .previous import PreviousBuild, PreviousPayload


@dataclass(frozen=True)
class AssetBuild:
    """What the pack needs of one materialized asset (the payload itself lives elsewhere)."""

    asset_id: int
    root: str
    name: str
    asset_uuid: str
    family: str
    format: str
    bank_type: str
    codec: str
    decoded_size: int
    metadata: dict[str, Any]
    payload_size: int
    payload_blake3: str
    cache_key: str
    key_material: dict[str, Any]
    inputs: list[dict[str, str]]
    pipeline: dict[str, Any]
    cache_hit: bool
    preload_enabled: bool
    preload_slot: int | None


@dataclass(frozen=True)
class Pending:
    """A cache miss with its frozen input bytes, waiting for its family's decode."""

    asset: RegisteredAsset
    decl: AssetDeclaration
    key: str
    material: dict[str, Any]
    files: dict[str, bytes]
    want_payload: bool


def decode(family_name: str, decl: AssetDeclaration, files: dict[str, bytes]) -> MaterializeOutcome:
    """The family's pure decode (picklable: a worker process may run it)."""
    family = get_family(family_name)
    assert family is not None
    return family.materialize(decl, files)


@dataclass
class MaterializeReport:
    build: AssetBuild | None
    payload: bytes | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Set when the payload is the previous build's bytes (read them from there).
    reused: PreviousPayload | None = None


def key_material(decl: AssetDeclaration, digests: dict[str, str]) -> dict[str, Any]:
    family = get_family(decl.type)
    assert family is not None
    material: dict[str, Any] = _spell_floats(family.key_material(decl))
    material["packer_format_version"] = PAYLOAD_FORMAT_VERSION
    material["artifacts"] = [{**a, "blake3": digests[a["file"]]} for a in material["artifacts"]]
    return material


def _spell_floats(value: Any) -> Any:
    """Floats may appear in tooling-only pipeline data; keys spell them as tagged strings
    (Python's shortest round-trip repr) so the key recipe itself stays float-free."""
    if isinstance(value, float):
        return {"$float": repr(value)}
    if isinstance(value, dict):
        return {k: _spell_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_spell_floats(v) for v in value]
    return value


class Materializer:
    """Materializes assets for one run, sharing frozen inputs, cache and event stamps."""

    def __init__(
        self,
        project: Project,
        frozen: FrozenInputs,
        cache: CacheStore | TieredCache | None,
        emitter: OperationEmitter,
        previous: Callable[[], PreviousBuild | None] | None = None,
    ) -> None:
        self.project = project
        self._assets_dir = str(project.assets_dir)
        self.frozen = frozen
        self.cache = cache
        self.em = emitter
        # One outcome per asset per run ("hit", "miss" or "up_to_date" when a build system
        # skipped it); a later lookup of the same asset in the run is not counted again.
        self.outcomes: dict[int, str] = {}
        self.from_remote: set[int] = set()  # hits the remote tier answered
        # (root, declaration identity, input digests) -> (declaration, key, material)
        self._keys: dict[tuple[Any, ...], tuple[AssetDeclaration, str, dict[str, Any]]] = {}
        # The build in build/ (read on first need): an asset keyed as there keeps its bytes
        # (a pack) and is known to pass the content checks (validate, doctor).
        self._previous_of = previous
        self._previous: PreviousBuild | None = None
        self._previous_read = previous is None

    @property
    def previous(self) -> PreviousBuild | None:
        if not self._previous_read and self._previous_of is not None:
            self._previous_read = True
            self._previous = self._previous_of()
        return self._previous

    @property
    def hits(self) -> int:
        return sum(1 for o in self.outcomes.values() if o == "hit")

    @property
    def remote_hits(self) -> int:
        return sum(1 for i in self.from_remote if self.outcomes.get(i) == "hit")

    @property
    def misses(self) -> int:
        return sum(1 for o in self.outcomes.values() if o == "miss")

    @property
    def up_to_date(self) -> int:
        return sum(1 for o in self.outcomes.values() if o == "up_to_date")

    def _record(self, asset_id: int, outcome: str) -> bool:
        """Record the asset's outcome; False when it was already accounted for this run."""
        previous = self.outcomes.get(asset_id)
        if previous is not None and not (outcome == "miss" and previous == "up_to_date"):
            return False
        self.outcomes[asset_id] = outcome
        return True

    def _labels(self, root: str, decl: AssetDeclaration) -> list[str]:
        return [self._label(root, rel) for rel in {a.file for a in decl.artifacts}]

    def _label(self, root: str, rel: str) -> str:
        return f"assets/{root}/{rel}"

    def digests(self, asset: RegisteredAsset) -> dict[str, str]:
        decl = asset.loaded.declaration
        assert decl is not None
        root = asset.entry.root
        base = os.path.join(self._assets_dir, root)
        return {
            f: self.frozen.digest(os.path.join(base, f), self._label(root, f))
            for f in sorted({a.file for a in decl.artifacts})
        }

    def cache_key_of(self, asset: RegisteredAsset) -> tuple[str, dict[str, Any]]:
        """The asset's key. Inputs are frozen for the run (their digests never change
        once known), so a declaration's key is computed once per run, not per lookup."""
        decl = asset.loaded.declaration
        assert decl is not None
        digests = self.digests(asset)
        memo_key = (asset.entry.root, id(decl), tuple(sorted(digests.items())))
        known = self._keys.get(memo_key)
        if known is not None and known[0] is decl:
            return known[1], known[2]
        material = key_material(decl, digests)
        key = cache_key(material)
        self._keys[memo_key] = (decl, key, material)
        return key, material

    def materialize(
        self, asset: RegisteredAsset, *, want_payload: bool = True
    ) -> MaterializeReport:
        """Hit the cache or run the family. Never raises for bad input bytes."""
        found = self.look_up(asset, want_payload=want_payload)
        if isinstance(found, MaterializeReport):
            return found
        return self.finish(found, decode(found.decl.type, found.decl, found.files))

    def look_up(
        self, asset: RegisteredAsset, *, want_payload: bool = True
    ) -> MaterializeReport | Pending:
        """Everything but the family's decode: the previous build, the cache, and on a
        miss the frozen input bytes (the decode may then run in another process)."""
        entry, decl = asset.entry, asset.loaded.declaration
        assert decl is not None and not any_blocking(asset.loaded.diagnostics)
        family = get_family(decl.type)
        assert family is not None
        ref = AssetRef(asset_id=entry.asset_id, root=entry.root)
        try:
            key, material = self.cache_key_of(asset)
        except OSError as exc:
            return MaterializeReport(None, None, [self._io_error(asset, exc)])
        reused = self.previous.by_key.get(key) if self.previous is not None else None
        if reused is not None:
            self.frozen.release(self._labels(entry.root, decl))
            self._record(entry.asset_id, "up_to_date")
            meta = {"decoded_size": reused.decoded_size, "metadata": reused.metadata}
            size, digest = reused.size, reused.payload_blake3
            build = self._build(asset, key, material, meta, size, digest)
            return MaterializeReport(build, None, reused=reused)
        if self.cache is not None:
            look = self.cache.get(key, lambda p, m: _hit_problem(decl, m, p))
            if (
                look.hit
                and look.payload is not None
                and look.meta is not None
                and _meta_fits(look.meta, material)
            ):
                # Bytes read only to key this asset are not needed any more.
                self.frozen.release(self._labels(entry.root, decl))
                tier = look.tier if isinstance(look, TieredLookup) else "local"
                if self._record(entry.asset_id, "hit"):
                    if tier == "remote":
                        self.from_remote.add(entry.asset_id)
                    self.em.emit(
                        EventKind.CACHE_HIT,
                        f"cache hit for {entry.root} ({tier})",
                        assets=[ref],
                        data={"cache_key": key, "tier": tier},
                    )
                digest = look.payload_blake3 or blake3_hex(look.payload)
                size = len(look.payload)
                build = self._build(asset, key, material, look.meta, size, digest, hit=True)
                return MaterializeReport(build, look.payload if want_payload else None)
            reason = look.reason or (
                "record does not match its key" if look.hit else "not in cache"
            )
        else:
            reason = "cache disabled"
        data_evicted = self.cache is not None and look.evicted_corrupt
        if self._record(entry.asset_id, "miss"):
            self.em.emit(
                EventKind.CACHE_MISS,
                f"cache miss for {entry.root} ({reason})",
                assets=[ref],
                data={
                    "cache_key": key,
                    "reason": reason,
                    "evicted_corrupt": data_evicted,
                    "tier": _miss_tier(self.cache),
                },
            )
        base = os.path.join(self._assets_dir, entry.root)
        files: dict[str, bytes] = {}
        labels: list[str] = []
        try:
            for rel in sorted({a.file for a in decl.artifacts}):
                label = self._label(entry.root, rel)
                labels.append(label)
                files[rel], _digest = self.frozen.read(os.path.join(base, rel), label)
        except OSError as exc:
            return MaterializeReport(None, None, [self._io_error(asset, exc)])
        self.frozen.release(labels)  # the bytes live on in `files` until decoded
        # The bytes we hold are the frozen truth; re-key if the memo's digest was stale.
        key, material = self.cache_key_of(asset)
        return Pending(asset, decl, key, material, files, want_payload)

    def finish(self, pending: Pending, outcome: MaterializeOutcome) -> MaterializeReport:
        """The decoded asset: its diagnostics, or its payload stored in the cache."""
        asset, decl, key, material = pending.asset, pending.decl, pending.key, pending.material
        entry, want_payload = asset.entry, pending.want_payload
        family = get_family(decl.type)
        assert family is not None
        diags = [d.located(entry.asset_id, entry.root) for d in outcome.diagnostics]
        if outcome.materialized is None or any_blocking(diags):
            return MaterializeReport(None, None, diags)
        m = outcome.materialized
        meta = {
            "decoded_size": m.decoded_size,
            "metadata": m.metadata,
            "family": family.type_name,
            "format": family.format,
            "key_material": material,
        }
        if self.cache is not None:
            self.cache.put(key, m.payload, meta)
        build = self._build(asset, key, material, meta, len(m.payload), blake3_hex(m.payload))
        return MaterializeReport(build, m.payload if want_payload else None, diags)

    def _build(
        self,
        asset: RegisteredAsset,
        key: str,
        material: dict[str, Any],
        meta: dict[str, Any],
        payload_size: int,
        payload_blake3: str,
        *,
        hit: bool = False,
    ) -> AssetBuild:
        entry, decl = asset.entry, asset.loaded.declaration
        family = get_family(decl.type) if decl is not None else None
        assert decl is not None and family is not None
        bank_type = family.bank_type
        return AssetBuild(
            asset_id=entry.asset_id,
            root=entry.root,
            name=decl.name,
            asset_uuid=decl.asset_uuid,
            family=decl.type,
            format=decl.output.format,
            bank_type=bank_type,
            codec=decl.output.codec,
            decoded_size=int(meta["decoded_size"]),
            metadata=dict(meta["metadata"]),
            payload_size=payload_size,
            payload_blake3=payload_blake3,
            cache_key=key,
            key_material=material,
            inputs=[{"file": a["file"], "blake3": a["blake3"]} for a in material["artifacts"]],
            pipeline=decl.output.pipeline,
            cache_hit=hit,
            preload_enabled=decl.preload.enabled,
            preload_slot=decl.preload.slot,
        )

    def _io_error(self, asset: RegisteredAsset, exc: OSError) -> Diagnostic:
        return input_unreadable(str(exc.filename or ""), str(exc.strerror or exc)).located(
            asset.entry.asset_id, asset.entry.root
        )


def _miss_tier(cache: CacheStore | TieredCache | None) -> str | None:
    """The last tier asked before a miss (None when there is no cache)."""
    if cache is None:
        return None
    return "remote" if isinstance(cache, TieredCache) else "local"


def _meta_fits(meta: dict[str, Any] | None, material: dict[str, Any]) -> bool:
    """A restored cache is untrusted: a hit must carry a well-formed record for this key."""
    return (
        isinstance(meta, dict)
        and isinstance(meta.get("decoded_size"), int)
        and isinstance(meta.get("metadata"), dict)
        and meta.get("key_material") == material
    )


def _hit_problem(decl: AssetDeclaration, meta: dict[str, Any], payload: bytes) -> str | None:
    """The family checks a fresh materialization passes, applied to a cache hit (SPEC §11):
    exact size for fixed-size formats, header metadata consistent with the payload."""
    md = meta.get("metadata")
    decoded = meta.get("decoded_size")
    if not isinstance(md, dict) or type(decoded) is not int:
        return "record is malformed"
    arts = decl.sorted_artifacts()
    if decl.type == "glyph_bank":
        payload_size, decoded_size = _glyph_bank.expected_sizes()
        if len(payload) != payload_size or decoded != decoded_size:
            return f"glyph payload is {len(payload)} bytes, expected {payload_size}"
        expected = {
            "tile_size": _glyph_bank.tile_size_of(decl),
            "width": _glyph_bank.SHEET_SIZE,
            "height": _glyph_bank.SHEET_SIZE,
            "palette_count": _glyph_bank.PALETTE_COUNT,
            "tile_count": len(arts),
        }
        authored = md.get("palette_authored")
        if (
            set(md) != {*expected, "palette_authored"}
            or any(md.get(k) != v or type(md.get(k)) is not int for k, v in expected.items())
            or type(authored) is not int
            or not 1 <= authored <= _glyph_bank.PALETTE_COUNT
        ):
            return "glyph metadata does not match the declaration"
        return None
    if decl.type == "sound_bank":
        samples = md.get("samples")
        if (
            decoded != len(payload)
            or md.get("channels") != 1
            or md.get("sample_count") != len(arts)
            or not isinstance(samples, dict)
            or set(samples) != {str(a.index) for a in arts}
        ):
            return "sound metadata does not match the payload"
        offset = 0
        for art in arts:
            info = samples[str(art.index)]
            loops = {"loop_start": art.loop_start, "loop_end": art.loop_end}
            if art.loop_start is None or art.loop_end is None:
                loops = {}
            frames = info.get("frames") if isinstance(info, dict) else None
            rate = info.get("sample_rate") if isinstance(info, dict) else None
            if (
                not isinstance(info, dict)
                or set(info) != {"offset", "frames", "sample_rate", *loops}
                or type(info.get("offset")) is not int
                or info["offset"] != offset
                or type(frames) is not int
                or frames < 0
                or type(rate) is not int
                or rate <= 0
                or any(info.get(k) != v for k, v in loops.items())
            ):
                return f"sound metadata for sample {art.index} does not match the payload"
            offset += 2 * frames
        if offset != len(payload):
            return f"sound payload is {len(payload)} bytes, metadata says {offset}"
        return None
    return None
