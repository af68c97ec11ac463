"""Which verdicts of the mutation report the code has moved past (`python tools/mutation.py
--stale`, docs/mutation.md).

The report's summary table names, for every core module, the commit whose source its verdicts
were decided on. mutmut names each mutant after the function it is in (`x_f` for a module-level
function, `xǁCǁm` for a method), and a function's verdicts hold as long as its text is the
same; this module compares each function's text at that commit with the working tree's and
names the ones new or changed since, with the mutmut pattern that reruns them.
"""
from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "mutation.md"
SUMMARY_HEADING = "### Summary"
_KEPT_DECORATORS = {"staticmethod", "classmethod"}    # the decorators mutmut mutates under
_ROW = re.compile(r"^\|\s*(\S+\.py)\s*\|.*\|\s*`([0-9a-f]{7,40})`\s*\|\s*$")


def dotted(path: str) -> str:
    """'harness/stats.py' -> 'harness.stats': a module path as mutmut names it."""
    return path.removesuffix(".py").replace("/", ".")


def function_sources(source: str) -> dict[str, str]:
    """mutmut's name of each function and method of a module that mutmut mutates (module-level
    functions and the methods of module-level classes, undecorated or decorated only with
    @staticmethod / @classmethod: mutmut skips any other decorated function) -> its text,
    decorators included, in source order."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)

    def text(node) -> str:
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        return "".join(lines[first - 1:node.end_lineno])

    def mutated(node) -> bool:
        return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and all(
            isinstance(d, ast.Name) and d.id in _KEPT_DECORATORS for d in node.decorator_list)

    named = {}
    for node in tree.body:
        if mutated(node):
            named[f"x_{node.name}"] = text(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if mutated(item):
                    named[f"xǁ{node.name}ǁ{item.name}"] = text(item)
    return named


def changed_functions(old: str, new: str) -> list[str]:
    """The functions of source `new` that `old` does not have word for word (new or changed),
    in `new`'s order; a function only moved within the file is unchanged."""
    before = function_sources(old)
    return [name for name, text in function_sources(new).items() if before.get(name) != text]


def summary_commits(report: Path = REPORT) -> dict[str, str]:
    """module path -> the commit its verdicts were decided on, from the summary table's rows
    (the table under the report's "### Summary" heading; its last column is the commit)."""
    text = report.read_text()
    start = text.find(SUMMARY_HEADING)
    if start < 0:
        raise SystemExit(f"{report}: no {SUMMARY_HEADING!r} section")
    rows = {}
    for line in text[start:].splitlines()[1:]:
        if line.startswith("### "):
            break
        m = _ROW.match(line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def source_at(commit: str, path: str, root: Path = ROOT) -> str:
    """The text of `path` (relative to the repository) at `commit`; one-line SystemExit when
    git cannot give it (an unknown commit, a shallow clone, a file not yet there)."""
    done = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=root,
                          capture_output=True, text=True)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git show failed"])[0]
        raise SystemExit(f"{path} at {commit}: {first}")
    return done.stdout


def stale(modules: list[str], commits: dict[str, str], root: Path = ROOT,
          listed: list[str] = ()) -> list[str]:
    """One line for each module whose verdicts the working tree has moved past: the functions
    new or changed since its commit and the mutmut patterns that rerun them, and the mutants
    of those functions `listed` as equivalent (mutmut numbers a changed function's mutants
    afresh, so each listing is to be read again); a module with no commit in the table is named
    as such. Modules still current give no line."""
    out = []
    for path in modules:
        commit = commits.get(path)
        if commit is None:
            out.append(f"{path}: no commit in the report's summary table (never run?)")
            continue
        changed = changed_functions(source_at(commit, path, root), (root / path).read_text())
        if changed:
            module = dotted(path)
            patterns = " ".join(f'"{module}.{name}__mutmut_*"' for name in changed)
            out.append(f"{path} (since {commit}): {', '.join(changed)}\n  mutmut run {patterns}")
            reread = [n for n in listed
                      if any(n.startswith(f"{module}.{name}__mutmut_") for name in changed)]
            if reread:
                out[-1] += f"\n  listed as equivalent, to read again: {', '.join(reread)}"
    return out
