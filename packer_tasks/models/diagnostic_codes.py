"""One constructor per diagnostic code that is raised in more than one place.

A code's message and hint live here, once, so every place that reports it says the same
thing; callers pass the facts (a root, an id, an OS error's reason). Where one code covers
two situations (an input missing from a declaration, or from the command line), both
wordings are here, chosen by a keyword. Codes raised in a single place keep their text
there, and the `pa.*` codes of the assets.pa reader live with it (`artifact/reader.py`,
`pa_unreadable` included). The catalogue of every code, with severity and meaning, is
`doctor/catalog.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .diagnostic import Diagnostic, error, info, warning

LIST_HINT = "use `prometeu-packer list` to see ids and roots"


# -- asset references and roots -----------------------------------------------------------


def asset_not_found(ref: str | int, close: Sequence[str] = ()) -> Diagnostic:
    """asset.not_found: `ref` names no asset (every command says so alike); `close` are
    existing names it may have meant."""
    hint = "pass an asset_id or a root folder holding asset.json (see `prometeu-packer list`)"
    if close:
        hint = "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
    return error("asset.not_found", f"no asset is addressed by {str(ref)!r}", hint)


def asset_not_registered(ref: str | int, *, while_building: bool = False) -> Diagnostic:
    """asset.not_registered: `ref` names no registered asset (or, `while_building`, asset
    `ref` left the build set while a build ran)."""
    if while_building:
        return error(
            "asset.not_registered",
            f"asset {ref} left the build set while the build ran",
            "run the build again",
        )
    return error("asset.not_registered", f"no registered asset is addressed by {ref!r}", LIST_HINT)


def asset_already_registered(root: str, asset_id: int) -> Diagnostic:
    """asset.already_registered: the registry already holds `root`."""
    return error(
        "asset.already_registered",
        f"{root!r} is already registered as asset {asset_id}",
        "nothing to register; a new asset needs another root",
    )


def asset_root_exists(root: str) -> Diagnostic:
    """asset.root_exists: a new or destination root is already taken on disk."""
    return error(
        "asset.root_exists",
        f"assets/{root} already exists (and is not an empty folder)",
        "choose a free root; to use the art already there, `prometeu-packer adopt "
        f"{root}` (or `register` it if it has an asset.json)",
    )


def asset_root_missing(root: str, *, nothing_to: str | None = None) -> Diagnostic:
    """asset.root_missing: a registered root's folder is gone; `nothing_to` names the
    operation that therefore has nothing to act on."""
    reason = f", so there is nothing to {nothing_to}" if nothing_to else ""
    return error(
        "asset.root_missing",
        f"asset root {root!r} does not exist{reason}",
        "restore the folder, or `relocate` / `remove` the registry entry "
        "(`prometeu-packer doctor --fix` re-points or drops it when that is safe)",
    )


def asset_root_nested(root: str, other_id: int, other_root: str) -> Diagnostic:
    """asset.root_nested: `root` and another asset's root would contain one another."""
    return error(
        "asset.root_nested",
        f"assets/{root} and asset {other_id} at assets/{other_root} would contain one another",
        "asset roots cannot nest: relocate or quarantine the inner asset first",
    )


def path_reserved(root: str, *, inside_asset: str | None = None) -> Diagnostic:
    """path.reserved: a destination inside assets/.prometeu (or inside the asset it would
    move, `inside_asset`)."""
    where = (
        f"inside asset root {inside_asset!r} itself"
        if inside_asset is not None
        else "inside assets/.prometeu, which is reserved for the packer"
    )
    return error(
        "path.reserved",
        f"assets/{root} is {where}",
        "choose a root outside assets/.prometeu and outside the asset",
    )


def path_invalid(what: str, rel: str, problem: str) -> Diagnostic:
    """path.invalid: `what` (an input, a root...) `rel` cannot be used; `problem` says why."""
    return error(
        "path.invalid",
        f"{what} {rel!r} {problem}",
        "use a plain relative path (no surrounding spaces or control characters)",
        path=rel,
    )


# -- registry and declarations --------------------------------------------------------------


def registry_unreadable(label: str, reason: str) -> Diagnostic:
    """registry.unreadable: the registry file exists but cannot be read."""
    return error(
        "registry.unreadable",
        f"{label} cannot be read: {reason}",
        "make it a plain JSON file that you can read (check its permissions)",
    )


def registry_duplicate_uuid(uuid: str, holder: str, claimant: str) -> Diagnostic:
    """registry.duplicate_uuid: `claimant` carries the asset_uuid `holder` already holds
    (both as messages name them, e.g. "asset 3 at 'ui/hud'")."""
    return error(
        "registry.duplicate_uuid",
        f"{claimant} carries asset_uuid {uuid}, which already belongs to {holder}",
        "if one is a copy, give the copy a new asset_uuid; if the asset moved, use "
        "`prometeu-packer relocate`",
    )


def declaration_unreadable(label: str, reason: str) -> Diagnostic:
    """declaration.unreadable: asset.json exists but cannot be read."""
    return error(
        "declaration.unreadable",
        f"{label} cannot be read: {reason}",
        "make it a plain JSON file that you can read (check its permissions)",
    )


def declaration_schema(label: str, problem: str) -> Diagnostic:
    """declaration.schema: asset.json is JSON but not an asset declaration."""
    return error(
        "declaration.schema",
        f"{label} does not match the asset schema: {problem}",
        "fix the listed fields (see `prometeu-packer schema asset`)",
    )


def declaration_unknown_family(type_name: str, known: Iterable[str]) -> Diagnostic:
    """declaration.unknown_family: `type_name` is none of the `known` families."""
    return error(
        "declaration.unknown_family",
        f"asset type {type_name!r} is not a known family",
        "use " + " or ".join(sorted(known)),
    )


def metadata_float(where: str, *, in_header: bool = False) -> Diagnostic:
    """metadata.float: a float in runtime metadata (`where` in output.metadata, or in the
    assembled header when `in_header`)."""
    place = f"the runtime header at {where}" if in_header else f"output.metadata{where}"
    return error(
        "metadata.float",
        f"{place} holds a float; the runtime header holds integers only",
        "use integers in output.metadata",
    )


# -- inputs and artifacts -------------------------------------------------------------------


def input_missing(file: str, *, given: bool = False) -> Diagnostic:
    """input.missing: a declared input does not exist (or, `given`, a file passed to
    `new` is not a file)."""
    if given:
        return error(
            "input.missing", f"{file} is not a file", "pass existing PNG/WAV files", path=file
        )
    return error(
        "input.missing",
        f"input {file!r} does not exist",
        "add the file to the asset root or remove it from inputs",
        path=file,
    )


def input_unreadable(file: str, reason: str) -> Diagnostic:
    """input.unreadable: a declared input exists but cannot be read."""
    return error(
        "input.unreadable",
        f"input {file!r} cannot be read: {reason}",
        "check the file exists and is readable",
        path=file,
    )


def artifact_none(family: str, minimum: int, *, given: bool = False) -> Diagnostic:
    """artifact.none: a declaration lists no artifacts (or, `given`, `new` got no files)."""
    if given:
        return error("artifact.none", "no input files given", "pass at least one file")
    return error(
        "artifact.none",
        f"a {family} needs at least {minimum} artifact",
        "list the files in `artifacts`",
    )


# -- families -------------------------------------------------------------------------------

PALETTE_SHAPE_HINT = 'write palettes as [{"index": 0, "palette": {"colors": ["#rrggbb", ...]}}]'


def glyph_png_unreadable(file: str, reason: str) -> Diagnostic:
    """glyph.png_unreadable: an artifact's bytes are not a decodable PNG."""
    return error(
        "glyph.png_unreadable",
        f"{file} could not be decoded as PNG: {reason}",
        "re-export the tile as PNG from your image editor (or fix the file name)",
        path=file,
    )


def glyph_palette_malformed(where: str, problem: str) -> Diagnostic:
    """glyph.palette_malformed: `output.pipeline.palettes` (at `where`) has the wrong shape."""
    return error("glyph.palette_malformed", f"{where} {problem}", PALETTE_SHAPE_HINT)


# -- hygiene (doctor) -----------------------------------------------------------------------


def hygiene_naming(
    label: str, root: str, problems: Iterable[str], better: str, *, file: str | None = None
) -> Diagnostic:
    """hygiene.naming: the folder of asset `label` at `root` (or its `file`) has risky
    characters in its name; `better` is the suggested name."""
    why = (
        "such names break on case-insensitive or Unicode-normalizing filesystems and "
        "need quoting in shells"
    )
    if file is not None:
        return info(
            "hygiene.naming",
            f"file {file!r} of {label} has {', '.join(problems)} in its name; {why}",
            f"rename it to {better!r} and update asset.json",
            path=file,
        )
    return info(
        "hygiene.naming",
        f"the folder of {label} has {', '.join(problems)} in its name; {why}",
        f"rename it with `prometeu-packer relocate {root!r} {better}`",
    )


def hygiene_unregistered_root(
    root: str, *, moved_from: tuple[int, str] | None = None
) -> Diagnostic:
    """hygiene.unregistered_root: `root` holds an asset.json nobody registered (or, with
    `moved_from` = (asset_id, old root), the asset whose registered root is missing)."""
    if moved_from is not None:
        asset_id, old_root = moved_from
        return warning(
            "hygiene.unregistered_root",
            f"unregistered root {root} holds asset {asset_id}, whose registered root "
            f"{old_root!r} is missing (moved by hand?)",
            "`prometeu-packer doctor --fix --yes` points the registry at it, keeping its ids",
        ).located(None, root)
    return warning(
        "hygiene.unregistered_root",
        f"{root} holds an asset.json but is not registered, so it is never built",
        f"`prometeu-packer adopt {root}` registers it; or delete the folder",
    ).located(None, root)


# -- operations -----------------------------------------------------------------------------


def lane_busy(message: str) -> Diagnostic:
    """lane.busy: another packer command held the project's write lane too long."""
    return error("lane.busy", message, "wait for the other packer command to finish")


def io_failed(what: str, exc: OSError | str) -> Diagnostic:
    """io.failed: `what` (an operation) failed because the filesystem refused a write."""
    if isinstance(exc, OSError):
        reason = str(exc.strerror or exc) + (f" ({exc.filename})" if exc.filename else "")
    else:
        reason = exc
    return error(
        "io.failed",
        f"{what} failed: {reason}",
        "check free space and permissions, then try again",
    )


def quarantine_target_occupied(
    root: str, name: str, *, registered_as: int | None = None
) -> Diagnostic:
    """quarantine.target_occupied: restoring `name` to `root` would overwrite something on
    disk (or, `registered_as`, the registry already has an asset at that root)."""
    where = (
        f"the registry already has asset {registered_as} at {root!r}"
        if registered_as is not None
        else f"assets/{root} exists again"
    )
    return error(
        "quarantine.target_occupied",
        f"{where}, so restoring {name!r} would overwrite it",
        "move, relocate or remove what is there, then restore",
    )


def build_promotion_failed(reason: str, *, recovering: bool = False) -> Diagnostic:
    """build.promotion_failed: build outputs could not be written or promoted (or, when
    `recovering`, an interrupted build could not be finished)."""
    if recovering:
        return error(
            "build.promotion_failed",
            f"an interrupted build in build/.staging could not be finished: {reason}",
            "make build/ writable and run any packer command; nothing else was changed",
        )
    return error(
        "build.promotion_failed",
        f"could not write build outputs: {reason}",
        "free disk space or fix permissions on build/; the previous build is intact",
    )


def build_cache_unavailable(reason: str) -> Diagnostic:
    """build.cache_unavailable: the configured cache cannot be used (not the packer's,
    read-only, busy); the build went on without it."""
    return warning(
        "build.cache_unavailable",
        f"built without the cache: {reason}",
        "point --cache-dir / PROMETEU_PACKER_CACHE at a folder the packer may own, or run "
        "`prometeu-packer cache stats` for details",
    )
