"""`sound_bank` → `SOUNDS/pcm16le_v1` (SPEC §4.2): WAV samples as mono signed 16-bit LE PCM.

WAV is parsed here with `struct` rather than the `wave` module, which rejects
WAVE_FORMAT_EXTENSIBLE and hides why a file is bad; every failure becomes a named diagnostic.

Decisions where the SPEC is silent:

* Loop points come in pairs: giving only `loop_start` or only `loop_end` is blocking.
* A chunk whose declared size runs past the end of the file, and a `data` chunk that is not
  a whole number of frames, are blocking (truncated file). A missing pad byte after the last
  odd-sized chunk is tolerated.
* WAVE_FORMAT_EXTENSIBLE is accepted with the PCM sub-format; samples are converted by their
  container size (`wBitsPerSample`), which is right for left-justified valid bits.
* The SPEC sets no sample limit; capacity is 65536 so sample ids fit a `u16`.

Diagnostic codes (all blocking):

* `sound.input_not_wav` — an artifact file does not end in `.wav`.
* `sound.loop_incomplete` — only one of `loop_start` / `loop_end` is given.
* `sound.loop_invalid` — `loop_start` < 0 or `loop_start` >= `loop_end`.
* `input.missing` — an artifact's bytes are not in the frozen input snapshot.
* `sound.wav_unreadable` — not a RIFF/WAVE file, or no usable `fmt ` / `data` chunk.
* `sound.wav_truncated` — a chunk runs past the end of the file, or a partial last frame.
* `sound.not_pcm` — the encoding is not integer PCM (e.g. IEEE float, ADPCM).
* `sound.bit_depth_unsupported` — PCM that is not 8, 16, 24 or 32 bits per sample.
* `sound.empty` — the `data` chunk holds no frames.
* `sound.sample_rate_out_of_range` — sample rate outside 8000..48000 Hz.
* `sound.loop_out_of_range` — `loop_end` is past the sample's last frame.

Plus the shared `artifact.*` / `output.*` codes of `base.Family`.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models.declaration import ArtifactDecl, AssetDeclaration, OutputDecl
from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import input_missing
from .base import (
    ExtractedFile,
    Family,
    Materialized,
    MaterializeOutcome,
    ScaffoldRequest,
)

MIN_RATE = 8000
MAX_RATE = 48000
CAPACITY = 65536

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_* GUIDs share this tail after their 2-byte format code.
_SUBFORMAT_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_FORMAT_NAMES = {3: "IEEE float", 2: "MS ADPCM", 6: "A-law", 7: "mu-law", 0x11: "IMA ADPCM"}
_BIG_ENDIAN = sys.byteorder == "big"


class _WavError(Exception):
    """A named reason a WAV cannot be used; turned into a diagnostic for the file."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


@dataclass(frozen=True)
class Pcm:
    """A decoded sample: mono s16le bytes and the rate it plays at."""

    sample_rate: int
    data: bytes

    @property
    def frames(self) -> int:
        return len(self.data) // 2


def decode_wav(data: bytes) -> Pcm:
    """Parse RIFF/WAVE bytes and convert to mono s16le (SPEC §4.2). Raises `_WavError`."""
    reexport = "re-export the sound as a 16-bit PCM WAV"
    if not data:
        raise _WavError("sound.empty", "is an empty file (0 bytes)", reexport)
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise _WavError("sound.wav_unreadable", "is not a RIFF/WAVE file", reexport)
    fmt: bytes | None = None
    body: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        start, end = pos + 8, pos + 8 + size
        if end > len(data):
            raise _WavError(
                "sound.wav_truncated",
                f"its {chunk_id.decode('latin-1')!r} chunk claims {size} bytes but the file "
                f"ends after {len(data) - start}",
                "the file is cut short; re-export it",
            )
        if chunk_id == b"fmt " and fmt is None:
            fmt = data[start:end]
        elif chunk_id == b"data" and body is None:
            body = data[start:end]
        pos = end + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise _WavError("sound.wav_unreadable", "has no valid 'fmt ' chunk", reexport)
    if body is None:
        raise _WavError("sound.wav_unreadable", "has no 'data' chunk", reexport)

    tag, channels, rate, _byte_rate, align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(fmt) < 40:
            raise _WavError(
                "sound.wav_unreadable", "has a too short extensible 'fmt ' chunk", reexport
            )
        if fmt[26:40] != _SUBFORMAT_TAIL:
            raise _WavError("sound.not_pcm", "uses an unknown extensible sub-format", reexport)
        tag = struct.unpack_from("<H", fmt, 24)[0]
    if tag != WAVE_FORMAT_PCM:
        name = _FORMAT_NAMES.get(tag, f"format code {tag}")
        raise _WavError("sound.not_pcm", f"is {name}, not integer PCM", reexport)
    if bits not in (8, 16, 24, 32):
        raise _WavError(
            "sound.bit_depth_unsupported",
            f"is {bits}-bit PCM; only 8, 16, 24 and 32-bit are supported",
            reexport,
        )
    width = bits // 8
    if channels == 0 or align != channels * width:
        raise _WavError(
            "sound.wav_unreadable",
            f"has an inconsistent 'fmt ' chunk ({channels} channels, block align {align})",
            reexport,
        )
    if len(body) % align:
        raise _WavError(
            "sound.wav_truncated",
            f"has {len(body)} data bytes, not a whole number of {align}-byte frames",
            "the file is cut short; re-export it",
        )
    if not body:
        raise _WavError("sound.empty", "holds no audio frames", "export a sound with audio")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise _WavError(
            "sound.sample_rate_out_of_range",
            f"is sampled at {rate} Hz; the console plays {MIN_RATE}..{MAX_RATE} Hz",
            f"resample it to a rate between {MIN_RATE} and {MAX_RATE} Hz (e.g. 22050)",
        )
    return Pcm(rate, _to_mono_s16le(body, width, channels))


def _to_mono_s16le(body: bytes, width: int, channels: int) -> bytes:
    """Each sample → s16 by its top bytes (= the SPEC's shifts), then floor mean of channels."""
    count = len(body) // width
    wide = bytearray(2 * count)
    if width == 1:  # (v - 128) << 8: low byte 0, high byte v ^ 0x80
        wide[1::2] = body.translate(bytes(v ^ 0x80 for v in range(256)))
    else:  # v >> (bits - 16) for signed LE v keeps its two most significant bytes
        wide[0::2] = body[width - 2 :: width]
        wide[1::2] = body[width - 1 :: width]
    if channels == 1:
        return bytes(wide)
    values = array("h")
    values.frombytes(bytes(wide))
    if _BIG_ENDIAN:
        values.byteswap()
    per_channel = [values[c::channels] for c in range(channels)]
    mono = array("h", (sum(frame) // channels for frame in zip(*per_channel, strict=True)))
    if _BIG_ENDIAN:
        mono.byteswap()
    return mono.tobytes()


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """A minimal mono 16-bit PCM WAV around s16le bytes (for extraction)."""
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_PCM, 1, sample_rate, sample_rate * 2, 2, 16)
    riff_size = 4 + (8 + len(fmt)) + (8 + len(pcm)) + (len(pcm) & 1)
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
        + b"\x00" * (len(pcm) & 1)
    )


def _check_loop(art: ArtifactDecl) -> list[Diagnostic]:
    """Loop points checkable without the audio: paired, non-negative, start before end."""
    start, end = art.loop_start, art.loop_end
    if start is None and end is None:
        return []
    if start is None or end is None:
        given = "loop_start" if start is not None else "loop_end"
        return [
            error(
                "sound.loop_incomplete",
                f"sample {art.index} ({art.file}) sets {given} only; loops need both "
                "loop_start and loop_end",
                "add the missing loop point (in frames) or remove the one given",
                path=art.file,
            )
        ]
    if start < 0 or start >= end:
        return [
            error(
                "sound.loop_invalid",
                f"sample {art.index} ({art.file}) loops from frame {start} to {end}; "
                "need 0 <= loop_start < loop_end",
                "set loop_start before loop_end, both as frame numbers",
                path=art.file,
            )
        ]
    return []


class SoundBank(Family):
    """WAV samples, converted to one concatenated mono s16le payload."""

    type_name = "sound_bank"
    format = "SOUNDS/pcm16le_v1"
    bank_type = "SOUNDS"
    input_role = "samples"
    input_suffixes = (".wav",)

    def max_artifacts(self, decl: AssetDeclaration | None) -> int:
        return CAPACITY

    def check_declaration(self, decl: AssetDeclaration) -> list[Diagnostic]:
        out = self.check_codec(decl)
        out += self.check_indices(decl, "sample")
        out += self.check_capacity(decl)
        for art in decl.sorted_artifacts():
            if not art.file.lower().endswith(".wav"):
                out.append(
                    error(
                        "sound.input_not_wav",
                        f"sample {art.index} ({art.file}) is not a .wav file",
                        "sound bank samples must be WAV files",
                        path=art.file,
                    )
                )
            out += _check_loop(art)
        return out

    def materialize(self, decl: AssetDeclaration, files: Mapping[str, bytes]) -> MaterializeOutcome:
        declared = [d for d in self.check_declaration(decl) if d.blocking]
        if declared:
            return MaterializeOutcome(None, tuple(declared))
        problems: list[Diagnostic] = []
        chunks: list[bytes] = []
        samples: dict[str, dict[str, int]] = {}
        offset = 0
        for art in decl.sorted_artifacts():
            data = files.get(art.file)
            if data is None:
                problems.append(input_missing(art.file))
                continue
            try:
                pcm = decode_wav(data)
            except _WavError as exc:
                problems.append(
                    error(exc.code, f"{art.file} {exc.message}", exc.hint, path=art.file)
                )
                continue
            entry = {"offset": offset, "frames": pcm.frames, "sample_rate": pcm.sample_rate}
            if art.loop_start is not None and art.loop_end is not None:
                if art.loop_end > pcm.frames:
                    problems.append(
                        error(
                            "sound.loop_out_of_range",
                            f"{art.file} has {pcm.frames} frames but loop_end is {art.loop_end}",
                            f"set loop_end to at most {pcm.frames}",
                            path=art.file,
                        )
                    )
                    continue
                entry["loop_start"], entry["loop_end"] = art.loop_start, art.loop_end
            samples[str(art.index)] = entry
            chunks.append(pcm.data)
            offset += len(pcm.data)
        if problems:
            return MaterializeOutcome(None, tuple(problems))
        payload = b"".join(chunks)
        metadata = {"channels": 1, "sample_count": len(samples), "samples": samples}
        return MaterializeOutcome(Materialized(payload, len(payload), metadata))

    def extract(self, metadata: Mapping[str, Any], payload: bytes) -> list[ExtractedFile]:
        """One `sample_NNN.wav` per sample id, cut from the payload by its offset and frames."""
        samples = metadata.get("samples")
        if not isinstance(samples, Mapping):
            raise ValueError("sound metadata has no `samples` object")
        out: list[ExtractedFile] = []
        width = max(3, len(str(max(len(samples) - 1, 0))))
        for key in sorted(samples, key=int):
            info = samples[key]
            offset, frames, rate = info["offset"], info["frames"], info["sample_rate"]
            if offset < 0 or offset + 2 * frames > len(payload):
                raise ValueError(f"sample {key} lies outside the {len(payload)}-byte payload")
            pcm = payload[offset : offset + 2 * frames]
            out.append(ExtractedFile(f"sample_{int(key):0{width}d}.wav", wav_bytes(pcm, rate)))
        return out

    def scaffold_output(self, request: ScaffoldRequest) -> OutputDecl:
        return OutputDecl(format=self.format, codec="NONE", metadata={}, pipeline={})
