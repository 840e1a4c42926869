"""Which files the reference consists of, and writing or checking them as one set."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from . import api, cli, configuration, declarations, diagnostics, events
from . import markdown as md
from .source import PACKAGE_DIR, Source

Render = Callable[[Source], str]

# File name → (what it holds, how to render it from the parsed source).
PAGES: dict[str, tuple[str, Render]] = {
    "declarations.md": (
        "asset.json and registry fields, per family",
        lambda src: declarations.render(),
    ),
    "diagnostics.md": (
        "every diagnostic code: severity, meaning, typical fix",
        diagnostics.render,
    ),
    "cli.md": ("every command and option", lambda src: cli.render()),
    "events.md": ("the event envelope, every kind, ordering", events.render),
    "configuration.md": (
        "pyproject keys, environment variables, flags",
        configuration.render,
    ),
    "api.md": ("the public Python API and the service's methods", lambda src: api.render()),
}


def default_target() -> Path:
    """docs/reference of the checkout holding this package, else of the current folder."""
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "docs" / "reference"
    return Path("docs") / "reference"


def generate() -> dict[str, str]:
    """File name → content, for every generated file (deterministic: same code, same text)."""
    src = Source.load()
    files = {name: render(src) for name, (_, render) in PAGES.items()}
    files.update(declarations.schema_files())
    files.update(events.schema_files())
    files["README.md"] = _index(sorted(files))
    return dict(sorted(files.items()))


def _index(names: list[str]) -> str:
    rows = [(f"[{name}]({name})", PAGES[name][0]) for name in PAGES]
    schemas = [n for n in names if n.endswith(".json")]
    listed = "\n".join(f"* [{n}]({n})" for n in schemas)
    return md.page(
        "Reference (generated)",
        "These pages are generated from the code by `python -m packer_tasks.reference`; "
        "`python -m packer_tasks.reference --check` (and the test suite) fails when one is "
        "stale. The hand-written documentation is one level up, in [docs/](../README.md).",
        [md.table(["page", "what it holds"], rows), "JSON Schemas:\n\n" + listed],
    )


def stale(target: Path, wanted: Mapping[str, str] | None = None) -> list[str]:
    """Names of generated files that are missing or differ on disk, and stray files;
    `wanted` is an earlier `generate()` result, to compare without generating again."""
    wanted = generate() if wanted is None else wanted
    out = [
        name
        for name, text in wanted.items()
        if not (target / name).is_file() or (target / name).read_text("utf-8") != text
    ]
    if target.is_dir():
        out += [
            f"{p.name} (not generated: remove it)"
            for p in sorted(target.iterdir())
            if p.is_file() and p.name not in wanted
        ]
    return out


def write(target: Path, wanted: Mapping[str, str] | None = None) -> list[str]:
    """Write every generated file that changed (of `wanted`, an earlier `generate()`
    result, when given); return their names."""
    target.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in (generate() if wanted is None else wanted).items():
        path = target / name
        if not path.is_file() or path.read_text("utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(name)
    return changed
