"""The scene specification language: YAML scenes -> validated specs -> seeded, fully resolved scenes.

Public API::

    load_scene(path) -> SceneSpec
    resolve(spec, seed, variant=0) -> ResolvedScene
    expand_sweep(scene_or_sweep_file) -> list[Variant]
    load_render_config(path_or_preset_name) -> RenderConfig
    default_render_config() -> RenderConfig
    scene_schema() / render_config_schema() / sweep_schema() -> dict   (JSON Schema)

User mistakes raise :class:`SpecError` (a :class:`simgen.errors.SimgenError`) whose ``issues`` list every
problem with file, line, column, field path, message and hint.
"""

from __future__ import annotations

from simgen.spec.errors import Issue, SpecError
from simgen.spec.loader import load_scene, load_scene_text
from simgen.spec.models import SceneSpec, SweepFile, SweepSpec
from simgen.spec.render_config import (
    ALL_PASSES,
    PRESETS,
    RenderConfig,
    default_render_config,
    load_render_config,
)
from simgen.spec.resolve import resolve, spec_hash, sun_position
from simgen.spec.resolved import ResolvedScene
from simgen.spec.schema import render_config_schema, scene_schema, schema_for, sweep_schema
from simgen.spec.sweep import Variant, expand_sweep

__all__ = [
    "ALL_PASSES",
    "PRESETS",
    "Issue",
    "RenderConfig",
    "ResolvedScene",
    "SceneSpec",
    "SpecError",
    "SweepFile",
    "SweepSpec",
    "Variant",
    "default_render_config",
    "expand_sweep",
    "load_render_config",
    "load_scene",
    "load_scene_text",
    "render_config_schema",
    "resolve",
    "scene_schema",
    "schema_for",
    "spec_hash",
    "sun_position",
    "sweep_schema",
]
