"""Cache-key recipe: stable, order-blind, float-free; diff_material explains rebuilds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometeu_cache import KEY_RECIPE_VERSION, blake3_file, blake3_hex, cache_key, diff_material
from prometeu_cache.keys import CHUNK_SIZE, canonical_bytes

MATERIAL: dict[str, Any] = {
    "packer_format_version": 1,
    "family": "glyph_bank",
    "format": "GLYPH/indexed_v1",
    "codec": "NONE",
    "metadata": {"tile_size": 16},
    "pipeline": {"palettes": [{"index": 0, "palette": {"colors": ["#000000", "#ff0044"]}}]},
    "artifacts": [
        {"index": 0, "path": "heart.png", "digest": "aa" * 32},
        {"index": 1, "path": "coin.png", "digest": "bb" * 32},
        {"index": 2, "path": "żółw.png", "digest": "cc" * 32},
    ],
}


def test_blake3_hex_known_vector() -> None:
    assert blake3_hex(b"") == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"


def test_blake3_file_streams_and_matches_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * ((CHUNK_SIZE * 2 + 12345) // 256)
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert blake3_file(big) == blake3_hex(data)
    assert blake3_file(str(empty)) == blake3_hex(b"")


def test_key_is_blake3_of_the_canonical_encoding() -> None:
    expected = blake3_hex(
        json.dumps(
            {"recipe": KEY_RECIPE_VERSION, **MATERIAL},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
    )
    assert cache_key(MATERIAL) == expected
    assert len(expected) == 64


def test_key_is_pinned() -> None:
    # A change here invalidates every CI cache: bump KEY_RECIPE_VERSION deliberately instead.
    assert cache_key({"a": 1, "b": ["x", None, True]}) == blake3_hex(
        b'{"a":1,"b":["x",null,true],"recipe":1}'
    )


def test_same_material_same_key_and_order_irrelevant() -> None:
    shuffled = dict(reversed(list(MATERIAL.items())))
    shuffled["metadata"] = dict(reversed(list(MATERIAL["metadata"].items())))
    assert cache_key(MATERIAL) == cache_key(json.loads(json.dumps(MATERIAL))) == cache_key(shuffled)


def test_tuples_encode_like_lists() -> None:
    assert cache_key({"a": (1, 2)}) == cache_key({"a": [1, 2]})


@pytest.mark.parametrize(
    ("other", "why"),
    [
        ({**MATERIAL, "codec": "LZ4"}, "codec"),
        ({**MATERIAL, "metadata": {"tile_size": 8}}, "metadata"),
        ({**MATERIAL, "artifacts": MATERIAL["artifacts"][::-1]}, "artifact order"),
        ({**MATERIAL, "packer_format_version": True}, "bool is not int"),
        ({**MATERIAL, "packer_format_version": "1"}, "str is not int"),
    ],
)
def test_any_change_changes_the_key(other: dict[str, Any], why: str) -> None:
    assert cache_key(other) != cache_key(MATERIAL), why


@pytest.mark.parametrize(
    "material",
    [
        {"scale": 1.0},
        {"metadata": {"gain": 0.5}},
        {"artifacts": [{"loop": [0, float("nan")]}]},
    ],
)
def test_floats_are_rejected(material: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="float"):
        cache_key(material)


def test_float_error_names_the_path() -> None:
    with pytest.raises(ValueError, match=r"artifacts\[1\]\.gain"):
        cache_key({"artifacts": [{"gain": 1}, {"gain": 0.5}]})


@pytest.mark.parametrize(
    "material",
    [
        {"samples": {1: "one"}},  # would collide with {"1": ...}
        {"blob": b"bytes"},
        {"set": {1, 2}},
        {"recipe": 2},
    ],
)
def test_ambiguous_material_is_rejected(material: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        cache_key(material)


def test_canonical_bytes_keeps_utf8() -> None:
    assert canonical_bytes({"b": "ż", "a": 1}) == '{"a":1,"b":"ż"}'.encode()


def test_diff_identical_is_empty() -> None:
    assert diff_material(MATERIAL, json.loads(json.dumps(MATERIAL))) == []


def test_diff_reports_dotted_paths() -> None:
    new = json.loads(json.dumps(MATERIAL))
    new["metadata"]["tile_size"] = 32
    new["artifacts"][2]["digest"] = "dd" * 32
    new["packer_format_version"] = 2
    assert diff_material(MATERIAL, new) == [
        "artifacts[2].digest",
        "metadata.tile_size",
        "packer_format_version",
    ]


def test_diff_added_removed_and_type_changes() -> None:
    old: dict[str, Any] = {"a": 1, "gone": 1, "list": [1, 2, 3], "flag": 1, "m": {"x": 1}}
    new: dict[str, Any] = {"a": 1, "new": 1, "list": [1, 2], "flag": True, "m": [1]}
    assert diff_material(old, new) == ["flag", "gone", "list[2]", "m", "new"]


def test_diff_quotes_awkward_keys() -> None:
    assert diff_material({"samples": {"a.b": 1}}, {"samples": {"a.b": 2}}) == ['samples["a.b"]']
    assert diff_material({"samples": {"0": 1}}, {"samples": {"0": 2}}) == ["samples.0"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)
_material = st.dictionaries(st.text(max_size=4).filter(lambda k: k != "recipe"), _json)


@settings(database=None)
@given(_material)
def test_key_ignores_insertion_order(material: dict[str, Any]) -> None:
    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    assert cache_key(reverse(material)) == cache_key(material)
    assert diff_material(material, reverse(material)) == []


@settings(database=None)
@given(_material, _material)
def test_diff_is_empty_exactly_when_keys_match(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert (diff_material(a, b) == []) == (cache_key(a) == cache_key(b))
