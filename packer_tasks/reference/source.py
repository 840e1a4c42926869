"""Reading the packer's own source (AST only, nothing executed): where codes, events, keys
and variables are actually used, so the reference follows the code rather than a list."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_PREFIX = "packer_tasks"


@dataclass(frozen=True)
class Module:
    """One source file: its repo-relative name (POSIX) and parsed tree."""

    name: str
    tree: ast.Module


@dataclass(frozen=True)
class Source:
    """Every module of the package except this generator, parsed once per generation."""

    modules: tuple[Module, ...]

    @classmethod
    def load(cls) -> Source:
        out: list[Module] = []
        for path in sorted(PACKAGE_DIR.rglob("*.py")):
            rel = path.relative_to(PACKAGE_DIR).as_posix()
            if rel.startswith("reference/"):
                continue
            tree = ast.parse(path.read_text("utf-8"), filename=rel)
            out.append(Module(f"{REPO_PREFIX}/{rel}", tree))
        return cls(tuple(out))

    def tree(self, name: str) -> ast.Module | None:
        """The parsed module with this repo-relative name, if it exists."""
        return next((m.tree for m in self.modules if m.name == name), None)


def calls(module: Module) -> Iterator[ast.Call]:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call):
            yield node


def callee_name(call: ast.Call) -> str:
    """`error` for `error(...)`, `emit` for `em.emit(...)`, "" otherwise."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def literal_text(node: ast.expr | None) -> str | None:
    """A string constant as is; an f-string with each `{...}` shown as `…`; else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [literal_text(v) if isinstance(v, ast.Constant) else "…" for v in node.values]
        return "".join(p or "" for p in parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_text(node.left), literal_text(node.right)
        return None if left is None else left + (right if right is not None else "…")
    return None


def assigned_texts(module: Module) -> dict[str, set[str]]:
    """Name → the literal texts assigned to it anywhere in the module (both branches of a
    conditional), so `hint = "..."` then `error(code, msg, hint)` still shows the hint."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                out.setdefault(target.id, set()).update(texts(node.value, {}))
    return out


def texts(node: ast.expr | None, names: dict[str, set[str]]) -> set[str]:
    """Every literal text an expression can evaluate to, as far as the source shows."""
    if isinstance(node, ast.IfExp):
        return texts(node.body, names) | texts(node.orelse, names)
    if isinstance(node, ast.Name):
        return set(names.get(node.id, set()))
    text = literal_text(node)
    return {text} if text else set()


def argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """The argument passed at `position` or as `keyword=`."""
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if len(call.args) > position else None


def string_constants(module: Module) -> Iterator[str]:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
