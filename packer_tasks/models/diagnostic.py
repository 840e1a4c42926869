"""The diagnostic shape of SPEC §7: every finding, from any layer, is one of these."""

from __future__ import annotations

from enum import StrEnum

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

    def located(self, asset_id: int | None, asset_root: str | None) -> Diagnostic:
        """Return a copy that names the asset it belongs to (families don't know it)."""
        return self.model_copy(
            update={
                "asset_id": self.asset_id if self.asset_id is not None else asset_id,
                "asset_root": self.asset_root if self.asset_root is not None else asset_root,
            }
        )


def error(
    code: str, message: str, hint: str = "", *, path: str | None = None, fix: str | None = None
) -> Diagnostic:
    """A blocking error: the build set cannot be packed while it stands."""
    return Diagnostic(
        code=code,
        severity=Severity.ERROR,
        blocking=True,
        message=message,
        hint=hint,
        path=path,
        fix=fix,
    )


def warning(
    code: str, message: str, hint: str = "", *, path: str | None = None, fix: str | None = None
) -> Diagnostic:
    """Advice that never blocks a build."""
    return Diagnostic(
        code=code,
        severity=Severity.WARNING,
        blocking=False,
        message=message,
        hint=hint,
        path=path,
        fix=fix,
    )


def info(
    code: str, message: str, hint: str = "", *, path: str | None = None, fix: str | None = None
) -> Diagnostic:
    """A neutral fact worth showing (e.g. an excluded asset)."""
    return Diagnostic(
        code=code,
        severity=Severity.INFO,
        blocking=False,
        message=message,
        hint=hint,
        path=path,
        fix=fix,
    )


def any_blocking(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> bool:
    return any(d.blocking for d in diagnostics)
