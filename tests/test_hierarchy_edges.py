"""metrics.hierarchy at its edges: every validation rule accepted at its edge (capacity 1 byte,
pJ 0, equal pJ on consecutive levels, pj_per_op 0) and rejected just past it, each with its exact
one-line message (the offending level and value named); capacities() as int64; with_capacity;
from_dict / from_file / to_dict with their exact errors; level_overflow_distances' values in
bytes and in elements, and its bytes_per_element bound."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from metrics.hierarchy import (DEFAULT_HIERARCHY, MemoryHierarchy, MemoryLevel,
                               level_overflow_distances)

INF = math.inf
TINY = MemoryHierarchy([("L1", 16, 1.0), ("L2", 32, 10.0), ("DRAM", INF, 100.0)], 0.5)


def err(levels, op=1.0):
    with pytest.raises(ValueError) as e:
        MemoryHierarchy(levels, op)
    return str(e.value)


def P(msg):
    return "MemoryHierarchy: " + msg


# ------------------------------------------------------------------ the constructor's rules


def test_levels_must_be_a_list():
    assert err("L1") == P("levels must be a list of levels, got str")
    assert err(b"L1") == P("levels must be a list of levels, got bytes")
    assert err(5) == P("levels must be a list of levels, got int")
    assert err([]) == P("at least one level is needed")
    assert err([("L1", 16)]) == P("a level is MemoryLevel or (name, capacity_bytes, "
                                  "pj_per_byte), got ('L1', 16)")
    assert err([7]) == P("a level is MemoryLevel or (name, capacity_bytes, pj_per_byte), got 7")


def test_level_names():
    assert err([("", 16, 1.0), ("D", INF, 2.0)]) == P("a level name must be a non-empty "
                                                     "string, got ''")
    assert err([(3, 16, 1.0), ("D", INF, 2.0)]) == P("a level name must be a non-empty "
                                                    "string, got 3")
    assert err([("L1", 16, 1.0), ("L1", 32, 2.0), ("D", INF, 3.0)]) == P(
        "level names must be unique, got ['L1', 'L1', 'D']")


def test_numbers_are_numbers():
    assert err([("L1", "16", 1.0), ("D", INF, 2.0)]) == P("capacity_bytes of 'L1' must be a "
                                                         "number, got '16'")
    assert err([("L1", True, 1.0), ("D", INF, 2.0)]) == P("capacity_bytes of 'L1' must be a "
                                                         "number, got True")
    assert err([("L1", 16, None), ("D", INF, 2.0)]) == P("pj_per_byte of 'L1' must be a number, "
                                                        "got None")
    assert err([("D", INF, 2.0)], op="1") == P("pj_per_op must be a number, got '1'")
    assert err([("D", INF, 2.0)], op=False) == P("pj_per_op must be a number, got False")


def test_energies_accepted_at_zero_and_rejected_below_or_infinite():
    h = MemoryHierarchy([("L1", 16, 0.0), ("D", INF, 0.0)], 0.0)    # 0 pJ everywhere is allowed
    assert [lv.pj_per_byte for lv in h.levels] == [0.0, 0.0] and h.pj_per_op == 0.0
    assert err([("L1", 16, -0.5), ("D", INF, 2.0)]) == P("pj_per_byte of 'L1' must be finite and "
                                                        ">= 0, got -0.5")
    assert err([("L1", 16, INF), ("D", INF, INF)]) == P("pj_per_byte of 'L1' must be finite and "
                                                       ">= 0, got inf")
    assert err([("D", INF, 2.0)], op=-0.5) == P("pj_per_op must be finite and >= 0, got -0.5")
    assert err([("D", INF, 2.0)], op=INF) == P("pj_per_op must be finite and >= 0, got inf")
    assert err([("D", INF, 2.0)], op=math.nan) == P("pj_per_op must be finite and >= 0, got nan")


def test_capacities_at_their_edges():
    h = MemoryHierarchy([("L1", 1, 1.0), ("L2", 2.0, 1.0), ("D", INF, 1.0)])  # 1 byte; 2.0 whole
    assert h.capacities().tolist() == [1, 2] and h.capacities().dtype == np.int64
    assert h.pj_per_op == 0.0                                       # the default
    assert err([("L1", 0, 1.0), ("D", INF, 2.0)]) == P("capacity_bytes of 'L1' must be a "
                                                      "positive whole number of bytes, got 0")
    assert err([("L1", -4, 1.0), ("D", INF, 2.0)]) == P("capacity_bytes of 'L1' must be a "
                                                       "positive whole number of bytes, got -4")
    assert err([("L1", 1.5, 1.0), ("D", INF, 2.0)]) == P("capacity_bytes of 'L1' must be a "
                                                        "positive whole number of bytes, got 1.5")
    assert err([("L1", INF, 1.0), ("D", INF, 2.0)]) == P("capacity_bytes of 'L1' must be a "
                                                        "positive whole number of bytes, got inf")
    assert err([("L1", 16, 1.0), ("D", 1024, 2.0)]) == P("the last level ('D') is the backing "
                                                        "store: its capacity_bytes must be inf, "
                                                        "got 1024")
    assert err([("D", 1024, 2.0)]) == P("the last level ('D') is the backing store: its "
                                        "capacity_bytes must be inf, got 1024")


def test_order_of_levels_at_its_edges():
    # equal capacities are rejected, equal energies accepted
    assert err([("L1", 16, 1.0), ("L2", 16, 2.0), ("D", INF, 3.0)]) == P(
        "capacities must increase: 'L2' (16) after 'L1' (16)")
    assert err([("L1", 32, 1.0), ("L2", 16, 2.0), ("D", INF, 3.0)]) == P(
        "capacities must increase: 'L2' (16) after 'L1' (32)")
    h = MemoryHierarchy([("L1", 16, 2.0), ("L2", 17, 2.0), ("D", INF, 2.0)])
    assert h.names == ["L1", "L2", "D"]
    assert err([("L1", 16, 2.0), ("L2", 32, 1.5), ("D", INF, 3.0)]) == P(
        "pj_per_byte must not decrease: 'L2' (1.5) after 'L1' (2.0)")
    assert err([("L1", 16, 5.0), ("D", INF, 1.0)]) == P(
        "pj_per_byte must not decrease: 'D' (1.0) after 'L1' (5.0)")


def test_levels_given_as_levels_tuples_or_tables():
    a = MemoryHierarchy([MemoryLevel("L1", 16, 1.0), ("L2", 32, 10.0),
                         {"name": "DRAM", "capacity_bytes": INF, "pj_per_byte": 100.0}], 0.5)
    assert a == TINY and all(isinstance(lv, MemoryLevel) for lv in a.levels)
    assert isinstance(a.levels, tuple)
    # a table level in the constructor is never the "last" of a file: its capacity is required
    assert err([("L1", 16, 1.0), {"name": "D", "pj_per_byte": 2.0}]) == P(
        "level 'D': missing ['capacity_bytes']")


def test_capacities_of_a_single_level_hierarchy_are_empty_int64():
    c = MemoryHierarchy([("D", INF, 1.0)]).capacities()
    assert c.dtype == np.int64 and c.shape == (0,)
    assert DEFAULT_HIERARCHY.capacities().tolist() == [8192, 32768, 1048576]


def test_with_capacity():
    h = TINY.with_capacity("L2", 64)
    assert [lv.capacity_bytes for lv in h.levels] == [16, 64, INF]
    assert [lv.pj_per_byte for lv in h.levels] == [1.0, 10.0, 100.0] and h.pj_per_op == 0.5
    assert [lv.capacity_bytes for lv in TINY.levels] == [16, 32, INF]      # unchanged
    with pytest.raises(ValueError) as e:
        TINY.with_capacity("L3", 64)
    assert str(e.value) == P("no level named 'L3' (levels: ['L1', 'L2', 'DRAM'])")
    with pytest.raises(ValueError) as e:
        TINY.with_capacity("L2", 16)                                        # validated again
    assert str(e.value) == P("capacities must increase: 'L2' (16) after 'L1' (16)")


# ------------------------------------------------------------------ dicts and files


def dict_err(d):
    with pytest.raises(ValueError) as e:
        MemoryHierarchy.from_dict(d)
    return str(e.value)


LEVELS = [{"name": "L1", "capacity_bytes": 16, "pj_per_byte": 1.0},
          {"name": "L2", "capacity_bytes": 32, "pj_per_byte": 10.0},
          {"name": "DRAM", "pj_per_byte": 100.0}]


def test_from_dict_and_to_dict():
    h = MemoryHierarchy.from_dict({"levels": LEVELS, "pj_per_op": 0.5}, source="here")
    assert h == TINY and h.source == "here"
    assert MemoryHierarchy.from_dict({"levels": LEVELS, "pj_per_op": 0.5}).source == ""
    assert TINY.to_dict() == {"pj_per_op": 0.5, "levels": [
        {"name": "L1", "pj_per_byte": 1.0, "capacity_bytes": 16},
        {"name": "L2", "pj_per_byte": 10.0, "capacity_bytes": 32},
        {"name": "DRAM", "pj_per_byte": 100.0, "capacity_bytes": None}]}
    for last_cap in (None, "inf", INF):
        levels = LEVELS[:2] + [dict(LEVELS[2], capacity_bytes=last_cap)]
        assert MemoryHierarchy.from_dict({"levels": levels, "pj_per_op": 0.5}) == TINY


def test_from_dict_errors():
    assert dict_err([1]) == P("expected a table with 'levels' and 'pj_per_op', got list")
    assert dict_err({"levels": [], "pj_per_op": 1, "speed": 3, "a": 1}) == P(
        "unknown keys ['a', 'speed'] (allowed: levels, pj_per_op)")
    assert dict_err({"levels": LEVELS}) == P("both 'levels' and 'pj_per_op' are required, "
                                             "got keys ['levels']")
    assert dict_err({"pj_per_op": 1}) == P("both 'levels' and 'pj_per_op' are required, "
                                           "got keys ['pj_per_op']")
    assert dict_err({"levels": {"a": 1}, "pj_per_op": 1}) == P("'levels' must be a list of "
                                                               "tables, got dict")
    assert dict_err({"levels": [3], "pj_per_op": 1}) == P(
        "a level must be a table with name, capacity_bytes, pj_per_byte, got 3")
    assert dict_err({"levels": [{"name": "D", "pj_per_byte": 2, "ways": 4, "b": 1}],
                     "pj_per_op": 1}) == P("level 'D': unknown keys ['b', 'ways']")
    assert dict_err({"levels": [{"pj_per_byte": 2, "ways": 4}], "pj_per_op": 1}) == P(
        "level '?': unknown keys ['ways']")
    assert dict_err({"levels": [{"pj_per_byte": 2}], "pj_per_op": 1}) == P(
        "level '?': missing ['name']")
    # only the last level may leave its capacity out
    assert dict_err({"levels": [{"name": "L1", "pj_per_byte": 1}, LEVELS[2]],
                     "pj_per_op": 1}) == P("level 'L1': missing ['capacity_bytes']")
    assert dict_err({"levels": [{"name": "L1", "capacity_bytes": 16}, LEVELS[2]],
                     "pj_per_op": 1}) == P("level 'L1': missing ['pj_per_byte']")
    assert dict_err({"levels": [{"capacity_bytes": 16}, LEVELS[2]], "pj_per_op": 1}) == P(
        "level '?': missing ['name', 'pj_per_byte']")


def test_from_file(tmp_path):
    for suffix in (".json", ".JSON"):
        f = tmp_path / ("h" + suffix)
        f.write_text(json.dumps(TINY.to_dict()))
        h = MemoryHierarchy.from_file(f)
        assert h == TINY and h.source == str(f)
    f = tmp_path / "h.TOML"
    f.write_text('pj_per_op = 0.5\n[[levels]]\nname = "L1"\ncapacity_bytes = 16\n'
                 'pj_per_byte = 1.0\n[[levels]]\nname = "L2"\ncapacity_bytes = 32\n'
                 'pj_per_byte = 10.0\n[[levels]]\nname = "DRAM"\npj_per_byte = 100.0\n')
    assert MemoryHierarchy.from_file(str(f)) == TINY


def test_from_file_errors(tmp_path):
    def file_err(name, data):
        f = tmp_path / name
        f.write_bytes(data)
        with pytest.raises(ValueError) as e:
            MemoryHierarchy.from_file(f)
        return str(e.value), f

    missing = tmp_path / "nope.toml"
    with pytest.raises(ValueError) as e:
        MemoryHierarchy.from_file(missing)
    assert str(e.value) == P(f"cannot read {missing}: No such file or directory")
    msg, f = file_err("h.yaml", b"a: 1")
    assert msg == P(f"{f}: unknown file type '.yaml' (use .toml or .json)")
    msg, f = file_err("h.json", b"{")
    assert msg.startswith(P(f"{f}: not valid json: Expecting property name"))
    assert "\n" not in msg
    msg, f = file_err("h.toml", b"pj_per_op = 1\nlevels = [\n\n")
    assert msg.startswith(P(f"{f}: not valid toml: ")) and "\n" not in msg
    msg, f = file_err("h.toml", b"pj_per_op = \xff\n")
    assert msg.startswith(P(f"{f}: not valid toml: 'utf-8' codec can't decode byte 0xff"))


# ------------------------------------------------------------------ overflow distances


def test_level_overflow_distances():
    assert level_overflow_distances() == {"SRAM 8 KiB": 8193, "SRAM 32 KiB": 32769,
                                          "SRAM 1 MiB": 1048577}
    assert level_overflow_distances(TINY) == {"L1": 17, "L2": 33}
    assert level_overflow_distances(TINY, bytes_per_element=1) == {"L1": 16, "L2": 32}
    assert level_overflow_distances(TINY, bytes_per_element=3) == {"L1": 5, "L2": 10}
    assert level_overflow_distances(None, 8) == {"SRAM 8 KiB": 1024, "SRAM 32 KiB": 4096,
                                                 "SRAM 1 MiB": 131072}
    for b in (0, -8):
        with pytest.raises(ValueError) as e:
            level_overflow_distances(TINY, bytes_per_element=b)
        assert str(e.value) == f"bytes_per_element must be a positive integer, got {b}"
    d = level_overflow_distances(MemoryHierarchy([("L1", 16.0, 1.0), ("D", INF, 2.0)]))
    assert d == {"L1": 17} and type(d["L1"]) is int
