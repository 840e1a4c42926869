"""Hygiene checks of SPEC §7: advice about the files around the declarations, never blocking.

They keep a growing project tidy: files no artifact uses, the same bytes in two assets,
names that break on another machine, roots inside roots, files that belong to no asset.
Hidden files (a name starting with '.') are tooling state such as `.gitkeep` or
`.DS_Store` and are ignored. Symlinks are listed but never opened (a link may point outside
its root, SPEC §3), and contents are hashed through the shared digest memo, so a file that
doctor, validate or pack already hashed is not read again.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from prometeu_cache.digests import DigestMemo
from prometeu_cache.keys import blake3_file

from ..models.declaration import ASSET_FILE
from ..models.diagnostic import Diagnostic, info, warning
from ..models.diagnostic_codes import hygiene_naming
from ..models.registry import RegistryEntry
from ..pipeline.frozen import FrozenInputs
from ..workspace.declarations import LoadedAsset
from ..workspace.paths import relative_path_problem, root_problem
from ..workspace.project import META_DIR, Project
from ..workspace.scan import list_root_files

LARGE_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ExaminedRoot:
    """One asset root doctor looks at: registered (with its entry) or found by the scan."""

    loaded: LoadedAsset
    entry: RegistryEntry | None

    @property
    def root(self) -> str:
        return self.loaded.root

    @property
    def asset_id(self) -> int | None:
        return self.entry.asset_id if self.entry else None

    @property
    def label(self) -> str:
        """How messages name the asset: by id and root, or as an unregistered root."""
        if self.entry is not None:
            return f"asset {self.entry.asset_id} ({self.root})"
        return f"unregistered root {self.root}"


@dataclass(frozen=True)
class _File:
    root: ExaminedRoot
    rel: str
    path: Path
    size: int
    regular: bool


def hygiene_findings(
    project: Project, roots: list[ExaminedRoot], memo: DigestMemo, *, workspace: bool
) -> list[Diagnostic]:
    """Every hygiene finding for `roots`; with `workspace`, also files outside any root."""
    files: dict[str, list[_File]] = {}
    for r in roots:
        if (
            relative_path_problem(r.root, "root") is not None
            or root_problem(project.assets_dir, r.root) is not None
        ):
            continue  # '../x', a linked folder on the way: never look outside assets/
        root_dir = project.root_dir(r.root)
        if r.root not in files and _is_folder(root_dir):
            files[r.root] = _own_files(r, root_dir)
    every_file = [f for fs in files.values() for f in fs]
    out: list[Diagnostic] = []
    out += nested_roots(roots)
    for r in roots:
        if r.root in files:  # a root registered twice is reported once
            out += naming_hints(r, files[r.root])
            out += unused_files(r, files.pop(r.root))
    out += duplicate_content(every_file, memo)
    if workspace:
        out += stray_files(project, {r.root for r in roots})
    return out


def _is_folder(path: Path) -> bool:
    """`Path.is_dir` without its exceptions: a 300-character component (ENAMETOOLONG), a
    permission error or a loop is simply no folder to look into; the snapshot reports it."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def _own_files(r: ExaminedRoot, root_dir: Path) -> list[_File]:
    """Files of one root, without hidden files and without roots nested inside it."""
    listed = [rel for rel in list_root_files(root_dir) if not _hidden(rel)]
    inner = [rel[: -len(ASSET_FILE)] for rel in listed if rel.endswith("/" + ASSET_FILE)]
    out: list[_File] = []
    for rel in listed:
        if any(rel.startswith(prefix) for prefix in inner):
            continue
        path = root_dir.joinpath(*rel.split("/"))
        try:
            st = os.lstat(path)
        except OSError:
            continue
        out.append(_File(r, rel, path, st.st_size, stat.S_ISREG(st.st_mode)))
    return out


def nested_roots(roots: list[ExaminedRoot]) -> list[Diagnostic]:
    """An asset root inside another: the outer asset's folder silently holds a second asset."""
    # Each root string → its first position in `roots`: the outer a message names is the
    # first root in list order that contains the inner one, as a pairwise scan would find.
    first: dict[str, int] = {}
    for pos, r in enumerate(roots):
        first.setdefault(r.root, pos)
    out: list[Diagnostic] = []
    for inner in roots:
        # `inner` lies inside `outer` exactly when `outer.root` is inner.root cut at one of
        # its '/' (inner.root starts with outer.root + "/"): look those prefixes up.
        name = inner.root
        found = [first[name[:i]] for i, ch in enumerate(name) if ch == "/" and name[:i] in first]
        if found:
            outer = roots[min(found)]
            out.append(
                warning(
                    "hygiene.nested_root",
                    f"{inner.label} lies inside {outer.label}; one asset folder should not "
                    "hold another",
                    f"move one of them with `prometeu-packer relocate {inner.root} NEW_ROOT`",
                ).located(inner.asset_id, inner.root)
            )
    return out


def unused_files(r: ExaminedRoot, files: list[_File]) -> list[Diagnostic]:
    """Files in a root that no artifact selects: never packed, so probably leftovers."""
    decl = r.loaded.declaration
    if decl is None:
        return []
    used = {a.file for a in decl.artifacts}
    used |= {p.replace("\\", "/") for p in used}  # path.backslash already reports those
    declared = set(decl.input_files())
    out: list[Diagnostic] = []
    for f in files:
        if f.rel == ASSET_FILE or f.rel in used:
            continue
        why = (
            f"{f.rel!r} of {r.label} is listed in inputs but no artifact uses it"
            if f.rel in declared
            else f"{f.rel!r} of {r.label} is not used by any artifact"
        )
        if f.regular and f.size > LARGE_FILE_BYTES:
            out.append(
                warning(
                    "hygiene.unused_large_file",
                    f"{why}, and it is {f.size / LARGE_FILE_BYTES:.1f} MiB",
                    "add it to artifacts if it belongs in the build; otherwise move it out of "
                    "assets/ so the project stays small",
                    path=f.rel,
                ).located(r.asset_id, r.root)
            )
        else:
            out.append(
                info(
                    "hygiene.unused_file",
                    why,
                    "add it to artifacts if it belongs in the build, or move it out of the asset "
                    "root",
                    path=f.rel,
                ).located(r.asset_id, r.root)
            )
    return out


def _name_problems(name: str) -> list[str]:
    problems = []
    if any(c.isspace() for c in name):
        problems.append("spaces")
    if any(c.isupper() for c in name):
        problems.append("upper case")
    if not name.isascii():
        problems.append("non-ASCII characters")
    return problems


def suggested_name(name: str) -> str:
    """Lower case ASCII with '_' for spaces: a spelling every filesystem treats alike."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "_".join(ascii_name.lower().split()) or "renamed"


def naming_hints(r: ExaminedRoot, files: list[_File]) -> list[Diagnostic]:
    """Names that differ between case-insensitive or Unicode-normalizing filesystems."""
    out: list[Diagnostic] = []
    root_problems = sorted({p for part in r.root.split("/") for p in _name_problems(part)})
    if root_problems:
        better = "/".join(suggested_name(part) for part in r.root.split("/"))
        out.append(
            hygiene_naming(r.label, r.root, root_problems, better).located(r.asset_id, r.root)
        )
    for f in files:
        problems = sorted({p for part in f.rel.split("/") for p in _name_problems(part)})
        if problems:
            better = "/".join(suggested_name(part) for part in f.rel.split("/"))
            out.append(
                hygiene_naming(r.label, r.root, problems, better, file=f.rel).located(
                    r.asset_id, r.root
                )
            )
    return out


def _digest(memo: DigestMemo, f: _File) -> str | None:
    label = f"assets/{f.root.root}/{f.rel}"
    try:
        key = FrozenInputs.stat_key(f.path, label)
        known = memo.get(key)
        if known is not None:
            return known
        digest = blake3_file(f.path)
    except OSError:
        return None
    memo.put(key, digest)
    return digest


def duplicate_content(files: list[_File], memo: DigestMemo) -> list[Diagnostic]:
    """Identical bytes in two assets ship twice; only same-size files are ever hashed."""
    by_size: dict[int, list[_File]] = defaultdict(list)
    for f in files:
        if f.regular and f.size > 0 and f.rel != ASSET_FILE:
            by_size[f.size].append(f)
    by_digest: dict[str, list[_File]] = defaultdict(list)
    for group in by_size.values():
        if len({f.root.root for f in group}) < 2:
            continue
        for f in group:
            digest = _digest(memo, f)
            if digest is not None:
                by_digest[digest].append(f)
    out: list[Diagnostic] = []
    for group in by_digest.values():
        group.sort(key=lambda f: (f.root.root, f.rel))
        first = group[0]
        for f in group[1:]:
            if f.root.root == first.root.root:
                continue
            out.append(
                warning(
                    "hygiene.duplicate_content",
                    f"{f.rel!r} of {f.root.label} has the same content as {first.rel!r} of "
                    f"{first.root.label}",
                    "keep one copy unless both assets really need these bytes (each asset is "
                    "packed separately, so they ship twice)",
                    path=f.rel,
                ).located(f.root.asset_id, f.root.root)
            )
    return out


def stray_files(project: Project, known_roots: set[str]) -> list[Diagnostic]:
    """Files under assets/ that no asset root holds: invisible to the packer."""
    assets_dir = project.assets_dir
    by_folder: dict[str, list[str]] = defaultdict(list)
    for dirpath, dirnames, filenames in os.walk(assets_dir):
        rel = Path(os.path.relpath(dirpath, assets_dir)).as_posix()
        if rel != "." and (rel in known_roots or ASSET_FILE in filenames):
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != META_DIR)
        for name in sorted(filenames):
            if not name.startswith("."):
                by_folder[rel].append(name)
    out: list[Diagnostic] = []
    for folder, names in sorted(by_folder.items()):
        where = "assets/" if folder == "." else f"assets/{folder}/"
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        out.append(
            info(
                "hygiene.stray_file",
                f"{where} holds {len(names)} file{'' if len(names) == 1 else 's'} outside any "
                f"asset root: {shown}",
                "make them an asset with `prometeu-packer new`, or move them out of assets/",
                path=None if folder == "." else folder,
            )
        )
    return out
