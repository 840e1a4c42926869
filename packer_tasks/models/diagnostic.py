"""The diagnostic shape of SPEC §7: every finding, from any layer, is one of these."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Diagnostic(BaseModel):
    """One finding. `blocking` diagnostics stop a pack; the rest are advice."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    blocking: bool
    message: str
    hint: str = ""
    asset_id: int | None = None
    asset_root: str | None = None
    path: str | None = None
    fix: str | None = None

    @property
    def where(self) -> str:
        """`[id] root path`, as far as known: what every front end prints before the message."""
        parts = (
            f"[{self.asset_id}]" if self.asset_id is not None else "",
            self.asset_root or "",
            self.path or "",
        )
        return " ".join(x for x in parts if x)

    def located(self, asset_id: int | None, asset_root: str | None) -> Diagnostic:
        """Return a copy that names the asset it belongs to (families don't know it)."""
        return self.model_copy(
            update={
                "asset_id": self.asset_id if self.asset_id is not None else asset_id,
                "asset_root": self.asset_root if self.asset_root is not None else asset_root,
            }
        )


class DiagnosticMaker(Protocol):
    def __call__(
        self,
        code: str,
        message: str,
        hint: str = "",
        *,
        path: str | None = None,
        fix: str | None = None,
    ) -> Diagnostic: ...


def _make(severity: Severity, blocking: bool) -> DiagnosticMaker:
    def make(
        code: str,
        message: str,
        hint: str = "",
        *,
        path: str | None = None,
        fix: str | None = None,
    ) -> Diagnostic:
        return Diagnostic(
            code=code,
            severity=severity,
            blocking=blocking,
            message=message,
            hint=hint,
            path=path,
            fix=fix,
        )

    return make


error = _make(Severity.ERROR, True)
error.__doc__ = "A blocking error: the build set cannot be packed while it stands."
warning = _make(Severity.WARNING, False)
warning.__doc__ = "Advice that never blocks a build."
info = _make(Severity.INFO, False)
info.__doc__ = "A neutral fact worth showing (e.g. an excluded asset)."


def any_blocking(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> bool:
    return any(d.blocking for d in diagnostics)
