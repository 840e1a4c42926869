"""`prometeu-packer watch` as a person sees it in a terminal (issue 13): a banner, one
timestamped line per re-pack naming the changed files, undeclared files ignored, and its
own one line (exit 130) on Ctrl-C. A real process, real files, a real SIGINT."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

from conftest import popen_cli

HUD = Path("assets/ui/hud_icons")


class Lines:
    """The process's stdout, read line by line in a thread."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, start: int = 0, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, line in enumerate(self.lines[start:], start):
                if re.search(pattern, line):
                    return i
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in {self.lines}")


def test_watch_banner_lines_and_ctrl_c(starter_copy: Path) -> None:
    proc = popen_cli("watch", "--debounce", "100", cwd=starter_copy)
    try:
        out = Lines(proc.stdout)
        assert out.wait_for(r"^watching .*assets.*build/assets\.pa") == 0
        first = out.wait_for(r"^\[\d\d:\d\d:\d\d\] .*packed")
        # a file no asset declares: no pack
        (starter_copy / HUD / "notes.txt").write_text("todo\n")
        time.sleep(1.5)
        assert not [x for x in out.lines[first + 1 :] if "packed" in x or "up to date" in x]
        # a declared input: one timestamped line naming it
        tiles = sorted((starter_copy / HUD).glob("*.png"))
        tiles[0].write_bytes(tiles[1].read_bytes())
        line = out.wait_for(rf"^\[\d\d:\d\d:\d\d\] .*{tiles[0].name} changed", first + 1)
        assert "ui/hud_icons" in out.lines[line]
    finally:
        os.kill(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert code == 130, err
    assert "Traceback" not in err
    assert out.lines[-1].endswith("stopped watching; build/ holds the last complete build")
