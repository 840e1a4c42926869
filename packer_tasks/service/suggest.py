"""Close matches for a mistyped name ("did you mean …?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggestions(wanted: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Names close to `wanted`, best first."""
    return difflib.get_close_matches(wanted, list(known), n=limit, cutoff=0.6)
