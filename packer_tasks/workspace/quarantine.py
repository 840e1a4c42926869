"""The quarantine store: `assets/.prometeu/quarantine/<name>/` on disk (SPEC §6).

A quarantined root is out of the way and out of the build, yet nothing is lost: its folder
is moved whole to `quarantine/<name>/files/` and `quarantine/<name>/quarantine.json` keeps
what restoring needs, namely the original root, the registry entry as it was (so the asset
comes back with the same asset_id, asset_uuid and build inclusion) and every file with its
blake3, so a restore can say whether the bytes are still the ones that were parked.

This module is the format and the reading of that store; the quarantine and restore
operations that move roots in and out live in `service/quarantine_ops.py`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from prometeu_cache.keys import blake3_file
from pydantic import BaseModel, ConfigDict, ValidationError

from ..models.diagnostic import Diagnostic, error
from ..models.registry import RegistryEntry
from .project import Project
from .scan import list_root_files

RECORD_FILE = "quarantine.json"
FILES_DIR = "files"
RECORD_SCHEMA_VERSION = 1


class QuarantinedFile(BaseModel):
    """One file as it was parked; links are recorded by target and never opened."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    size: int
    blake3: str | None = None
    link: str | None = None


class QuarantineRecord(BaseModel):
    """`quarantine/<name>/quarantine.json`: everything a byte-exact, same-identity restore needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = RECORD_SCHEMA_VERSION
    name: str
    original_root: str
    asset_id: int | None
    asset_uuid: str | None
    asset_name: str | None
    registry_entry: RegistryEntry | None
    included_in_build: bool | None
    quarantined_at: str
    files: list[QuarantinedFile]


def project_label(project: Project, path: Path) -> str:
    """`path` as messages show it: relative to the project root, with '/'."""
    return Path(os.path.relpath(path, project.root)).as_posix()


def read_records(project: Project) -> tuple[list[QuarantineRecord], list[Diagnostic]]:
    """Every readable record (by name); unreadable ones come back as diagnostics."""
    records: list[QuarantineRecord] = []
    problems: list[Diagnostic] = []
    base = project.quarantine_dir
    if not base.is_dir():
        return records, problems
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            record = QuarantineRecord.model_validate_json((folder / RECORD_FILE).read_bytes())
        except (OSError, ValidationError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it does not match the schema"
            problems.append(
                error(
                    "quarantine.record_invalid",
                    f"{project_label(project, folder / RECORD_FILE)} cannot be used: {reason}",
                    f"inspect {project_label(project, folder)} by hand; its files are in "
                    f"{FILES_DIR}/",
                    path=folder.name,
                )
            )
            continue
        if record.name != folder.name:
            record = record.model_copy(update={"name": folder.name})
        records.append(record)
    return records, problems


def store_problem(project: Project) -> Diagnostic | None:
    """Why the quarantine store cannot be used: `assets/.prometeu` or its `quarantine/`
    is a symbolic link (moving a root there would move it out of the project)."""
    for folder in (project.assets_dir, project.meta_dir, project.quarantine_dir):
        if folder.is_symlink():
            return error(
                "path.symlink_escapes",
                f"{project_label(project, folder)} is a symbolic link; the packer never "
                "moves files through a link",
                "replace the link with a real folder",
                path=project_label(project, folder),
            )
    return None


def quarantined_ids(records: list[QuarantineRecord]) -> set[int]:
    """The asset_ids these records park (fixes must not drop their registry entries)."""
    return {r.asset_id for r in records if r.asset_id}


def file_list(root_dir: Path) -> list[QuarantinedFile]:
    """Every entry with its digest; only regular files are opened (a FIFO would block)."""
    out: list[QuarantinedFile] = []
    for rel in list_root_files(root_dir):
        path = root_dir.joinpath(*rel.split("/"))
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            out.append(QuarantinedFile(path=rel, size=st.st_size, link=os.readlink(path)))
        elif stat.S_ISREG(st.st_mode):
            out.append(QuarantinedFile(path=rel, size=st.st_size, blake3=blake3_file(path)))
        else:
            out.append(QuarantinedFile(path=rel, size=0))
    return out


def free_name(project: Project, root: str) -> str:
    """A quarantine folder name for `root` that is not taken yet."""
    base = root.replace("/", "__")
    name, n = base, 1
    while (project.quarantine_dir / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def changed_files(folder: Path, record: QuarantineRecord) -> list[str]:
    """Paths whose bytes, link target or presence differ from the record."""
    now = {f.path: f for f in file_list(folder)}
    then = {f.path: f for f in record.files}
    return sorted(p for p in now.keys() | then.keys() if now.get(p) != then.get(p))
