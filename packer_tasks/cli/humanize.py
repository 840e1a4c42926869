"""Numbers for people: counts as words, sizes in KiB/MiB, dates instead of epochs, columns
that fit the terminal. Pure functions: no packer semantics, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

# "5 cache hit(s)", "1 miss(es)", "6 entr(ies)": a count, then a noun with its plural ending
# in parentheses (words may sit between, as in "0 local + 5 remote cache hit(s)").
_COUNTED = re.compile(r"\b(\d+)((?: [a-z-]+)*? )([a-z-]+?)(\((?:s|es|ies)\))")
_BYTES_OF = re.compile(r"\b(\d+) bytes of (\d+)\b")
_BYTES = re.compile(r"\b(\d{4,}) bytes\b")


def plural(n: int, noun: str, many: str | None = None) -> str:
    """`1 asset`, `3 assets`, `2 cache misses` (pass `many` for irregular plurals)."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {many if many is not None else noun + 's'}"


def readable(text: str) -> str:
    """A packer sentence for people: `2 asset(s)` → `2 assets`, `1 miss(es)` → `1 miss`,
    `6 entr(ies)` → `6 entries`, `180635 bytes of 2147483648` → `176 KiB of 2.0 GiB`."""

    def counted(m: re.Match[str]) -> str:
        n, between, stem, ending = m.group(1), m.group(2), m.group(3), m.group(4)
        if ending == "(ies)":
            noun = stem + ("y" if n == "1" else "ies")
        else:
            noun = stem if n == "1" else stem + ending[1:-1]
        return f"{n}{between}{noun}"

    text = _COUNTED.sub(counted, text)
    text = _BYTES_OF.sub(lambda m: f"{size(int(m.group(1)))} of {size(int(m.group(2)))}", text)
    return _BYTES.sub(lambda m: size(int(m.group(1))), text)


def size(n: int | None) -> str:
    """`512 B`, `176 KiB`, `2.0 GiB`: binary units, at most one decimal."""
    if n is None:
        return "?"
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def when(ms: int | None) -> str:
    """A millisecond epoch as a local date and time (`2026-12-02 17:40`)."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def duration(ms: int) -> str:
    """`850 ms`, `4.2 s`, `2 min 5 s`."""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms // 60_000} min {ms % 60_000 // 1000} s"


def words(items: Sequence[str], last: str = "and") -> str:
    """`a`, `a and b`, `a, b and c` (never a Python list repr)."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def columns(rows: Sequence[Sequence[str]], width: int, header: Sequence[str]) -> list[str]:
    """Plain aligned lines (fast on thousands of rows) when they fit in `width` (the last
    column cut with `…` if need be); otherwise one record per block (`name: value` lines)."""
    table = [list(header), *map(list, rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    if fixed + min(widths[-1], 16) <= width:
        room = width - fixed
        return [
            "  ".join(
                [*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)), _cut(r[-1], room)]
            ).rstrip()
            for r in table
        ]
    label = max(len(h) for h in header)
    lines: list[str] = []
    for r in table[1:]:
        lines += [f"{h.rjust(label)}: {c}" for h, c in zip(header, r, strict=True)]
        lines.append("")
    return lines[:-1]


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"
