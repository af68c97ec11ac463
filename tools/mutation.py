"""Mutation testing of the core, one module at a time (docs/mutation.md).

    python tools/mutation.py harness/stats.py learners/rnn.py      # run these modules
    python tools/mutation.py --survivors learners/rnn.py           # rerun only its survivors
    python tools/mutation.py --recheck learners/rnn.py             # its survivors, fresh processes
    python tools/mutation.py --report [MODULE ...]                 # counts from the last runs
    python tools/mutation.py --list                                # the core modules
    python tools/mutation.py --stale                               # functions changed since
    python tools/mutation.py --check-equivalents all               # equivalent in movement too?

Each module is one `mutmut run --max-children N "<module>.*"`: mutmut (configured in
pyproject.toml, [tool.mutmut]) copies the packages and tests/ into mutants/, records once which
tests call which function (its "stats" pass, the whole suite), then runs each mutant of the
module against only the tests that reach the mutated function. A module's mutants that were
already decided are run again (a run is a fresh verdict on the current tests). Afterwards it prints,
per module, killed (timeouts and crashes count as killed: the mutant made the tests hang, or
killed their process by a signal such as SIGSEGV or SIGABRT),
survived, equivalent (listed in tools/mutation_equivalent.txt, one line each with the reason),
no tests (no test reaches the function), not checked, and the score
killed / (mutants - equivalent - not run): over the decided mutants, so a partly run module's
score covers its run part only. --max-children defaults to 1 (one core for mutation runs).

Functions mutmut does not mutate: numba kernels (@nb.njit) and any other decorated function
except @staticmethod/@classmethod (mutmut skips decorated functions: their trampolines would
break the decorator); module-level constants; __init__.py files (excluded here).
"""
from __future__ import annotations

import argparse
import fcntl
import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import mutation_stale
from mutation_stale import dotted

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT_FILE = ROOT / "tools" / "mutation_equivalent.txt"
TIMEOUT = {36, 24, -24, 152, 255, -9}            # -9: SIGKILL after the CPU limit's SIGXCPU
CRASHED = {-11, -6, -7, -8, -4}                  # the test process died by SIGSEGV, SIGABRT, ...
KILLED = {1, 3} | TIMEOUT | CRASHED              # test failed, pytest internal error, hung, died
NO_TESTS = {5, 33}


def core_modules() -> list[str]:
    """The modules [tool.mutmut] mutates, as paths relative to the project root, in order."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    out = []
    for pattern in cfg["only_mutate"]:
        paths = sorted(ROOT.glob(pattern)) if any(c in pattern for c in "*?[") else [ROOT / pattern]
        for p in paths:
            rel = p.relative_to(ROOT).as_posix()
            if rel.endswith(".py") and not any(fnmatch.fnmatch(rel, x)
                                               for x in cfg.get("do_not_mutate", [])):
                out.append(rel)
    return out


def module_path(arg: str) -> str:
    """'harness/stats.py', 'harness.stats' or 'harness/stats' -> 'harness/stats.py'."""
    p = arg.removesuffix(".py").replace(".", "/") + ".py" if not arg.endswith(".py") else arg
    return p


def equivalents() -> dict[str, str]:
    """mutant name -> the reason it cannot change behaviour (tools/mutation_equivalent.txt)."""
    out = {}
    if EQUIVALENT_FILE.exists():
        for line in EQUIVALENT_FILE.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, why = line.partition(" ")
                out[name] = why.strip().lstrip("#").strip()
    return out


# Functions whose mutants mutmut cannot switch on: the tool runs each of their mutants itself, in
# a fresh `python -m pytest` process started with the mutant on (MUTANT_UNDER_TEST), against the
# tests listed, and records the exit code in mutants/fresh_process_results.json; the counts take
# that verdict (none yet: not run), never mutmut's.
# - Functions that run only in worker processes the tests start (the local pool's children):
#   mutmut's stats pass records calls in the test process only, so it finds "no tests"; the tests
#   below exercise them in forked children, which inherit the active mutant.
# - Functions that run only at import, building the numpy handlers and TrackedArray methods the
#   tracker dispatches to: mutmut's forkserver imports the modules before it switches a mutant on,
#   so its verdict is that of the original handlers (every such mutant "survives").
TRACKING_TESTS = ["tests/test_tracking_rearranging.py", "tests/test_tracking.py",
                  "tests/test_tracking_correctness.py",
                  "tests/test_tracking_coverage.py", "tests/test_plain_operands.py",
                  "tests/test_escape_edges.py"]
POOL_TESTS = ["tests/test_pool.py", "tests/test_pool_edges.py", "tests/test_pool_signals.py"]
FRESH_PROCESS_TESTS = {
    "harness.pool.x__child": POOL_TESTS,
    "harness.pool.x__die_with_parent": POOL_TESTS,
    **{f"metrics.tracking.{f}": TRACKING_TESTS for f in (
        "registry.x_implements", "registry.x_implements_ufuncs", "rearranging.x__single",
        "rearranging.x__sequence", "rearranging.x__like", "rearranging.x__query",
        "escapes.x_escaping", "array.x__via")},
}
FRESH_RESULTS = ROOT / "mutants" / "fresh_process_results.json"
FRESH_TIMEOUT_S = 600


def _function(name: str) -> str:
    """'pkg.mod.x_f__mutmut_3' -> 'pkg.mod.x_f': the mutated function, as FRESH_PROCESS_TESTS
    names it."""
    return name.split("__mutmut_")[0]


def _fresh(name: str) -> bool:
    return _function(name) in FRESH_PROCESS_TESTS


def _fresh_results() -> dict[str, list]:
    """mutant name -> [exit code, the hash mutmut gave its function when the code was
    recorded] of the fresh-process verdicts."""
    return json.loads(FRESH_RESULTS.read_text()) if FRESH_RESULTS.exists() else {}


def _split(name: str) -> tuple[str, str]:
    """'pkg.mod.xǁCǁf__mutmut_3' -> ('pkg/mod.py', 'xǁCǁf'): the module and the function's key
    in mutmut's meta (its hash_by_function_name)."""
    module, function = re.fullmatch(r"(.+?)\.(x[_ǁ].*)", _function(name)).groups()
    return module.replace(".", "/") + ".py", function


def _function_hashes(path: str) -> dict[str, str]:
    meta = ROOT / "mutants" / (path + ".meta")
    return json.loads(meta.read_text()).get("hash_by_function_name", {}) if meta.exists() else {}


def _record_fresh(name: str, code: int | None) -> None:
    """Record (code, with the mutated function's current hash: a verdict holds only while the
    function is the same) or forget (None) a fresh-process verdict, atomically."""
    fresh = _fresh_results()
    if code is None:
        fresh.pop(name, None)
    else:
        path, function = _split(name)
        fresh[name] = [code, _function_hashes(path).get(function)]
    tmp = FRESH_RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(fresh, indent=1, sort_keys=True))
    tmp.replace(FRESH_RESULTS)


def results(path: str) -> dict[str, int | None]:
    """mutant name -> exit code (None: not checked) for one module, from mutants/: mutmut's;
    for a mutant of a function listed in FRESH_PROCESS_TESTS, that of its run here (never
    mutmut's); for a survivor rechecked here (--recheck), the recheck's. A fresh verdict
    recorded before its function changed (mutmut's hash of it differs), or by an older tool
    (a bare exit code, no hash), is void: not run."""
    meta = ROOT / "mutants" / (path + ".meta")
    if not meta.exists():
        return {}
    out = json.loads(meta.read_text())["exit_code_by_key"]
    hashes = _function_hashes(path)
    fresh = _fresh_results()
    for name in out:
        if _fresh(name) or name in fresh:
            entry = fresh.get(name)                 # absent, or a bare code: no verdict
            code, function_hash = entry if isinstance(entry, list) else (None, None)
            out[name] = code if function_hash == hashes.get(_split(name)[1]) else None
    return out


def run_fresh_process_mutants(path: str, max_children: int = 1) -> None:
    """Run the module's mutants of FRESH_PROCESS_TESTS functions not yet killed against the
    listed tests, `max_children` at a time, in mutants/ (after mutmut has generated them), and
    record each exit code (a run past FRESH_TIMEOUT_S counts as a timeout, 36)."""
    equiv = equivalents()
    todo = [n for n, code in results(path).items() if _fresh(n) and code not in KILLED
            and n not in equiv]
    _run_in_fresh_processes(todo, lambda name: FRESH_PROCESS_TESTS[_function(name)],
                            max_children)


def _pytest_in_mutants(name: str, tests: list[str], timeout_s: float) -> int:
    """Exit code of a new `python -m pytest -x` process in mutants/ started with mutant `name`
    on ("none": the original code), against `tests` (paths and pytest options); a run past
    `timeout_s` seconds counts as a timeout (36)."""
    import os
    env = dict(os.environ, MUTANT_UNDER_TEST=name)
    try:
        return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p",
                               "no:cacheprovider", *tests],
                              cwd=ROOT / "mutants", env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout_s).returncode
    except subprocess.TimeoutExpired:
        return 36


def _run_in_fresh_processes(names: list[str], tests_of, max_children: int,
                            timeout_s: float = FRESH_TIMEOUT_S, keep=lambda code: True,
                            unkept: str = "") -> dict:
    """Run each mutant in a fresh pytest process (`_pytest_in_mutants`) against tests_of(name),
    `max_children` at a time; record the exit codes that `keep` accepts (`unkept`: what the
    printed line says of the others); return every code."""
    from concurrent.futures import ThreadPoolExecutor
    codes = {}
    with ThreadPoolExecutor(max(1, max_children)) as pool:
        runs = pool.map(lambda n: _pytest_in_mutants(n, tests_of(n), timeout_s), names)
        for name, code in zip(names, runs):
            codes[name] = code
            if keep(code):
                _record_fresh(name, code)
            print(f"  {name}: {'killed' if code in KILLED else 'survived' if code == 0 else code}"
                  f"{'' if keep(code) else unkept}",
                  flush=True)
    return codes


def recheck_tests(name: str) -> list[str]:
    """The test files (whole files: tests added since mutmut's stats pass included) holding the
    tests that mutmut's stats pass found reaching the mutant's function, the quickest file
    first, and the project's test-selection options (pyproject's
    pytest_add_cli_args_test_selection, its ignored and deselected tests)."""
    stats = json.loads((ROOT / "mutants" / "mutmut-stats.json").read_text())
    durations = stats["duration_by_test"]
    per_file: dict[str, float] = {}
    for test in stats["tests_by_mangled_function_name"].get(_function(name), []):
        f = test.split("::", 1)[0]
        per_file[f] = per_file.get(f, 0.0) + durations.get(test, 0.0)
    selection = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"].get(
        "pytest_add_cli_args_test_selection", [])
    options = [o for o in selection if o.startswith("-")]
    ignored = {o.split("=", 1)[1] for o in options if o.startswith("--ignore=")}
    return [f for f in sorted(per_file, key=lambda f: (per_file[f], f)) if f not in ignored] \
        + options


def _copy_current_tests() -> None:
    """Copy tests/ into mutants/tests/: a fresh-process run sees the tests as they are now
    (mutmut copies them only when it runs)."""
    import shutil
    shutil.copytree(ROOT / "tests", ROOT / "mutants" / "tests", dirs_exist_ok=True)


def recheck_survivors(path: str, max_children: int, with_tests: list[str] = ()) -> None:
    """Run the module's decided survivors (mutmut said survived; not equivalent, not a
    FRESH_PROCESS_TESTS function) again, each in a fresh pytest process against the whole test
    files that reach it, on the current tests (copied into mutants/tests first): the verdict of
    a full mutmut rerun without its stats and clean-test passes (many minutes of the suite).
    `with_tests`: test files written since the stats pass (which it cannot know reach the
    module), run first for every survivor; with them, the mutants the stats pass found no test
    for are rechecked too (against these files alone, unless the stats have tests for them)."""
    _copy_current_tests()
    todo = [n for n, code in results(path).items()
            if (code == 0 or (with_tests and code in NO_TESTS)) and not _fresh(n)
            and n not in equivalents()]
    _run_in_fresh_processes(todo, lambda name: [*with_tests, *(f for f in recheck_tests(name)
                                                         if f not in with_tests)],
                            max_children)


def screen_mutants(path: str, max_children: int, screen: list[str], only: list[str] = (),
                   follow: bool = True) -> None:
    """Decide the module's mutants not yet run (no verdict; not equivalent, not a
    FRESH_PROCESS_TESTS function; matching a pattern of `only` if given) in two stages, each
    mutant in fresh pytest processes: first against the `screen` test files (a few quick files
    that check the module closely); a mutant they kill is killed, by a test of the suite. A
    mutant that survives them then runs against the whole test files that reach it (as
    --recheck), and that verdict is recorded. The verdicts are those of a full run; the screen
    only spares most mutants the suite's slow files. A screen run past 5 x (the screen's
    unmutated time + 10 s) is a timeout, as mutmut's is. `follow` False stops after the
    screen: the mutants it misses keep no verdict (to read them, and list the equivalents or
    write tests, before paying for the slow files)."""
    import time
    _copy_current_tests()
    equiv = equivalents()
    todo = [n for n, code in results(path).items()
            if code is None and not _fresh(n) and n not in equiv
            and (not only or any(fnmatch.fnmatchcase(n, pat) for pat in only))]
    if not todo:
        print(f"{path}: no mutant left to screen", flush=True)
        return
    t0 = time.perf_counter()
    clean = _pytest_in_mutants("none", screen, FRESH_TIMEOUT_S)
    if clean != 0:
        raise SystemExit(f"error: the screen fails without a mutant (pytest exit {clean}): "
                         f"{' '.join(screen)}")
    timeout_s = 5 * (time.perf_counter() - t0 + 10)
    print(f"{path}: screening {len(todo)} mutants against {' '.join(screen)} "
          f"(timeout {timeout_s:.0f} s)", flush=True)
    codes = _run_in_fresh_processes(
        todo, lambda n: screen, max_children, timeout_s, keep=lambda code: code in KILLED,
        unkept=" by the screen (next: the tests that reach it)" if follow else
        " by the screen (no verdict yet)")
    left = [n for n, code in codes.items() if code not in KILLED]
    print(f"{path}: {len(todo) - len(left)} killed by the screen; {len(left)} "
          f"{'to the tests that reach them' if follow else 'left without a verdict'}", flush=True)
    if not follow:
        return
    beyond = {n: [f for f in recheck_tests(n) if f not in screen] for n in left}
    alone = [n for n in left if all(f.startswith("-") for f in beyond[n])]
    for n in alone:                   # no other test file reaches it: the screen's verdict
        _record_fresh(n, codes[n])
    _run_in_fresh_processes([n for n in left if n not in alone], beyond.get, max_children)


MOVEMENT_PINS = "tests/test_rule_costs.py"


def check_equivalents(paths: list[str], max_children: int, with_tests: list[str] = ()) -> list:
    """Run the modules' listed equivalents (present in mutants/) each in a fresh pytest process
    against the rules' pinned data movement (MOVEMENT_PINS) and `with_tests`: a mutant that
    computes the same numbers but moves different data is not equivalent in this project, whose
    measurement is the data movement. Record and return the ones killed (listings to remove)."""
    _copy_current_tests()
    equiv = equivalents()
    names = [n for p in paths for n in results(p) if n in equiv]
    codes = _run_in_fresh_processes(names, lambda n: [MOVEMENT_PINS, *with_tests], max_children,
                                    keep=lambda code: code in KILLED, unkept=" (stays listed)")
    return [n for n, code in codes.items() if code in KILLED]


def counts(path: str, equiv: dict[str, str]) -> dict:
    res = results(path)
    c = {"mutants": len(res), "killed": 0, "timeout": 0, "survived": 0, "equivalent": 0,
         "crashed": 0, "no_tests": 0, "not_checked": 0, "other": 0, "stale": []}
    for name, code in res.items():
        if name in equiv and code not in KILLED:
            c["equivalent"] += 1
        elif code is None:
            c["not_checked"] += 1
        elif code in KILLED:                  # a listed "equivalent" a test kills is stale
            c["killed"] += 1
            c["timeout"] += code in TIMEOUT
            c["crashed"] += code in CRASHED
            if name in equiv:
                c["stale"].append(name)
        elif code == 0:
            c["survived"] += 1
        elif code in NO_TESTS:
            c["no_tests"] += 1
        else:
            c["other"] += 1                   # segfault, suspicious, interrupted: see mutmut
    decided = c["mutants"] - c["equivalent"] - c["not_checked"]
    c["score"] = c["killed"] / decided if decided else None
    return c


def survivors(path: str, equiv: dict[str, str]) -> list[str]:
    return sorted(n for n, code in results(path).items() if n not in equiv and code not in KILLED)


def report(paths: list[str]) -> str:
    equiv = equivalents()
    head = ("| module | mutants | killed (timeouts, crashes) | survived | equivalent | no tests "
            "| not run | score |\n|---|---|---|---|---|---|---|---|")
    lines, stale = [head], []
    for p in paths:
        c = counts(p, equiv)
        if not c["mutants"] and results(p) == {} and (ROOT / "mutants" / (p + ".meta")).exists():
            lines.append(f"| {p} | 0 | | | | | nothing mutmut mutates (decorated functions only) | |")
            continue
        if not c["mutants"] or c["not_checked"] + c["equivalent"] == c["mutants"]:
            lines.append(f"| {p} | {c['mutants'] or ''} | | | | | not run | |")
            continue
        score = "" if c["score"] is None else f"{100 * c['score']:.1f}%"
        lines.append(f"| {p} | {c['mutants']} | {c['killed']} ({c['timeout']}, {c['crashed']}) | {c['survived']} "
                     f"| {c['equivalent']} | {c['no_tests']} | {c['not_checked'] or ''} | {score} |")
        stale += c["stale"]
    if stale:
        lines.append(f"\nlisted in {EQUIVALENT_FILE.name} but killed, so counted as killed: the "
                     "listing is stale (its function changed and mutmut renumbered the mutants?); "
                     f"see `mutmut show NAME` and mend the file: {', '.join(sorted(stale))}")
    return "\n".join(lines)


def run_modules(paths: list[str], max_children: int, only_survivors: bool,
                decided_only: bool = False) -> int:
    """One `mutmut run` over the mutants of `paths` (log: mutants/logs/<first module>.log)."""
    names = []
    for path in paths:
        mine = ([n for n in survivors(path, equivalents()) if not _fresh(n)] if only_survivors
                else [dotted(path) + ".*"])
        if only_survivors and decided_only:
            res = results(path)
            mine = [n for n in mine if res.get(n) is not None]
        names += mine
    label = " ".join(paths)
    if not names:
        print(f"{label}: no survivors to rerun", flush=True)
        return 0
    rechecked = _fresh_results()             # mutmut's new verdicts replace earlier rechecks
    for n in [n for n in rechecked if not _fresh(n)]:
        if any(fnmatch.fnmatchcase(n, pat) for pat in names):
            _record_fresh(n, None)
    log_dir = ROOT / "mutants" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / (dotted(paths[0]) + ".log")
    cmd = ["mutmut", "run", "--max-children", str(max_children), *names]
    print(f"{label}: {' '.join(cmd[:4])} ({len(names)} pattern(s)); log {log.relative_to(ROOT)}",
          flush=True)
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        print(f"{label}: mutmut exited with {rc}; see {log}", flush=True)
    return rc


def _not_test_files(paths: list[str]) -> list[str]:
    """Those of `paths` that are not an existing test file tests/*.py of the project."""
    return [t for t in paths
            if not (t.startswith("tests/") and t.endswith(".py") and (ROOT / t).is_file())]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*", help="core modules (paths or dotted names); "
                    "'all' for every core module")
    ap.add_argument("--max-children", type=int, default=1,
                    help="mutants run in parallel (default 1: one core)")
    ap.add_argument("--survivors", action="store_true",
                    help="rerun only the module's mutants not yet killed (survived, no tests, "
                    "not run, interrupted) and not listed as equivalent")
    ap.add_argument("--decided-only", action="store_true",
                    help="with --survivors: rerun only mutants that have a verdict (survived, no "
                    "tests), not the ones never run")
    ap.add_argument("--together", action="store_true",
                    help="run the named modules in one mutmut run (one clean-test pass, a few "
                    "minutes of the whole suite, instead of one per module)")
    ap.add_argument("--recheck", action="store_true",
                    help="run the modules' decided survivors again, each in a fresh pytest "
                    "process against the whole test files that reach it (no mutmut run: no "
                    "stats or clean-test pass), after new tests were written")
    ap.add_argument("--with-tests", action="append", default=[], metavar="FILE",
                    help="with --recheck: also run this test file (one written since mutmut's "
                    "stats pass, which no recheck would otherwise pick); repeatable")
    ap.add_argument("--screen", action="append", default=[], metavar="FILE",
                    help="decide the modules' mutants not yet run without mutmut, each in a "
                    "fresh pytest process: first against these test files (repeatable), then, "
                    "if they miss it, against every test file that reaches it")
    ap.add_argument("--only", action="append", default=[], metavar="PATTERN",
                    help="with --screen: only the mutants whose names match (fnmatch, e.g. "
                    "'*SequenceLookupǁ_make_unseen*'); repeatable")
    ap.add_argument("--screen-only", action="store_true",
                    help="with --screen: stop after the screen files (what they miss keeps no "
                    "verdict; --survived lists it)")
    ap.add_argument("--check-equivalents", action="store_true",
                    help="run the modules' listed equivalents against the rules' pinned data "
                    "movement (tests/test_rule_costs.py, and --with-tests files), each in a "
                    "fresh process; exit 1 naming those it kills (not equivalent: remove them)")
    ap.add_argument("--report", action="store_true", help="print the counts only, run nothing")
    ap.add_argument("--list", action="store_true", help="list the core modules")
    ap.add_argument("--stale", action="store_true",
                    help="name the functions of the modules (default: every core module) new "
                    "or changed since the commit docs/mutation.md's summary table gives for "
                    "their verdicts, and the mutmut patterns that rerun them; exit 1 if any")
    ap.add_argument("--survived", action="store_true",
                    help="list the names of the mutants not yet killed (mutmut show NAME: the "
                    "diff)")
    a = ap.parse_args(argv)
    core = core_modules()
    if a.list:
        print("\n".join(core))
        return 0
    mods = core if a.modules == ["all"] else [module_path(m) for m in a.modules]
    unknown = [m for m in mods if m not in core]
    if unknown:
        print(f"error: not a core module (see --list): {', '.join(unknown)}", file=sys.stderr)
        return 2
    bad_tests = _not_test_files(a.with_tests)
    if bad_tests or (a.with_tests and not (a.recheck or a.check_equivalents)):
        print(f"error: --with-tests takes test files tests/*.py and goes with --recheck or "
              f"--check-equivalents: {', '.join(bad_tests) or 'neither given'}", file=sys.stderr)
        return 2
    bad_screen = _not_test_files(a.screen)
    if bad_screen or ((a.only or a.screen_only) and not a.screen) or (
            a.screen and (a.recheck or a.survivors)):
        why = (f"not a test file tests/*.py: {', '.join(bad_screen)}" if bad_screen else
               "--only and --screen-only go with --screen" if not a.screen else
               "--screen decides mutants not yet run: not with --recheck or --survivors")
        print(f"error: {why}", file=sys.stderr)
        return 2
    if a.stale:
        lines = mutation_stale.stale(mods or core, mutation_stale.summary_commits(),
                                     listed=sorted(equivalents()))
        print("\n".join(lines) or "every module's verdicts are for its current source")
        return 1 if lines else 0
    if a.survived:
        for m in mods or core:
            for n in survivors(m, equivalents()):
                print(n)
        return 0
    if not a.report:
        if not mods:
            ap.error("name the modules to run (or 'all')")
        (ROOT / "mutants").mkdir(exist_ok=True)
        lock = open(ROOT / "mutants" / ".mutation.lock", "w")
        try:                          # one run at a time: mutmut keeps its state in mutants/
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("error: another tools/mutation.py run is using mutants/", file=sys.stderr)
            return 2
        if a.check_equivalents:
            killed = check_equivalents(mods, a.max_children, a.with_tests)
            print("\n".join(["listed as equivalent but killed (remove the listings):", *killed])
                  if killed else "every listed equivalent run keeps the pinned data movement")
            return 1 if killed else 0
        for group in [mods] if a.together else [[m] for m in mods]:
            if a.recheck or a.screen:
                for m in group:
                    if a.screen:
                        screen_mutants(m, a.max_children, a.screen, a.only,
                                       follow=not a.screen_only)
                    else:
                        recheck_survivors(m, a.max_children, a.with_tests)
                continue
            run_modules(group, a.max_children, a.survivors, a.decided_only)
            for m in group:
                run_fresh_process_mutants(m, a.max_children)
    print(report(mods or core))
    return 0


if __name__ == "__main__":
    sys.exit(main())
