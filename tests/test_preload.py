"""Preload slot assignment: explicit slots honoured, auto slots lowest-free by asset_id."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packer_tasks.artifact import PreloadRequest, assign_preload


def req(asset_id: int, slot: int | None = None, bank: str = "GLYPH") -> PreloadRequest:
    return PreloadRequest(asset_id, f"root/{asset_id}", bank, slot)


def test_nothing_to_preload() -> None:
    assert assign_preload([]) == ([], [])


def test_explicit_slots_are_reserved_before_auto_ones() -> None:
    requests = [req(1), req(2, 0), req(3), req(4, 2)]
    preload, diagnostics = assign_preload(requests)
    assert diagnostics == []
    assert preload == [
        {"asset_id": 1, "slot": 1},
        {"asset_id": 2, "slot": 0},
        {"asset_id": 3, "slot": 3},
        {"asset_id": 4, "slot": 2},
    ]


def test_result_does_not_depend_on_request_order() -> None:
    requests = [req(i, 15 - i if i % 3 == 0 else None) for i in range(1, 12)]
    expected = assign_preload(requests)
    for seed in range(5):
        shuffled = requests[:]
        random.Random(seed).shuffle(shuffled)
        assert assign_preload(shuffled) == expected


def test_bank_types_have_separate_slots() -> None:
    requests = [req(1, 0, "GLYPH"), req(2, 0, "SOUNDS"), req(3, None, "SOUNDS"), req(4)]
    preload, diagnostics = assign_preload(requests)
    assert diagnostics == []
    assert preload == [
        {"asset_id": 1, "slot": 0},
        {"asset_id": 2, "slot": 0},
        {"asset_id": 3, "slot": 1},
        {"asset_id": 4, "slot": 1},
    ]


def test_explicit_clash_is_blocking_and_names_both_assets() -> None:
    preload, diagnostics = assign_preload([req(7, 5), req(3, 5), req(9)])
    (clash,) = diagnostics
    assert clash.code == "preload.slot_clash"
    assert clash.blocking
    assert (clash.asset_id, clash.asset_root) == (7, "root/7")
    assert "root/3" in clash.message and "root/7" in clash.message
    assert "GLYPH" in clash.message
    assert preload == [{"asset_id": 3, "slot": 5}, {"asset_id": 9, "slot": 0}]


def test_sixteen_preloads_fit() -> None:
    preload, diagnostics = assign_preload([req(i) for i in range(1, 17)])
    assert diagnostics == []
    assert [p["slot"] for p in preload] == list(range(16))


def test_seventeenth_auto_preload_overflows() -> None:
    preload, diagnostics = assign_preload(
        [req(i) for i in range(1, 18)] + [req(100, None, "SOUNDS")]
    )
    (overflow,) = diagnostics
    assert overflow.code == "preload.slot_overflow"
    assert overflow.blocking
    assert (overflow.asset_id, overflow.asset_root) == (17, "root/17")
    assert {"asset_id": 100, "slot": 0} in preload
    assert all(p["asset_id"] != 17 for p in preload)


def test_overflow_blames_the_auto_asset_not_the_explicit_ones() -> None:
    requests = [req(i, i - 2) for i in range(2, 18)] + [req(1)]
    preload, diagnostics = assign_preload(requests)
    assert [(d.code, d.asset_id) for d in diagnostics] == [("preload.slot_overflow", 1)]
    assert len(preload) == 16


def test_seventeen_explicit_preloads_clash_and_overflow() -> None:
    requests = [req(i, (i - 1) % 16) for i in range(1, 18)]
    _, diagnostics = assign_preload(requests)
    assert sorted((d.code, d.asset_id) for d in diagnostics) == [
        ("preload.slot_clash", 17),
        ("preload.slot_overflow", 17),
    ]


def test_out_of_range_slot_is_blocking() -> None:
    preload, diagnostics = assign_preload([req(1, 16), req(2)])
    assert [(d.code, d.asset_id, d.blocking) for d in diagnostics] == [
        ("preload.slot_out_of_range", 1, True)
    ]
    assert preload == [{"asset_id": 2, "slot": 0}]


def test_duplicate_asset_ids_are_a_caller_bug() -> None:
    with pytest.raises(ValueError):
        assign_preload([req(1), req(1, 2)])


requests_strategy = st.lists(
    st.builds(
        req,
        st.integers(1, 60),
        st.none() | st.integers(0, 15),
        st.sampled_from(["GLYPH", "SOUNDS"]),
    ),
    max_size=40,
    unique_by=lambda r: r.asset_id,
)


@settings(deadline=None)
@given(requests_strategy)
def test_assignment_invariants(requests: list[PreloadRequest]) -> None:
    preload, diagnostics = assign_preload(requests)
    by_id = {r.asset_id: r for r in requests}
    ids = [p["asset_id"] for p in preload]
    assert ids == sorted(set(ids))
    used = [(by_id[p["asset_id"]].bank_type, p["slot"]) for p in preload]
    assert len(used) == len(set(used))
    assert all(0 <= p["slot"] < 16 for p in preload)

    clash = any(
        a.slot is not None and a.slot == b.slot and a.bank_type == b.bank_type
        for a in requests
        for b in requests
        if a.asset_id < b.asset_id
    )
    overflow = any(sum(r.bank_type == bank for r in requests) > 16 for bank in ("GLYPH", "SOUNDS"))
    assert bool(diagnostics) == (clash or overflow)
    assert all(d.blocking and d.asset_id in by_id for d in diagnostics)
    if not diagnostics:
        assert len(preload) == len(requests)
        for p in preload:
            slot = by_id[p["asset_id"]].slot
            assert slot is None or slot == p["slot"]
