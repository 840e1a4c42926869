"""The diagnostic catalogue of SPEC §7: every code the packer emits, in one table.

Codes are a stable contract: CI scripts, editors and the runtime team match on them, so a
code is never renamed or reused, and a test keeps this table in step with the source.

`blocking` states whether a finding blocks the pack *when it concerns a build-set asset*
(or the registry). Doctor reports the same structural problems on excluded and unregistered
roots with their own severity but `blocking: false`, because they never stop a build.
`kind` says where a code comes from: `structural` (registry and declarations, no input bytes
read), `family` (decoding PNG/WAV), `hygiene` (advice), `operation` (a refused request),
`build` (pack execution) and `artifact` (checking an existing `assets.pa`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ..models.diagnostic import Severity
from ..models.results import OperationResult


class CodeKind(StrEnum):
    STRUCTURAL = "structural"
    FAMILY = "family"
    HYGIENE = "hygiene"
    OPERATION = "operation"
    BUILD = "build"
    ARTIFACT = "artifact"


class CatalogEntry(BaseModel):
    """One stable code: its severity, whether it blocks, what it means, its safe fixes."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    blocking: bool
    kind: CodeKind
    description: str
    fixes: list[str] = Field(default_factory=list)


class CatalogResult(OperationResult):
    """`doctor --catalog`: the whole table, sorted by code."""

    entries: list[CatalogEntry] = Field(default_factory=list)


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_S, _F, _H = CodeKind.STRUCTURAL, CodeKind.FAMILY, CodeKind.HYGIENE
_O, _B, _A = CodeKind.OPERATION, CodeKind.BUILD, CodeKind.ARTIFACT

# (code, severity, kind, description[, space-separated fix ids]); blocking = severity error.
_TABLE: list[tuple[str, Severity, CodeKind, str] | tuple[str, Severity, CodeKind, str, str]] = [
    # -- adopt and set ------------------------------------------------------------------------
    ("adopt.no_files", _E, _O, "adopt: the folder holds no PNG or WAV files to declare"),
    ("adopt.family_unknown", _E, _O, "adopt: both PNG and WAV files; --family picks one"),
    ("adopt.order_invalid", _E, _O, "adopt --order names a file that is not an input there"),
    ("setting.invalid", _E, _O, "set: the setting or its value does not fit this asset"),
    # -- registry ---------------------------------------------------------------------------
    ("registry.missing", _E, _S, "assets/.prometeu/index.json does not exist; run `init`"),
    ("registry.unreadable", _E, _S, "the registry file exists but cannot be read"),
    ("registry.invalid_json", _E, _S, "the registry is not UTF-8 JSON (line/column named)"),
    ("registry.schema", _E, _S, "the registry does not match its schema (fields named)"),
    (
        "registry.schema_version_unsupported",
        _E,
        _S,
        "the registry's schema_version is not 1; nothing is migrated silently",
    ),
    ("registry.duplicate_id", _E, _S, "two registry entries share an asset_id"),
    ("registry.duplicate_root", _E, _S, "two registry entries point at the same root"),
    (
        "registry.duplicate_uuid",
        _E,
        _S,
        "two registry entries (or a new registration) share an asset_uuid",
    ),
    (
        "registry.root_invalid",
        _E,
        _S,
        "a registry root is absolute, escapes assets/, uses backslashes or is not normalized",
        "normalize_separators",
    ),
    (
        "registry.allocator_behind",
        _E,
        _S,
        "next_asset_id is not above every issued id, so an id could be reused",
        "advance_allocator",
    ),
    (
        "registry.not_canonical",
        _W,
        _S,
        "the registry is valid but not in canonical form (keys, indent, order, newline)",
        "canonicalize_registry",
    ),
    # -- asset roots and asset.json ---------------------------------------------------------
    (
        "asset.root_missing",
        _E,
        _S,
        "a registered root folder does not exist (moved, renamed or deleted by hand)",
        "follow_moved_root drop_missing_entry normalize_separators",
    ),
    (
        "asset.uuid_mismatch",
        _E,
        _S,
        "asset.json's asset_uuid differs from the one the registry holds for that root",
    ),
    ("declaration.missing", _E, _S, "a registered root exists but holds no asset.json"),
    ("declaration.unreadable", _E, _S, "asset.json exists but cannot be read"),
    ("declaration.invalid_json", _E, _S, "asset.json is not UTF-8 JSON (line/column named)"),
    (
        "declaration.schema",
        _E,
        _S,
        "asset.json does not match the asset schema (fields named)",
        "add_preload_disabled",
    ),
    ("declaration.schema_version_unsupported", _E, _S, "asset.json's schema_version is not 1"),
    ("declaration.uuid_invalid", _E, _S, "asset_uuid is not a lower-case UUID4 string"),
    ("declaration.unknown_family", _E, _S, "`type` names no known asset family"),
    ("artifact.file_not_declared", _E, _S, "an artifact's file is not listed in inputs"),
    ("artifact.index_duplicate", _E, _S, "two artifacts share an index"),
    ("artifact.index_gap", _E, _S, "artifact indices are not exactly 0..n-1"),
    ("artifact.none", _E, _S, "an asset declares no artifacts (or `new` got no files)"),
    ("artifact.over_capacity", _E, _S, "more artifacts than the family's capacity allows"),
    ("output.format_mismatch", _E, _S, "output.format is not the family's format"),
    ("output.codec_unsupported", _E, _S, "output.codec is not one the family supports"),
    ("metadata.float", _E, _S, "runtime metadata holds a float; the header allows integers"),
    # -- paths and inputs -------------------------------------------------------------------
    (
        "path.invalid",
        _E,
        _S,
        "a path is empty, padded, has control characters, or cannot be resolved",
    ),
    (
        "path.backslash",
        _E,
        _S,
        "a declared path uses backslashes instead of '/'",
        "normalize_separators",
    ),
    ("path.absolute", _E, _S, "a declared path is absolute"),
    ("path.escapes_root", _E, _S, "a declared path uses '..' to leave its asset root"),
    ("path.not_normalized", _E, _S, "a declared path has empty or '.' segments"),
    ("path.symlink_escapes", _E, _S, "a declared path is a link resolving outside the root"),
    ("input.missing", _E, _S, "a declared input file does not exist"),
    ("input.unreadable", _E, _S, "a declared input exists but cannot be read"),
    ("input.not_a_file", _E, _S, "a declared input is a folder or other non-file"),
    # -- preload ----------------------------------------------------------------------------
    ("preload.slot_out_of_range", _E, _S, "an explicit preload slot is outside 0..15"),
    ("preload.slot_clash", _E, _S, "two build-set assets of one bank type claim one slot"),
    ("preload.slot_overflow", _E, _S, "more than 16 preloads in one bank type"),
    # -- glyph_bank -------------------------------------------------------------------------
    ("glyph.tile_size_invalid", _E, _F, "output.metadata.tile_size is not 8, 16 or 32"),
    ("glyph.input_not_png", _E, _F, "a glyph_bank artifact does not end in .png"),
    ("glyph.palette_malformed", _E, _F, "output.pipeline.palettes has the wrong shape"),
    ("glyph.palette_count_exceeded", _E, _F, "more than 64 palettes declared"),
    ("glyph.palette_index_out_of_range", _E, _F, "a palette index is outside 0..63"),
    ("glyph.palette_index_duplicate", _E, _F, "two palettes declare the same index"),
    ("glyph.palette_too_many_colors", _E, _F, "a palette lists more than 16 colours"),
    ("glyph.palette_color_invalid", _E, _F, "a palette colour is not a '#rrggbb' string"),
    ("glyph.png_unreadable", _E, _F, "an artifact's bytes are not a decodable PNG"),
    ("glyph.tile_dimensions", _E, _F, "a PNG is not exactly tile_size x tile_size pixels"),
    ("glyph.index_out_of_range", _E, _F, "an indexed PNG uses a colour index >= 16"),
    (
        "glyph.color_not_in_palette",
        _E,
        _F,
        "an opaque pixel's colour is not in palette 0 (file and pixel named)",
    ),
    (
        "glyph.derived_palette_overflow",
        _E,
        _F,
        "no palette declared and more than 15 distinct opaque colours",
    ),
    (
        "glyph.indexed_palette_conflict",
        _E,
        _F,
        "no palette declared and indexed PNGs disagree on a colour they use",
    ),
    # -- sound_bank -------------------------------------------------------------------------
    ("sound.input_not_wav", _E, _F, "a sound_bank artifact does not end in .wav"),
    ("sound.loop_incomplete", _E, _F, "only one of loop_start / loop_end is given"),
    ("sound.loop_invalid", _E, _F, "loop_start is negative or not below loop_end"),
    ("sound.loop_out_of_range", _E, _F, "loop_end is past the sample's last frame"),
    ("sound.wav_unreadable", _E, _F, "not a RIFF/WAVE file or no usable fmt/data chunk"),
    ("sound.wav_truncated", _E, _F, "a WAV chunk runs past the end, or a partial frame"),
    ("sound.not_pcm", _E, _F, "the WAV encoding is not integer PCM (float, ADPCM, ...)"),
    ("sound.bit_depth_unsupported", _E, _F, "PCM that is not 8, 16, 24 or 32-bit"),
    ("sound.empty", _E, _F, "the WAV holds no audio frames"),
    ("sound.sample_rate_out_of_range", _E, _F, "sample rate outside 8000..48000 Hz"),
    # -- hygiene (advice; never blocks) -----------------------------------------------------
    (
        "hygiene.unregistered_root",
        _W,
        _H,
        "a folder with asset.json has no registry entry, so it is never built; adopt it",
    ),
    (
        "hygiene.uuid_in_use",
        _W,
        _H,
        "an unregistered root carries the asset_uuid of a registered asset (a copy?)",
    ),
    (
        "hygiene.duplicate_content",
        _W,
        _H,
        "two asset roots hold files with identical content (same blake3)",
    ),
    ("hygiene.unused_file", _I, _H, "a file in an asset root that no artifact uses"),
    (
        "hygiene.unused_large_file",
        _W,
        _H,
        "a file over 1 MiB in an asset root that no artifact uses",
    ),
    (
        "hygiene.naming",
        _I,
        _H,
        "a root or file name with spaces, upper case or non-ASCII characters",
    ),
    ("hygiene.excluded_asset", _I, _H, "a registered asset is excluded from the build"),
    ("hygiene.nested_root", _W, _H, "an asset root lies inside another asset root"),
    ("hygiene.stray_file", _I, _H, "files under assets/ that belong to no asset root"),
    (
        "hygiene.quarantined_asset",
        _I,
        _H,
        "an asset sits in assets/.prometeu/quarantine/ and is out of the build",
    ),
    # -- refused operations -----------------------------------------------------------------
    ("asset.not_found", _E, _O, "no asset (registered or not) is addressed by the reference"),
    ("asset.not_registered", _E, _O, "the reference names no registered asset"),
    ("asset.already_registered", _E, _O, "the root is already in the registry"),
    ("asset.root_exists", _E, _O, "the destination root already exists"),
    ("asset.root_nested", _E, _O, "the destination would nest with another asset root"),
    ("path.reserved", _E, _O, "the destination is inside assets/.prometeu"),
    ("input.wrong_type", _E, _O, "`new` got a file of the wrong type for the family"),
    ("input.duplicate_name", _E, _O, "`new` got several files with the same name"),
    ("io.failed", _E, _O, "the filesystem refused a write (space, permissions)"),
    ("lane.busy", _E, _O, "another packer command held the project's write lane too long"),
    ("quarantine.not_found", _E, _O, "no quarantined asset has that name"),
    ("quarantine.record_invalid", _E, _O, "a quarantine record is missing or unreadable"),
    ("quarantine.files_missing", _E, _O, "a quarantine record's files folder is gone"),
    (
        "quarantine.files_changed",
        _W,
        _O,
        "quarantined files differ from the record (they are restored as they are now)",
    ),
    (
        "quarantine.target_occupied",
        _E,
        _O,
        "the original root (or its registry slot) is occupied; restore would overwrite",
    ),
    (
        "quarantine.identity_taken",
        _E,
        _O,
        "the quarantined asset's asset_id or asset_uuid is now used by another entry",
    ),
    # -- pack execution ---------------------------------------------------------------------
    ("build.materialization_failed", _E, _B, "an asset could not be materialized mid-pack"),
    ("build.promotion_failed", _E, _B, "build outputs could not be written or promoted"),
    ("build.cache_unavailable", _W, _B, "the cache cannot be used; the build ran without it"),
    (
        "build.remote_cache_unavailable",
        _W,
        _B,
        "the remote cache tier failed (down, slow, errors) or uploads did not finish; "
        "the build went on locally",
    ),
    (
        "build.remote_cache_corrupt",
        _W,
        _B,
        "remote cache entries failed verification; they were treated as misses",
    ),
    (
        "config.invalid_setting",
        _W,
        _O,
        "a packer setting (pyproject.toml table, environment) is malformed and was ignored",
    ),
    # -- checking an assets.pa (inspect) ----------------------------------------------------
    ("pa.unreadable", _E, _A, "the assets.pa file cannot be read"),
    ("pa.bad_metadata", _E, _A, "an asset's header metadata has the wrong types or ranges"),
    ("pa.extract_failed", _E, _A, "a packed asset could not be rendered back into files"),
    ("pa.truncated", _E, _A, "the file ends before the prelude or payload region"),
    ("pa.header_out_of_bounds", _E, _A, "header_len runs past the end of the file"),
    ("pa.nonzero_padding", _E, _A, "padding between header and payloads is not zero"),
    ("pa.bad_magic", _E, _A, "the magic is not 'PMPA'"),
    ("pa.bad_schema_version", _E, _A, "the prelude schema_version is not 1"),
    ("pa.bad_flags", _E, _A, "prelude flags are not 0"),
    ("pa.bad_reserved", _E, _A, "the prelude reserved field is not 0"),
    ("pa.bad_payload_offset", _E, _A, "payload_offset is not align16(24 + header_len)"),
    ("pa.header_not_utf8", _E, _A, "the header is not UTF-8"),
    ("pa.header_not_json", _E, _A, "the header is not JSON"),
    ("pa.header_float", _E, _A, "the header holds a float"),
    ("pa.header_not_canonical", _E, _A, "the header is not canonical JSON"),
    ("pa.header_shape", _E, _A, "the header is not {asset_table, preload}"),
    ("pa.entry_shape", _E, _A, "an asset_table entry has missing, extra or mistyped keys"),
    ("pa.bad_asset_id", _E, _A, "an asset_table asset_id is not an int > 0"),
    ("pa.entry_order", _E, _A, "asset_table is not ordered by increasing asset_id"),
    ("pa.bad_size", _E, _A, "an offset, size or decoded_size is not an int >= 0"),
    ("pa.misaligned_offset", _E, _A, "a payload offset is not 16-aligned"),
    ("pa.overlap", _E, _A, "two payloads overlap"),
    ("pa.nonzero_gap", _E, _A, "the gap before a payload is not zero bytes"),
    ("pa.gap_not_minimal", _W, _A, "a payload starts later than the next aligned offset"),
    ("pa.payload_out_of_bounds", _E, _A, "a payload runs past the payload region"),
    ("pa.trailing_bytes", _E, _A, "bytes follow the last payload"),
    ("pa.preload_shape", _E, _A, "a preload item is not {asset_id, slot} of ints"),
    ("pa.preload_order", _E, _A, "preload is not ordered by increasing asset_id"),
    ("pa.preload_unknown_asset", _E, _A, "preload names an asset not in asset_table"),
    ("pa.preload_slot_range", _E, _A, "a preload slot is outside 0..15"),
    ("pa.preload_slot_clash", _E, _A, "two preloads of one bank type share a slot"),
]


def _entry(
    row: tuple[str, Severity, CodeKind, str] | tuple[str, Severity, CodeKind, str, str],
) -> CatalogEntry:
    code, severity, kind, description = row[:4]
    fixes = row[4].split() if len(row) == 5 else []
    return CatalogEntry(
        code=code,
        severity=severity,
        blocking=severity is Severity.ERROR,
        kind=kind,
        description=description,
        fixes=fixes,
    )


CATALOG: dict[str, CatalogEntry] = {e.code: e for e in map(_entry, _TABLE)}


def lookup(code: str) -> CatalogEntry | None:
    return CATALOG.get(code)


def catalog_entries() -> list[CatalogEntry]:
    return sorted(CATALOG.values(), key=lambda e: e.code)
