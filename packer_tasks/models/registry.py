"""`assets/.prometeu/index.json` (SPEC §3): the authoritative registry of a project."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
)

REGISTRY_SCHEMA_VERSION = 1


class RegistryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_id: StrictInt = Field(gt=0)
    asset_uuid: StrictStr
    included_in_build: StrictBool
    root: StrictStr = Field(min_length=1)


class Registry(BaseModel):
    """Registry state. `next_asset_id` is the allocator: ids only grow, never come back."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    # `"$schema"`: which JSON Schema an editor should apply; kept, never interpreted.
    json_schema: StrictStr | None = Field(
        default=None, alias="$schema", exclude_if=lambda v: v is None
    )
    assets: list[RegistryEntry] = Field(default_factory=list)
    next_asset_id: StrictInt = Field(default=1, gt=0)
    schema_version: StrictInt = REGISTRY_SCHEMA_VERSION

    # Lookups by id, root and uuid in O(1). The index is built once per `assets` list and
    # remembers which list it indexes (holding it, so its id cannot be reused): a
    # `model_copy(update={"assets": ...})` copies this private cache, but not the list.
    _index: tuple[list[RegistryEntry], dict[tuple[str, object], RegistryEntry]] | None = (
        PrivateAttr(default=None)
    )

    def __eq__(self, other: object) -> bool:
        """Equal state, whatever each side has cached (pydantic would compare the index too)."""
        if not isinstance(other, Registry):
            return NotImplemented
        return (self.assets, self.next_asset_id, self.schema_version) == (
            other.assets,
            other.next_asset_id,
            other.schema_version,
        )

    __hash__ = None  # type: ignore[assignment]  # the entries are a list: never hashable

    def _lookup(self, kind: str, key: object) -> RegistryEntry | None:
        cached = self._index
        if cached is None or cached[0] is not self.assets:
            index: dict[tuple[str, object], RegistryEntry] = {}
            for e in self.assets:  # the first match wins, as a scan would
                index.setdefault(("id", e.asset_id), e)
                index.setdefault(("root", e.root), e)
                index.setdefault(("uuid", e.asset_uuid), e)
            cached = (self.assets, index)
            self._index = cached
        return cached[1].get((kind, key))

    def by_id(self, asset_id: int) -> RegistryEntry | None:
        return self._lookup("id", asset_id)

    def by_root(self, root: str) -> RegistryEntry | None:
        return self._lookup("root", root)

    def by_uuid(self, uuid: str) -> RegistryEntry | None:
        return self._lookup("uuid", uuid)

    def build_set(self) -> list[RegistryEntry]:
        return [e for e in self.assets if e.included_in_build]

    def with_entry(self, entry: RegistryEntry) -> Registry:
        """Replace the entry with the same id (or append), keeping entries sorted by id."""
        rest = [e for e in self.assets if e.asset_id != entry.asset_id]
        assets = sorted([*rest, entry], key=lambda e: e.asset_id)
        next_id = max(self.next_asset_id, entry.asset_id + 1)
        return self.model_copy(update={"assets": assets, "next_asset_id": next_id})

    def without(self, asset_id: int) -> Registry:
        return self.model_copy(
            update={"assets": [e for e in self.assets if e.asset_id != asset_id]}
        )

    def allocate(self, asset_uuid: str, root: str, included: bool = True) -> tuple[Registry, int]:
        """Register a new root under a fresh id; the allocator moves on for good."""
        new_id = self.next_asset_id
        entry = RegistryEntry(
            asset_id=new_id, asset_uuid=asset_uuid, included_in_build=included, root=root
        )
        reg = self.with_entry(entry)
        return reg.model_copy(update={"next_asset_id": new_id + 1}), new_id
