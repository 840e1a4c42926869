"""What `validate` would say of one asset, for commands that are not the gate itself.

`show`, `list`, `new`, `adopt` and `set` report the same verdict the pack gate reaches:
declaration problems, the family's content checks (cache hits skip decoding) and, for a
build-set asset, preload clashes. One place, so no command can call an asset healthy that
`validate` would block.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..families import get_family
from ..models.declaration import AssetDeclaration
from ..models.diagnostic import Diagnostic
from ..models.diagnostic_codes import input_unreadable
from ..pipeline.gate import content_diagnostics, packable, preload_for
from ..pipeline.session import BuildSession
from ..workspace.declarations import LoadedAsset, declaration_problems
from ..workspace.snapshot import RegisteredAsset, WorkspaceSnapshot

# Inputs larger than this are not decoded by a status check (the gate still decodes them).
_MAX_CHECK_BYTES = 64 * 1024 * 1024


def registered_verdicts(
    snap: WorkspaceSnapshot, assets: Sequence[RegisteredAsset], session: BuildSession
) -> dict[int, list[Diagnostic]]:
    """Per asset_id: its declaration diagnostics, preload clashes (build set only) and the
    family's findings on its bytes, exactly as the gate finds them."""
    found = {a.entry.asset_id: list(a.diagnostics) for a in assets}
    if any(a.entry.included_in_build for a in assets):
        for d in preload_for(snap.build_set())[1]:
            if d.asset_id in found:
                found[d.asset_id].append(d)
    to_decode = [a for a in assets if packable(a)]
    for d in content_diagnostics(to_decode, session.materializer, session.materializer.em):
        if d.asset_id in found:
            found[d.asset_id].append(d)
    return found


def declaration_verdict(decl: AssetDeclaration, files: Mapping[str, bytes]) -> list[Diagnostic]:
    """The declaration's own problems, then what the family says of these input bytes."""
    problems = declaration_problems(decl)
    family = get_family(decl.type)
    if family is None or any(d.blocking for d in problems):
        return problems
    return problems + list(family.materialize(decl, files).diagnostics)


def read_inputs(root_dir: Path, names: Iterable[str]) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """The bytes of each artifact file under `root_dir` (already checked to stay inside)."""
    files: dict[str, bytes] = {}
    problems: list[Diagnostic] = []
    for rel in sorted(set(names)):
        path = root_dir.joinpath(*rel.split("/"))
        try:
            if path.stat().st_size > _MAX_CHECK_BYTES:
                continue
            files[rel] = path.read_bytes()
        except OSError as exc:
            problems.append(input_unreadable(rel, str(exc.strerror or exc)))
    return files, problems


def loaded_verdict(root_dir: Path, loaded: LoadedAsset) -> list[Diagnostic]:
    """An unregistered root's verdict: what it would meet if it were registered now."""
    decl = loaded.declaration
    if decl is None or any(d.blocking for d in loaded.diagnostics):
        return list(loaded.diagnostics)
    files, unreadable = read_inputs(root_dir, (a.file for a in decl.artifacts))
    if unreadable:
        return list(loaded.diagnostics) + unreadable
    family = get_family(decl.type)
    assert family is not None  # an unknown family is a blocking load diagnostic
    return list(loaded.diagnostics) + list(family.materialize(decl, files).diagnostics)
