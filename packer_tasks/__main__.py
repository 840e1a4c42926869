"""`python -m packer_tasks` runs the CLI."""

from .cli import main

main()
