"""JSON Schemas of the file formats, for editors (``# yaml-language-server: $schema=...``) and checks.

The committed files ``schemas/*.schema.json`` are exactly :func:`schema_text` of each kind (a test keeps them
so); regenerate with ``simgen schema --kind KIND > schemas/KIND.schema.json``.
"""

from __future__ import annotations

import json

from simgen.spec.models import SceneSpec, SweepFile
from simgen.spec.render_config import RenderConfig

KINDS = {"scene": SceneSpec, "render-config": RenderConfig, "sweep": SweepFile}
FILES = {"scene": "scene.schema.json", "render-config": "render_config.schema.json", "sweep": "sweep.schema.json"}


def schema_for(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of ``kind``: scene, render-config or sweep."""
    model = KINDS[kind]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://simgen.invalid/schemas/{FILES[kind]}"
    return schema


def schema_text(kind: str) -> str:
    """The schema as the committed file holds it (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(schema_for(kind), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def scene_schema() -> dict:
    return schema_for("scene")


def render_config_schema() -> dict:
    return schema_for("render-config")


def sweep_schema() -> dict:
    return schema_for("sweep")
