"""Every replacement of a moto function goes through :func:`replace`, which records it.

moto is pinned exactly, and its internals change between releases. The record lets the tests
check, for each patch, that the replacement is installed and still has the signature of the
moto function it replaces: an upgrade that renames or reshapes one fails a test instead of
silently bypassing the local cloud.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Patch:
    owner: Any
    name: str
    original: Any
    replacement: Any
    reason: str

    @property
    def label(self) -> str:
        owner = getattr(self.owner, "__qualname__", None) or getattr(self.owner, "__name__", "")
        module = getattr(self.owner, "__module__", None) or getattr(self.owner, "__name__", "")
        return f"{module}.{owner}.{self.name}" if module != owner else f"{owner}.{self.name}"


PATCHES: dict[tuple[int, str], Patch] = {}


def replace(owner: Any, name: str, replacement: Any, reason: str) -> Any:
    """Set ``owner.name`` to ``replacement``; returns moto's original (kept across reinstalls)."""
    key = (id(owner), name)
    # A second install must not record the first replacement as moto's original.
    original = PATCHES[key].original if key in PATCHES else inspect.getattr_static(owner, name)
    setattr(owner, name, replacement)
    PATCHES[key] = Patch(owner, name, original, replacement, reason)
    return original


def callable_of(attribute: Any) -> Any:
    """The function behind a staticmethod, classmethod or property."""
    if isinstance(attribute, (staticmethod, classmethod)):
        return attribute.__func__
    if isinstance(attribute, property):
        return attribute.fget
    return attribute
