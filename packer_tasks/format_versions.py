"""The format versions that decide output bytes, in one import-light module: `doit pack`
compares them before it imports the rest of the packer."""

# Bump when any family's payload bytes or header metadata change for the same inputs.
PAYLOAD_FORMAT_VERSION = 1
# Bump when the outputs' bytes change for the same build key (companion layout, header).
BUILD_FORMAT_VERSION = 1


def manifest_versions() -> dict[str, object]:
    """What a stat manifest must have been written by to be used (any bump invalidates)."""
    from . import __version__

    return {
        "packer": __version__,
        "payload": PAYLOAD_FORMAT_VERSION,
        "build": BUILD_FORMAT_VERSION,
    }
