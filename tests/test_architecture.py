"""The layout's rules (issue 10): imports point one way, and modules stay readable.

Every module of harness, learners, metrics and studies is parsed (ast) and all its import
statements are collected, including those inside functions. The allowed order, bottom first:

    metrics.trace          the program record: imports nothing of the project
    metrics.trace_store    its compact storage (big traces): imports nothing of the project
    metrics.tracking.*     recording: the record (trace, trace_store) and itself only
    pricing modules        the record and each other only (never tracking, never metrics.api)
    metrics.api, metrics   (the package) may use all of metrics
    learners               numpy, the standard library and learners.* only
    harness                may import metrics and learners
    studies                may import harness, metrics and learners
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "learners", "metrics", "studies")
# which top-level packages each may import (besides itself)
ALLOWED = {"metrics": set(), "learners": set(), "harness": {"metrics", "learners"},
           "studies": {"harness", "metrics", "learners"}}
PRICING = {"metrics.costs", "metrics.liveness", "metrics.stack_index", "metrics.pricing_kernels",
           "metrics.engine", "metrics.oracle", "metrics.ard_dmc", "metrics.reuse",
           "metrics.reporting", "metrics.reuse_kernel", "metrics.energy_model", "metrics.hierarchy"}
RECORD = {"metrics.trace", "metrics.trace_store"}
MAX_LINES = 400
# Modules allowed over MAX_LINES, each with the reason.
LONG_OK: dict[str, str] = {}      # none today; an entry needs its reason


def _modules() -> dict:
    """module name -> path, for every .py file of the four packages."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set:
    """Every module `name` imports (absolute names; `from a import b` is a.b when that is a
    module of the project), wherever the statement is (top level or inside a function)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in MODULES else mod)
    return out


IMPORTS = {m: _imports(m, p) for m, p in MODULES.items()}


def _project(mod: str) -> bool:
    return mod.split(".")[0] in PACKAGES


def _is_tracking(mod: str) -> bool:
    return mod == "metrics.tracking" or mod.startswith("metrics.tracking.")


def test_the_walk_sees_every_package_and_function_level_imports():
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    assert "metrics.tracking.array" in MODULES and "metrics.trace" in MODULES
    # harness/measure.py imports metrics.reporting inside its functions
    assert "metrics.reporting" in IMPORTS["harness.measure"]


def _violations() -> list:
    bad = []
    stdlib = set(sys.stdlib_module_names)
    for mod, imps in IMPORTS.items():
        top = mod.split(".")[0]
        for imp in sorted(imps):
            itop = imp.split(".")[0]
            if _project(imp) and itop != top and itop not in ALLOWED[top]:
                bad.append(f"{mod} imports {imp}: {top} may not import {itop}")
            if top == "learners" and not _project(imp) and itop not in stdlib | {"numpy"}:
                bad.append(f"{mod} imports {imp}: learners use numpy and the standard library only")
            if mod in RECORD and _project(imp):
                bad.append(f"{mod} imports {imp}: it imports nothing of the project")
            if _is_tracking(mod) and _project(imp) and not (_is_tracking(imp) or imp in RECORD):
                bad.append(f"{mod} imports {imp}: tracking builds on metrics.trace only")
            if mod in PRICING and _project(imp) and imp not in PRICING | RECORD:
                bad.append(f"{mod} imports {imp}: pricing builds on metrics.trace only")
    return bad


def test_imports_point_down():
    assert _violations() == []


def _package_cycles() -> list:
    edges = {p: set() for p in PACKAGES}
    for mod, imps in IMPORTS.items():
        for imp in imps:
            if _project(imp) and imp.split(".")[0] != mod.split(".")[0]:
                edges[mod.split(".")[0]].add(imp.split(".")[0])
    cycles = []

    def visit(p, path):
        for q in sorted(edges[p]):
            if q in path:
                cycles.append(path[path.index(q):] + [q])
            else:
                visit(q, path + [q])
    for p in PACKAGES:
        visit(p, [p])
    return cycles


def test_no_cycle_between_packages():
    assert _package_cycles() == []


def test_no_cycle_inside_metrics():
    """Module-level cycles inside metrics (tracking's modules included)."""
    graph = {m: {i for i in imps if i in MODULES and i.startswith("metrics")}
             for m, imps in IMPORTS.items() if m.startswith("metrics.")}
    state = {}

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph.get(m, ())):
            if n == "metrics":
                continue
            if state.get(n) == "open":
                raise AssertionError(" -> ".join(stack + [n]))
            if n not in state:
                visit(n, stack + [n])
        state[m] = "done"
    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


@pytest.mark.parametrize("fake,imp,expect", [
    ("learners.fake", "metrics.trace", "learners may not import metrics"),
    ("metrics.tracking.fake", "metrics.engine", "tracking builds on metrics.trace only"),
    ("metrics.engine", "metrics.tracking", "pricing builds on metrics.trace only"),
    ("metrics.trace", "metrics.oracle", "imports nothing of the project"),
    ("metrics.trace_store", "metrics.engine", "imports nothing of the project"),
    ("metrics.fake", "harness.measure", "metrics may not import harness"),
    ("learners.fake", "scipy", "numpy and the standard library only"),
])
def test_the_rules_catch_an_upward_import(monkeypatch, fake, imp, expect):
    monkeypatch.setitem(IMPORTS, fake, IMPORTS.get(fake, set()) | {imp})
    assert any(expect in v for v in _violations())


def test_the_cycle_check_catches_a_cycle(monkeypatch):
    monkeypatch.setitem(IMPORTS, "metrics.fake", {"studies.plots"})
    assert _package_cycles()


def test_modules_stay_short():
    long = {}
    for mod, path in MODULES.items():
        n = len(path.read_text().splitlines())
        rel = str(path.relative_to(ROOT))
        if n > MAX_LINES and rel not in LONG_OK:
            long[rel] = n
    assert long == {}, f"modules over {MAX_LINES} lines (split them, or say why in LONG_OK)"
    for rel in LONG_OK:
        assert (ROOT / rel).exists(), f"LONG_OK lists {rel}, which no longer exists"
