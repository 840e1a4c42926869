"""Actions with consent: the page's buttons mapped onto the same service operations the
CLI calls. Sensitive ones (relocate, remove, quarantine, restore, doctor's fixes) are asked
twice: first without `apply` (the service's preview, shown to the person), then with it,
after they confirm; the service re-checks inside its write lane either way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..models.results import OperationResult
from ..service import PackerService

Params = Mapping[str, Any]


class BadRequest(Exception):
    """A request the page should never send: a missing or mistyped parameter."""


def _text(params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 1000:
        raise BadRequest(f"`{name}` must be a non-empty string")
    return value


def _ref(params: Params) -> str | int:
    value = params.get("ref")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return _text(params, "ref")


def _flag(params: Params, name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"`{name}` must be true or false")
    return value


Runner = Callable[[PackerService, Params], OperationResult]

ACTIONS: dict[str, Runner] = {
    "include": lambda s, p: s.include_asset_in_build(_ref(p)),
    "exclude": lambda s, p: s.exclude_asset_from_build(_ref(p)),
    "register": lambda s, p: s.register_asset(_text(p, "ref")),
    "relocate": lambda s, p: s.relocate_asset(
        _ref(p), _text(p, "new_root"), apply=_flag(p, "apply")
    ),
    "remove": lambda s, p: s.remove_asset(
        _ref(p), delete_files=_flag(p, "delete_files"), apply=_flag(p, "apply")
    ),
    "quarantine": lambda s, p: s.quarantine_asset(_ref(p), apply=_flag(p, "apply")),
    "restore": lambda s, p: s.restore_asset(_text(p, "name"), apply=_flag(p, "apply")),
    "doctor_fix": lambda s, p: s.doctor_fix(apply=_flag(p, "apply"), workspace=True),
}


def run_action(service: PackerService, name: str, params: Params) -> OperationResult:
    """Run action `name`; BadRequest for an unknown action or bad parameters."""
    runner = ACTIONS.get(name)
    if runner is None:
        raise BadRequest(f"unknown action {name!r}")
    return runner(service, params)
