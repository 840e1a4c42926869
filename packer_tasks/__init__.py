"""prometeu-packer: validates PROMETEU game assets and packs them into build/assets.pa."""

__version__ = "0.1.0"
