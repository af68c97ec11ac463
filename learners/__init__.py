"""Credit-assignment rules, one file each, discovered automatically.

    learners.available()             -> sorted names of the built-in rules
    learners.get("bptt")             -> the learner class registered as "bptt"
    learners.get("mypkg.rules:MyRule") -> a learner class from any importable module

A new built-in rule is one new file in this folder defining a `Learner` subclass with a `name`:
no other file changes.
"""
from __future__ import annotations

import importlib
import pkgutil

from learners.base import Learner

_SKIP = {"base", "rnn"}
_registry: dict[str, type] | None = None


def _discover() -> dict[str, type]:
    global _registry
    if _registry is None:
        found: dict[str, type] = {}
        for mod in pkgutil.iter_modules(__path__):
            if mod.name in _SKIP or mod.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{mod.name}")
            for obj in vars(module).values():
                if (isinstance(obj, type) and issubclass(obj, Learner) and obj is not Learner
                        and obj.__module__ == module.__name__ and obj.name):
                    if obj.name in found and found[obj.name] is not obj:
                        raise RuntimeError(f"two learners registered as {obj.name!r}: "
                                           f"{found[obj.name].__module__} and {module.__name__}")
                    found[obj.name] = obj
        _registry = found
    return _registry


def available() -> list[str]:
    """Names of the built-in learners."""
    return sorted(_discover())


def get(name: str) -> type:
    """The learner class for a registered name or a dotted path 'package.module:ClassName'."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"learner name must be a non-empty string, got {name!r}")
    if ":" in name:
        module_name, _, cls_name = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise ValueError(f"learner {name!r}: cannot import module {module_name!r} ({e})") from e
        cls = getattr(module, cls_name, None)
        if cls is None:
            raise ValueError(f"learner {name!r}: module {module_name!r} has no attribute {cls_name!r}")
        if not (isinstance(cls, type) and issubclass(cls, Learner)):
            raise ValueError(f"learner {name!r}: {cls_name} is not a subclass of learners.base.Learner")
        return cls
    reg = _discover()
    if name not in reg:
        raise ValueError(f"unknown learner {name!r}; available: {', '.join(sorted(reg))} "
                         f"(or a dotted path 'module:Class')")
    return reg[name]


__all__ = ["Learner", "available", "get"]
