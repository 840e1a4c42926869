"""SoundBank (SPEC §4.2): WAV parsing, exact s16le conversion, loops, and each blocking code."""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Sequence
from typing import Any

import pytest

from packer_tasks.families.base import MaterializeOutcome, ScaffoldRequest
from packer_tasks.families.sound_bank import SoundBank
from packer_tasks.models.declaration import AssetDeclaration

FAMILY = SoundBank()
PCM_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


# Builders -------------------------------------------------------------------------------------


def encode(value: int, bits: int) -> bytes:
    if bits == 8:
        return bytes([value])  # unsigned
    return value.to_bytes(bits // 8, "little", signed=True)


def chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def fmt_body(
    bits: int, channels: int, rate: int, tag: int = 1, extensible_sub: int | None = None
) -> bytes:
    align = channels * bits // 8
    head = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    if extensible_sub is None:
        return head
    ext = struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", extensible_sub) + PCM_GUID_TAIL
    return head + ext


def wav(
    frames: Sequence[Sequence[int]],
    bits: int = 16,
    rate: int = 22050,
    *,
    tag: int = 1,
    extensible_sub: int | None = None,
    extra: Sequence[bytes] = (),
    data_first: bool = False,
) -> bytes:
    channels = len(frames[0]) if frames else 1
    pcm = b"".join(encode(v, bits) for frame in frames for v in frame)
    fmt = chunk(b"fmt ", fmt_body(bits, channels, rate, tag, extensible_sub))
    data = chunk(b"data", pcm)
    body = b"".join(extra) + (data + fmt if data_first else fmt + data)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def mono(values: Sequence[int], bits: int = 16, rate: int = 22050, **kw: Any) -> bytes:
    return wav([[v] for v in values], bits, rate, **kw)


def make_decl(
    files: Sequence[str],
    *,
    indices: Sequence[int] | None = None,
    loops: dict[str, dict[str, Any]] | None = None,
) -> AssetDeclaration:
    idx = list(indices) if indices is not None else list(range(len(files)))
    arts = [
        {"index": i, "file": f, **(loops or {}).get(f, {})} for i, f in zip(idx, files, strict=True)
    ]
    return AssetDeclaration.model_validate(
        {
            "schema_version": 1,
            "asset_uuid": "2b0d8c1e-5a4f-4f7e-8c3a-9e1d2f3a4b5c",
            "name": "sfx",
            "type": "sound_bank",
            "inputs": {"samples": list(dict.fromkeys(files))},
            "artifacts": arts,
            "output": {
                "format": "SOUNDS/pcm16le_v1",
                "codec": "NONE",
                "metadata": {},
                "pipeline": {},
            },
            "preload": {"enabled": False},
        }
    )


def ok(outcome: MaterializeOutcome) -> tuple[bytes, dict[str, Any]]:
    assert outcome.diagnostics == (), outcome.diagnostics
    assert outcome.materialized is not None
    assert outcome.materialized.decoded_size == len(outcome.materialized.payload)
    return outcome.materialized.payload, outcome.materialized.metadata


def codes(outcome: MaterializeOutcome) -> list[str]:
    assert outcome.materialized is None
    assert all(d.blocking for d in outcome.diagnostics)
    return [d.code for d in outcome.diagnostics]


def s16(payload: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(payload) // 2}h", payload))


def convert(data: bytes) -> list[int]:
    return s16(ok(FAMILY.materialize(make_decl(["s.wav"]), {"s.wav": data}))[0])


# Family constants ------------------------------------------------------------------------------


def test_family_constants() -> None:
    assert FAMILY.type_name == "sound_bank"
    assert FAMILY.format == "SOUNDS/pcm16le_v1"
    assert FAMILY.bank_type == "SOUNDS"
    assert FAMILY.input_role == "samples"
    assert FAMILY.input_suffixes == (".wav",)
    assert FAMILY.max_artifacts(None) >= 1


# Conversions -----------------------------------------------------------------------------------


def test_8bit_unsigned() -> None:
    assert convert(mono([0, 1, 127, 128, 129, 255], bits=8)) == [
        -32768,
        -32512,
        -256,
        0,
        256,
        32512,
    ]


def test_16bit_passthrough_exact_bytes() -> None:
    values = [-32768, -1, 0, 1, 32767]
    payload, _ = ok(FAMILY.materialize(make_decl(["s.wav"]), {"s.wav": mono(values)}))
    assert payload == struct.pack("<5h", *values)


def test_24bit_arithmetic_shift() -> None:
    values = [-8388608, -257, -256, -1, 0, 255, 256, 8388607]
    assert convert(mono(values, bits=24)) == [v >> 8 for v in values]
    assert convert(mono(values, bits=24)) == [-32768, -2, -1, -1, 0, 0, 1, 32767]


def test_32bit_arithmetic_shift() -> None:
    values = [-(2**31), -65537, -1, 0, 65535, 65536, 2**31 - 1]
    assert convert(mono(values, bits=32)) == [-32768, -2, -1, 0, 0, 1, 32767]


def test_stereo_floor_mean() -> None:
    frames = [[-1, 0], [1, 0], [3, 4], [-3, -4], [32767, 32767], [-32768, -32768]]
    assert convert(wav(frames)) == [-1, 0, 3, -4, 32767, -32768]


def test_stereo_8bit_mean_after_conversion() -> None:
    assert convert(wav([[0, 255], [128, 129]], bits=8)) == [-128, 128]


def test_three_channels_floor_mean() -> None:
    assert convert(wav([[1, 1, 2], [-1, -1, -2], [30000, 30000, 30000]])) == [1, -2, 30000]


def test_extensible_pcm_24bit_stereo() -> None:
    frames = [[256, 512], [-256, -768]]
    data = wav(frames, bits=24, tag=0xFFFE, extensible_sub=1)
    assert convert(data) == [1, -2]


def test_odd_chunk_padding_and_data_before_fmt() -> None:
    extra = [chunk(b"LIST", b"abc"), chunk(b"junk", b"")]
    assert convert(mono([5, -5], extra=extra)) == [5, -5]
    assert convert(mono([7], data_first=True)) == [7]


def test_sample_rate_bounds_accepted() -> None:
    for rate in (8000, 48000):
        _, metadata = ok(FAMILY.materialize(make_decl(["s.wav"]), {"s.wav": mono([0], rate=rate)}))
        assert metadata["samples"]["0"]["sample_rate"] == rate


# Payload and metadata --------------------------------------------------------------------------


def test_concatenation_in_index_order_and_metadata() -> None:
    files = {
        "jump.wav": mono([1, 2, 3], rate=11025),
        "coin.wav": wav([[10, 20], [30, 40]], rate=44100),
    }
    decl = make_decl(
        ["jump.wav", "coin.wav"],
        indices=[1, 0],
        loops={"jump.wav": {"loop_start": 1, "loop_end": 3}},
    )
    payload, metadata = ok(FAMILY.materialize(decl, files))
    assert payload == struct.pack("<5h", 15, 35, 1, 2, 3)
    assert metadata == {
        "channels": 1,
        "sample_count": 2,
        "samples": {
            "0": {"offset": 0, "frames": 2, "sample_rate": 44100},
            "1": {"offset": 4, "frames": 3, "sample_rate": 11025, "loop_start": 1, "loop_end": 3},
        },
    }


def test_loop_may_span_whole_sample() -> None:
    decl = make_decl(["s.wav"], loops={"s.wav": {"loop_start": 0, "loop_end": 4}})
    _, metadata = ok(FAMILY.materialize(decl, {"s.wav": mono([0, 1, 2, 3])}))
    assert metadata["samples"]["0"]["loop_start"] == 0
    assert metadata["samples"]["0"]["loop_end"] == 4


def test_materialize_is_deterministic() -> None:
    files = {"a.wav": mono([1, 2]), "b.wav": wav([[1, 2]], bits=24)}
    decl = make_decl(["a.wav", "b.wav"])
    assert ok(FAMILY.materialize(decl, files)) == ok(FAMILY.materialize(decl, dict(files)))


# Blocking diagnostics --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(b"", "sound.empty", id="empty-file"),
        pytest.param(b"not a wav at all", "sound.wav_unreadable", id="garbage"),
        pytest.param(b"RIFF\x04\x00\x00\x00AVI ", "sound.wav_unreadable", id="not-wave"),
        pytest.param(
            b"RIFF" + struct.pack("<I", 4 + 8 + 4) + b"WAVE" + chunk(b"data", b"\x00\x00"),
            "sound.wav_unreadable",
            id="no-fmt",
        ),
        pytest.param(
            b"RIFF" + struct.pack("<I", 28) + b"WAVE" + chunk(b"fmt ", fmt_body(16, 1, 22050)),
            "sound.wav_unreadable",
            id="no-data",
        ),
        pytest.param(mono([1, 2, 3, 4])[:-3], "sound.wav_truncated", id="cut-short"),
        pytest.param(
            b"RIFF"
            + struct.pack("<I", 4 + 24 + 11)
            + b"WAVE"
            + chunk(b"fmt ", fmt_body(16, 1, 22050))
            + b"data"
            + struct.pack("<I", 3)
            + b"\x00\x01\x02",
            "sound.wav_truncated",
            id="partial-frame",
        ),
        pytest.param(mono([0, 0], tag=3, bits=32), "sound.not_pcm", id="float"),
        pytest.param(mono([0], tag=2), "sound.not_pcm", id="adpcm"),
        pytest.param(
            mono([0], bits=32, tag=0xFFFE, extensible_sub=3), "sound.not_pcm", id="ext-float"
        ),
        pytest.param(
            wav([[0]], bits=16, tag=0xFFFE, extensible_sub=None),
            "sound.wav_unreadable",
            id="ext-short",
        ),
        pytest.param(wav([], bits=16), "sound.empty", id="no-frames"),
        pytest.param(mono([0], rate=7999), "sound.sample_rate_out_of_range", id="7999Hz"),
        pytest.param(mono([0], rate=48001), "sound.sample_rate_out_of_range", id="48001Hz"),
        pytest.param(mono([0], rate=96000), "sound.sample_rate_out_of_range", id="96kHz"),
    ],
)
def test_unusable_wav(data: bytes, code: str) -> None:
    outcome = FAMILY.materialize(make_decl(["sfx/boom.wav"]), {"sfx/boom.wav": data})
    assert codes(outcome) == [code]
    diag = outcome.diagnostics[0]
    assert diag.path == "sfx/boom.wav"
    assert "sfx/boom.wav" in diag.message
    assert diag.hint


def test_bit_depth_unsupported() -> None:
    fmt = struct.pack("<HHIIHH", 1, 1, 22050, 44100, 2, 12)
    data = chunk(b"fmt ", fmt) + chunk(b"data", b"\x00\x00")
    outcome = FAMILY.materialize(
        make_decl(["s.wav"]), {"s.wav": b"RIFF" + struct.pack("<I", 4 + len(data)) + b"WAVE" + data}
    )
    assert codes(outcome) == ["sound.bit_depth_unsupported"]


def test_float_wav_names_the_encoding() -> None:
    outcome = FAMILY.materialize(make_decl(["f.wav"]), {"f.wav": mono([0], bits=32, tag=3)})
    assert "IEEE float" in outcome.diagnostics[0].message


@pytest.mark.parametrize(
    ("loop", "code"),
    [
        ({"loop_start": 1}, "sound.loop_incomplete"),
        ({"loop_end": 2}, "sound.loop_incomplete"),
        ({"loop_start": 2, "loop_end": 2}, "sound.loop_invalid"),
        ({"loop_start": 3, "loop_end": 1}, "sound.loop_invalid"),
        ({"loop_start": -1, "loop_end": 1}, "sound.loop_invalid"),
    ],
)
def test_loop_declaration_errors(loop: dict[str, int], code: str) -> None:
    decl = make_decl(["s.wav"], loops={"s.wav": loop})
    assert [(d.code, d.path) for d in FAMILY.check_declaration(decl)] == [(code, "s.wav")]
    assert codes(FAMILY.materialize(decl, {"s.wav": mono([0, 0, 0, 0])})) == [code]


def test_loop_end_past_last_frame() -> None:
    decl = make_decl(["s.wav"], loops={"s.wav": {"loop_start": 0, "loop_end": 5}})
    assert FAMILY.check_declaration(decl) == []
    outcome = FAMILY.materialize(decl, {"s.wav": mono([0, 0, 0, 0])})
    assert codes(outcome) == ["sound.loop_out_of_range"]
    assert outcome.diagnostics[0].path == "s.wav"


def test_missing_input_bytes() -> None:
    outcome = FAMILY.materialize(make_decl(["a.wav", "b.wav"]), {"a.wav": mono([0])})
    assert codes(outcome) == ["input.missing"]
    assert outcome.diagnostics[0].path == "b.wav"


def test_all_file_problems_reported_together() -> None:
    files = {"a.wav": b"junk", "b.wav": mono([0], rate=4000)}
    outcome = FAMILY.materialize(make_decl(["a.wav", "b.wav", "c.wav"]), files)
    assert codes(outcome) == [
        "sound.wav_unreadable",
        "sound.sample_rate_out_of_range",
        "input.missing",
    ]


def test_artifact_must_be_wav() -> None:
    diags = FAMILY.check_declaration(make_decl(["a.wav", "b.mp3"]))
    assert [(d.code, d.path) for d in diags] == [("sound.input_not_wav", "b.mp3")]


def test_index_duplicate_and_gap() -> None:
    got = {d.code for d in FAMILY.check_declaration(make_decl(["a.wav", "b.wav"], indices=[1, 1]))}
    assert got == {"artifact.index_duplicate", "artifact.index_gap"}


def test_no_artifacts_is_blocking() -> None:
    assert [d.code for d in FAMILY.check_declaration(make_decl([]))] == ["artifact.none"]


# Extract and scaffold --------------------------------------------------------------------------


def test_extract_one_wav_per_sample() -> None:
    files = {"a.wav": mono([1, -2, 3], rate=8000), "b.wav": mono([100, 200], rate=44100)}
    payload, metadata = ok(FAMILY.materialize(make_decl(["a.wav", "b.wav"]), files))
    extracted = FAMILY.extract(metadata, payload)
    assert [f.name for f in extracted] == ["sample_000.wav", "sample_001.wav"]
    expected = [(8000, [1, -2, 3]), (44100, [100, 200])]
    for file, (rate, values) in zip(extracted, expected, strict=True):
        with wave.open(io.BytesIO(file.data)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, rate)
            assert s16(w.readframes(w.getnframes())) == values
    # an extracted sample packs back to the same bytes
    again = {"a.wav": extracted[0].data, "b.wav": extracted[1].data}
    assert ok(FAMILY.materialize(make_decl(["a.wav", "b.wav"]), again))[0] == payload


def test_extract_rejects_bad_metadata() -> None:
    with pytest.raises(ValueError):
        FAMILY.extract({}, b"")
    with pytest.raises(ValueError):
        FAMILY.extract(
            {"samples": {"0": {"offset": 0, "frames": 10, "sample_rate": 8000}}}, b"\0\0"
        )


def test_scaffold_output() -> None:
    out = FAMILY.scaffold_output(ScaffoldRequest(["a.wav"]))
    assert (out.format, out.codec, out.metadata, out.pipeline) == (
        "SOUNDS/pcm16le_v1",
        "NONE",
        {},
        {},
    )
