"""Path rules of SPEC §3: every declared path stays inside its root, checked before any open."""

from __future__ import annotations

import os
import posixpath
import re
import stat
from pathlib import Path

from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import path_invalid, path_reserved
from .project import META_DIR

_CONTROL = re.compile("[\x00-\x1f\x7f]")


def relative_path_problem(rel: str, what: str) -> Diagnostic | None:
    """Lexical check of a root-relative POSIX path; None when it is acceptable."""
    if rel == "" or rel.strip() != rel:
        return path_invalid(what, rel, "is empty or has surrounding spaces")
    if _CONTROL.search(rel):
        return path_invalid(what, rel, "contains a control character")
    if "\\" in rel:
        return error(
            "path.backslash",
            f"{what} {rel!r} uses backslashes",
            "use forward slashes ('/') in paths",
            path=rel,
            fix="normalize_separators",
        )
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return error(
            "path.absolute",
            f"{what} {rel!r} is absolute",
            "paths are relative to the asset root",
            path=rel,
        )
    parts = rel.split("/")
    if ".." in parts:
        return error(
            "path.escapes_root",
            f"{what} {rel!r} uses '..' to leave its root",
            "keep every file inside the asset root folder",
            path=rel,
        )
    if any(p in ("", ".") for p in parts):
        return error(
            "path.not_normalized",
            f"{what} {rel!r} is not normalized",
            f"write it as {posixpath.normpath(rel)!r}",
            path=rel,
        )
    return None


# Folder -> "is it a link?", for the folders shared by several inputs of one load.
LinkCache = dict[str, bool]


def _is_link(path: str, cache: LinkCache | None = None) -> bool | None:
    """Whether `path` is a symlink (one lstat); None when it does not exist."""
    if cache is not None and path in cache:
        return cache[path]
    try:
        found: bool | None = stat.S_ISLNK(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return None  # missing: nothing to follow; the caller reports it
    if cache is not None and found is not None:
        cache[path] = found
    return found


def _first_link(base: Path, parts: list[str], cache: LinkCache | None = None) -> int | None:
    """The index of the first component of `parts` below `base` that is a symlink (one
    lstat each; a full realpath of every input would lstat every folder up to `/`)."""
    here = str(base)
    last = len(parts) - 1
    for i, part in enumerate(parts):
        here = os.path.join(here, part)
        link = _is_link(here, cache if i < last else None)  # folders are cached, not files
        if link is None:
            return None
        if link:
            return i
    return None


def _has_link(base: Path, parts: list[str], cache: LinkCache | None = None) -> bool:
    return _first_link(base, parts, cache) is not None


def root_problem(assets_dir: Path, root: str, what: str = "asset root") -> Diagnostic | None:
    """Why `assets/<root>` cannot be used as an asset root, or None.

    The root must be a plain relative path, outside `assets/.prometeu/`, and no component
    from the project root down to it (`assets/` itself, every folder, the root) may be a
    symbolic link: a link would let the packer read, delete or move files outside the
    project. Components that do not exist yet are fine (nothing to follow). Costs one lstat
    per component; never opens anything.
    """
    problem = relative_path_problem(root, what)
    if problem is not None:
        return problem
    parts = root.split("/")
    if parts[0] == META_DIR:
        return path_reserved(root)
    if _is_link(str(assets_dir)):
        return _linked(what, root, "assets")
    i = _first_link(assets_dir, parts)
    if i is not None:
        return _linked(what, root, "assets/" + "/".join(parts[: i + 1]))
    return None


def _linked(what: str, root: str, link: str) -> Diagnostic:
    return error(
        "path.symlink_escapes",
        f"{what} {root!r} passes through the symbolic link {link!r}; the packer never "
        "reads, moves or deletes files through a link",
        "replace the link with a real folder (copy or move the files into assets/)",
        path=root,
    )


def resolve_inside(
    base: Path, rel: str, what: str, cache: LinkCache | None = None
) -> tuple[Path | None, Diagnostic | None]:
    """Resolve `rel` under `base`, refusing symlinks that escape; never opens the file."""
    problem = relative_path_problem(rel, what)
    if problem is not None:
        return None, problem
    parts = rel.split("/")
    candidate = base.joinpath(*parts)
    if not _has_link(base, parts, cache):
        return candidate, None  # no link below the root: lexically inside is inside
    try:
        real_base = os.path.realpath(base)
        real = os.path.realpath(candidate)
    except (OSError, ValueError) as exc:
        return None, path_invalid(what, rel, f"cannot be resolved: {exc}")
    if os.path.commonpath([real_base, real]) != real_base:
        return None, error(
            "path.symlink_escapes",
            f"{what} {rel!r} is a link that resolves outside the asset root",
            "copy the file into the asset root instead of linking to it",
            path=rel,
        )
    return candidate, None


def stat_inside(
    base: str, rel: str, what: str, cache: LinkCache | None = None
) -> tuple[str | None, os.stat_result | None, Diagnostic | None]:
    """`resolve_inside` for a hot loop: string paths, and the file's own stat from the same
    lstat that proved it is not a link (one syscall per file). The stat is None when the
    file does not exist; a link (checked to stay inside) is stat'ed through. Any other
    OSError (no permission, a name too long) is raised for the caller to report."""
    problem = relative_path_problem(rel, what)
    if problem is not None:
        return None, None, problem
    parts = rel.split("/")
    here = base
    for part in parts[:-1]:
        here = os.path.join(here, part)
        link = _is_link(here, cache)
        if link is None:
            return os.path.join(base, rel), None, None  # a folder on the way is missing
        if link:
            return _through_link(base, rel, what)
    path = os.path.join(here, parts[-1])
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return path, None, None
    if stat.S_ISLNK(st.st_mode):
        return _through_link(base, rel, what)
    return path, st, None


def _through_link(
    base: str, rel: str, what: str
) -> tuple[str | None, os.stat_result | None, Diagnostic | None]:
    found, problem = resolve_inside(Path(base), rel, what)
    if problem is not None or found is None:
        return None, None, problem
    try:
        return str(found), os.stat(found), None
    except (FileNotFoundError, NotADirectoryError):
        return str(found), None, None


def normalize_root(text: str) -> str:
    """Normalize a user-typed asset root (CLI) to the registry spelling."""
    cleaned = text.replace("\\", "/").strip().strip("/")
    if cleaned.startswith("assets/"):
        cleaned = cleaned[len("assets/") :]
    return posixpath.normpath(cleaned) if cleaned else cleaned
