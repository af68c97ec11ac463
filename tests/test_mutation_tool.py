"""tools/mutation.py, the mutation-testing command (docs/mutation.md): which `mutmut run`s it
starts, and the counts and score it reports from mutmut's results, on a scratch project folder
(no mutmut run here)."""
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tool(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools"))          # its helper, mutation_stale
    spec = importlib.util.spec_from_file_location("mutation_tool", REPO / "tools" / "mutation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for rel in mod.core_modules():                # the core's layout, empty files
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    (tmp_path / "tools").mkdir()
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    monkeypatch.setattr(mod, "EQUIVALENT_FILE", tmp_path / "tools" / "mutation_equivalent.txt")
    monkeypatch.setattr(mod, "FRESH_RESULTS", tmp_path / "mutants" / "fresh_process_results.json")
    calls = []

    class Done:
        returncode = 0

    def fake_run(cmd, **kw):
        calls.append(cmd)
        done = Done()
        if "MUTANT_UNDER_TEST" in kw.get("env", {}):       # a fresh-process run: killed if 1
            done.returncode = int(kw["env"]["MUTANT_UNDER_TEST"].endswith("_1"))
            calls[-1] = (kw["env"]["MUTANT_UNDER_TEST"], cmd[cmd.index("no:cacheprovider") + 1:],
                         kw["cwd"].name)
        return done
    monkeypatch.setattr(mod.subprocess, "run", fake_run)
    mod.calls = calls
    return mod


def test_one_mutmut_run_per_module_or_one_for_all_with_together(tool, capsys):
    assert tool.main(["--max-children", "2", "harness/stats.py", "learners.rnn"]) == 0
    assert tool.calls == [["mutmut", "run", "--max-children", "2", "harness.stats.*"],
                          ["mutmut", "run", "--max-children", "2", "learners.rnn.*"]]
    tool.calls.clear()
    assert tool.main(["--together", "harness/stats.py", "learners/rnn.py"]) == 0
    assert tool.calls == [["mutmut", "run", "--max-children", "1", "harness.stats.*",
                           "learners.rnn.*"]]


def test_a_module_outside_the_core_is_refused(tool, capsys):
    assert tool.main(["harness/nowhere.py"]) == 2
    assert "not a core module" in capsys.readouterr().err and tool.calls == []


def write_meta(root, path, codes):
    meta = root / "mutants" / (path + ".meta")
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"exit_code_by_key": codes}))


def test_counts_score_and_the_survivors_rerun(tool, capsys):
    m = "learners.rnn.x_f__mutmut_"
    codes = {m + "1": 1, m + "2": 36, m + "3": -11, m + "4": 0, m + "5": 0, m + "6": None,
             m + "7": 33}
    write_meta(tool.ROOT, "learners/rnn.py", codes)
    tool.EQUIVALENT_FILE.write_text(f"# comment\n{m}5 cannot change behaviour: why\n")
    c = tool.counts("learners/rnn.py", tool.equivalents())
    assert (c["mutants"], c["killed"], c["timeout"], c["crashed"], c["survived"],
            c["equivalent"], c["not_checked"], c["no_tests"]) == (7, 3, 1, 1, 1, 1, 1, 1)
    assert c["score"] == 3 / 5                  # killed / (mutants - equivalent - not run)
    assert tool.main(["--report", "learners/rnn.py"]) == 0
    assert "| learners/rnn.py | 7 | 3 (1, 1) | 1 | 1 | 1 | 1 | 60.0% |" in capsys.readouterr().out
    # --survivors reruns the survivor, the no-tests and the not-run mutants; --decided-only
    # leaves the not-run one
    assert tool.main(["--survivors", "learners/rnn.py"]) == 0
    assert tool.calls[-1][4:] == [m + "4", m + "6", m + "7"]
    assert tool.main(["--survivors", "--decided-only", "learners/rnn.py"]) == 0
    assert tool.calls[-1][4:] == [m + "4", m + "7"]


def test_import_time_and_worker_functions_are_decided_in_a_fresh_process(tool, capsys):
    """mutmut cannot switch on a mutant of a function that runs only at import (the tracker's
    handler factories) or only in the pool's workers: its verdict is ignored (not run) until the
    tool has run the mutant in a fresh pytest process against the listed tests."""
    f = "metrics.tracking.rearranging.x__single__mutmut_"
    other = "metrics.tracking.rearranging.x__no_tracked_parameter__mutmut_1"
    write_meta(tool.ROOT, "metrics/tracking/rearranging.py", {f + "1": 0, f + "2": 0, other: 1})
    assert tool.results("metrics/tracking/rearranging.py") == {f + "1": None, f + "2": None,
                                                                other: 1}
    assert tool.main(["--survivors", "metrics/tracking/rearranging.py"]) == 0
    assert tool.calls == [(f + "1", tool.TRACKING_TESTS, "mutants"),
                          (f + "2", tool.TRACKING_TESTS, "mutants")]   # no mutmut run
    assert tool.results("metrics/tracking/rearranging.py") == {f + "1": 1, f + "2": 0, other: 1}
    assert "| metrics/tracking/rearranging.py | 3 | 2 (0, 0) | 1 | 0 | 0 |  | 66.7% |" in \
        capsys.readouterr().out
    tool.calls.clear()                                 # a rerun runs only the survivor
    assert tool.main(["--survivors", "metrics/tracking/rearranging.py"]) == 0
    assert [c[0] for c in tool.calls] == [f + "2"]


def test_survivors_are_rechecked_in_fresh_processes_against_their_whole_test_files(tool, capsys):
    """--recheck runs each decided survivor (not an equivalent, not a never-run mutant) in a
    fresh pytest process against the whole files of the tests mutmut found reaching it, the
    quickest file first, with the project's test selection; the verdict replaces mutmut's
    until mutmut runs that mutant again."""
    m = "harness.stats.x_verdict__mutmut_"
    write_meta(tool.ROOT, "harness/stats.py", {m + "1": 0, m + "2": 0, m + "3": 1, m + "4": None,
                                               m + "5": 0})
    tool.EQUIVALENT_FILE.write_text(f"{m}5 why\n")
    (tool.ROOT / "mutants" / "mutmut-stats.json").write_text(json.dumps({
        "tests_by_mangled_function_name": {"harness.stats.x_verdict": [
            "tests/test_slow.py::a", "tests/test_stats.py::b", "tests/test_stats.py::c",
            "tests/test_architecture.py::d"]},
        "duration_by_test": {"tests/test_slow.py::a": 9.0, "tests/test_stats.py::b": 1.0,
                             "tests/test_stats.py::c": 2.0}}))
    (tool.ROOT / "tests").mkdir()
    (tool.ROOT / "tests" / "test_stats.py").write_text("# the current tests\n")
    selection = ["--ignore=tests/test_architecture.py", "--ignore=tests/test_ray_backend.py",
                 "--deselect=tests/test_study_faults.py::test_ctrl_c_stops_promptly_without_traceback",
                 "--deselect=tests/test_study_faults.py::test_workers_exit_when_the_parent_dies"]
    assert tool.main(["--recheck", "harness/stats.py"]) == 0
    files = ["tests/test_stats.py", "tests/test_slow.py", *selection]
    assert tool.calls == [(m + "1", files, "mutants"), (m + "2", files, "mutants")]
    assert (tool.ROOT / "mutants" / "tests" / "test_stats.py").read_text() == "# the current tests\n"
    assert tool.results("harness/stats.py") == {m + "1": 1, m + "2": 0, m + "3": 1, m + "4": None,
                                                m + "5": 0}
    assert "| harness/stats.py | 5 | 2 (0, 0) | 1 | 1 | 0 | 1 | 66.7% |" in capsys.readouterr().out
    tool.calls.clear()                          # a mutmut rerun of the survivor drops its recheck
    assert tool.main(["--survivors", "--decided-only", "harness/stats.py"]) == 0
    assert tool.calls == [["mutmut", "run", "--max-children", "1", m + "2"]]
    assert json.loads(tool.FRESH_RESULTS.read_text()) == {m + "1": [1, None]}


def test_a_fresh_verdict_is_void_once_its_function_changes(tool, capsys):
    """A verdict decided in a fresh process is kept with mutmut's hash of the mutated function;
    when the function changes (mutmut regenerates its mutants, numbered afresh, and gives it a
    new hash) the verdict is void (not run) until the mutant runs again, while the verdicts of
    the module's unchanged functions stand."""
    f, g = "learners.rnn.x_f__mutmut_", "learners.rnn.xǁRNNǁg__mutmut_"
    meta = tool.ROOT / "mutants" / "learners" / "rnn.py.meta"

    def write(f_hash):
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": {f + "1": 0, f + "2": 0, g + "1": 0},
                                    "hash_by_function_name": {"x_f": f_hash, "xǁRNNǁg": "g0"}}))
    write("f0")
    (tool.ROOT / "tests").mkdir()
    (tool.ROOT / "tests" / "test_new.py").touch()
    (tool.ROOT / "mutants" / "mutmut-stats.json").write_text(json.dumps({
        "tests_by_mangled_function_name": {}, "duration_by_test": {}}))
    assert tool.main(["--recheck", "--with-tests", "tests/test_new.py", "learners/rnn.py"]) == 0
    assert json.loads(tool.FRESH_RESULTS.read_text()) == {f + "1": [1, "f0"], f + "2": [0, "f0"],
                                                          g + "1": [1, "g0"]}
    assert tool.results("learners/rnn.py") == {f + "1": 1, f + "2": 0, g + "1": 1}
    write("f1")                                           # x_f changed; its mutants renumbered
    assert tool.results("learners/rnn.py") == {f + "1": None, f + "2": None, g + "1": 1}
    tool.FRESH_RESULTS.write_text(json.dumps({g + "1": 1}))  # an older tool's: no hash
    assert tool.results("learners/rnn.py")[g + "1"] is None


def test_a_recheck_also_runs_test_files_written_since_the_stats_pass(tool, capsys):
    """--with-tests FILE (repeatable) runs a new test file first for every survivor rechecked,
    once even where the stats pass knew it; a file outside tests/, a missing one, or the option
    without --recheck is refused with one line, before anything runs."""
    m = "harness.stats.x_verdict__mutmut_"
    write_meta(tool.ROOT, "harness/stats.py", {m + "1": 0, m + "2": 1,
                                               "harness.stats.x_other__mutmut_1": 33})
    (tool.ROOT / "mutants" / "mutmut-stats.json").write_text(json.dumps({
        "tests_by_mangled_function_name": {"harness.stats.x_verdict": [
            "tests/test_stats.py::b", "tests/test_new.py::c"]},
        "duration_by_test": {"tests/test_stats.py::b": 1.0, "tests/test_new.py::c": 2.0}}))
    (tool.ROOT / "tests").mkdir()
    for f in ("test_stats.py", "test_new.py", "test_newer.py"):
        (tool.ROOT / "tests" / f).write_text("")
    assert tool.main(["--recheck", "--with-tests", "tests/test_newer.py", "--with-tests",
                      "tests/test_new.py", "harness/stats.py"]) == 0
    (files, no_tests_files), = [[c[1] for c in tool.calls]]
    assert files[:3] == ["tests/test_newer.py", "tests/test_new.py", "tests/test_stats.py"]
    assert files[3].startswith("--")
    # a mutant no test reached in the stats pass: rechecked against the new files alone
    assert tool.calls[1][0] == "harness.stats.x_other__mutmut_1"
    assert no_tests_files[:2] == ["tests/test_newer.py", "tests/test_new.py"]
    assert no_tests_files[2].startswith("--")
    tool.calls.clear()
    tool.FRESH_RESULTS.unlink()                                 # forget the verdicts above
    assert tool.main(["--recheck", "harness/stats.py"]) == 0       # without new files: not
    assert [c[0] for c in tool.calls] == [m + "1"]
    tool.calls.clear()
    for bad in (["--recheck", "--with-tests", "tests/test_missing.py"],
                ["--recheck", "--with-tests", "pyproject.toml"],
                ["--with-tests", "tests/test_new.py"]):
        assert tool.main([*bad, "harness/stats.py"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --with-tests takes test files tests/*.py and goes with "
                              "--recheck or --check-equivalents: ") and err.count("\n") == 1
    assert tool.calls == []


def test_listed_equivalents_are_checked_against_the_pinned_data_movement(tool, capsys):
    """--check-equivalents runs every listed equivalent of the modules (and no other mutant)
    in a fresh process against the rules' pinned data movement (and --with-tests files): one
    that moves different data is killed, recorded as killed (so --report flags its listing as
    stale) and named, exit 1; none killed, exit 0."""
    m = "learners.rnn.x_f__mutmut_"
    write_meta(tool.ROOT, "learners/rnn.py", {m + "1": 0, m + "2": 0, m + "3": 1, m + "4": None})
    tool.EQUIVALENT_FILE.write_text(f"{m}1 same numbers\n{m}2 same numbers\n")
    (tool.ROOT / "tests").mkdir()
    (tool.ROOT / "tests" / "test_new.py").write_text("")
    assert tool.main(["--check-equivalents", "--with-tests", "tests/test_new.py",
                      "learners/rnn.py"]) == 1
    assert tool.calls == [(m + "1", ["tests/test_rule_costs.py", "tests/test_new.py"], "mutants"),
                          (m + "2", ["tests/test_rule_costs.py", "tests/test_new.py"], "mutants")]
    out = capsys.readouterr().out
    assert out.endswith(f"listed as equivalent but killed (remove the listings):\n{m}1\n")
    assert tool.results("learners/rnn.py")[m + "1"] == 1 and m + "2" not in tool._fresh_results()
    assert tool.main(["--report", "learners/rnn.py"]) == 0
    assert m + "1" in capsys.readouterr().out                    # the stale listing, named
    tool.EQUIVALENT_FILE.write_text(f"{m}2 same numbers\n")
    tool.calls.clear()
    assert tool.main(["--check-equivalents", "learners/rnn.py"]) == 0
    assert [c[0] for c in tool.calls] == [m + "2"]
    assert capsys.readouterr().out.endswith("keeps the pinned data movement\n")


def test_under_a_mutation_run_new_tests_then_the_fastest_files_run_first(tmp_path, monkeypatch):
    """tests/conftest.py orders a mutant's tests: those the stats pass has not seen (written
    since, as a recheck runs them) first, then files by their quickest test and tests by
    duration, files kept contiguous; without MUTANT_UNDER_TEST, pytest's order."""
    (tmp_path / "tests").mkdir()
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "tests" / "conftest.py")
    (tmp_path / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": {
        "tests/test_a.py::slow": 9.0, "tests/test_a.py::quick": 3.0,
        "tests/test_b.py::one": 1.0, "tests/test_b.py::two": 5.0}}))
    spec = importlib.util.spec_from_file_location("conftest_copy",
                                                  tmp_path / "tests" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    class Item:
        def __init__(self, nodeid):
            self.nodeid = nodeid
    ids = ["tests/test_a.py::slow", "tests/test_a.py::quick", "tests/test_b.py::two",
           "tests/test_b.py::one", "tests/test_new.py::x", "tests/test_new.py::y"]
    items = [Item(i) for i in ids]
    monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    conftest.pytest_collection_modifyitems(None, items)
    assert [it.nodeid for it in items] == ids
    monkeypatch.setenv("MUTANT_UNDER_TEST", "metrics.liveness.x_f__mutmut_1")
    conftest.pytest_collection_modifyitems(None, items)
    assert [it.nodeid for it in items] == [
        "tests/test_new.py::x", "tests/test_new.py::y", "tests/test_b.py::one",
        "tests/test_b.py::two", "tests/test_a.py::quick", "tests/test_a.py::slow"]


def test_a_listed_equivalent_that_a_test_kills_is_counted_killed_and_named(tool, capsys):
    """An equivalent mutant cannot be killed: a listed one that was is a stale listing (its
    function changed and mutmut renumbered the mutants), counted as killed and named."""
    m = "harness.stats.x_verdict__mutmut_"
    write_meta(tool.ROOT, "harness/stats.py", {m + "1": 1, m + "2": 0, m + "3": 0})
    tool.EQUIVALENT_FILE.write_text(f"{m}1 was equivalent once\n{m}2 is equivalent\n")
    c = tool.counts("harness/stats.py", tool.equivalents())
    assert (c["killed"], c["equivalent"], c["survived"], c["stale"]) == (1, 1, 1, [m + "1"])
    assert tool.main(["--report", "harness/stats.py"]) == 0
    out = capsys.readouterr().out
    assert "| harness/stats.py | 3 | 1 (0, 0) | 1 | 1 | 0 |  | 50.0% |" in out
    assert out.rstrip().endswith(f"mend the file: {m}1")
    write_meta(tool.ROOT, "harness/stats.py", {m + "1": 0, m + "2": 0, m + "3": 0})
    assert tool.main(["--report", "harness/stats.py"]) == 0
    assert "stale" not in capsys.readouterr().out


def test_a_screen_decides_mutants_not_yet_run_then_sends_its_survivors_to_every_test(
        tool, capsys, monkeypatch):
    """--screen FILE runs each mutant not yet run (of the functions --only names) in a fresh
    pytest process against the screen's files; a mutant the screen kills is killed, one it
    misses runs against the other files that reach it, and that is its verdict. Decided,
    equivalent and unnamed mutants are left alone; a screen failing unmutated stops the run."""
    m = "harness.stats.x_verdict__mutmut_"
    lone = "harness.stats.x_lone__mutmut_3"      # survives the screen; no other file reaches it
    other = "harness.stats.x_other__mutmut_7"
    write_meta(tool.ROOT, "harness/stats.py", {m + "1": None, m + "2": None, m + "3": None,
                                               m + "4": 0, m + "5": None, lone: None,
                                               other: None})
    tool.EQUIVALENT_FILE.write_text(f"{m}5 why\n")
    (tool.ROOT / "mutants" / "mutmut-stats.json").write_text(json.dumps({
        "tests_by_mangled_function_name": {
            "harness.stats.x_verdict": ["tests/test_screen.py::a", "tests/test_slow.py::b"],
            "harness.stats.x_lone": ["tests/test_screen.py::a"]},
        "duration_by_test": {"tests/test_screen.py::a": 1.0, "tests/test_slow.py::b": 9.0}}))
    (tool.ROOT / "tests").mkdir()
    (tool.ROOT / "tests" / "test_screen.py").write_text("")
    runs = []

    def fake_pytest(name, tests, timeout_s):
        runs.append((name, [t for t in tests if not t.startswith("-")], timeout_s))
        if name == "none":
            return 0
        if "tests/test_screen.py" in tests:
            return int(name.endswith("_1"))         # the screen kills _1 only
        return int(name.endswith("_2"))             # the slow file kills _2
    monkeypatch.setattr(tool, "_pytest_in_mutants", fake_pytest)
    assert tool.main(["--screen", "tests/test_screen.py", "--only", "*x_verdict*", "--only",
                      "*x_lone*", "harness/stats.py"]) == 0
    screen = ["tests/test_screen.py"]
    assert [(n, t) for n, t, _ in runs] == [
        ("none", screen), (m + "1", screen), (m + "2", screen), (m + "3", screen),
        (lone, screen), (m + "2", ["tests/test_slow.py"]), (m + "3", ["tests/test_slow.py"])]
    screen_timeout, full_timeout = runs[1][2], runs[-1][2]
    assert 50 <= screen_timeout < 60 and full_timeout == tool.FRESH_TIMEOUT_S
    assert tool.results("harness/stats.py") == {m + "1": 1, m + "2": 1, m + "3": 0, m + "4": 0,
                                                m + "5": None, lone: 0, other: None}
    assert "1 killed by the screen; 3 to the tests" in capsys.readouterr().out
    write_meta(tool.ROOT, "harness/stats.py", {m + "8": None, m + "9": None})
    assert tool.main(["--screen", "tests/test_screen.py", "--screen-only", "harness/stats.py"]) == 0
    assert [n for n, _, _ in runs[-2:]] == [m + "8", m + "9"]          # the screen alone
    assert tool.results("harness/stats.py") == {m + "8": None, m + "9": None}
    assert "0 killed by the screen; 2 left without a verdict" in capsys.readouterr().out
    write_meta(tool.ROOT, "harness/stats.py", {m + "1": None, m + "2": None, m + "3": None,
                                               m + "4": 0, m + "5": None, lone: None,
                                               other: None})
    runs.clear()                                    # screened mutants are not screened again
    assert tool.main(["--screen", "tests/test_screen.py", "--only", "*x_verdict*",
                      "harness/stats.py"]) == 0
    assert runs == [] and "no mutant left to screen" in capsys.readouterr().out
    monkeypatch.setattr(tool, "_pytest_in_mutants", lambda name, tests, timeout_s: 1)
    with pytest.raises(SystemExit, match=r"^error: the screen fails without a mutant"):
        tool.main(["--screen", "tests/test_screen.py", "harness/stats.py"])
    for bad, why in ((["--screen", "pyproject.toml"], "not a test file tests/*.py: pyproject"),
                     (["--only", "*x*"], "--only and --screen-only go with --screen"),
                     (["--screen-only"], "--only and --screen-only go with --screen"),
                     (["--screen", "tests/test_screen.py", "--recheck"], "--screen decides")):
        assert tool.main([*bad, "harness/stats.py"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {why}") and err.count("\n") == 1
