"""Support for the Studio tests: the distribution's Chromium driven by Playwright, a real
Studio server (uvicorn in a thread on a free loopback port) over a project, screenshots.

No browser is downloaded: Playwright launches /usr/bin/chromium. When it is missing the
tests fail (CI installs it), they never skip.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from packer_tasks.events.sink import EventSink
from packer_tasks.models.event import Event, EventKind
from packer_tasks.service import PackerService
from packer_tasks.studio.server import StudioServer
from packer_tasks.workspace.project import Project

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO = Path(__file__).resolve().parent.parent
README_SHOT = REPO / "docs" / "images" / "studio.png"
VIEWPORT = {"width": 1400, "height": 900}


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system Chromium, headless; a missing browser is a failure, not a skip."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install the distribution's chromium package")
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            yield browser
        finally:
            browser.close()


def launch(pw: Playwright) -> Browser:
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


@contextmanager
def studio(
    project: Path, make_service: Callable[[EventSink], PackerService] | None = None
) -> Iterator[StudioServer]:
    """A real Studio server over `project` on a free 127.0.0.1 port, stopped afterwards."""
    server = StudioServer(Project(project), 0, make_service=make_service)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def open_page(browser: Browser, server: StudioServer) -> Iterator[Page]:
    """A fresh page on the Studio with its workspace loaded."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Everything the page loads comes from the Studio itself: nothing from the internet.
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((server.url, "data:")) else foreign.append(r.url),
    )
    try:
        page.goto(server.url)
        page.wait_for_selector("#assets tbody tr")
        yield page
        assert not errors, f"script errors on the page: {errors}"
        assert not foreign, f"the page fetched from elsewhere: {foreign}"
    finally:
        context.close()


def shot(page: Page, folder: Path, name: str, *, full_page: bool = True) -> Path:
    """A screenshot a person can look at (into the test's temp folder)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def row(page: Page, root: str) -> Any:
    return page.locator(f'#assets tbody tr[data-root="{root}"]')


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


# -- projects -------------------------------------------------------------------------------


def many_assets(project: Path, copies: int, source: str = "ui/hud_icons") -> None:
    """Grow a starter copy to `copies` more glyph banks (copies of `source`, each with its
    own uuid), registered and included: a project of a few hundred assets in a blink."""
    assets = project / "assets"
    registry_path = assets / ".prometeu" / "index.json"
    registry = json.loads(registry_path.read_text())
    next_id = registry["next_asset_id"]
    for n in range(copies):
        root = f"bulk/zone_{n // 50:02d}/icons_{n:04d}"
        target = assets / root
        shutil.copytree(assets / source, target)
        decl = json.loads((target / "asset.json").read_text())
        decl["asset_uuid"] = str(uuid.uuid4())
        decl["name"] = f"icons_{n:04d}"
        decl["preload"] = {"enabled": False}
        (target / "asset.json").write_text(json.dumps(decl, indent=2, sort_keys=True) + "\n")
        registry["assets"].append(
            {
                "asset_id": next_id,
                "asset_uuid": decl["asset_uuid"],
                "included_in_build": True,
                "root": root,
            }
        )
        next_id += 1
    registry["next_asset_id"] = next_id
    registry_path.write_text(json.dumps(registry, indent=2, sort_keys=True) + "\n")


class SlowPack:
    """An EventSink in front of the Studio's lane that makes a pack last: until `release()`,
    it waits `delay` seconds after each asset's progress event, in the pack's own thread.
    Deterministic: the pack is still running for as long as the test looks at the page."""

    def __init__(self, inner: EventSink, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.released = threading.Event()

    def publish(self, event: Event) -> None:
        self.inner.publish(event)
        if event.kind is EventKind.PROGRESS_UPDATED and event.summary.startswith("materialized"):
            self.released.wait(self.delay)

    def release(self) -> None:
        """Let the rest of the pack run at full speed."""
        self.released.set()
