"""Rendering: the Blender adapter (the only package of simgen that imports ``bpy``).

- :mod:`simgen.render.settings` — :class:`RenderSettings` (plain data, no Blender).
- :mod:`simgen.render.device` — device choice (pure logic) plus the Cycles probe/apply (bpy on call).
- :mod:`simgen.render.blender` — ``render_world(world, settings) -> Iterator[RawFrame]``: the render loop.
- :mod:`simgen.render.scene` — ``build_scene``: objects, keyframes, cameras, lights, settings, view layers.
- :mod:`simgen.render.materials` / :mod:`~simgen.render.nodes` — surface materials and node helpers.
- :mod:`simgen.render.environment` — sky, sun, fog. :mod:`simgen.render.reflection` — reflection-label materials.
- :mod:`simgen.render.meshes` — Blender meshes (data API) and glass thickening.

Importing this package does not import Blender; import :mod:`simgen.render.blender` to render.
"""
