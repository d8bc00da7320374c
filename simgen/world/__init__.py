"""Renderer-agnostic world: what is in the scene, where, and how it moves. No bpy here."""

from simgen.world.model import (
    Camera,
    Entity,
    Light,
    Lighting,
    Material,
    Mesh,
    Weather,
    World,
)

__all__ = ["Camera", "Entity", "Light", "Lighting", "Material", "Mesh", "Weather", "World"]
