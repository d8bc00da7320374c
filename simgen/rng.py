"""Named, independent random streams.

One stream per (seed, scene, variant, parameter name): adding or removing a parameter never shifts the values
drawn for the others. No global RNG is used anywhere in simgen; seed 0 is an ordinary seed.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _words(text: str) -> list[int]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]


def stream(seed: int, scene: str, variant: int, name: str) -> np.random.Generator:
    """A Generator for one named parameter (e.g. ``"objects/parked_cars/3/colour"``).

    Deterministic across processes and platforms (SHA-256 of the names feeds numpy's SeedSequence, PCG64).
    """
    if seed < 0 or variant < 0:
        raise ValueError("seed and variant must be non-negative")
    entropy = [seed & 0xFFFFFFFF, seed >> 32, variant, *_words(scene), *_words(name)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
