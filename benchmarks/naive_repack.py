"""F_decode: the naive repack script a user could write instead of the packer.

    python benchmarks/naive_repack.py PROJECT OUT_FILE

Reads the registry, loads every included asset's asset.json, decodes every PNG it names with
Pillow and every WAV with the `wave` module, and writes the decoded bytes one after the other
into OUT_FILE. No validation, no palette work, no cache, no index, one process: the floor a
cold pack has to be compared with. Prints one JSON line: in-process seconds, assets, files,
bytes written.
"""

from __future__ import annotations

import json
import sys
import time
import wave
from pathlib import Path

from PIL import Image


def repack(project: Path, out_file: Path) -> dict[str, int]:
    assets_dir = project / "assets"
    registry = json.loads((assets_dir / ".prometeu" / "index.json").read_text("utf-8"))
    assets = files = written = 0
    with open(out_file, "wb") as out:
        for entry in registry["assets"]:
            if not entry.get("included_in_build", True):
                continue
            root = assets_dir / entry["root"]
            decl = json.loads((root / "asset.json").read_text("utf-8"))
            assets += 1
            for names in decl["inputs"].values():
                for name in names:
                    path = root / name
                    if name.lower().endswith(".png"):
                        with Image.open(path) as img:
                            data = img.tobytes()
                    elif name.lower().endswith(".wav"):
                        with wave.open(str(path), "rb") as w:
                            data = w.readframes(w.getnframes())
                    else:
                        data = path.read_bytes()
                    out.write(data)
                    files += 1
                    written += len(data)
    return {"assets": assets, "files": files, "bytes": written}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: naive_repack.py PROJECT OUT_FILE", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    counts = repack(Path(argv[0]), Path(argv[1]))
    print(json.dumps({"floor": "decode", "seconds": time.perf_counter() - t0, **counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
