"""One object's mesh and materials: a catalog asset when one fits, else the class's procedural stand-in.

:class:`AssetPicker` is what the world builder asks for every object. Choice, per object:

1. ``asset`` (an id) names one catalog entry; ``asset_tag`` restricts the candidates to entries of the class
   with that tag; otherwise the candidates are every file asset of the class.
2. Candidates whose pack is not installed are dropped with ONE warning line per pack (the pack, its folder and
   the setup step); when none is left the procedural builder of :mod:`simgen.world.assets` makes the object.
   A class without any catalog asset (people, signs) is procedural without a warning: there is nothing missing.
3. A missing or unreadable file of an installed pack or of a user catalog is a :class:`CatalogError` naming the
   asset, its catalog and the file.

Randomness: the candidate, paint colour and size jitter come from the ``rng`` the caller passes (a named
stream per object), so objects never shift each other's draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simgen.world.assets import COLOURS, RGB, make_asset, resolve_colour
from simgen.world.catalog import AssetEntry, Catalog, CatalogError, warn_missing_pack
from simgen.world.meshload import LoadedAsset, load_asset, material_for
from simgen.world.model import Material, Mesh


@dataclass
class Made:
    """An object's mesh (object frame, metres) and materials, and where they came from."""

    mesh: Mesh
    materials: list[Material]
    #: the catalog entry used, or None for a procedural object
    asset_id: str | None = None
    #: attribution record of a third-party asset (see :meth:`AssetEntry.credit`), else None
    credit: dict | None = None
    #: object-frame lamp positions by role ("headlight", "taillight", "lamp"): (k, 3) float64 face centres
    lamps: dict = field(default_factory=dict)


class AssetPicker:
    """Makes objects from a :class:`Catalog` (see the module docstring)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._shared: dict[tuple, Material] = {}
        self._meshes: dict[tuple, tuple[Mesh, dict]] = {}

    # choice -------------------------------------------------------------------------------------------------
    def candidates(self, class_name: str, asset: str | None = None, tag: str | None = None,
                   where: str = "") -> list[AssetEntry]:
        """Entries that may stand for the object (installed packs only; [] = procedural)."""
        pre = f"{where}: " if where else ""
        if asset is not None:
            try:
                entry = self.catalog.get(asset)
            except CatalogError as err:
                raise CatalogError(f"{pre}{err}") from None
            if entry.class_ != class_name:
                raise CatalogError(f"{pre}asset '{asset}' is a {entry.class_}, not a {class_name}")
            found = [entry]
        elif tag is not None:
            found = [a for a in self.catalog.with_tag(tag) if a.class_ == class_name]
            if not found:
                raise CatalogError(f"{pre}no asset of class '{class_name}' has tag '{tag}' (tags of its assets: "
                                   f"{', '.join(sorted({t for a in self.catalog.for_class(class_name) for t in a.tags})) or 'none'})")
        else:
            found = self.catalog.for_class(class_name)
        ok = []
        for a in found:
            if a.generator is not None:
                ok.append(a)
            elif a.pack is not None and not self.catalog.pack_installed(a.pack):
                warn_missing_pack(self.catalog, a.pack, f"{class_name} objects")
            else:
                ok.append(a)
        return ok

    # making -------------------------------------------------------------------------------------------------
    def make(self, class_name: str, colour, scale, rng: np.random.Generator, *, asset: str | None = None,
             tag: str | None = None, where: str = "", max_across: float | None = None,
             min_fit: float = 0.6, animation: str | None = None) -> Made:
        """Mesh and materials of one object. colour: a colour name, (r, g, b) in [0, 1] or None (the asset's
        palette, else the class's). scale: a float or (sx, sy, sz) factor on the catalog size. max_across: a
        catalog mesh wider (x or y) than this many metres is scaled down uniformly to fit (tree crowns over a
        sidewalk) in 5 % steps; :attr:`Made.mesh` is None when it would have to shrink below ``min_fit``.

        Instances of one asset at one size share one :class:`Mesh` (the renderer then builds it once); the
        catalog's ``height_jitter`` is drawn in steps of 2.5 % for that reason. animation: a person's behaviour
        (procedural people from the body bank carry a bag, push a stroller, are shaped mid-stride)."""
        cands = self.candidates(class_name, asset, tag, where)
        if not cands or cands[0].generator is not None and len(cands) == 1:
            mesh, mats = make_asset(class_name, colour, scale, rng, animation)
            return Made(mesh, mats, cands[0].id if cands else None)
        entry = cands[int(rng.integers(len(cands)))] if len(cands) > 1 else cands[0]
        if entry.generator is not None:
            mesh, mats = make_asset(class_name, colour, scale, rng, animation)
            return Made(mesh, mats, entry.id)
        try:
            loaded = load_asset(entry, self.catalog)
        except CatalogError as err:
            raise CatalogError(f"{where}: {err}" if where else str(err)) from None
        paint = self._paint(entry, class_name, colour, rng)
        jitter = 1.0
        if entry.height_jitter:
            jitter = 1.0 + round(entry.height_jitter * float(rng.uniform(-1.0, 1.0)) / 0.05) * 0.05
        s = np.broadcast_to(np.asarray(scale, float), (3,)) * jitter
        if np.any(~np.isfinite(s)) or np.any(s <= 0):
            raise CatalogError(f"{where}: object scale must be positive, got {scale!r}")
        mats = self._materials(loaded, paint)
        if max_across is not None:
            lo, hi = loaded.mesh.bounds()
            across = float(max((hi[0] - lo[0]) * s[0], (hi[1] - lo[1]) * s[1]))
            fit = min(1.0, max_across / max(across, 1e-9))
            if fit < min_fit:
                return Made(None, mats, entry.id, entry.credit(), {})  # type: ignore[arg-type]
            if fit < 1.0:  # the largest size in 5 % steps that fits (the same for every instance)
                s = np.maximum(np.floor(s * fit / 0.05 + 1e-9) * 0.05, 0.05)
        mesh, lamps = self._scaled(loaded, s)
        return Made(mesh, mats, entry.id, entry.credit(), lamps)

    def _scaled(self, loaded: LoadedAsset, s: np.ndarray) -> tuple[Mesh, dict]:
        """The asset's mesh scaled by ``s`` (3,), one shared Mesh per (asset, scale)."""
        if np.allclose(s, 1.0):
            return loaded.mesh, dict(loaded.lamp_centres)
        key = (loaded.entry_id, id(loaded.mesh), tuple(np.round(s, 6)))
        if key not in self._meshes:
            m = loaded.mesh
            mesh = Mesh(m.vertices * s, m.faces, m.face_material, uv=m.uv, smooth=m.smooth,
                        share_key=None if m.share_key is None else f"{m.share_key}*{key[2]}")
            mesh.vertices.setflags(write=False)
            self._meshes[key] = (mesh, {k: v * s for k, v in loaded.lamp_centres.items()})
        return self._meshes[key]

    def _paint(self, entry: AssetEntry, class_name: str, colour, rng: np.random.Generator) -> RGB:
        if colour is None and entry.palette:
            from simgen.spec.fields import COLOURS as SPEC_COLOURS

            name = entry.palette[int(rng.integers(len(entry.palette)))]
            return tuple(float(c) for c in (COLOURS.get(name) or SPEC_COLOURS[name]))  # type: ignore[return-value]
        return resolve_colour(None if colour is None else (colour if isinstance(colour, str) else tuple(colour)),
                              class_name, rng)

    def _materials(self, loaded: LoadedAsset, paint: RGB) -> list[Material]:
        """One material per slot; equal-looking slots share one Material (the renderer builds it once)."""
        out = []
        for src in loaded.materials:
            # one Material per look, shared by every slot and asset that looks the same (the list is the object's
            # own, so the builder may swap a lamp for a lit one without touching other instances)
            key = (src.role, src.image, src.colour, src.alpha, tuple(paint) if src.role == "paint" else None)
            if key not in self._shared:
                self._shared[key] = material_for(src, paint)
            out.append(self._shared[key])
        return out


__all__ = ["AssetPicker", "Made"]
