"""The public Python API page: every name of `packer_tasks.__all__`, and every public method
of the service, with signatures and the first line of each docstring."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable

import packer_tasks

from ..service import PackerService
from . import markdown as md

SERVICE = "PackerService"


def first_line(obj: object) -> str:
    """The first paragraph of the object's own docstring (never one inherited from a base
    such as pydantic's BaseModel, nor a dataclass's generated signature)."""
    doc = vars(obj).get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if not isinstance(doc, str) or doc.startswith(f"{getattr(obj, '__name__', '')}("):
        return ""
    text = inspect.cleandoc(doc).split("\n\n")[0]
    return md.scrub(" ".join(text.split()))


def kind_of(obj: object) -> str:
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        return "enum: " + ", ".join(md.code(m.value) for m in obj)
    if isinstance(obj, type):
        return "class"
    if callable(obj):
        return "function"
    return type(obj).__name__


def signature(obj: Callable[..., object], name: str) -> str:
    """`name(param: type = default, ...) -> type`, annotations as written in the source."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    params = []
    star_done = False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        if p.name == "self":
            continue
        stars = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        text = stars + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        params.append(text)
    returns = ""
    if sig.return_annotation is not sig.empty:
        returns = f" -> {_annotation(sig.return_annotation)}"
    return f"{name}({', '.join(params)}){returns}"


def _annotation(value: object) -> str:
    return value if isinstance(value, str) else getattr(value, "__name__", repr(value))


def render() -> str:
    names = sorted(n for n in packer_tasks.__all__ if not n.startswith("__"))
    rows = []
    for name in names:
        obj = getattr(packer_tasks, name)
        rows.append(
            (
                f"[{md.code(name)}](#{name.lower()})" if name == SERVICE else md.code(name),
                kind_of(obj),
                first_line(obj),
            )
        )
    sections = [
        "## Names\n\n" + md.table(["name", "kind", "what it is"], rows),
        _service(),
    ]
    intro = (
        "Everything a host may import, from `packer_tasks.__all__` (import it from "
        "`packer_tasks` itself; submodules are internal and may move). Names load on first "
        "use, so `import packer_tasks` stays cheap. The guide "
        "[Embedding the packer in an editor](../guides/embedding.md) shows them at work."
    )
    return md.page("Python API", intro, sections)


def _service() -> str:
    parts = [f"## {SERVICE}", first_line(PackerService)]
    parts.append(md.fenced(signature(PackerService, SERVICE), "python"))
    rows = []
    for name, member in sorted(inspect.getmembers(PackerService, inspect.isfunction)):
        if name.startswith("_"):
            continue
        rows.append((md.code(signature(member, name)), first_line(member)))
    parts.append("Methods:\n\n" + md.table(["method", "what it does"], rows))
    return "\n\n".join(parts)
