"""Inspecting a packed file: structural validation plus extraction to viewable files."""

from __future__ import annotations

from pathlib import Path

from ..events.sink import new_operation_id
from ..families import FAMILIES
from ..models.diagnostic import error
from ..models.results import InspectResult, Status
from .reader import pa_unreadable, read_assets_pa


def inspect_file(path: Path, extract_dir: Path | None = None) -> InspectResult:
    """Read `path` with the strict reader; optionally render each asset into `extract_dir`."""
    op = new_operation_id()
    try:
        data = path.read_bytes()
    except OSError as exc:
        diag = pa_unreadable(str(path), str(exc.strerror or exc))
        return InspectResult(
            operation="inspect",
            operation_id=op,
            status=Status.FAILED,
            summary=diag.message,
            diagnostics=[diag],
            blockers=[diag],
            path=str(path),
        )
    read = read_assets_pa(data)
    extracted: list[str] = []
    problems = list(read.problems)
    if extract_dir is not None and read.ok:
        by_bank = {f.bank_type: f for f in FAMILIES.values()}
        for entry in read.asset_table:
            family = by_bank.get(entry.get("bank_type"))
            if family is None:
                continue
            folder = extract_dir / f"{entry['asset_id']:04d}_{_safe(entry['asset_name'])}"
            try:
                files = family.extract(entry["metadata"], read.payload(entry["asset_id"]))
            except (ValueError, KeyError) as exc:
                problems.append(
                    error(
                        "pa.extract_failed",
                        f"asset {entry['asset_id']} could not be extracted: {exc}",
                        "",
                    )
                )
                continue
            folder.mkdir(parents=True, exist_ok=True)
            for f in files:
                (folder / f.name).write_bytes(f.data)
                extracted.append(str(folder / f.name))
    ok = not any(p.blocking for p in problems)
    prelude = read.prelude
    summary = (
        f"{path}: {len(read.asset_table)} asset(s), {len(read.preload)} preload(s), "
        f"{len(data)} bytes" + ("" if ok else f"; {len(problems)} problem(s)")
    )
    return InspectResult(
        operation="inspect",
        operation_id=op,
        status=Status.SUCCESS if ok else Status.FAILED,
        summary=summary,
        diagnostics=problems,
        blockers=[p for p in problems if p.blocking],
        path=str(path),
        file_size=len(data),
        header_len=prelude.header_len if prelude else None,
        payload_offset=prelude.payload_offset if prelude else None,
        asset_table=[e for e in read.asset_table if isinstance(e, dict)],
        preload=[p for p in read.preload if isinstance(p, dict)],
        extracted=extracted,
    )


def _safe(name: object) -> str:
    text = str(name)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:40] or "asset"
