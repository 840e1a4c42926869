"""Doctor (SPEC §7): the diagnostic catalogue, hygiene checks, safe fixes and quarantine."""

from .report import run_doctor, run_fixes

__all__ = ["run_doctor", "run_fixes"]
