"""One generated tree per size, and the rounds measured on it.

A round measures every step of issue 11 side by side with its floors, in this order:

    F_noop, F_hash, F_decode       the floors (subprocesses, on the pristine tree)
    no_cache                       cold `prometeu-packer --no-cache pack` (no state at all)
    cold, noop                     cold `doit pack` (state wiped again), then a no-op
    summary, list, help            `prometeu-packer summary`, `list`, `--help`
    validate, doctor               `validate` (warm cache), `doctor --workspace`
    fresh, W_build                 a fresh checkout (sources with new mtimes + the restored
                                   `.prometeu-cache/`), `doit pack`; then the time to copy
                                   the build/ it produced (the write time of build/)
    edit                           one PNG pixel recoloured, `doit pack`
    md5_cold, md5_noop, md5_edit   the same on a copy of the tree with doit's MD5 checker

Before a round the tree is put back to its generated state: every file the packer, doit or a
step left is removed and every generated file whose size or mtime moved is copied back from
the pristine tree (so new state files of a changed packer are wiped too).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from blake3 import blake3
from generate import Shape, generate
from measure import DOIT, HERE, PACKER, PYTHON, Step, child_env, measure
from PIL import Image

FLOORS_PY = str(HERE / "floors.py")
NAIVE_PY = str(HERE / "naive_repack.py")
CACHE_DIR = ".prometeu-cache"
MD5_DODO = "dodo_md5.py"
MD5_DEP_FILE = ".doit-md5.db"
MD5_DODO_TEXT = f'''"""doit pack with doit's default MD5 file checker (benchmark only)."""
from packer_tasks.dodo import *  # noqa: F401,F403
from packer_tasks.dodo import DOIT_CONFIG as _BASE

DOIT_CONFIG = {{**_BASE, "check_file_uptodate": "md5", "dep_file": "{MD5_DEP_FILE}"}}
'''
AGE_S = 120  # generated files are dated this far back: no input is "racily fresh" (< 2 s)

# Every measured row, in report order.
LABELS: dict[str, str] = {
    "F_noop": "F_noop: python + `import doit` + one os.stat per input",
    "F_hash": "F_hash: python + read + blake3 every input",
    "F_decode": "F_decode: naive_repack.py (json + Pillow + wave → one file)",
    "W_build": "W_build: copy the produced build/ (in-process)",
    "no_cache": "cold `prometeu-packer --no-cache pack`",
    "cold": "cold `doit pack`",
    "noop": "no-op `doit pack`",
    "summary": "`prometeu-packer summary`",
    "list": "`prometeu-packer list`",
    "help": "`prometeu-packer --help`",
    "validate": "`prometeu-packer validate` (warm cache)",
    "doctor": "`prometeu-packer doctor --workspace`",
    "fresh": "fresh checkout + restored cache → `doit pack`",
    "edit": "one-asset edit → `doit pack`",
    "md5_cold": "MD5 checker: cold `doit pack`",
    "md5_noop": "MD5 checker: no-op `doit pack`",
    "md5_edit": "MD5 checker: one-asset edit → `doit pack`",
}
ORIGINAL_STATE = ("no_cache", "cold", "noop", "fresh", "md5_cold", "md5_noop")
EDITED_STATE = ("edit", "md5_edit")


def expected_counts(size: int) -> dict[str, tuple[int | None, int | None, int | None]]:
    """(hits, misses, up-to-date) each pack's summary line must report; None = any."""
    return {
        "no_cache": (0, size, None),
        "cold": (0, size, None),
        "noop": (None, 0, size),
        "fresh": (size, 0, None),
        "edit": (None, 1, None),
        "md5_cold": (0, size, None),
        "md5_noop": (None, 0, size),
        "md5_edit": (None, 1, None),
    }


@dataclass
class Tree:
    """A generated project: `pristine` is never built in; rounds run in `project`."""

    size: int
    base: Path
    pristine: Path
    project: Path
    manifest: Path  # the declared inputs, one relative path a line (for the floors)
    facts: dict[str, tuple[int, int]]  # generated file -> (size, mtime_ns)
    dirs: set[str]  # generated folders (relative)
    edit_rel: str  # the PNG the one-asset edit recolours
    edited_png: bytes
    n_inputs: int
    n_bytes: int
    generate_s: float


# ---------------------------------------------------------------------------- the tree


def declared_inputs(project: Path) -> list[str]:
    """The registry, then every included asset's asset.json and the files it names."""
    registry_rel = "assets/.prometeu/index.json"
    registry = json.loads((project / registry_rel).read_text("utf-8"))
    out = [registry_rel]
    for entry in registry["assets"]:
        if not entry.get("included_in_build", True):
            continue
        root = f"assets/{entry['root']}"
        decl = json.loads((project / root / "asset.json").read_text("utf-8"))
        out.append(f"{root}/asset.json")
        out += [f"{root}/{name}" for names in decl["inputs"].values() for name in names]
    return out


def age_tree(root: Path, seconds: int) -> None:
    """Date every file and folder `seconds` back (as a tree checked out a while ago)."""
    stamp = time.time_ns() - seconds * 1_000_000_000
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            os.utime(os.path.join(dirpath, name), ns=(stamp, stamp))
        os.utime(dirpath, ns=(stamp, stamp))


def snapshot(root: Path) -> tuple[dict[str, tuple[int, int]], set[str]]:
    facts: dict[str, tuple[int, int]] = {}
    dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirnames:
            dirs.add(os.path.normpath(os.path.join(rel, d)))
        for f in filenames:
            st = os.stat(os.path.join(dirpath, f))
            facts[os.path.normpath(os.path.join(rel, f))] = (st.st_size, st.st_mtime_ns)
    return facts, dirs


def pick_edit(project: Path) -> tuple[str, bytes]:
    """An RGBA tile of a glyph bank with a declared palette, and its PNG with one opaque pixel
    recoloured with another colour of palette 0 (still valid, one asset changes)."""
    registry = json.loads((project / "assets/.prometeu/index.json").read_text("utf-8"))
    entries = registry["assets"]
    for entry in entries[len(entries) // 2 :] + entries[: len(entries) // 2]:
        root = project / "assets" / entry["root"]
        decl = json.loads((root / "asset.json").read_text("utf-8"))
        palettes = decl["output"]["pipeline"].get("palettes")
        if decl["type"] != "glyph_bank" or not palettes:
            continue
        path = root / decl["inputs"]["tiles"][0]
        with Image.open(path) as opened:
            if opened.mode != "RGBA":
                continue
            img = opened.copy()
        colours = palettes[0]["palette"]["colors"][1:]
        rgb = [(int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)) for c in colours]
        xy = (img.size[0] // 2, img.size[0] // 2)
        current = img.getpixel(xy)
        img.putpixel(xy, (*next(c for c in rgb if (*c, 255) != current), 255))
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        assert buf.getvalue() != path.read_bytes()
        return str(path.relative_to(project)), buf.getvalue()
    raise RuntimeError("no RGBA glyph bank with a declared palette to edit")


def prepare_tree(size: int, shape: Shape, seed: int, base: Path) -> Tree:
    """Generate the pristine tree (dated back), its manifest, the edit, and the project copy."""
    if base.exists():
        shutil.rmtree(base)
    pristine, project = base / "pristine", base / "project"
    t0 = time.perf_counter()
    generate(pristine, size, seed, shape)
    generate_s = time.perf_counter() - t0
    age_tree(pristine, AGE_S)
    inputs = declared_inputs(pristine)
    manifest = base / "inputs.txt"
    manifest.write_text("\n".join(inputs) + "\n", encoding="utf-8")
    edit_rel, edited_png = pick_edit(pristine)
    facts, dirs = snapshot(pristine)
    shutil.copytree(pristine, project, symlinks=True)  # copy2: mtimes kept
    return Tree(
        size=size,
        base=base,
        pristine=pristine,
        project=project,
        manifest=manifest,
        facts=facts,
        dirs=dirs,
        edit_rel=edit_rel,
        edited_png=edited_png,
        n_inputs=len(inputs),
        n_bytes=sum((pristine / p).stat().st_size for p in inputs),
        generate_s=round(generate_s, 2),
    )


def reset(tree: Tree, target: Path) -> None:
    """Make `target` the generated tree again: drop what is not generated, restore the rest."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(target):
        rel = os.path.relpath(dirpath, target)
        keep = []
        for d in dirnames:
            rel_d = os.path.normpath(os.path.join(rel, d))
            if rel_d in tree.dirs and not os.path.islink(os.path.join(dirpath, d)):
                keep.append(d)
            else:
                path = os.path.join(dirpath, d)
                os.unlink(path) if os.path.islink(path) else shutil.rmtree(path)
        dirnames[:] = keep
        for f in filenames:
            rel_f = os.path.normpath(os.path.join(rel, f))
            path = os.path.join(dirpath, f)
            fact = tree.facts.get(rel_f)
            if fact is None:
                os.unlink(path)
                continue
            seen.add(rel_f)
            st = os.lstat(path)
            if (st.st_size, st.st_mtime_ns) != fact:
                os.unlink(path)
                shutil.copy2(tree.pristine / rel_f, path)
    for rel_f in tree.facts.keys() - seen:
        (target / rel_f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tree.pristine / rel_f, target / rel_f)


def apply_edit(tree: Tree, target: Path) -> None:
    """Write the recoloured PNG with a new mtime (coarse clocks must not hide the edit)."""
    path = target / tree.edit_rel
    before = path.stat().st_mtime_ns
    path.write_bytes(tree.edited_png)
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def fresh_checkout(tree: Tree, dest: Path) -> bool:
    """Sources as a checkout writes them (new mtimes) plus the project's cache folder as a CI
    cache restores it (mtimes kept). False when the project has no cache folder."""
    shutil.copytree(tree.pristine, dest, symlinks=True, copy_function=shutil.copy)
    cache = tree.project / CACHE_DIR
    if not cache.is_dir():
        return False
    shutil.copytree(cache, dest / CACHE_DIR, symlinks=True)
    return True


def assets_pa_digest(project: Path) -> str | None:
    path = project / "build" / "assets.pa"
    return blake3(path.read_bytes()).hexdigest() if path.is_file() else None


# ---------------------------------------------------------------------------- a round


def warm_up(cwd: Path, logs: Path) -> None:
    """Import the packer once so its bytecode is compiled before anything is timed (the
    lead's working tree changes under us; a stale .pyc must not be charged to round 1)."""
    measure(
        "warm-up",
        [PYTHON, "-c", "import packer_tasks.dodo, packer_tasks.cli"],
        cwd,
        logs,
    )


def run_round(
    tree: Tree,
    index: int,
    *,
    logs: Path,
    timeout: float,
    with_md5: bool,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Every step and floor once, on the same tree, back to back."""
    size, project, base = tree.size, tree.project, tree.base
    steps: dict[str, Step] = {}
    problems: list[str] = []
    load_before = os.getloadavg()
    code_before = code_fingerprint()
    t_round = time.perf_counter()

    def run(
        name: str,
        argv: Sequence[str],
        cwd: Path = project,
        *,
        ok: Sequence[int] = (0,),
        state: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Step:
        step = measure(name, argv, cwd, logs, env=env, timeout=timeout, floor=name.startswith("F_"))
        step.ok = step.exit_code in ok
        if not step.ok:
            problems.append(f"{name}: {step.note}")
        if state is not None:
            step.state, step.assets_pa_blake3 = state, assets_pa_digest(cwd)
        steps[name] = step
        counts = "" if step.summary_line is None else f"  [{step.summary_line}]"
        log(
            f"[{size} r{index}] {name:<9} {step.wall_s:8.3f}s wall {step.cpu_s:8.2f}s cpu "
            f"{step.peak_rss_mib:7.1f} MiB{counts}{'' if step.ok else '  ' + str(step.note)}"
        )
        return step

    reset(tree, project)
    manifest = str(tree.manifest)
    run("F_noop", [PYTHON, FLOORS_PY, "noop", manifest])
    run("F_hash", [PYTHON, FLOORS_PY, "hash", manifest])
    naive_out = base / "naive-repack.bin"
    run("F_decode", [PYTHON, NAIVE_PY, str(project), str(naive_out)])
    naive_out.unlink(missing_ok=True)

    run("no_cache", [PACKER, "--no-cache", "pack"], state="original")
    reset(tree, project)
    run("cold", [DOIT, "pack"], state="original")
    run("noop", [DOIT, "pack"], state="original")
    run("summary", [PACKER, "summary"])
    run("list", [PACKER, "list"])
    run("help", [PACKER, "--help"])
    run("validate", [PACKER, "validate"])
    run("doctor", [PACKER, "doctor", "--workspace"], ok=(0, 1))

    fresh = base / "fresh"
    if fresh_checkout(tree, fresh):
        run("fresh", [DOIT, "pack"], cwd=fresh, state="original")
        copy = base / "build-copy"
        t0 = time.perf_counter()
        shutil.copytree(fresh / "build", copy)
        steps["W_build"] = Step("W_build", wall_s=round(time.perf_counter() - t0, 4))
        shutil.rmtree(copy)
    else:
        problems.append(f"fresh: the project has no {CACHE_DIR}/ to restore")
    shutil.rmtree(fresh)

    apply_edit(tree, project)
    run("edit", [DOIT, "pack"], state="edited")

    if with_md5:
        md5 = base / "md5"
        shutil.copytree(tree.pristine, md5, symlinks=True)
        (md5 / MD5_DODO).write_text(MD5_DODO_TEXT, encoding="utf-8")
        md5_pack = [DOIT, "-f", MD5_DODO, "pack"]
        run("md5_cold", md5_pack, cwd=md5, state="original")
        run("md5_noop", md5_pack, cwd=md5, state="original")
        apply_edit(tree, md5)
        run("md5_edit", md5_pack, cwd=md5, state="edited")
        shutil.rmtree(md5)

    problems += check_identity(steps) + check_counts(steps, size)
    return {
        "round": index,
        "seconds": round(time.perf_counter() - t_round, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "code_before": code_before,
        "code_after": code_fingerprint(),
        "steps": {name: asdict(step) for name, step in steps.items()},
        "problems": problems,
    }


def check_identity(steps: dict[str, Step]) -> list[str]:
    """Every build of one input state gives the same assets.pa; the edit changes it."""
    problems = []
    digests: dict[str, set[str | None]] = {}
    for state, names in (("original", ORIGINAL_STATE), ("edited", EDITED_STATE)):
        found = {n: steps[n].assets_pa_blake3 for n in names if n in steps}
        digests[state] = set(found.values())
        if len(digests[state]) != 1 or None in digests[state]:
            problems.append(f"identity: {state}-state builds differ: {found}")
    if digests["original"] & digests["edited"]:
        problems.append("identity: the one-asset edit did not change assets.pa")
    return problems


def check_counts(steps: dict[str, Step], size: int) -> list[str]:
    """The summary lines say what each build did (cold: all misses, no-op: none, ...)."""
    problems = []
    for name, expect in expected_counts(size).items():
        step = steps.get(name)
        if step is None:
            continue
        got = (step.hits, step.misses, step.up_to_date)
        if any(e is not None and e != g for e, g in zip(expect, got, strict=True)):
            problems.append(
                f"counts: {name} expected (hits, misses, up-to-date) {expect}, got {got}: "
                f"{step.summary_line!r}"
            )
    return problems


def git(*args: str) -> str | None:
    """A read-only git query in the packer checkout; None outside git."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=HERE.parent, capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def code_fingerprint() -> str:
    """blake3 of (path, size, mtime) of the packer's Python files (where the steps import
    them from): moves when anyone edits the working tree during a run."""
    h = blake3()
    for package in ("packer_tasks", "prometeu_cache"):
        spec = importlib.util.find_spec(package)  # what the steps import (PYTHONPATH too)
        if spec is None or not spec.submodule_search_locations:
            continue
        top = next(iter(spec.submodule_search_locations))
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, f))
                    h.update(f"{dirpath}/{f} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def measured_code() -> dict[str, Any]:
    """The commit measured and the uncommitted changes of the code under it."""
    status = git("status", "--porcelain", "--", "packer_tasks", "cache", "pyproject.toml")
    changed = [line[3:] for line in (status or "").splitlines() if line.strip()]
    return {
        "commit": (git("rev-parse", "--short", "HEAD") or "").strip() or None,
        "uncommitted": changed,
        "fingerprint": code_fingerprint(),
    }


def run_size(
    size: int,
    *,
    shape: Shape,
    seed: int,
    rounds: int,
    workdir: Path,
    logs: Path,
    timeout: float,
    with_md5: bool,
    keep: bool,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Generate the tree of `size` assets and measure `rounds` rounds on it."""
    if logs.exists():
        shutil.rmtree(logs)
    env = child_env()
    tree = prepare_tree(size, shape, seed, workdir / f"size-{size}")
    log(
        f"[{size}] generated {tree.n_inputs} inputs ({tree.n_bytes / 1e6:.1f} MB, "
        f"{shape.describe()}) in {tree.generate_s:.1f}s"
    )
    warm_up(tree.base, logs)
    code_before = measured_code()
    results = []
    for index in range(1, rounds + 1):
        results.append(
            run_round(tree, index, logs=logs, timeout=timeout, with_md5=with_md5, log=log)
        )
        for problem in results[-1]["problems"]:
            log(f"[{size} r{index}] PROBLEM {problem}")
    code_after = measured_code()
    if not keep:
        shutil.rmtree(tree.base)
    return {
        "size": size,
        "shape": asdict(shape),
        "seed": seed,
        "env_pythonpath": env.get("PYTHONPATH"),
        "code": code_before,
        "code_changed_during_run": code_before != code_after,
        "inputs": {
            "files": tree.n_inputs,
            "bytes": tree.n_bytes,
            "generate_s": tree.generate_s,
            "edited_file": tree.edit_rel,
        },
        "rounds": results,
    }
