"""The asset catalog: which meshes stand for which object class, where they come from, and who made them.

A catalog is a YAML file (``assets/catalog.yaml`` at the repository top, plus any user catalogs) validated like
a scene file: pydantic models with ``extra="forbid"``, every problem reported at once with ``file:line:column``.

Paths: an asset's ``source`` is relative to its pack's root (``packs.<name>.root``: relative to
:func:`simgen.paths.data_dir` unless absolute or starting with ``./`` / ``../``, which are relative to the catalog
file), or relative to the catalog file when the asset names no pack. A pack that is not installed makes each of
its assets fall back to the class's procedural generator with ONE warning line naming the pack and its setup
step (:func:`warn_missing_pack`).

Every class with a procedural builder can be named ``procedural/<class>`` without a catalog line.

Catalogs in effect (:func:`catalog_for`): the built-in one, then ``$SIMGEN_ASSET_CATALOGS`` (paths joined by the
OS path separator), then the scene's ``asset_catalogs``; a later catalog may add packs and assets but not reuse an
id.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from simgen.classes import class_table
from simgen.errors import SimgenError
from simgen.paths import data_dir
from simgen.spec.errors import Issue, SpecError, did_you_mean
from simgen.spec.fields import COLOURS as SPEC_COLOURS
from simgen.spec.fields import SpecModel

log = logging.getLogger("simgen.assets")

#: the built-in catalog (repository top)
BUILTIN_CATALOG = Path(__file__).resolve().parents[2] / "assets" / "catalog.yaml"
#: extra catalogs for every scene: paths joined by os.pathsep
ENV_CATALOGS = "SIMGEN_ASSET_CATALOGS"

ID_PATTERN = r"^[a-z0-9_][a-z0-9_.\-]*(/[a-z0-9_][a-z0-9_.\-]*)?$"
Axis = Literal["+x", "-x", "+y", "-y", "+z", "-z"]
#: what a source material becomes (see :mod:`simgen.world.meshload`): ``keep`` uses the file's own colour and
#: texture; ``paint`` takes the instance's paint colour with a clear coat; ``hide`` drops the faces
Role = Literal["keep", "paint", "glass", "tyre", "chrome", "metal", "plastic", "rubber", "interior", "headlight",
               "taillight", "indicator", "plate", "lamp", "leaves", "bark", "wood", "concrete", "hide"]
ColourName = Literal[tuple(SPEC_COLOURS)]  # type: ignore[valid-type]


class CatalogError(SimgenError):
    """An asset that cannot be found, read or used (names the catalog entry and the file)."""


class MaterialRule(SpecModel):
    """Source materials whose name matches a pattern get a role."""

    match: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=50,
        description="Shell patterns (fnmatch, case-insensitive) on the source file's material names (MTL newmtl).")
    role: Role = Field(description="What these materials become: keep, paint, glass, tyre, chrome, headlight, ...")


class TextureLamp(SpecModel):
    """Lamps painted in a texture: the faces whose texture coordinates fall in ``rect`` become a lamp (they glow
    with the vehicle's lights, and head- or tail-light spots are placed at them)."""

    image: str = Field(min_length=1, max_length=300, description="Texture file name as the MTL names it.")
    rect: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        min_length=4, max_length=4, description="[x0, y0, x1, y1] as fractions of the image (top-left origin).")
    role: Literal["headlight", "taillight"] = Field(description="headlight or taillight.")

    @model_validator(mode="after")
    def _order(self) -> "TextureLamp":
        x0, y0, x1, y1 = self.rect
        if not (x0 < x1 and y0 < y1):
            raise PydanticCustomError("rect_order", "rect must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1",
                                      {"hint": "e.g. [0.1, 0.2, 0.3, 0.25]"})
        return self


class TextureEdit(SpecModel):
    """Paint over part of a texture image: logos and badges are inpainted, number plates replaced by a plain one."""

    image: str = Field(min_length=1, max_length=300, description="Texture file name as the MTL names it.")
    rect: list[Annotated[float, Field(ge=0, le=1)]] = Field(
        min_length=4, max_length=4, description="[x0, y0, x1, y1] as fractions of the image (top-left origin).")
    fill: Literal["inpaint", "plate"] = Field("inpaint", description="inpaint (remove) or plate (a plain plate).")

    @model_validator(mode="after")
    def _order(self) -> TextureEdit:
        x0, y0, x1, y1 = self.rect
        if not (x0 < x1 and y0 < y1):
            raise PydanticCustomError("rect_order", "rect must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1",
                                      {"hint": "fractions of the image width and height"})
        return self


class PackSpec(SpecModel):
    """A folder of third-party content that ``scripts/setup.sh`` (or the user) installs."""

    root: str = Field(min_length=1, max_length=500,
                      description="Folder: relative to the data dir ($SIMGEN_DATA_DIR or ~/.cache/simgen) unless "
                                  "absolute or starting with ./ or ../ (then relative to this catalog file).")
    setup: str = Field("", max_length=300, description="How to install the pack (shown when it is missing).")
    description: str = Field("", max_length=1000, description="Free text.")
    source_url: str = Field("", max_length=500, description="Where the pack comes from.")
    materials: list[MaterialRule] = Field(default_factory=list, max_length=200,
                                          description="Material roles for every asset of the pack (assets' own "
                                                      "rules come first).")
    up: Axis = Field("+z", description="Default up axis of the pack's files.")
    forward: Axis = Field("+x", description="Default forward axis of the pack's files.")


def _class_name(value: str) -> str:
    table = class_table()
    if value not in table.names or not table.by_name(value).thing:
        raise PydanticCustomError("unknown_class", "unknown object class '{value}'",
                                  {"value": value,
                                   "hint": did_you_mean(value, [c.name for c in table.classes if c.thing])})
    return value


class AssetEntry(SpecModel):
    """One asset: a mesh file (or the class's procedural generator) standing for an object class."""

    id: str = Field(pattern=ID_PATTERN, max_length=120,
                    description="Unique id, conventionally '<pack>/<name>' (lower case, digits, _ . -).")
    class_: str = Field(alias="class", description="Object class from the class table.")
    pack: str | None = Field(None, max_length=100, description="Pack holding the file (see 'packs'); none: the "
                                                               "source is relative to this catalog file.")
    source: str | None = Field(None, min_length=1, max_length=500,
                               description="Mesh file (OBJ with MTL, GLB/GLTF, PLY, STL), relative to the pack root.")
    generator: Literal["procedural"] | None = Field(None, description="'procedural': the class's built-in mesh.")
    height_m: float | None = Field(None, gt=0, le=100, description="Scale the mesh to this height (m).")
    length_m: float | None = Field(None, gt=0, le=100, description="Scale the mesh to this length along forward (m).")
    scale: float | None = Field(None, gt=0, le=1000, description="Or a plain factor (file units -> metres).")
    up: Axis | None = Field(None, description="The file's up axis (default: the pack's, else +z).")
    forward: Axis | None = Field(None, description="The file's forward axis (default: the pack's, else +x).")
    rotation: list[list[float]] | None = Field(
        None, description="3x3 row-major rotation applied to the file's coordinates before the axes (e.g. Sweet "
                          "Home 3D's modelRotation).")
    materials: list[MaterialRule] = Field(default_factory=list, max_length=100,
                                          description="Material roles (first match wins; then the pack's rules).")
    texture_edits: list[TextureEdit] = Field(default_factory=list, max_length=50,
                                             description="Logos to remove, plates to replace.")
    texture_lamps: list[TextureLamp] = Field(default_factory=list, max_length=50,
                                             description="Head and tail lights painted in a texture.")
    palette: list[ColourName] | None = Field(None, max_length=30, description="Paint colours drawn per instance.")
    height_jitter: float = Field(0.0, ge=0, le=0.5, description="Relative random height change per instance.")
    smooth: bool | None = Field(
        None, description="Smooth shading (interpolated normals). Default: smooth unless the asset has paint or "
                          "glass: mirror-like surfaces stay flat-shaded, so reflections (and their labels) follow "
                          "the mesh's faces.")
    max_faces: int | None = Field(
        None, gt=100, le=10_000_000,
        description="Thin a heavier mesh to about this many triangles when it is loaded: a random share of its "
                    "small parts (leaves, twigs: connected pieces of at most 64 triangles in 'leaves' and 'bark' "
                    "slots) is dropped and the kept leaves grow to keep the crown's density. Trees and hedges.")
    tags: list[Annotated[str, Field(pattern=r"^[a-z0-9_\-]+$", max_length=50)]] = Field(
        default_factory=list, max_length=30, description="Tags scene authors can pick assets by (asset_tag).")
    license: str = Field("", max_length=100, description="SPDX-like license id, e.g. CC0-1.0, CC-BY-3.0.")
    author: str = Field("", max_length=200, description="Creator, for the attribution file.")
    title: str = Field("", max_length=200, description="Title of the work, for the attribution file.")
    url: str = Field("", max_length=500, description="Where the work comes from.")
    #: the catalog file this entry was read from (set by the loader)
    _catalog_file: str = PrivateAttr("")

    @property
    def catalog_file(self) -> str:
        return self._catalog_file

    @field_validator("class_")
    @classmethod
    def _check_class(cls, v: str) -> str:
        return _class_name(v)

    @field_validator("rotation")
    @classmethod
    def _check_rotation(cls, v):
        if v is None:
            return v
        import numpy as np

        m = np.asarray(v, float)
        if m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-3):
            raise PydanticCustomError("rotation", "rotation must be a 3x3 rotation matrix (orthonormal rows)",
                                      {"hint": "e.g. [[1, 0, 0], [0, 1, 0], [0, 0, 1]]"})
        return v

    @model_validator(mode="after")
    def _source_xor_generator(self) -> AssetEntry:
        if (self.source is None) == (self.generator is None):
            raise PydanticCustomError("asset_source", "give exactly one of source or generator",
                                      {"hint": "source: path/to/mesh.obj, or generator: procedural"})
        if sum(x is not None for x in (self.height_m, self.length_m, self.scale)) > 1:
            raise PydanticCustomError("asset_scale", "give at most one of height_m, length_m or scale",
                                      {"hint": "height_m: 1.5 scales the mesh to 1.5 m tall"})
        if self.source is not None and not (self.license and self.author and self.title):
            raise PydanticCustomError("asset_credit", "a file asset needs license, author and title",
                                      {"hint": "they go into every dataset's ATTRIBUTION.md"})
        return self

    @property
    def third_party(self) -> bool:
        return self.source is not None

    def credit(self) -> dict:
        """Attribution record: id, class, title, author, license, url, pack."""
        return {"id": self.id, "class": self.class_, "title": self.title, "author": self.author,
                "license": self.license, "url": self.url, "pack": self.pack}


class CatalogFile(SpecModel):
    """An asset catalog file."""

    packs: dict[Annotated[str, Field(pattern=r"^[a-z0-9_\-]+$")], PackSpec] = Field(
        default_factory=dict, description="Content packs by name.")
    assets: list[AssetEntry] = Field(default_factory=list, max_length=5000, description="The assets.")


# ---- loading ------------------------------------------------------------------------------------------------

def _catalog_checks(cat: CatalogFile, located) -> list[Issue]:
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for i, a in enumerate(cat.assets):
        if a.id in seen:
            issues.append(located.issue(("assets", i, "id"), f"duplicate asset id '{a.id}'",
                                        f"first defined at assets[{seen[a.id]}]"))
        seen.setdefault(a.id, i)
    return issues


def read_catalog_file(path: str | Path) -> CatalogFile:
    """Read and validate one catalog file. Raises :class:`SpecError` (file:line:column per problem)."""
    from simgen.spec.validate import validate
    from simgen.spec.yamlio import Located, read_yaml

    p = Path(path)
    if not p.is_file():
        raise CatalogError(f"asset catalog not found: {p}")
    cat = validate(Located(read_yaml(p, display=str(p))), CatalogFile, _catalog_checks)
    for a in cat.assets:
        a._catalog_file = str(p.resolve())
    return cat


class Catalog:
    """The assets in effect: merged catalog files, with lookups by id, class and tag."""

    def __init__(self, files: list[tuple[Path, CatalogFile]]):
        from simgen.world.assets import REGISTRY

        self.files = [p for p, _ in files]
        self.packs: dict[str, tuple[PackSpec, Path]] = {}
        self.assets: dict[str, AssetEntry] = {}
        # every class with a procedural builder can be named as 'procedural/<class>'
        for cls in REGISTRY:
            self.assets[f"procedural/{cls}"] = AssetEntry.model_validate(
                {"id": f"procedural/{cls}", "class": cls, "generator": "procedural"})
        for path, cat in files:
            for name, pack in cat.packs.items():
                self.packs.setdefault(name, (pack, path))
            for a in cat.assets:
                if a.id in self.assets and not (a.generator and a.id.startswith("procedural/")):
                    raise CatalogError(f"{path}: asset id '{a.id}' is already defined in "
                                       f"{self.assets[a.id].catalog_file}")
                if a.pack is not None and a.pack not in self.packs:
                    raise CatalogError(f"{path}: asset '{a.id}' names pack '{a.pack}', which no catalog defines "
                                       f"({did_you_mean(a.pack, self.packs)})")
                self.assets[a.id] = a

    # lookups ------------------------------------------------------------------------------------------------
    def get(self, asset_id: str) -> AssetEntry:
        if asset_id not in self.assets:
            raise CatalogError(f"unknown asset '{asset_id}' ({did_you_mean(asset_id, self.assets)})")
        return self.assets[asset_id]

    def for_class(self, class_name: str, tag: str | None = None) -> list[AssetEntry]:
        """File assets of ``class_name`` (with ``tag`` when given), in catalog order."""
        return [a for a in self.assets.values() if a.class_ == class_name and a.source is not None
                and (tag is None or tag in a.tags)]

    def with_tag(self, tag: str) -> list[AssetEntry]:
        return [a for a in self.assets.values() if tag in a.tags]

    def tags(self) -> set[str]:
        return {t for a in self.assets.values() for t in a.tags}

    # files --------------------------------------------------------------------------------------------------
    def pack_root(self, name: str) -> Path:
        pack, cat_path = self.packs[name]
        root = Path(os.path.expanduser(pack.root))
        if root.is_absolute():
            return root
        if pack.root.startswith(("./", "../")):
            return (cat_path.parent / root).resolve()
        return data_dir(*root.parts)

    def source_path(self, a: AssetEntry) -> Path:
        """Absolute path of an asset's file (it may not exist)."""
        assert a.source is not None
        base = self.pack_root(a.pack) if a.pack else Path(a.catalog_file).parent
        return (base / a.source).resolve()

    def pack_installed(self, name: str) -> bool:
        root = self.pack_root(name)
        return root.is_dir() and any(root.iterdir())

    def axes(self, a: AssetEntry) -> tuple[str, str]:
        pack = self.packs[a.pack][0] if a.pack else None
        up = a.up or (pack.up if pack else "+z")
        fwd = a.forward or (pack.forward if pack else "+x")
        return up, fwd

    def material_rules(self, a: AssetEntry) -> list[MaterialRule]:
        pack = self.packs[a.pack][0] if a.pack else None
        return list(a.materials) + (list(pack.materials) if pack else [])


_WARNED: set[str] = set()


def warn_missing_pack(catalog: Catalog, pack: str, what: str) -> None:
    """One warning line per missing pack and process: the pack, its folder and its setup step."""
    if pack in _WARNED:
        return
    _WARNED.add(pack)
    spec = catalog.packs[pack][0]
    log.warning("asset pack '%s' is not installed (%s): %s use procedural stand-ins; install it with: %s",
                pack, catalog.pack_root(pack), what, spec.setup or "see the catalog's packs section")


def _env_catalogs() -> list[Path]:
    raw = os.environ.get(ENV_CATALOGS, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


@lru_cache(maxsize=32)
def _catalog_cached(paths: tuple[str, ...], stamps: tuple[float, ...]) -> Catalog:
    return Catalog([(Path(p), read_catalog_file(p)) for p in paths])


def catalog_for(extra: list[str] | tuple[str, ...] = ()) -> Catalog:
    """The catalog in effect: built-in, then ``$SIMGEN_ASSET_CATALOGS``, then ``extra`` (absolute paths).

    Cached per set of files (and their modification times). Raises :class:`SpecError` for an invalid file and
    :class:`CatalogError` for a missing one or a clash between files."""
    paths = [BUILTIN_CATALOG, *_env_catalogs(), *(Path(p) for p in extra)]
    resolved: list[str] = []
    for p in paths:
        if not p.is_file():
            raise CatalogError(f"asset catalog not found: {p}")
        rp = str(p.resolve())
        if rp not in resolved:
            resolved.append(rp)
    stamps = tuple(os.stat(p).st_mtime_ns for p in resolved)
    return _catalog_cached(tuple(resolved), stamps)


__all__ = ["AssetEntry", "Catalog", "CatalogError", "CatalogFile", "MaterialRule", "PackSpec", "TextureEdit",
           "catalog_for", "read_catalog_file", "warn_missing_pack", "BUILTIN_CATALOG", "ENV_CATALOGS", "SpecError"]
