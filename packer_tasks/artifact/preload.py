"""Preload slot assignment (SPEC §5): which assets the runtime loads at boot, and where.

Slots are per bank type (0-15). Explicit slots are reserved first so that an asset with an
automatic slot can never steal a slot somebody wrote down; automatic slots are then handed
out lowest-first in increasing `asset_id` order, which keeps the result independent of the
order assets were discovered in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models.diagnostic import Diagnostic, error

SLOTS_PER_BANK_TYPE = 16


@dataclass(frozen=True)
class PreloadRequest:
    """One build-set asset with `preload.enabled`; `slot` is None when left to the packer."""

    asset_id: int
    asset_root: str
    bank_type: str
    slot: int | None


def assign_preload(
    requests: Sequence[PreloadRequest],
) -> tuple[list[dict[str, int]], list[Diagnostic]]:
    """Assign slots; return the header `preload` list (by asset_id) and blocking diagnostics.

    The list is best effort when diagnostics are present (losers of a clash and assets that
    found no free slot are left out); callers must not pack while any diagnostic stands.
    """
    ids = [r.asset_id for r in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate asset_id in preload requests")

    by_bank: dict[str, list[PreloadRequest]] = {}
    for req in sorted(requests, key=lambda r: r.asset_id):
        by_bank.setdefault(req.bank_type, []).append(req)

    slots: dict[int, int] = {}
    diagnostics: list[Diagnostic] = []
    for bank_type in sorted(by_bank):
        bank_slots, bank_diags = _assign_bank(bank_type, by_bank[bank_type])
        slots.update(bank_slots)
        diagnostics.extend(bank_diags)

    preload = [{"asset_id": aid, "slot": slots[aid]} for aid in sorted(slots)]
    diagnostics.sort(key=lambda d: (d.asset_id or 0, d.code))
    return preload, diagnostics


def _assign_bank(
    bank_type: str, reqs: list[PreloadRequest]
) -> tuple[dict[int, int], list[Diagnostic]]:
    """One bank type; `reqs` are already in increasing asset_id order."""
    taken: dict[int, PreloadRequest] = {}
    slots: dict[int, int] = {}
    diagnostics: list[Diagnostic] = []

    for req in reqs:
        if req.slot is None:
            continue
        if not 0 <= req.slot < SLOTS_PER_BANK_TYPE:
            diagnostics.append(
                error(
                    "preload.slot_out_of_range",
                    f"preload slot {req.slot} of {req.asset_root} (asset {req.asset_id}) is "
                    f"outside 0..{SLOTS_PER_BANK_TYPE - 1}",
                    "pick a slot between 0 and 15, or drop `slot` to get one automatically",
                    path="asset.json",
                ).located(req.asset_id, req.asset_root)
            )
            continue
        holder = taken.get(req.slot)
        if holder is not None:
            diagnostics.append(
                error(
                    "preload.slot_clash",
                    f"{bank_type} preload slot {req.slot} is claimed by both "
                    f"{holder.asset_root} (asset {holder.asset_id}) and "
                    f"{req.asset_root} (asset {req.asset_id})",
                    "give one of them another slot, or drop `slot` to get one automatically",
                    path="asset.json",
                ).located(req.asset_id, req.asset_root)
            )
            continue
        taken[req.slot] = req
        slots[req.asset_id] = req.slot

    free = [s for s in range(SLOTS_PER_BANK_TYPE) if s not in taken]
    unplaced: list[PreloadRequest] = []
    for req in reqs:
        if req.slot is not None:
            continue
        if free:
            slots[req.asset_id] = free.pop(0)
        else:
            unplaced.append(req)

    if len(reqs) > SLOTS_PER_BANK_TYPE:
        # Name the assets that were left without a slot; if every request was explicit, the
        # overflow shows up as clashes too, so the newest asset carries the overflow finding.
        blamed = unplaced or [reqs[-1]]
        for req in blamed:
            diagnostics.append(
                error(
                    "preload.slot_overflow",
                    f"{len(reqs)} {bank_type} assets ask to be preloaded; only "
                    f"{SLOTS_PER_BANK_TYPE} slots exist, so {req.asset_root} "
                    f"(asset {req.asset_id}) has none",
                    "disable preload for assets not needed at boot",
                    path="asset.json",
                ).located(req.asset_id, req.asset_root)
            )
    return slots, diagnostics
