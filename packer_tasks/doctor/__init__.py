"""Doctor (SPEC §7): the diagnostic catalogue, hygiene checks, safe-fix planning and the
doctor report, all computed from snapshots. Running them is the service's job
(`service/doctor_ops.py`); nothing here imports the service."""
