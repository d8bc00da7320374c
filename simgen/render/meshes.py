"""Blender meshes from simgen meshes (data API only) and the glass thickening that keeps panes physical."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import bpy
import numpy as np

from simgen.world.model import Mesh

#: glass thinner than this is given this thickness (metres) when its mesh is an open sheet
GLASS_THICKNESS = 0.006


def is_closed(faces: np.ndarray) -> bool:
    """True when every edge of the (F, n) polygon list is shared by exactly two faces (a closed surface)."""
    if len(faces) == 0:
        return True
    edges = np.stack([faces, np.roll(faces, -1, axis=1)], -1).reshape(-1, 2)
    edges = np.sort(edges, axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


def thicken_open_glass(mesh: Mesh, glass: set[int], thickness: float = GLASS_THICKNESS):
    """Give open glass sheets a thickness, so a pane is a slab with two parallel faces.

    A single-sided glass sheet makes every ray that enters it "inside" the glass for good (total internal
    reflection beyond ~42° when its normal faces away from the camera). The glass faces of an open region
    are copied ``thickness`` metres behind themselves (against their normals, so the visible front stays
    where it was given), reversed, and joined by side walls along the region's boundary.

    Returns (vertices (V', 3) float64, polygons: list of int arrays, face_material (F',) int64).
    """
    verts, faces, fmat = mesh.vertices, mesh.faces, mesh.face_material
    polys = [f for f in faces]
    is_glass = np.isin(fmat, sorted(glass)) if glass else np.zeros(len(faces), bool)
    gfaces = faces[is_glass]
    if len(gfaces) == 0 or is_closed(gfaces):
        return verts, polys, fmat.copy()
    # per-vertex normal averaged over the glass faces that use it
    a, b, c = verts[gfaces[:, 0]], verts[gfaces[:, 1]], verts[gfaces[:, 2]]
    fn = np.cross(b - a, c - a)
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-12)
    used = np.unique(gfaces)
    vn = np.zeros_like(verts)
    for k in range(gfaces.shape[1]):
        np.add.at(vn, gfaces[:, k], fn)
    vn[used] /= np.maximum(np.linalg.norm(vn[used], axis=1, keepdims=True), 1e-12)
    remap = np.full(len(verts), -1, np.int64)
    remap[used] = np.arange(len(used)) + len(verts)
    new_verts = np.concatenate([verts, verts[used] - thickness * vn[used]])
    out_polys = polys + [remap[f][::-1] for f in gfaces]
    out_mat = list(fmat) + list(fmat[is_glass])
    # boundary edges of the glass region (used once, in face order) get a side wall
    edges = np.stack([gfaces, np.roll(gfaces, -1, axis=1)], -1).reshape(-1, 2)
    emat = np.repeat(fmat[is_glass], gfaces.shape[1])
    key = np.sort(edges, axis=1)
    _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    boundary = counts[inv.ravel()] == 1
    for (i, j), m in zip(edges[boundary], emat[boundary]):
        out_polys.append(np.array([j, i, remap[i], remap[j]]))
        out_mat.append(m)
    return new_verts, out_polys, np.asarray(out_mat, np.int64)


def new_mesh(name: str, verts: np.ndarray, polys, face_material: np.ndarray, uv: np.ndarray | None = None,
             smooth: bool = False):
    """A Blender mesh from (V, 3) vertices and polygons ((F, n) array or list of index arrays), data API only.

    uv: optional texture coordinates per face corner, (F, n, 2) for an (F, n) array, or for the first F of a
    polygon list (polygons beyond them, e.g. glass side walls, get (0, 0)). smooth: interpolated normals."""
    me = bpy.data.meshes.new(name)
    if isinstance(polys, np.ndarray):
        flat = polys.reshape(-1)
        sizes = np.full(len(polys), polys.shape[1] if polys.ndim == 2 else 0, np.int64)
    else:
        sizes = np.array([len(p) for p in polys], np.int64)
        flat = np.concatenate(polys) if polys else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if len(sizes) else np.zeros(0, np.int64)
    me.vertices.add(len(verts))
    me.vertices.foreach_set("co", np.asarray(verts, np.float32).ravel())
    me.loops.add(len(flat))
    me.loops.foreach_set("vertex_index", flat.astype(np.int32))
    me.polygons.add(len(sizes))
    me.polygons.foreach_set("loop_start", starts.astype(np.int32))
    me.polygons.foreach_set("material_index", np.asarray(face_material, np.int32))
    me.update(calc_edges=True)
    if uv is not None:
        corners = np.zeros((len(flat), 2), np.float32)
        given = np.asarray(uv, np.float32).reshape(-1, 2)
        corners[: len(given)] = given
        me.uv_layers.new(name="uv").data.foreach_set("uv", corners.ravel())
    # flat shading by default: the shading normal is the face normal (smooth normals would bend refraction in
    # thin glass slabs and blur the Normal pass across box edges); organic meshes ask for smooth shading
    if smooth:
        me.shade_smooth()
    else:
        me.shade_flat()
    return me


class MeshLibrary:
    """Blender meshes of keyed simgen meshes (:attr:`~simgen.world.model.Mesh.share_key`: catalog assets), kept
    across :func:`~simgen.render.scene.build_scene` calls of this process.

    Every build starts from factory settings, which empties ``bpy.data``. The library writes the keyed meshes a
    build made to a ``.blend`` file in a private temporary folder (removed at exit) and appends them in later
    builds: a 130k-face tree costs ~20 ms to append instead of ~250 ms to build. A key is the mesh's share key,
    its vertex and face counts and how the renderer built it (glass slots thickened, material slots); meshes
    whose vertex array is writeable are never kept (their content could change under the key)."""

    #: stop keeping new meshes once the library's files hold this many bytes (a few hundred asset variants)
    MAX_BYTES = 1 << 30

    def __init__(self):
        self._dir: Path | None = None
        self._bytes = 0
        self._where: dict[tuple, tuple[str, str]] = {}  # key -> (.blend file, mesh name in it)
        self._files = 0

    @staticmethod
    def key(mesh: Mesh, glass: set[int], slots: int) -> tuple | None:
        if mesh.share_key is None or mesh.vertices.flags.writeable:
            return None
        return (mesh.share_key, len(mesh.vertices), len(mesh.faces), tuple(sorted(glass)), slots)

    def load(self, keys) -> dict[tuple, object]:
        """Append the kept meshes of ``keys`` (those the library has) into ``bpy.data``: {key: Blender mesh}."""
        by_file: dict[str, list[tuple]] = {}
        for k in dict.fromkeys(keys):
            if k in self._where:
                by_file.setdefault(self._where[k][0], []).append(k)
        out = {}
        for path, ks in by_file.items():
            with bpy.data.libraries.load(path, link=False) as (_src, dst):
                dst.meshes = [self._where[k][1] for k in ks]
            for k, me in zip(ks, dst.meshes):
                if me is not None:
                    out[k] = me
        return out

    def keep(self, built: dict[tuple, object]) -> None:
        """Write the meshes of ``built`` ({key: Blender mesh}, made in this build) for later builds."""
        new = {k: me for k, me in built.items() if k not in self._where}
        if not new or self._bytes > self.MAX_BYTES:
            return
        if self._dir is None:
            _remove_stale_libraries()
            self._dir = Path(tempfile.mkdtemp(prefix=f"simgen-meshes-{os.getpid()}-"))
            atexit.register(shutil.rmtree, self._dir, True)
        path = str(self._dir / f"meshes{self._files}.blend")
        self._files += 1
        bpy.data.libraries.write(path, set(new.values()), fake_user=True)
        self._bytes += Path(path).stat().st_size
        for k, me in new.items():
            self._where[k] = (path, me.name)

    def clear(self) -> None:
        self._where.clear()


def _remove_stale_libraries() -> None:
    """Remove the library folders of processes that are gone without cleaning up (killed workers)."""
    for d in Path(tempfile.gettempdir()).glob("simgen-meshes-*-*"):
        try:
            pid = int(d.name.split("-")[2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, True)
        except (ValueError, IndexError, PermissionError, OSError):
            continue


#: the process's library (see :class:`MeshLibrary`)
MESH_LIBRARY = MeshLibrary()
