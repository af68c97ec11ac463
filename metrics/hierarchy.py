"""Memory hierarchies for the energy model (metrics.energy_model, docs/energy.md): levels with a
capacity in bytes and an energy per byte accessed in pJ, plus pJ per arithmetic instruction;
validated with one-line errors, loadable from TOML or JSON, and the cited default.

    MemoryHierarchy(levels, pj_per_op), MemoryHierarchy.from_file(path), DEFAULT_HIERARCHY
    level_overflow_distances(hierarchy=None, bytes_per_element=None) -> {level: distance}
"""
from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

__all__ = ["MemoryLevel", "MemoryHierarchy", "DEFAULT_HIERARCHY", "level_overflow_distances"]

_KiB, _MiB = 1024, 1024 * 1024

@dataclass(frozen=True)
class MemoryLevel:
    """One level: name, capacity in bytes (math.inf for the last level, the backing store) and
    energy per byte accessed in pJ."""
    name: str
    capacity_bytes: float
    pj_per_byte: float


def _fail(msg):
    raise ValueError(f"MemoryHierarchy: {msg}")


def _number(x, what):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        _fail(f"{what} must be a number, got {x!r}")
    return x


@dataclass(frozen=True)
class MemoryHierarchy:
    """Memory levels from the smallest (closest to the arithmetic) to the last (DRAM, unbounded),
    plus the energy of one arithmetic instruction.

    levels: MemoryLevel or (name, capacity_bytes, pj_per_byte) tuples. Rules (one-line
    ValueError otherwise): at least one level; unique non-empty names; capacities positive
    integers in bytes, strictly increasing, and math.inf for the last level only; pJ/byte finite,
    >= 0 and non-decreasing from level to level; pj_per_op finite and >= 0."""
    levels: tuple
    pj_per_op: float = 0.0
    source: str = field(default="", compare=False)

    def __post_init__(self):
        if isinstance(self.levels, (str, bytes)) or not hasattr(self.levels, "__iter__"):
            _fail(f"levels must be a list of levels, got {type(self.levels).__name__}")
        levels = tuple(lv if isinstance(lv, MemoryLevel) else _level(lv) for lv in self.levels)
        object.__setattr__(self, "levels", levels)
        if not levels:
            _fail("at least one level is needed")
        names = [lv.name for lv in levels]
        for lv in levels:
            if not isinstance(lv.name, str) or not lv.name:
                _fail(f"a level name must be a non-empty string, got {lv.name!r}")
            cap = _number(lv.capacity_bytes, f"capacity_bytes of {lv.name!r}")
            pj = _number(lv.pj_per_byte, f"pj_per_byte of {lv.name!r}")
            if not (math.isfinite(pj) and pj >= 0):
                _fail(f"pj_per_byte of {lv.name!r} must be finite and >= 0, got {pj}")
            last = lv is levels[-1]
            if last and cap != math.inf:
                _fail(f"the last level ({lv.name!r}) is the backing store: its capacity_bytes "
                      f"must be inf, got {cap}")
            if not last and not (math.isfinite(cap) and cap == int(cap) and cap > 0):
                _fail(f"capacity_bytes of {lv.name!r} must be a positive whole number of bytes, "
                      f"got {cap}")
        if len(set(names)) != len(names):
            _fail(f"level names must be unique, got {names}")
        for a, b in zip(levels, levels[1:]):
            if not b.capacity_bytes > a.capacity_bytes:
                _fail(f"capacities must increase: {b.name!r} ({b.capacity_bytes}) after "
                      f"{a.name!r} ({a.capacity_bytes})")
            if b.pj_per_byte < a.pj_per_byte:
                _fail(f"pj_per_byte must not decrease: {b.name!r} ({b.pj_per_byte}) after "
                      f"{a.name!r} ({a.pj_per_byte})")
        op = _number(self.pj_per_op, "pj_per_op")
        if not (math.isfinite(op) and op >= 0):
            _fail(f"pj_per_op must be finite and >= 0, got {op}")

    @property
    def names(self) -> list:
        return [lv.name for lv in self.levels]

    def capacities(self) -> np.ndarray:
        """int64 capacities in bytes of every level but the last."""
        return np.asarray([int(lv.capacity_bytes) for lv in self.levels[:-1]], np.int64)

    def with_capacity(self, name: str, capacity_bytes) -> "MemoryHierarchy":
        """A copy with level `name`'s capacity (bytes) changed (validated again)."""
        if name not in self.names:
            _fail(f"no level named {name!r} (levels: {self.names})")
        return replace(self, levels=tuple(replace(lv, capacity_bytes=capacity_bytes)
                                          if lv.name == name else lv for lv in self.levels))

    @classmethod
    def from_dict(cls, d: dict, source: str = "") -> "MemoryHierarchy":
        """{"pj_per_op": x, "levels": [{"name", "capacity_bytes", "pj_per_byte"}, ...]}; the
        last level's capacity_bytes may be omitted, null, "inf" or inf."""
        if not isinstance(d, dict):
            _fail(f"expected a table with 'levels' and 'pj_per_op', got {type(d).__name__}")
        extra = sorted(set(d) - {"levels", "pj_per_op"})
        if extra:
            _fail(f"unknown keys {extra} (allowed: levels, pj_per_op)")
        if "levels" not in d or "pj_per_op" not in d:
            _fail(f"both 'levels' and 'pj_per_op' are required, got keys {sorted(d)}")
        if not isinstance(d["levels"], list):
            _fail(f"'levels' must be a list of tables, got {type(d['levels']).__name__}")
        n = len(d["levels"])
        return cls(tuple(_level_from_dict(x, last=(i == n - 1)) for i, x in enumerate(d["levels"])),
                   d["pj_per_op"], source=source)

    @classmethod
    def from_file(cls, path) -> "MemoryHierarchy":
        """Load a hierarchy from a .toml or .json file (docs/hierarchy_example.toml)."""
        p = Path(path)
        try:
            text = p.read_bytes()
        except OSError as e:
            raise ValueError(f"MemoryHierarchy: cannot read {p}: {e.strerror}") from None
        try:
            if p.suffix.lower() == ".toml":
                d = tomllib.loads(text.decode("utf-8"))
            elif p.suffix.lower() == ".json":
                d = json.loads(text)
            else:
                _fail(f"{p}: unknown file type {p.suffix!r} (use .toml or .json)")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"MemoryHierarchy: {p}: not valid {p.suffix[1:]}: "
                             f"{str(e).splitlines()[0]}") from None
        return cls.from_dict(d, source=str(p))

    def to_dict(self) -> dict:
        return {"pj_per_op": self.pj_per_op,
                "levels": [{"name": lv.name, "pj_per_byte": lv.pj_per_byte,
                            "capacity_bytes": (None if lv.capacity_bytes == math.inf
                                               else int(lv.capacity_bytes))}
                           for lv in self.levels]}


def _level(x):
    if isinstance(x, dict):
        return _level_from_dict(x, last=False)
    try:
        name, cap, pj = x
    except (TypeError, ValueError):
        _fail(f"a level is MemoryLevel or (name, capacity_bytes, pj_per_byte), got {x!r}")
    return MemoryLevel(name, cap, pj)


def _level_from_dict(x, last):
    if not isinstance(x, dict):
        _fail(f"a level must be a table with name, capacity_bytes, pj_per_byte, got {x!r}")
    extra = sorted(set(x) - {"name", "capacity_bytes", "pj_per_byte"})
    if extra:
        _fail(f"level {x.get('name', '?')!r}: unknown keys {extra}")
    missing = [k for k in ("name", "pj_per_byte") + (() if last else ("capacity_bytes",))
               if k not in x]
    if missing:
        _fail(f"level {x.get('name', '?')!r}: missing {missing}")
    cap = x.get("capacity_bytes")
    if cap is None or cap == "inf":
        cap = math.inf
    return MemoryLevel(x["name"], cap, x["pj_per_byte"])


# Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V:
# 64-bit read of an 8 KB SRAM 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ, DRAM 1.3-2.6 nJ; per byte = / 8.
# Arithmetic: 20 pJ per 64-bit floating-point operation (W. J. Dally's figure for a double-precision
# FMA, as quoted in issue 13; Horowitz's table gives only 32-bit FP: add 0.9 pJ, multiply 3.7 pJ).
DEFAULT_HIERARCHY = MemoryHierarchy(
    levels=(MemoryLevel("SRAM 8 KiB", 8 * _KiB, 10.0 / 8),
            MemoryLevel("SRAM 32 KiB", 32 * _KiB, 20.0 / 8),
            MemoryLevel("SRAM 1 MiB", 1 * _MiB, 100.0 / 8),
            MemoryLevel("DRAM", math.inf, 1300.0 / 8)),
    pj_per_op=20.0, source="Horowitz ISSCC 2014 (45 nm); DRAM at the low end, 1.3 nJ / 64 bit")


def level_overflow_distances(hierarchy: MemoryHierarchy | None = None,
                             bytes_per_element: int | None = None) -> dict:
    """For every level but the last: the smallest reuse distance that no longer hits it.

    In bytes (default): capacity_bytes + 1 (a read hits the level iff its reuse distance in bytes,
    the value itself included, is <= capacity_bytes). With bytes_per_element=b, in elements as
    docs/cost_model.md section 4 counts them (distinct *other* values d; the read costs (d + 1) * b
    bytes of depth): floor(capacity_bytes / b)."""
    h = DEFAULT_HIERARCHY if hierarchy is None else hierarchy
    if bytes_per_element is None:
        return {lv.name: int(lv.capacity_bytes) + 1 for lv in h.levels[:-1]}
    b = int(bytes_per_element)
    if b <= 0:
        raise ValueError(f"bytes_per_element must be a positive integer, got {bytes_per_element}")
    return {lv.name: int(lv.capacity_bytes) // b for lv in h.levels[:-1]}
