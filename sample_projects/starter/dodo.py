"""doit pack — packs this project's assets into build/assets.pa."""
from packer_tasks.dodo import *  # noqa: F401,F403
