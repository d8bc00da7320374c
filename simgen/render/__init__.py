"""Rendering: the Blender adapter (the only package of simgen that imports ``bpy``).

- :mod:`simgen.render.settings` — :class:`RenderSettings` (plain data, no Blender).
- :mod:`simgen.render.device` — device choice (pure logic) plus the Cycles probe/apply (bpy on call).
- :mod:`simgen.render.blender` — ``render_world(world, settings) -> Iterator[RawFrame]`` (imports bpy).

Importing this package does not import Blender; import :mod:`simgen.render.blender` to render.
"""
