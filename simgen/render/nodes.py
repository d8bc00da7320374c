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


#: kinds laid out in the mesh's UV coordinates (they follow a deforming surface, as cloth and skin do); the
#: others use object coordinates
UV_KINDS = ("fabric", "denim", "skin")


def texture_factor(n: Nodes, kind: str, scale: float):
    """A float socket around 1.0 that modulates the base colour with trackable procedural detail.

    ``fabric`` (a fine weave with soft fading), ``denim`` (a diagonal twill with worn patches) and ``skin``
    (faint mottling) use the mesh's UVs, scaled by ``scale`` per UV unit (people: one UV unit spans about a body
    height); meshes without UVs get a flat factor there."""
    coords = n.add("ShaderNodeTexCoord").outputs["UV" if kind in UV_KINDS else "Object"]
    scaled = n.add("ShaderNodeVectorMath")
    scaled.operation = "SCALE"
    n.link(coords, scaled.inputs[0])
    scaled.inputs["Scale"].default_value = float(scale)
    vec = scaled.outputs[0]

    def noise(s: float, detail: float, rough: float = 0.6):
        node = n.add("ShaderNodeTexNoise", Scale=s, Detail=detail, Roughness=rough)
        n.link(vec, node.inputs["Vector"])
        return node.outputs["Fac"]

    fine = noise(25.0, 8.0, 0.65)  # fine grain everywhere, so no patch is flat
    if kind == "checker":
        chk = n.add("ShaderNodeTexChecker", Scale=1.0)
        n.link(vec, chk.inputs["Vector"])
        f = n.math("MULTIPLY_ADD", chk.outputs["Fac"], 0.6, )
        f.node.inputs[2].default_value = 0.4
        detail = n.math("MULTIPLY_ADD", fine, 0.6)
        detail.node.inputs[2].default_value = 0.7
        return n.math("MULTIPLY", f, detail)
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
        return n.math("MULTIPLY", n.math("MULTIPLY", f, speck), blotch)
    if kind == "brick":
        brick = n.add("ShaderNodeTexBrick", Scale=1.0, Color1=(1, 1, 1, 1), Color2=(0.65, 0.65, 0.65, 1),
                      Mortar=(0.3, 0.3, 0.3, 1))
        n.link(vec, brick.inputs["Vector"])
        bw = n.add("ShaderNodeRGBToBW")
        n.link(brick.outputs["Color"], bw.inputs[0])
        detail = n.math("MULTIPLY_ADD", fine, 0.6)
        detail.node.inputs[2].default_value = 0.7
        return n.math("MULTIPLY", bw.outputs[0], detail)
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
        if kind == "denim":
            twill = n.math("MULTIPLY_ADD", wave(1.0, "DIAGONAL", 0.5), 0.3)
            twill.node.inputs[2].default_value = 0.8
            worn = n.math("MULTIPLY_ADD", noise(4.0 / scale, 4.0, 0.6), 0.5)  # lighter, worn patches
            worn.node.inputs[2].default_value = 0.8
            return n.math("MULTIPLY", n.math("MULTIPLY", twill, worn), patch)
        weave = n.math("MULTIPLY", wave(1.0, "X", 0.2), wave(1.0, "Y", 0.2))
        w = n.math("MULTIPLY_ADD", weave, 0.25)
        w.node.inputs[2].default_value = 0.85
        grain = n.math("MULTIPLY_ADD", fine, 0.2)
        grain.node.inputs[2].default_value = 0.9
        return n.math("MULTIPLY", n.math("MULTIPLY", w, grain), patch)
    raise ValueError(f"unknown texture {kind!r}")
