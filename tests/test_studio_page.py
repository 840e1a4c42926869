"""The Studio in a real browser (the distribution's Chromium, driven by Playwright), as a
person would use it on a fresh copy of the starter project: the workspace, the Pack Wizard
on a healthy and on a blocked project, a glyph preview checked against the packed bytes, a
doctor fix applied after its preview, and edits made outside the page showing up live.

Each screen is saved as a screenshot in the test's temp folder; the README's screenshot
(docs/images/studio.png) is re-taken with PROMETEU_STUDIO_README_SHOT=1.
"""

from __future__ import annotations

import io
import json
import os
import re
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import STARTER, copy_project, make_png, run_cli
from independent_reader import decode_glyph, decode_sounds, read_pa_file, rgb565
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from studio_support import (
    README_SHOT,
    SlowPack,
    chromium,
    many_assets,
    open_page,
    row,
    shot,
    studio,
    wait_for,
)

from packer_tasks.events.sink import EventSink
from packer_tasks.service import PackerService
from packer_tasks.workspace.project import Project

HUD = "ui/hud_icons"
# Resolves with the duration once the browser could play the whole sample.
PLAYABLE_SECONDS = """audio => new Promise((resolve, reject) => {
  audio.oncanplaythrough = () => resolve(audio.duration);
  audio.onerror = () => reject(new Error(`media error ${audio.error && audio.error.code}`));
  audio.preload = "auto";
  audio.load();
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def readme_screenshot(page: Page) -> None:
    """docs/images/studio.png, written when missing or asked for
    (PROMETEU_STUDIO_README_SHOT=1): a test run does not rewrite a tracked file."""
    if os.environ.get("PROMETEU_STUDIO_README_SHOT") or not README_SHOT.exists():
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SHOT))


def tab(page: Page, name: str) -> None:
    page.click(f'#tabs button[data-tab="{name}"]')


def run_wizard_to_validation(page: Page) -> None:
    tab(page, "wizard")
    expect(page.locator("#wizard-summary")).to_be_visible()
    page.click("#wizard-next")
    expect(page.locator("#validation-verdict")).to_be_visible(timeout=30_000)


def test_workspace_lists_every_asset_with_family_build_state_and_badges(
    browser: Browser, tmp_path: Path
) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    listed = PackerService(Project(project)).list_assets()
    with studio(project) as server, open_page(browser, server) as page:
        rows = page.locator("#assets tbody tr")
        expect(rows).to_have_count(len(listed.assets))
        for asset in listed.assets:
            build = (
                "included"
                if asset.included_in_build
                else "excluded"
                if asset.registered
                else "unregistered"
            )
            expect(row(page, asset.root).locator("td.build")).to_have_text(build)
            expect(row(page, asset.root).locator("td").nth(3)).to_have_text(asset.family or "?")
        # The unregistered root carries doctor's hygiene warning; the rest are clean.
        expect(row(page, "wip/unused_idea").locator(".badge.warn")).to_be_visible()
        expect(page.locator("#assets .badge.blocked")).to_have_count(0)
        expect(page.locator("#runtime")).to_have_text("runtime: healthy")
        shot(page, tmp_path, "01-assets")

        page.fill("#filter", "hud")
        expect(rows).to_have_count(1)
        page.fill("#filter", "")
        page.select_option("#family-filter", "sound_bank")
        expect(rows).to_have_count(2)
        page.select_option("#family-filter", "")
        page.select_option("#build-filter", "unregistered")
        expect(rows).to_have_count(1)
        page.select_option("#build-filter", "")

        row(page, "sfx/basic").click()
        details = page.locator('#details div[data-root="sfx/basic"]')
        expect(details).to_contain_text("jump.wav")
        expect(details).to_contain_text("SOUNDS/pcm16le_v1")
        expect(details.locator("#preview")).to_contain_text("build/assets.pa does not exist")
        shot(page, tmp_path, "02-details-unpacked")
        row(page, "music/loop").press("Enter")  # rows work from the keyboard too
        expect(page.locator('#details div[data-root="music/loop"]')).to_contain_text("loop.wav")


def test_wizard_packs_a_healthy_project_and_the_preview_matches_the_packed_bytes(
    browser: Browser, tmp_path: Path
) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    with studio(project) as server, open_page(browser, server) as page:
        tab(page, "wizard")
        expect(page.locator("#wizard-summary tbody tr")).to_have_count(5)
        shot(page, tmp_path, "03-wizard-summary")
        page.click("#wizard-next")
        expect(page.locator("#validation-verdict")).to_have_class("ok-msg", timeout=30_000)
        shot(page, tmp_path, "04-wizard-validation")
        page.click("#wizard-next")
        status = page.locator("#result-status")
        expect(status).to_contain_text("success", timeout=30_000)
        result = page.locator("#wizard dl.kv")
        expect(result).to_contain_text("build/assets.pa")
        packed_result = server.state.job.result
        assert packed_result is not None and packed_result.packed_assets == 5
        # Validation decoded (and cached) every asset, so the pack is all hits.
        for label, value in (
            ("packed assets", 5),
            ("cache hits", packed_result.cache_hits),
            ("cache misses", packed_result.cache_misses),
            ("elapsed", f"{packed_result.elapsed_ms} ms"),
        ):
            expect(result).to_contain_text(f"{label}{value}")
        assert packed_result.cache_hits + packed_result.cache_misses == 5
        shot(page, tmp_path, "05-wizard-result")

        tab(page, "activity")
        finished = page.locator('#activity li[data-kind="build_finished"]')
        expect(finished).to_have_count(1)
        expect(finished).to_be_visible()
        expect(page.locator('#activity li[data-kind="build_started"]')).to_have_count(1)
        # One card per operation, its lines in the packer's causal order.
        card = page.locator("#activity .op", has=page.locator('li[data-kind="build_finished"]'))
        seqs = card.locator("li").evaluate_all("items => items.map(li => +li.dataset.seq)")
        assert seqs == sorted(set(seqs)) and len(seqs) >= 2
        expect(card.locator(".counts")).to_contain_text(
            f"{packed_result.cache_hits} hit(s), {packed_result.cache_misses} miss(es)"
        )
        shot(page, tmp_path, "06-activity")

        tab(page, "wizard")
        page.click("#inspect-link")
        expect(page.locator("#inspect-table tbody tr")).to_have_count(5)
        shot(page, tmp_path, "07-inspect")

        tab(page, "assets")
        with page.expect_response(lambda r: "/api/preview/sheet.png" in r.url) as sheet:
            row(page, HUD).click()
        png = sheet.value.body()
        expect(page.locator("#glyph-sheet")).to_be_visible()
        assert (
            page.eval_on_selector("#glyph-sheet", "img => img.complete && img.naturalWidth") == 256
        )
        expect(page.locator("#preview .swatch")).to_have_count(16)
        readme_screenshot(page)
        shot(page, tmp_path, "08-glyph-preview")

        pa = read_pa_file(project / "build" / "assets.pa")
        glyph = decode_glyph(pa.entry(1), pa.payload(1))
        image = Image.open(io.BytesIO(png))
        assert image.size == (256, 256) and image.mode == "RGBA"
        raw = image.tobytes()
        shown = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
        for i, (idx, (r, g, b, a)) in enumerate(zip(glyph.pixels, shown, strict=True)):
            if idx == 0:
                assert a == 0, f"pixel {i}: index 0 must be transparent"
            else:
                assert a == 255 and rgb565(r, g, b) == glyph.palettes[0][idx], f"pixel {i}"
        assert sum(1 for i in glyph.pixels if i) > 200  # the tiles are really there

        with page.expect_response(lambda r: "/api/preview" in r.url and "id=5" in r.url):
            row(page, "music/loop").click()
        sample = page.locator('#preview .sample[data-sample="0"]')
        expect(sample).to_contain_text("loop 0..16000")
        # The browser itself can load and decode it: one second at 16 kHz.
        seconds = sample.locator("audio").evaluate(PLAYABLE_SECONDS)
        assert abs(seconds - 1.0) < 0.01, seconds
        src = sample.locator("audio").get_attribute("src")
        assert src is not None
        wav = page.request.get(server.url.rstrip("/") + src).body()
        with wave.open(io.BytesIO(wav)) as w:
            frames = w.readframes(w.getnframes())
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        packed = decode_sounds(pa.entry(5), pa.payload(5))[0]
        assert list(memoryview(frames).cast("h")) == packed.pcm


def test_wizard_on_a_blocked_project_names_the_problem_and_cannot_continue(
    browser: Browser, tmp_path: Path
) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    make_png(project / "assets" / HUD / "coin.png", 16, colors=((0, 255, 0), (0, 0, 255)))
    with studio(project) as server, open_page(browser, server) as page:
        expect(row(page, HUD).locator(".badge.blocked").first).to_be_visible()
        expect(row(page, "sfx/basic").locator(".badge.ok")).to_be_visible()
        run_wizard_to_validation(page)
        verdict = page.locator("#validation-verdict")
        expect(verdict).to_have_class("blocked-msg")
        expect(verdict).to_contain_text("cannot continue")
        blocked = page.locator(f'.blocked-asset[data-root="{HUD}"]')
        expect(blocked).to_contain_text("glyph.color_not_in_palette")
        expect(blocked).to_contain_text("coin.png")
        expect(page.locator(".blocked-asset")).to_have_count(1)
        expect(page.locator("#wizard-next")).to_be_disabled()
        shot(page, tmp_path, "09-wizard-blocked")
        # The details panel says the same as validate, hint included.
        tab(page, "assets")
        row(page, HUD).click()
        diag = page.locator('#details-diagnostics .diag[data-code="glyph.color_not_in_palette"]')
        expect(diag).to_contain_text("hint:")
        shot(page, tmp_path, "10-details-blocked")
    assert not (project / "build").exists()


def test_doctor_fix_is_previewed_then_applied_after_consent(
    browser: Browser, tmp_path: Path
) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    registry = project / "assets" / ".prometeu" / "index.json"
    untidy = json.dumps(json.loads(registry.read_text()), indent=4) + "\n"
    registry.write_text(untidy)
    with studio(project) as server, open_page(browser, server) as page:
        page.click("#doctor-fix")
        dialog = page.locator("#consent")
        expect(dialog.locator(".proposed li").first).to_be_visible()
        expect(dialog).to_contain_text("preview")
        assert registry.read_text() == untidy  # a preview writes nothing
        shot(page, tmp_path, "11-doctor-preview")
        page.click("#consent-apply")
        expect(dialog.locator(".applied li").first).to_be_visible()
        expect(dialog).to_contain_text("applied")
        shot(page, tmp_path, "12-doctor-applied")
        page.click("#consent-cancel")
        tab(page, "activity")
        expect(page.locator('#activity li[data-kind="preview_ready"]')).to_have_count(1)
        expect(page.locator('#activity li[data-kind="action_applied"]').first).to_be_visible()
    canonical = json.dumps(json.loads(untidy), indent=2, sort_keys=True) + "\n"
    assert registry.read_text() == canonical


def test_actions_preview_first_and_apply_only_after_consent(
    browser: Browser, tmp_path: Path
) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    registry = project / "assets" / ".prometeu" / "index.json"
    dialog = "#consent"
    with studio(project) as server, open_page(browser, server) as page:
        # Exclude: asked first; cancelling changes nothing.
        before = registry.read_bytes()
        row(page, "sfx/basic").click()
        page.click('#details button[data-action="exclude"]')
        expect(page.locator(dialog)).to_contain_text("Nothing changes until you confirm")
        page.click("#consent-cancel")
        assert registry.read_bytes() == before
        page.click('#details button[data-action="exclude"]')
        page.click("#consent-apply")
        expect(page.locator(f"{dialog} .applied li")).to_have_count(1)
        page.click("#consent-cancel")
        expect(row(page, "sfx/basic").locator("td.build")).to_have_text("excluded")

        # Relocate: the service's preview, then the move after Apply; ids kept.
        row(page, "world/tiles_8").click()
        page.once("dialog", lambda prompt: prompt.accept("world/tiles_eight"))
        page.click('#details button[data-action="relocate"]')
        expect(page.locator(f"{dialog} .proposed li").first).to_contain_text("move_root")
        assert (project / "assets" / "world" / "tiles_8").is_dir()
        page.click("#consent-apply")
        expect(page.locator(f"{dialog} .applied li").first).to_be_visible()
        page.click("#consent-cancel")
        expect(row(page, "world/tiles_eight")).to_have_attribute("data-id", "2")

        # Quarantine, then restore from the quarantine list: both previewed first.
        row(page, "music/loop").click()
        page.click('#details button[data-action="quarantine"]')
        expect(page.locator(f"{dialog} .proposed li").first).to_be_visible()
        assert (project / "assets" / "music" / "loop").is_dir()
        shot(page, tmp_path, "13-quarantine-preview")
        page.click("#consent-apply")
        expect(page.locator(f"{dialog} .applied li").first).to_be_visible()
        page.click("#consent-cancel")
        # The row leaves the build: listed as quarantined (or gone, where `list` omits it).
        loop = row(page, "music/loop")
        wait_for(
            lambda: loop.locator("td.build").all_inner_texts() in ([], ["quarantined"]),
            what="music/loop to leave the build",
        )
        assert not (project / "assets" / "music" / "loop").exists()
        page.click("#restore-open")
        page.click(f"{dialog} button:has-text('Restore…')")
        expect(page.locator(f"{dialog} .proposed li").first).to_be_visible()
        page.click("#consent-apply")
        expect(page.locator(f"{dialog} .applied li").first).to_be_visible()
        page.click("#consent-cancel")
        expect(row(page, "music/loop").locator("td.build")).to_have_text("included")
        expect(row(page, "music/loop")).to_have_attribute("data-id", "5")
        tab(page, "activity")
        expect(page.locator('#activity li[data-kind="preview_ready"]')).to_have_count(3)
        expect(page.locator('#activity li[data-kind="action_applied"]')).to_have_count(4)
        shot(page, tmp_path, "14-actions-activity")


def test_edits_outside_the_page_show_up_without_a_reload(browser: Browser, tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "game")
    with studio(project) as server, open_page(browser, server) as page:
        server.state.watcher.ready.wait(10)
        row(page, HUD).click()
        expect(page.locator(f'#details div[data-root="{HUD}"]')).to_be_visible()
        expect(page.locator("#preview")).to_contain_text("does not exist yet")
        # A pack in a terminal: the open preview follows build/assets.pa.
        code, _out, err = run_cli("--project", project, "pack")
        assert code == 0, err
        expect(page.locator("#glyph-sheet")).to_be_visible()
        # An editor saves a PNG: the asset is marked and refreshed (here: now blocked).
        make_png(project / "assets" / HUD / "coin.png", 16, colors=((0, 255, 0), (0, 0, 0)))
        expect(row(page, HUD).locator(".badge.stale")).to_be_visible()
        expect(row(page, HUD).locator(".badge.blocked").first).to_be_visible()
        expect(
            page.locator('#details-diagnostics .diag[data-code="glyph.color_not_in_palette"]')
        ).to_be_visible()
        expect(page.locator("#runtime-banner")).to_contain_text(re.compile("Runtime"))
        # The CLI excludes an asset in another "terminal": the row follows.
        code, _out, err = run_cli("--project", project, "exclude", "2")
        assert code == 0, err
        expect(row(page, "world/tiles_8").locator("td.build")).to_have_text("excluded")
        tab(page, "activity")
        expect(page.locator('#activity li[data-kind="asset_changed"]').first).to_be_visible()
        runtime = page.locator('#activity li[data-kind="runtime_state_changed"]')
        expect(runtime.filter(has_text="→ stale").first).to_be_visible()
        expect(runtime.filter(has_text="→ diverged").first).to_be_visible()
        shot(page, tmp_path, "15-external-edit")


BIG = 100  # glyph banks added to the starter: a pack of 105 assets, slowed while checked
# How long a click on an asset row may take to show its details panel while packing.
RESPONSIVE_MS = 300
# Measured in the page: from the click event to the panel's DOM naming the asset.
TIME_DETAILS = """root => new Promise(resolve => {
  const pane = document.querySelector('#details');
  const started = performance.now();
  const seen = new MutationObserver(() => {
    if (pane.querySelector(`div[data-root="${root}"]`)) {
      seen.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - started));
    }
  });
  seen.observe(pane, {childList: true, subtree: true});
  document.querySelector(`#assets tbody tr[data-root="${root}"]`).click();
})"""


def test_a_long_pack_leaves_the_page_responsive(browser: Browser, tmp_path: Path) -> None:
    project = copy_project(STARTER, tmp_path / "big")
    many_assets(project, BIG)

    slow: list[SlowPack] = []

    def slowed(lane: EventSink) -> PackerService:
        slow.append(SlowPack(lane, delay=0.1))
        return PackerService(Project(project), sink=slow[0])

    with studio(project, slowed) as server, open_page(browser, server) as page:
        expect(page.locator("#assets tbody tr")).to_have_count(BIG + 6)
        run_wizard_to_validation(page)
        expect(page.locator("#validation-verdict")).to_have_class("ok-msg")
        page.click("#wizard-next")
        expect(page.locator("#wizard-progress")).to_contain_text(f"/{BIG + 5} materialized")
        shot(page, tmp_path, "16-wizard-packing", full_page=False)
        tab(page, "assets")
        timings: list[float] = []
        for n in (7, 63, 99, 42, 81, 28):
            root = f"bulk/zone_{n // 50:02d}/icons_{n:04d}"
            assert server.state.job.running, f"the pack ended early: {server.state.job.view()}"
            timings.append(page.evaluate(TIME_DETAILS, root))
        row(page, "bulk/zone_01/icons_0077").click()  # and by a real pointer click
        expect(page.locator('#details div[data-root="bulk/zone_01/icons_0077"]')).to_be_visible()
        expect(page.locator("#details #while-packing")).to_be_visible()
        expect(page.locator("#details table.inputs")).to_contain_text("coin.png")
        page.fill("#filter", "icons_0099")
        expect(page.locator("#assets tbody tr")).to_have_count(1)
        tab(page, "activity")
        bar = page.locator(f'#activity .op[data-op="{server.state.job.operation_id}"] .bar .fill')
        expect(bar).to_have_attribute("style", re.compile(r"width: [1-9]"))
        assert server.state.job.running, "the pack ended before the page was checked"
        shot(page, tmp_path, "17-activity-while-packing")
        assert max(timings) < RESPONSIVE_MS, f"details took {[round(t) for t in timings]} ms"
        # A page reloaded mid-pack finds the pack where it is.
        page.reload()
        expect(page.locator("#assets tbody tr")).to_have_count(BIG + 6)
        tab(page, "wizard")
        expect(page.locator('#wizard[data-phase="packing"] #wizard-progress')).to_be_visible()
        tab(page, "assets")
        row(page, "bulk/zone_01/icons_0077").click()
        expect(page.locator("#details #while-packing")).to_be_visible()
        assert server.state.job.running, "the pack ended before the page was reloaded"
        slow[0].release()
        tab(page, "wizard")
        expect(page.locator("#result-status")).to_contain_text("success", timeout=60_000)
        expect(page.locator("#wizard dl.kv")).to_contain_text(f"packed assets{BIG + 5}")
        tab(page, "assets")  # the open panel was asked of the service again by itself
        expect(page.locator('#details div[data-root="bulk/zone_01/icons_0077"]')).to_be_visible()
        expect(page.locator("#details #while-packing")).to_have_count(0)
        shot(page, tmp_path, "18-wizard-long-result", full_page=False)
