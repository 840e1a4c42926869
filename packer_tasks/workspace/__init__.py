"""Workspace I/O: project discovery, the registry store, declarations on disk, scanning."""
