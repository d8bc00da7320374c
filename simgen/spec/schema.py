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


def _hoist_unions(schema: dict) -> None:
    """Move tagged unions that occur more than once into ``$defs`` (the schema shrinks several-fold)."""
    counts: dict[str, int] = {}

    def key(d: dict) -> str:
        return json.dumps(d, sort_keys=True)

    def visit(node, fn):
        if isinstance(node, dict):
            for k, v in list(node.items()):
                if isinstance(v, dict) and "discriminator" in v and "oneOf" in v:
                    node[k] = fn(v)
                visit(node[k], fn)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, dict) and "discriminator" in v and "oneOf" in v:
                    node[i] = fn(v)
                visit(node[i], fn)

    def count(v: dict) -> dict:
        counts[key(v)] = counts.get(key(v), 0) + 1
        return v

    visit(schema, count)
    names: dict[str, str] = {}
    defs = schema.setdefault("$defs", {})

    def replace(v: dict) -> dict:
        k = key(v)
        if counts.get(k, 0) < 2 or any(v is d for d in defs.values()):
            return v
        if k not in names:
            tags = sorted(v["discriminator"]["mapping"])
            name = {"choice,int_range,log_uniform,normal,uniform": "FloatDistribution",
                    "choice,int_range": "IntDistribution"}.get(",".join(tags), "Union_" + "_".join(tags))
            names[k] = name
            defs[name] = v
        return {"$ref": f"#/$defs/{names[k]}"}

    visit(schema, replace)


def schema_for(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of ``kind``: scene, render-config or sweep."""
    model = KINDS[kind]
    schema = model.model_json_schema(by_alias=True, mode="validation")
    _hoist_unions(schema)
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
