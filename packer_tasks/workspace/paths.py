"""Path rules of SPEC §3: every declared path stays inside its root, checked before any open."""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path, PurePosixPath

from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import path_invalid


def relative_path_problem(rel: str, what: str) -> Diagnostic | None:
    """Lexical check of a root-relative POSIX path; None when it is acceptable."""
    if rel == "" or rel.strip() != rel:
        return path_invalid(what, rel, "is empty or has surrounding spaces")
    if any(ord(c) < 0x20 or c == "\x7f" for c in rel):
        return path_invalid(what, rel, "contains a control character")
    if "\\" in rel:
        return error(
            "path.backslash",
            f"{what} {rel!r} uses backslashes",
            "use forward slashes ('/') in paths",
            path=rel,
            fix="normalize_separators",
        )
    if rel.startswith("/") or PurePosixPath(rel).is_absolute() or (len(rel) > 1 and rel[1] == ":"):
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


def _has_link(base: Path, parts: list[str]) -> bool:
    """Whether any component of `parts` below `base` is a symlink (one lstat each; a
    full realpath of every input would lstat every folder up to `/`)."""
    here = str(base)
    for part in parts:
        here = os.path.join(here, part)
        try:
            if stat.S_ISLNK(os.lstat(here).st_mode):
                return True
        except (OSError, ValueError):
            return False  # missing: nothing to follow; the caller reports it
    return False


def resolve_inside(base: Path, rel: str, what: str) -> tuple[Path | None, Diagnostic | None]:
    """Resolve `rel` under `base`, refusing symlinks that escape; never opens the file."""
    problem = relative_path_problem(rel, what)
    if problem is not None:
        return None, problem
    parts = rel.split("/")
    candidate = base.joinpath(*parts)
    if not _has_link(base, parts):
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


def normalize_root(text: str) -> str:
    """Normalize a user-typed asset root (CLI) to the registry spelling."""
    cleaned = text.replace("\\", "/").strip().strip("/")
    if cleaned.startswith("assets/"):
        cleaned = cleaned[len("assets/") :]
    return posixpath.normpath(cleaned) if cleaned else cleaned
