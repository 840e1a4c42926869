"""The documentation stays true: generated pages match the code, every link resolves inside
the repository, and every documented command runs and exits as documented.

Commands: in each Markdown file whose shell blocks (```bash / sh / shell / console) invoke
`prometeu-packer` or `doit`, every shell block runs in order (in a `console` block, the
lines after a `$ ` prompt), like a reader following along, starting in the root of a fresh
copy of the starter project. `prometeu-packer` runs in this process
(conftest's `call_in_process`), `doit` through test_doit_support's `run_doit`, `cd` moves
the reader, anything else runs in bash with this environment's tools first on PATH. A
`/tmp/` path in a command is redirected to the test's own temporary folder.

An HTML comment right before a block changes how it runs:

* `<!-- docs-test: skip REASON -->` — not run (say why);
* `<!-- docs-test: exit=N -->` — its packer and doit commands must exit N (default 0);
* `<!-- docs-test: fresh -->` — run in a new empty folder holding a copy of every PNG and
  WAV of the starter project (for tours that start a project from nothing);
* `<!-- docs-test: python -->` — a Python block, run in the current folder; the Python
  blocks of one file share their names, like cells of a notebook.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from conftest import REPO, STARTER, call_in_process, cli_env, copy_project
from test_doit_support import run_doit

from packer_tasks.reference import generate, stale, write

DOCS = REPO / "docs"
REFERENCE = DOCS / "reference"
DOC_FILES = sorted([*DOCS.rglob("*.md"), REPO / "README.md", REPO / "CHANGELOG.md"])
SHELL_LANGS = frozenset({"bash", "sh", "shell", "console"})
PROGRAMS = frozenset({"prometeu-packer", "doit"})
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<body>.*?)\s*-->")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
OUTSIDE = re.compile(r"\.\./shared|SPEC\.md|/work/")
HEREDOC = re.compile(r"<<-?\s*['\"]?(?P<word>\w+)['\"]?")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
TIMEOUT = 120
# Commands that serve until interrupted: a block holding one must be skipped.
LONG_RUNNING = frozenset({"watch", "studio"})


@dataclass
class Block:
    """One fenced code block and the docs-test marker written right before it."""

    doc: Path
    line: int
    lang: str
    text: str
    marker: str = ""

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def read_blocks(doc: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = doc.read_text("utf-8").splitlines()
    i, marker = 0, ""
    while i < len(lines):
        found = MARKER.search(lines[i])
        if found:
            marker = found["body"]
        opening = FENCE.match(lines[i])
        if opening:
            end = i + 1
            while end < len(lines) and not lines[end].startswith(opening["fence"]):
                end += 1
            body = "\n".join(lines[i + 1 : end])
            blocks.append(Block(doc, i + 1, opening["lang"].lower(), body, marker))
            marker, i = "", end + 1
            continue
        if lines[i].strip() and not found:
            marker = ""
        i += 1
    return blocks


def prose(doc: Path) -> str:
    """The text outside fenced blocks and inline code (where links live)."""
    return re.sub(r"`[^`\n]*`", "", prose_with_code(doc))


def prose_with_code(doc: Path) -> str:
    """The text outside fenced blocks, inline code kept."""
    out, inside = [], ""
    for line in doc.read_text("utf-8").splitlines():
        opening = FENCE.match(line)
        if opening and not inside:
            inside = opening["fence"]
        elif inside and line.startswith(inside):
            inside = ""
        elif not inside:
            out.append(line)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# (a) generated pages


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    """One generation of the reference for the module's tests (it takes a moment)."""
    return generate()


def test_generated_reference_is_current(generated: dict[str, str]) -> None:
    """A stale page fails here: regenerate with `python -m packer_tasks.reference`."""
    names = stale(REFERENCE, generated)
    assert not names, f"stale generated pages: {names}; run `python -m packer_tasks.reference`"


def test_check_names_a_stale_page(tmp_path: Path, generated: dict[str, str]) -> None:
    assert write(tmp_path, generated) == sorted(generated)
    assert stale(tmp_path, generated) == []
    (tmp_path / "cli.md").write_text("# edited by hand\n", encoding="utf-8")
    (tmp_path / "events.schema.json").unlink()
    (tmp_path / "old.md").write_text("# a page nobody generates\n", encoding="utf-8")
    assert stale(tmp_path, generated) == [
        "cli.md",
        "events.schema.json",
        "old.md (not generated: remove it)",
    ]


def test_generation_is_deterministic(tmp_path: Path, generated: dict[str, str]) -> None:
    """A second generation, by the `--check` command, finds the first one current."""
    from packer_tasks.reference.__main__ import main

    write(tmp_path, generated)
    code, out, _ = call_in_process(lambda: main(["--check", "--target", str(tmp_path)]))
    assert code == 0, out
    for name, text in generated.items():
        assert str(REPO) not in text, f"{name} holds an absolute path"
        assert text.endswith("\n") and not text.endswith("\n\n"), name


# ------------------------------------------------------------------------------------------
# (b) links


def slug(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces become '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    inside = ""
    for line in doc.read_text("utf-8").splitlines():
        opening = FENCE.match(line)
        if opening and not inside:
            inside = opening["fence"]
            continue
        if inside:
            inside = "" if line.startswith(inside) else inside
            continue
        heading = HEADING.match(line)
        if heading:
            base = slug(heading["title"])
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(doc: Path) -> Iterator[str]:
    text = prose(doc)
    for pattern in (LINK, IMAGE):
        for match in pattern.finditer(text):
            yield match["target"]


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_links_resolve_inside_the_repository(doc: Path) -> None:
    problems = []
    for target in links(doc):
        if re.match(r"^[a-z]+:", target):  # http(s), mailto: outside the file tree
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.is_relative_to(REPO):
            problems.append(f"{target}: outside the repository")
        elif not path.exists():
            problems.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            problems.append(f"{target}: no heading #{anchor} in {path.relative_to(REPO)}")
    assert not problems, f"{doc.relative_to(REPO)}: {problems}"


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_nothing_points_outside_the_repository(doc: Path) -> None:
    hits = [
        f"line {n}: {line.strip()}"
        for n, line in enumerate(doc.read_text("utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits, f"{doc.relative_to(REPO)} points outside the repository: {hits}"


def test_readme_links_the_documentation() -> None:
    targets = set(links(REPO / "README.md"))
    assert any(t.startswith("docs/") for t in targets)


# ------------------------------------------------------------------------------------------
# (c) commands


@dataclass
class Reader:
    """A reader following one document: where they are, and what they have run."""

    root: Path
    cwd: Path
    tmp: Path
    namespace: dict[str, object] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        return cli_env(PATH=path, **extra)


def script_of(block: Block) -> str:
    """The commands of a shell block: a `console` block's `$ ` lines (the rest is output)."""
    if block.lang != "console":
        return block.text
    return "\n".join(line[2:] for line in block.text.splitlines() if line.startswith("$ "))


def split_commands(text: str) -> list[str]:
    """Lines (with continuations and here-documents joined) split on `&&`, comments gone."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + " " + lines[i].strip()
        heredoc = HEREDOC.search(line)
        if heredoc:
            body = [line]
            while i + 1 < len(lines):
                i += 1
                body.append(lines[i])
                if lines[i].strip() == heredoc["word"]:
                    break
            out.append("\n".join(body))
        else:
            out += [p for p in split_and(strip_comment(line)) if p]
        i += 1
    return out


def strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def split_and(line: str) -> list[str]:
    parts, quote, start = [], "", 0
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif line.startswith("&&", i):
            parts.append(line[start:i].strip())
            start = i + 2
            i += 1
        i += 1
    return [*parts, line[start:].strip()]


def program_of(command: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(command)
    env: dict[str, str] = {}
    while words and ENV_ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def simple(command: str) -> bool:
    """No pipes, redirections or substitutions: safe to run without a shell."""
    return not re.search(r"[|<>;`$()]", command)


def run_command(reader: Reader, command: str) -> tuple[int, str]:
    command = command.replace("/tmp/", f"{reader.tmp}/")
    _, words = program_of(command) if "\n" not in command else ({}, [])
    endless = words[:1] == ["prometeu-packer"] and LONG_RUNNING.intersection(words[1:])
    assert not endless, (
        f"`{command}` runs until Ctrl-C: mark its block "
        "`<!-- docs-test: skip (runs until Ctrl-C) -->`"
    )
    reader.ran.append(command)
    env, words = program_of(command) if "\n" not in command else ({}, [])
    if words and words[0] == "cd":
        reader.cwd = (reader.cwd / (words[1] if len(words) > 1 else reader.root)).resolve()
        return 0, ""
    if words and words[0] == "prometeu-packer" and simple(command):
        from packer_tasks.cli import main

        args = words[1:]
        code, out, err = call_in_process(
            lambda: main(args), cwd=reader.cwd, env=reader.env(env), timeout=TIMEOUT
        )
        return code, out + err
    if words and words[0] == "doit" and simple(command):
        run = run_doit(reader.cwd, *words[1:], env=reader.env(env), check=False)
        return run.returncode, run.output
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=reader.cwd,
        env=reader.env({}),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def expected_exit(marker: str) -> int:
    found = re.search(r"exit=(\d+)", marker)
    return int(found.group(1)) if found else 0


def fresh_folder(reader: Reader) -> Path:
    folder = reader.tmp / f"fresh-{len(reader.ran)}"
    folder.mkdir()
    for source in sorted([*STARTER.rglob("*.png"), *STARTER.rglob("*.wav")]):
        if "assets" in source.relative_to(STARTER).parts:
            shutil.copy2(source, folder / source.name)
    return folder


def run_shell_block(reader: Reader, block: Block) -> None:
    saved = reader.cwd
    if "fresh" in block.marker:
        reader.cwd = fresh_folder(reader)
    want = expected_exit(block.marker)
    for command in split_commands(script_of(block)):
        _, words = program_of(command) if "\n" not in command else ({}, [])
        is_packer = bool(words) and words[0] in PROGRAMS
        code, output = run_command(reader, command)
        assert code == (want if is_packer else 0), (
            f"{block.where}: `{command}` exited {code}, documented {want}:\n{output}"
        )
        assert "Traceback" not in output, f"{block.where}: `{command}`:\n{output}"
    if "fresh" in block.marker:
        reader.cwd = saved


def run_python_block(reader: Reader, block: Block) -> None:
    code, out, err = call_in_process(
        lambda: exec(compile(block.text, block.where, "exec"), reader.namespace),
        cwd=reader.cwd,
        env=reader.env({}),
        timeout=TIMEOUT,
    )
    assert code == 0, f"{block.where}: the Python block failed:\n{out}{err}"


def runs(block: Block) -> bool:
    if "skip" in block.marker:
        return False
    if "python" in block.marker:
        return True
    if block.lang not in SHELL_LANGS:
        return False
    return any(
        program_of(c)[1][:1] and program_of(c)[1][0] in PROGRAMS
        for c in split_commands(script_of(block))
        if "\n" not in c
    )


def documents_with_commands() -> list[Path]:
    return [doc for doc in DOC_FILES if any(runs(b) for b in read_blocks(doc))]


@pytest.mark.parametrize("doc", documents_with_commands(), ids=lambda p: str(p.relative_to(REPO)))
def test_documented_commands_run(doc: Path, tmp_path: Path) -> None:
    root = copy_project(STARTER, tmp_path / "starter")
    reader = Reader(root=root, cwd=root, tmp=tmp_path)
    for block in read_blocks(doc):
        if "skip" in block.marker or not ("python" in block.marker or block.lang in SHELL_LANGS):
            continue  # a document that runs commands runs all its shell blocks, in order
        if "python" in block.marker:
            run_python_block(reader, block)
        else:
            run_shell_block(reader, block)


XXD_LINE = re.compile(r"^(?P<offset>[0-9a-f]{8}): (?P<hex>(?:[0-9a-f]{2,4} ?)+)")


def test_hex_dumps_match_the_starter_file(tmp_path: Path) -> None:
    """Every `xxd` line quoted in docs/assets-pa.md is the starter project's real bytes."""
    from packer_tasks.cli import main

    root = copy_project(STARTER, tmp_path / "starter")
    code, out, err = call_in_process(lambda: main(["pack"]), cwd=root, timeout=TIMEOUT)
    assert code == 0, out + err
    data = (root / "build" / "assets.pa").read_bytes()
    checked = 0
    for block in read_blocks(DOCS / "assets-pa.md"):
        for line in block.text.splitlines():
            found = XXD_LINE.match(line)
            if found is None:
                continue
            offset = int(found["offset"], 16)
            quoted = bytes.fromhex(found["hex"].replace(" ", ""))
            assert data[offset : offset + len(quoted)] == quoted, f"{block.where}: {line}"
            checked += 1
    assert checked >= 10


INLINE_COMMAND = re.compile(r"`(?P<command>prometeu-packer(?: [^`]*)?)`")


def test_inline_commands_exist() -> None:
    """Every `prometeu-packer …` written in prose names real commands and options: each is
    parsed by the CLI itself (with `--help` added, so nothing runs)."""
    from packer_tasks.cli import main

    wrong: list[str] = []
    checked = 0
    for doc in DOC_FILES:
        for found in INLINE_COMMAND.finditer(prose_with_code(doc)):
            argv = [*shlex.split(found["command"].replace("|", " "))[1:], "--help"]
            code, _, err = call_in_process(partial(main, argv))
            checked += 1
            if code != 0:
                wrong.append(f"{doc.relative_to(REPO)}: `{found['command']}`: {err.strip()}")
    assert not wrong, "\n".join(wrong)
    assert checked > 20


def test_documented_settings_are_real() -> None:
    """Every TOML block parses, and its `[tool.prometeu-packer]` keys are keys the packer
    reads, with values of the type it wants."""
    from packer_tasks.workspace.settings import KNOWN_KEYS

    checked = 0
    for doc in DOC_FILES:
        for block in read_blocks(doc):
            if block.lang != "toml":
                continue
            table = tomllib.loads(block.text).get("tool", {}).get("prometeu-packer", {})
            for key, value in table.items():
                assert key in KNOWN_KEYS, f"{block.where}: unknown key {key!r}"
                assert type(value) is KNOWN_KEYS[key], f"{block.where}: {key} = {value!r}"
                checked += 1
    assert checked


def test_every_skipped_block_says_why() -> None:
    bare = [
        b.where for doc in DOC_FILES for b in read_blocks(doc) if re.fullmatch(r"skip\s*", b.marker)
    ]
    assert not bare, f"skip markers without a reason: {bare}"
