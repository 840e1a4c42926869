"""Loading one `asset.json` into a declaration plus the structural diagnostics around it.

Only the declaration and `stat` results are read here; input *contents* are never opened
(that is the frozen snapshot's job), and a path that escapes its root is never touched.
"""

from __future__ import annotations

import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..canonical_json import find_float
from ..families import get_family
from ..models.declaration import ASSET_FILE, ASSET_SCHEMA_VERSION, AssetDeclaration
from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import (
    declaration_schema,
    declaration_unknown_family,
    declaration_unreadable,
    input_missing,
    input_unreadable,
    metadata_float,
)
from .paths import LinkCache, resolve_inside, root_problem, stat_inside
from .registry_store import describe_validation, parse_json_bytes


@dataclass(frozen=True)
class InputFact:
    """A declared input that exists inside its root: what `stat` says of it."""

    rel: str
    path: str  # where it was stat'ed (a string: a snapshot holds thousands)
    size: int
    mtime_ns: int
    ctime_ns: int = 0
    ino: int = 0


@dataclass(frozen=True)
class LoadedAsset:
    """One asset root as found on disk: its declaration (if readable) and what is wrong."""

    root: str
    declaration: AssetDeclaration | None
    diagnostics: tuple[Diagnostic, ...]
    inputs: tuple[InputFact, ...]
    declaration_mtime_ns: int

    @property
    def last_modified_ms(self) -> int:
        newest = max([self.declaration_mtime_ns, *(f.mtime_ns for f in self.inputs)])
        return newest // 1_000_000


def parse_declaration(data: bytes, label: str) -> tuple[AssetDeclaration | None, list[Diagnostic]]:
    """Strictly parse `asset.json` bytes; every defect is one clear diagnostic."""
    raw, problem = parse_json_bytes(data, label, "declaration")
    if problem is not None:
        return None, [problem]
    if not isinstance(raw, dict):
        return None, [
            declaration_schema(label, f"it must be a JSON object, not {type(raw).__name__}")
        ]
    version = raw.get("schema_version")
    if version != ASSET_SCHEMA_VERSION:
        return None, [
            error(
                "declaration.schema_version_unsupported",
                f"{label} has schema_version {version!r}; this packer reads "
                f"version {ASSET_SCHEMA_VERSION}",
                "set schema_version to 1 or use a packer that knows this version; "
                "nothing is migrated automatically",
            )
        ]
    try:
        decl = AssetDeclaration.model_validate(raw, strict=True)
    except ValidationError as exc:
        return None, [declaration_schema(label, describe_validation(exc))]
    out: list[Diagnostic] = []
    if not _is_uuid4(decl.asset_uuid):
        out.append(
            error(
                "declaration.uuid_invalid",
                f"asset_uuid {decl.asset_uuid!r} in {label} is not a UUID4",
                "use a UUID4 string such as the ones `prometeu-packer new` writes",
            )
        )
    return decl, out


def _is_uuid4(text: str) -> bool:
    try:
        return uuid.UUID(text).version == 4 and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def declaration_problems(decl: AssetDeclaration) -> list[Diagnostic]:
    """Rules that need the whole declaration but no files: family, artifacts, floats."""
    out: list[Diagnostic] = []
    family = get_family(decl.type)
    if family is None:
        from ..families import FAMILIES

        out.append(declaration_unknown_family(decl.type, FAMILIES))
    declared = set(decl.input_files())
    for art in decl.artifacts:
        if art.file not in declared:
            out.append(
                error(
                    "artifact.file_not_declared",
                    f"artifact {art.index} uses {art.file!r}, which is not listed in inputs",
                    "add the file to an inputs role or fix the name",
                    path=art.file,
                )
            )
    where = find_float(decl.output.metadata)
    if where is not None:
        out.append(metadata_float(where))
    if family is not None:
        out.extend(family.check_declaration(decl))
    return out


def load_asset(assets_dir: Path, root: str) -> LoadedAsset:
    """Read `assets/<root>/asset.json` and `stat` its declared inputs.

    A root that is not a plain folder of the project (a link on the way, or a place inside
    `assets/.prometeu/`) is a blocking diagnostic and nothing under it is read.
    """
    unsafe = root_problem(assets_dir, root)
    if unsafe is not None:
        return LoadedAsset(root, None, (unsafe,), (), 0)
    root_dir = assets_dir.joinpath(*root.split("/"))
    decl_path = root_dir / ASSET_FILE
    label = f"{root}/{ASSET_FILE}"
    _, escapes = resolve_inside(root_dir, ASSET_FILE, "declaration")
    if escapes is not None:  # asset.json itself links out of the root: never open it
        return LoadedAsset(root, None, (escapes,), (), 0)
    try:
        st = decl_path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or stream forever
            return LoadedAsset(
                root,
                None,
                (declaration_unreadable(label, "it is not a regular file"),),
                (),
                0,
            )
        data = decl_path.read_bytes()
    except FileNotFoundError:
        code = "asset.root_missing" if not root_dir.exists() else "declaration.missing"
        msg = (
            f"asset root {root!r} does not exist"
            if code == "asset.root_missing"
            else f"{label} does not exist"
        )
        return LoadedAsset(
            root,
            None,
            (error(code, msg, "restore the folder, or `relocate` / `remove` the registry entry"),),
            (),
            0,
        )
    except OSError as exc:
        return LoadedAsset(
            root,
            None,
            (declaration_unreadable(label, str(exc.strerror)),),
            (),
            0,
        )
    decl, diags = parse_declaration(data, label)
    if decl is None:
        return LoadedAsset(root, None, tuple(diags), (), st.st_mtime_ns)
    diags.extend(declaration_problems(decl))
    inputs, input_diags = stat_inputs(root_dir, decl)
    return LoadedAsset(root, decl, tuple(diags + input_diags), tuple(inputs), st.st_mtime_ns)


def stat_inputs(root_dir: Path, decl: AssetDeclaration) -> tuple[list[InputFact], list[Diagnostic]]:
    facts: list[InputFact] = []
    out: list[Diagnostic] = []
    links: LinkCache = {}  # inputs share folders: one lstat per folder per load
    base = str(root_dir)
    for rel in decl.input_files():
        try:
            path, st, problem = stat_inside(base, rel, "input", links)
        except (OSError, ValueError) as exc:
            out.append(input_unreadable(rel, str(getattr(exc, "strerror", None) or exc)))
            continue
        if problem is not None or path is None:
            out.extend([problem] if problem else [])
            continue
        if st is None:
            out.append(input_missing(rel))
            continue
        if not stat.S_ISREG(st.st_mode):
            out.append(
                error(
                    "input.not_a_file",
                    f"input {rel!r} is not a regular file",
                    "point inputs at files, not folders",
                    path=rel,
                )
            )
            continue
        facts.append(InputFact(rel, path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return facts, out
