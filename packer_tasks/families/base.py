"""The family interface (SPEC §4): everything the packer knows about one kind of asset.

A family is pure: it checks a declaration, states its capacity, materializes a payload from
*frozen* input bytes handed to it (it never opens files), renders header metadata, and can
turn a packed payload back into viewable files. The artifact writer never looks inside.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..models.declaration import AssetDeclaration, OutputDecl
from ..models.diagnostic import Diagnostic, error
from ..models.diagnostic_codes import artifact_none


@dataclass(frozen=True)
class Materialized:
    """A family's output for one asset: the payload bytes and its runtime header facts."""

    payload: bytes
    decoded_size: int
    metadata: dict[str, Any]


@dataclass(frozen=True)
class MaterializeOutcome:
    """Either a payload, or the blocking diagnostics explaining why there is none."""

    materialized: Materialized | None
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class ExtractedFile:
    """A viewable rendering of packed data (`inspect --extract`): a PNG sheet, a WAV sample."""

    name: str
    data: bytes


@dataclass(frozen=True)
class ScaffoldRequest:
    """What `create_asset` knows when it scaffolds an `asset.json`: file names, in order."""

    files: Sequence[str]
    options: Mapping[str, Any] = field(default_factory=dict)


class Family(ABC):
    """One asset family. Subclasses set the class constants and the four pure operations."""

    type_name: ClassVar[str]  # asset.json "type", e.g. "glyph_bank"
    format: ClassVar[str]  # output.format, e.g. "GLYPH/indexed_v1"
    bank_type: ClassVar[str]  # header bank_type, e.g. "GLYPH"
    input_role: ClassVar[str]  # the inputs role scaffolding uses, e.g. "tiles"
    input_suffixes: ClassVar[tuple[str, ...]]  # lower-case file suffixes, e.g. (".png",)
    codecs: ClassVar[tuple[str, ...]] = ("NONE",)

    min_artifacts: ClassVar[int] = 1

    @abstractmethod
    def max_artifacts(self, decl: AssetDeclaration | None) -> int:
        """Capacity for this declaration (may depend on metadata, e.g. tile size)."""

    @abstractmethod
    def check_declaration(self, decl: AssetDeclaration) -> list[Diagnostic]:
        """Blocking problems visible without reading any input bytes."""

    @abstractmethod
    def materialize(self, decl: AssetDeclaration, files: Mapping[str, bytes]) -> MaterializeOutcome:
        """Build the payload from frozen bytes keyed by artifact `file` (root-relative)."""

    @abstractmethod
    def extract(self, metadata: Mapping[str, Any], payload: bytes) -> list[ExtractedFile]:
        """Render a packed payload back into files a person can open."""

    @abstractmethod
    def scaffold_output(self, request: ScaffoldRequest) -> OutputDecl:
        """The `output` block `create_asset` writes for new files."""

    def key_material(self, decl: AssetDeclaration) -> dict[str, Any]:
        """Everything in the declaration that changes the materialized result.

        By default: format, codec, metadata, pipeline and the artifacts (index, file, loop
        points). Families with tooling-only pipeline keys may narrow this.
        """
        return {
            "type": self.type_name,
            "format": decl.output.format,
            "codec": decl.output.codec,
            "metadata": decl.output.metadata,
            "pipeline": decl.output.pipeline,
            "artifacts": [a.model_dump(exclude_none=True) for a in decl.sorted_artifacts()],
        }

    # Shared checks every v1 family applies ------------------------------------------------

    def check_indices(self, decl: AssetDeclaration, what: str) -> list[Diagnostic]:
        """Artifact indices must be exactly 0..n-1 (SPEC §4.1/§4.2)."""
        out: list[Diagnostic] = []
        seen: set[int] = set()
        for art in decl.artifacts:
            if art.index in seen:
                out.append(
                    error(
                        "artifact.index_duplicate",
                        f"artifact index {art.index} is used more than once",
                        f"give each {what} its own index 0..n-1",
                        path=art.file,
                    )
                )
            seen.add(art.index)
        expected = set(range(len(seen)))
        missing = sorted(expected - seen)
        if missing or seen - expected:
            out.append(
                error(
                    "artifact.index_gap",
                    f"artifact indices must be exactly 0..{len(seen) - 1}"
                    + (f"; missing {', '.join(map(str, missing))}" if missing else ""),
                    f"renumber the {what}s so indices run 0..n-1 without gaps",
                )
            )
        return out

    def check_capacity(self, decl: AssetDeclaration) -> list[Diagnostic]:
        count, cap = len(decl.artifacts), self.max_artifacts(decl)
        if count < self.min_artifacts:
            return [artifact_none(self.type_name, self.min_artifacts)]
        if count > cap:
            return [
                error(
                    "artifact.over_capacity",
                    f"{count} artifacts exceed the capacity of {cap} for this {self.type_name}",
                    "split the asset or change its parameters",
                )
            ]
        return []

    def check_codec(self, decl: AssetDeclaration) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        if decl.output.format != self.format:
            out.append(
                error(
                    "output.format_mismatch",
                    f"output.format is {decl.output.format!r}; a {self.type_name} "
                    f"produces {self.format!r}",
                    f'set "format": "{self.format}"',
                )
            )
        if decl.output.codec not in self.codecs:
            out.append(
                error(
                    "output.codec_unsupported",
                    f"codec {decl.output.codec!r} is not supported",
                    "use " + " or ".join(self.codecs),
                )
            )
        return out
