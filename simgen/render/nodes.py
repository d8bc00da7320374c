"""Shader node-tree helpers shared by every material builder: :class:`Nodes` and procedural texture factors."""

from __future__ import annotations



class Nodes:
    """Small helper around a node tree: add nodes with inputs set, link sockets."""

    def __init__(self, tree):
        self.tree = tree
        tree.nodes.clear()

    def add(self, kind: str, **inputs):
        node = self.tree.nodes.new(kind)
        for key, value in inputs.items():
            node.inputs[key].default_value = value
        return node

    def link(self, out_socket, in_socket) -> None:
        self.tree.links.new(out_socket, in_socket)

    def math(self, op: str, a, b=0.0, clamp: bool = False):
        node = self.tree.nodes.new("ShaderNodeMath")
        node.operation = op
        node.use_clamp = clamp
        for k, v in enumerate((a, b)):
            if isinstance(v, (int, float)):
                node.inputs[k].default_value = float(v)
            else:
                self.link(v, node.inputs[k])
        return node.outputs[0]


#: name of the math node whose second input is the camera's pixel angle (radians per pixel: 2 tan(hfov / 2) /
#: width), set by simgen.render.scene.build_scene; textures use it to fade detail finer than a pixel
PIXEL_ANGLE_NODE = "simgen_pixel_angle"
#: its value until the scene build sets it (80 deg over 640 px)
DEFAULT_PIXEL_ANGLE = 0.0026

#: kinds laid out in the mesh's UV coordinates (they follow a deforming surface, as cloth and skin do); the
#: others use the coordinates the material asks for
UV_KINDS = ("fabric", "denim", "skin", "knit", "hair")


def texture_vector(n: Nodes, coords: str = "object", scale: float = 1.0, seed: float = 0.0):
    """The texture-space vector: object coordinates or the mesh's ``uv`` map, scaled and offset by ``seed``."""
    if coords == "uv":
        uvmap = n.add("ShaderNodeUVMap")
        uvmap.uv_map = "uv"
        src = uvmap.outputs["UV"]
    else:
        src = n.add("ShaderNodeTexCoord").outputs["Object"]
    scaled = n.add("ShaderNodeVectorMath")
    scaled.operation = "MULTIPLY_ADD"
    n.link(src, scaled.inputs[0])
    scaled.inputs[1].default_value = (float(scale),) * 3
    scaled.inputs[2].default_value = (float(seed), 0.71 * float(seed), 0.37 * float(seed))
    return scaled.outputs[0]


def _lerp(n: Nodes, f, a: float, b: float):
    """a + (b - a)·f for a float socket f."""
    out = n.math("MULTIPLY_ADD", f, b - a)
    out.node.inputs[2].default_value = a
    return out


def _band(n: Nodes, x, lo: float, hi: float):
    """Smooth step of socket x from lo to hi (0 below, 1 above)."""
    m = n.add("ShaderNodeMapRange", **{"From Min": lo, "From Max": hi})
    m.interpolation_type = "SMOOTHSTEP"
    n.link(x, m.inputs["Value"])
    return m.outputs[0]


def texture_factor(n: Nodes, kind: str, scale: float, coords: str = "object", seed: float = 0.0,
                   wear: float = 0.0):
    """A float socket around 1.0 that modulates the base colour with trackable procedural detail.

    Sizes are in metres of the texture space (object coordinates or the ``uv`` map in metres) at scale 1.
    ``wear`` (0..1): asphalt gets patches, cracks, tyre tracks and stains; paint gets patchy and faded.
    ``fabric`` (a fine weave with soft fading), ``denim`` (a diagonal twill with worn patches) and ``skin`` (faint
    mottling) always use the mesh's UVs, scaled by ``scale`` per UV unit (people: one UV unit spans about a body
    height); meshes without UVs get a flat factor there."""
    if kind in UV_KINDS:
        coords = "uv"  # cloth and skin follow the (deforming) surface
    vec = texture_vector(n, coords, scale, seed)
    vec.node.name = "simgen_seed"  # the seed's node (simgen.render.materials.material_like changes it)

    def noise(s: float, detail: float, rough: float = 0.6, v=None):
        node = n.add("ShaderNodeTexNoise", Scale=s, Detail=detail, Roughness=rough)
        n.link(vec if v is None else v, node.inputs["Vector"])
        return node.outputs["Fac"]

    def stretched(sx: float, sy: float, sz: float):
        st = n.add("ShaderNodeVectorMath")
        st.operation = "MULTIPLY"
        n.link(vec, st.inputs[0])
        st.inputs[1].default_value = (sx, sy, sz)
        return st.outputs[0]

    def bricks(width: float, height: float, mortar: float, offset: float = 0.5, v=None, c1=0.8, c2=1.0,
               mortar_val=0.3, bias: float = 0.0, smooth: float = 0.0):
        b = n.add("ShaderNodeTexBrick", Scale=1.0, Color1=(c1, c1, c1, 1), Color2=(c2, c2, c2, 1),
                  Mortar=(mortar_val, mortar_val, mortar_val, 1))
        b.inputs["Brick Width"].default_value = width
        b.inputs["Row Height"].default_value = height
        b.inputs["Mortar Size"].default_value = mortar
        b.inputs["Bias"].default_value = bias
        b.inputs["Mortar Smooth"].default_value = smooth
        b.offset = offset
        n.link(vec if v is None else v, b.inputs["Vector"])
        bw = n.add("ShaderNodeRGBToBW")
        n.link(b.outputs["Color"], bw.inputs[0])
        return bw.outputs[0], b.outputs["Fac"]

    def prod(*socks):
        out = socks[0]
        for s_ in socks[1:]:
            out = n.math("MULTIPLY", out, s_)
        return out

    def height_v():
        sep = n.add("ShaderNodeSeparateXYZ")
        n.link(vec, sep.inputs[0])
        return sep.outputs["Y"] if coords == "uv" else sep.outputs["Z"]

    fine = noise(25.0, 8.0, 0.65)  # fine grain everywhere, so no patch is flat
    if kind == "checker":
        chk = n.add("ShaderNodeTexChecker", Scale=1.0)
        n.link(vec, chk.inputs["Vector"])
        f = n.math("MULTIPLY_ADD", chk.outputs["Fac"], 0.6, )
        f.node.inputs[2].default_value = 0.4
        detail = n.math("MULTIPLY_ADD", fine, 0.6)
        detail.node.inputs[2].default_value = 0.7
        return n.math("MULTIPLY", f, detail)
    if kind == "grass":
        # a lawn seen from 5-50 m: tufts (a few cm), clumps (30 cm), mown / trodden bands and dry patches (metres)
        tufts = _lerp(n, noise(30.0, 4.0, 0.75), 0.4, 1.6)
        clumps = _lerp(n, noise(3.0, 5.0, 0.6), 0.5, 1.5)
        dry = _lerp(n, _band(n, noise(0.2, 3.0), 0.52, 0.68), 1.0, 1.45)
        worn = _lerp(n, noise(0.6, 4.0), 0.85, 1.15)
        return prod(tufts, clumps, dry, worn)
    if kind == "noise":
        coarse = noise(3.0, 6.0, 0.6)
        f = n.math("MULTIPLY_ADD", coarse, 1.6)
        f.node.inputs[2].default_value = 0.2
        detail = n.math("MULTIPLY_ADD", fine, 0.5)
        detail.node.inputs[2].default_value = 0.75
        return n.math("MULTIPLY", f, detail)
    if kind == "asphalt":
        grain = noise(80.0, 12.0, 0.75)
        vor = n.add("ShaderNodeTexVoronoi", Scale=40.0)
        n.link(vec, vor.inputs["Vector"])
        f = n.math("MULTIPLY_ADD", grain, 1.4)
        f.node.inputs[2].default_value = 0.3
        speck = n.math("MULTIPLY_ADD", vor.outputs["Distance"], 0.6)
        speck.node.inputs[2].default_value = 0.7
        blotch = n.math("MULTIPLY_ADD", noise(1.5, 4.0), 0.5)
        blotch.node.inputs[2].default_value = 0.75
        # aggregate: stone chips of 0.6-1.5 cm, each its own shade (light quartz to dark basalt), exposed where
        # the binder has worn off (a 20 cm mottle), so the near road has the salt-and-pepper look of real asphalt
        chips = n.add("ShaderNodeTexVoronoi", Scale=90.0)
        n.link(vec, chips.inputs["Vector"])
        shade = n.add("ShaderNodeRGBToBW")
        n.link(chips.outputs["Color"], shade.inputs[0])
        stone = _lerp(n, shade.outputs[0], 0.55, 1.9)
        exposed = _band(n, noise(5.0, 3.0), 0.42, 0.62)
        # level of detail: chips fade out where a pixel spans more than ~2 cm of road (far away, or a small
        # image), as a lens would average them, instead of turning into sampling noise; the pixel's angle is set
        # by the scene build from the camera (PIXEL_ANGLE_NODE)
        footprint = n.math("MULTIPLY", n.add("ShaderNodeCameraData").outputs["View Distance"], 1.0)
        footprint.node.name = PIXEL_ANGLE_NODE
        footprint.node.inputs[1].default_value = DEFAULT_PIXEL_ANGLE
        exposed = n.math("MULTIPLY", exposed, n.math("SUBTRACT", 1.0, _band(n, footprint, 0.008, 0.025)))
        aggregate = n.add("ShaderNodeMix")
        aggregate.data_type = "FLOAT"
        n.link(exposed, aggregate.inputs["Factor"])
        aggregate.inputs["A"].default_value = 1.0
        n.link(stone, aggregate.inputs["B"])
        out = n.math("MULTIPLY", n.math("MULTIPLY", f, speck), blotch)
        return n.math("MULTIPLY", out, aggregate.outputs["Result"])
    if kind == "brick":
        # bricks 21.5 x 6.5 cm with 1 cm joints (in the wall's uv metres), per-brick shade, soot and grime
        bw, _ = bricks(0.225, 0.075, 0.01, c1=0.62, c2=1.05, mortar_val=1.25, bias=0.0)
        detail = _lerp(n, fine, 0.75, 1.15)
        soot = _lerp(n, noise(0.35, 4.0), 0.7, 1.2)
        streak = _lerp(n, noise(1.0, 3.0, v=stretched(2.0, 0.12, 1.0)), 0.8, 1.1)
        return prod(bw, detail, soot, streak)
    if kind == "plaster":
        stains = _lerp(n, noise(0.4, 5.0, 0.55), 0.75, 1.2)
        grain = _lerp(n, noise(40.0, 6.0, 0.7), 0.9, 1.08)
        streak = _lerp(n, noise(1.5, 4.0, v=stretched(1.5, 0.1, 1.0)), 0.8, 1.1)
        grime = _lerp(n, _band(n, height_v(), 0.2, 1.8), 0.72, 1.0)
        return prod(stains, grain, streak, grime)
    if kind == "concrete":
        panels, _ = bricks(2.4, 1.2, 0.012, offset=0.0, c1=0.8, c2=1.12, mortar_val=0.55)
        pores = _lerp(n, noise(60.0, 4.0, 0.8), 0.85, 1.1)
        stains = _lerp(n, noise(0.8, 6.0, 0.6), 0.68, 1.22)
        streak = _lerp(n, noise(1.0, 3.0, v=stretched(2.0, 0.1, 1.0)), 0.85, 1.08)
        return prod(panels, pores, stains, streak)
    if kind == "curtain_wall":
        # glass panels 1.5 m x 1.6 m (a storey's spandrel band), light aluminium mullions, per-panel tint
        panels, frame = bricks(1.5, 1.6, 0.05, offset=0.0, c1=0.7, c2=1.3, mortar_val=4.0)
        dirt = _lerp(n, noise(0.5, 3.0), 0.85, 1.15)
        return prod(panels, dirt)
    if kind == "paving":
        slabs, _ = bricks(0.4, 0.4, 0.015, offset=0.5, c1=0.85, c2=1.1, mortar_val=0.75, smooth=1.0)
        # weathering mottles (strong and smooth: most of what a moving camera tracks on a pavement)
        grain = _lerp(n, noise(4.5, 6.0, 0.6), 0.35, 1.65)
        stains = _lerp(n, noise(0.5, 5.0), 0.75, 1.15)
        gum = _lerp(n, _band(n, noise(5.0, 2.0), 0.64, 0.72), 1.0, 0.7)
        return prod(slabs, grain, stains, gum)
    if kind == "flagstones":
        # large pale concrete slabs (0.6 m) in a grid, each its own shade; faint pores, broad stains, a few dark
        # spots, and dirt in the joints: smoother and lighter than pavers, as plazas and campus paths look
        slabs, _ = bricks(0.6, 0.6, 0.01, offset=0.0, c1=0.9, c2=1.06, mortar_val=0.7, smooth=1.0)
        pores = _lerp(n, noise(12.0, 4.0, 0.7), 0.8, 1.15)
        stains = _lerp(n, noise(0.8, 5.0), 0.7, 1.2)
        spots = _lerp(n, _band(n, noise(3.0, 2.0), 0.66, 0.7), 1.0, 0.78)
        return prod(slabs, pores, stains, spots)
    if kind == "kerb":
        stones, _ = bricks(1.0, 5.0, 0.015, offset=0.0, c1=0.85, c2=1.1, mortar_val=0.7, smooth=1.0)
        grain = _lerp(n, noise(4.5, 6.0, 0.6), 0.35, 1.65)
        dirt = _lerp(n, noise(1.5, 4.0), 0.65, 1.15)
        return prod(stones, grain, dirt)
    if kind == "paint":
        # fresh road paint: slight grain; wear: patches where the asphalt shows through, and fading
        grain = _lerp(n, noise(20.0, 6.0, 0.7), 0.85, 1.05)
        w = float(wear)
        if w <= 0:
            return grain
        patchy = n.math("ADD", n.math("MULTIPLY", noise(1.2, 6.0, 0.65), 0.7), n.math("MULTIPLY", fine, 0.3))
        t = 0.36 + 0.26 * w  # noise ~ 0.5 +- 0.1: more wear, more of the paint is gone
        gone = n.math("SUBTRACT", 1.0, _band(n, patchy, t - 0.06, t + 0.06))  # 1 where worn through
        fade = 1.0 - 0.45 * w
        keep = _lerp(n, gone, fade, 0.11)
        return n.math("MULTIPLY", grain, keep)
    if kind == "sign":
        return _lerp(n, noise(8.0, 4.0), 0.9, 1.05)
    if kind in UV_KINDS:
        def wave(s_: float, direction: str, distortion: float = 2.0):
            node = n.add("ShaderNodeTexWave", Scale=s_, Distortion=distortion, Detail=2.0)
            node.wave_type = "BANDS"
            node.bands_direction = direction
            n.link(vec, node.inputs["Vector"])
            return node.outputs["Fac"]

        # soft patches (light and wear over the garment, mottled skin): sizes in UV units, whatever ``scale`` is
        patch = n.math("MULTIPLY_ADD", noise((10.0 if kind != "skin" else 25.0) / scale, 3.0, 0.5),
                       0.3 if kind != "skin" else 0.15)
        patch.node.inputs[2].default_value = 0.85 if kind != "skin" else 0.93
        if kind == "skin":
            grain = n.math("MULTIPLY_ADD", fine, 0.1)
            grain.node.inputs[2].default_value = 0.95
            return n.math("MULTIPLY", patch, grain)
        # folds: soft creases (about 15 and 5 cm) that darken the cloth where it bunches (also its bump)
        folds = _lerp(n, _band(n, noise(6.0 / scale, 3.0, 0.55), 0.35, 0.75), 0.72, 1.08)
        if kind == "hair":
            # strands: noise stretched along one UV axis, light and dark locks
            st = n.add("ShaderNodeVectorMath")
            st.operation = "MULTIPLY"
            n.link(vec, st.inputs[0])
            st.inputs[1].default_value = (0.08, 1.0, 1.0)
            strands = _lerp(n, noise(1.0, 6.0, 0.7, v=st.outputs[0]), 0.55, 1.45)
            locks = _lerp(n, noise(8.0 / scale, 3.0), 0.75, 1.2)
            return n.math("MULTIPLY", strands, locks)
        if kind == "knit":
            rib = n.math("MULTIPLY_ADD", wave(0.6, "X", 1.0), 0.35)
            rib.node.inputs[2].default_value = 0.78
            return n.math("MULTIPLY", n.math("MULTIPLY", rib, patch), folds)
        if kind == "denim":
            twill = n.math("MULTIPLY_ADD", wave(1.0, "DIAGONAL", 0.5), 0.3)
            twill.node.inputs[2].default_value = 0.8
            worn = n.math("MULTIPLY_ADD", noise(4.0 / scale, 4.0, 0.6), 0.5)  # lighter, worn patches
            worn.node.inputs[2].default_value = 0.8
            return n.math("MULTIPLY", n.math("MULTIPLY", n.math("MULTIPLY", twill, worn), patch), folds)
        weave = n.math("MULTIPLY", wave(1.0, "X", 0.2), wave(1.0, "Y", 0.2))
        w = n.math("MULTIPLY_ADD", weave, 0.25)
        w.node.inputs[2].default_value = 0.85
        grain = n.math("MULTIPLY_ADD", fine, 0.2)
        grain.node.inputs[2].default_value = 0.9
        return n.math("MULTIPLY", n.math("MULTIPLY", n.math("MULTIPLY", w, grain), patch), folds)
    raise ValueError(f"unknown texture {kind!r}")


#: lane width (m) the wheel paths of the road wear follow (the spec's default lane width)
LANE_M = 3.5


def asphalt_wear(n: Nodes, wear: float, scale: float = 1.0, seed: float = 0.0):
    """A float socket (factor around 1) of road wear in object coordinates (metres): rectangular repair
    patches, cracks, longitudinal tyre tracks and oil stains (their amount grows with ``wear`` 0..1), and
    manhole covers (about one per 300 m², always)."""
    vec = texture_vector(n, "object", scale, seed)
    w = float(wear)

    def noise(s: float, detail: float, rough: float = 0.6, v=None):
        node = n.add("ShaderNodeTexNoise", Scale=s, Detail=detail, Roughness=rough)
        n.link(vec if v is None else v, node.inputs["Vector"])
        return node.outputs["Fac"]

    def mul(v, sx, sy, sz):
        st = n.add("ShaderNodeVectorMath")
        st.operation = "MULTIPLY"
        n.link(v, st.inputs[0])
        st.inputs[1].default_value = (sx, sy, sz)
        return st.outputs[0]

    def edges(noise_scale: float, noise_detail: float, amount: float, cells: float, stretch=(1.0, 1.0, 1.0)):
        """Distance to the nearest Voronoi cell edge (cell units, ``cells`` per metre) of the coordinates shifted
        by ``amount`` times a noise colour (meandering edges), optionally stretched per axis first."""
        warp = n.add("ShaderNodeVectorMath")
        warp.operation = "ADD"
        n.link(vec, warp.inputs[0])
        wn = n.add("ShaderNodeTexNoise", Scale=noise_scale, Detail=noise_detail)
        n.link(vec, wn.inputs["Vector"])
        shift = n.add("ShaderNodeVectorMath")
        shift.operation = "SCALE"
        n.link(wn.outputs["Color"], shift.inputs[0])
        shift.inputs["Scale"].default_value = amount
        n.link(shift.outputs[0], warp.inputs[1])
        vor = n.add("ShaderNodeTexVoronoi", Scale=cells)
        vor.feature = "DISTANCE_TO_EDGE"
        n.link(warp.outputs[0] if stretch == (1.0, 1.0, 1.0) else mul(warp.outputs[0], *stretch), vor.inputs["Vector"])
        return vor.outputs["Distance"]

    out = None

    def times(f):
        nonlocal out
        out = f if out is None else n.math("MULTIPLY", out, f)

    # manholes: one candidate per Voronoi cell (~17 m); a cell's random colour keeps a third of them
    vor = n.add("ShaderNodeTexVoronoi", Scale=0.06)
    n.link(vec, vor.inputs["Vector"])
    keep = n.add("ShaderNodeSeparateColor")
    n.link(vor.outputs["Color"], keep.inputs[0])
    chosen = n.math("GREATER_THAN", keep.outputs["Red"], 0.66)
    r = vor.outputs["Distance"]  # in cell units: 1 = 1 / 0.06 m
    disc = n.math("SUBTRACT", 1.0, _band(n, r, 0.3 * 0.06, 0.33 * 0.06))  # soft edge: no aliasing
    rim = n.math("MULTIPLY", disc, _band(n, r, 0.26 * 0.06, 0.29 * 0.06))
    cover = _lerp(n, noise(6.0, 3.0), 1.3, 2.3)
    cover = n.math("MULTIPLY", cover, _lerp(n, rim, 1.0, 0.5))
    m = n.math("MULTIPLY", chosen, disc)
    times(_lerp(n, m, 1.0, 0.0))
    manhole = n.math("MULTIPLY", m, cover)
    if w > 0:
        # repair patches: rectangles 1.5..4 m, darker (newer) asphalt, in a share of cells growing with wear
        pb = n.add("ShaderNodeTexBrick", Scale=1.0, Color1=(0, 0, 0, 1), Color2=(1, 1, 1, 1),
                   Mortar=(0, 0, 0, 1))
        pb.inputs["Brick Width"].default_value = 3.7
        pb.inputs["Row Height"].default_value = 1.9
        pb.inputs["Mortar Size"].default_value = 0.0
        pb.offset = 0.37
        n.link(mul(vec, 1.0, 1.0, 1.0), pb.inputs["Vector"])
        pbw = n.add("ShaderNodeRGBToBW")
        n.link(pb.outputs["Color"], pbw.inputs[0])
        patch = n.math("GREATER_THAN", pbw.outputs[0], 1.0 - 0.18 * w)
        times(_lerp(n, patch, 1.0, 0.7))
        # cracks: Voronoi cell edges, wiggled by noise, only where a large-scale noise says the road is old
        crack = n.math("SUBTRACT", 1.0, _band(n, edges(2.0, 4.0, 0.25, 2.2), 0.004, 0.014 + 0.012 * w))
        old = _band(n, noise(0.15, 2.0), 0.72 - 0.16 * w, 0.75 - 0.16 * w)
        crack = n.math("MULTIPLY", n.math("MULTIPLY", crack, old), n.math("SUBTRACT", 1.0, patch))
        times(_lerp(n, crack, 1.0, 0.5))
        # tyre tracks: long streaks along x (polished darker bands) and oil stains
        tracks = noise(1.0, 3.0, v=mul(vec, 0.04, 1.6, 1.0))
        times(_lerp(n, _band(n, tracks, 0.45, 0.7), 1.0, 1.0 - 0.22 * w))
        # wheel paths: two darker bands per lane, 0.8 m either side of its centre (lanes of LANE_M across y,
        # centres at (k + 1/2) LANE_M), 0.5 m wide, soft-edged and broken up along the road
        sep = n.add("ShaderNodeSeparateXYZ")
        n.link(vec, sep.inputs[0])
        phase = n.math("FRACT", n.math("DIVIDE", sep.outputs["Y"], LANE_M))  # 0.5 = a lane centre
        off_centre = n.math("MULTIPLY", n.math("ABSOLUTE", n.math("SUBTRACT", phase, 0.5)), LANE_M)
        from_track = n.math("ABSOLUTE", n.math("SUBTRACT", off_centre, 0.8))
        in_track = n.math("SUBTRACT", 1.0, _band(n, from_track, 0.12, 0.32))
        along = _band(n, noise(1.0, 2.0, v=mul(vec, 0.08, 0.5, 1.0)), 0.3, 0.6)
        times(_lerp(n, n.math("MULTIPLY", in_track, along), 1.0, 1.0 - 0.3 * w))
        # crack sealing: dark tar bands 6-9 cm wide along meandering lines (cells of ~5 m, noise-warped), on the
        # older stretches
        # distance to edge is in cell units (1 / 0.2 m): a band of 3-4.5 cm half-width (sealant 6-9 cm wide)
        seal = edges(0.5, 3.0, 0.9, 0.2, stretch=(1.0, 0.6, 1.0))
        tar = n.math("SUBTRACT", 1.0, _band(n, seal, 0.2 * 0.03, 0.2 * 0.045))
        sealed_here = _band(n, noise(0.1, 2.0), 0.55 - 0.1 * w, 0.6 - 0.1 * w)
        times(_lerp(n, n.math("MULTIPLY", tar, sealed_here), 1.0, 0.45))
        stains = _band(n, noise(0.9, 5.0, 0.6), 0.68 - 0.1 * w, 0.74 - 0.1 * w)
        times(_lerp(n, stains, 1.0, 1.0 - 0.35 * w))
        bleach = _lerp(n, noise(0.08, 3.0), 1.0 + 0.15 * w, 1.0 - 0.15 * w)
        times(bleach)
    return n.math("ADD", out, manhole)

