"""One command line for every study: bad inputs end in one line on stderr and exit code 2 (no
traceback); --quick fills only what was not given; a fuzz over the flags finds no other outcome."""
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from studies import compare_learners, rule_report, scaling, tune  # noqa: E402
from studies.common import begin, cli  # noqa: E402


def dry(module, argv):
    """Everything a study does before its first run: parse, check learners and hyperparameters,
    claim the folder."""
    def start(a):
        args = module.parse_args(a)
        task_kwargs = (compare_learners.task_list(args)[0] if module is compare_learners
                       else None)
        if module is not tune:
            begin(args, module.STUDY, task_kwargs, getattr(module, "RESERVED", None))
        return 0
    return cli(start, argv)


def outcome(capsys, module, argv, run=dry):
    try:
        code = run(module, argv)
    except SystemExit as e:        # argparse's own errors
        code = e.code
    err = capsys.readouterr().err.strip()
    return code, err


def one_line_error(code, err, *words):
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("module, argv, words", [
    (compare_learners, ["--dataset-seed", "-1"], ["--dataset-seed", "-1"]),
    (compare_learners, ["--max-update-reads", "nan"], ["--max-update-reads", "finite"]),
    (compare_learners, ["--seeds", "0"], ["--seeds"]),
    (compare_learners, ["--seeds", "2.5"], ["--seeds"]),
    (compare_learners, ["--learners", "bptt,bptt"], ["listed", "once"]),
    (compare_learners, ["--learners", "bptt,learners.bptt:BPTT"], ["same learner"]),
    (compare_learners, ["--learners", "bptt,,tbptt"], ["empty name"]),
    (compare_learners, ["--learners", "nope"], ["unknown learner 'nope'"]),
    (compare_learners, ["--accuracy-only", "--measure-seeds", "3"], ["--measure-seeds"]),
    (compare_learners, ["--backend", "ray", "--workers", "1"], ["--workers"]),
    (compare_learners, ["--hyper", "bptt.nope=1", "--learners", "bptt"], ["nope"]),
    (compare_learners, ["--hyper", "tbptt.lr=0.1", "--learners", "bptt"], ["tbptt"]),
    (compare_learners, ["--hyper", "lr=1"], ["LEARNER.NAME=VALUE"]),
    (compare_learners, ["--run-timeout", "0"], ["--run-timeout"]),
    (scaling, ["--lengths", "1"], [">= 2"]),
    (scaling, ["--lengths", "abc"], ["--lengths"]),
    (scaling, ["--hidden", "0"], ["--hidden"]),
    (scaling, ["--schedules", "batched,sideways"], ["--schedules", "sideways"]),
    (scaling, ["--schedules", "online,online"], ["--schedules", "distinct"]),
    (scaling, ["--hyper", "bptt.n_hidden=8", "--learners", "bptt"], ["--hidden"]),
    (rule_report, ["--sweeps", "-3"], ["--sweeps"]),
    (rule_report, ["--hyper", "bptt.lr=1"], ["--hyper"]),
    (tune, ["--learners", "bptt", "--budget", "0"], ["--budget"]),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, module, argv, words):
    code, err = outcome(capsys, module, argv + ["--out", str(tmp_path / "o")])
    one_line_error(code, err, *words)


def test_out_that_is_a_file(capsys, tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    code, err = outcome(capsys, compare_learners, ["--out", str(f)])
    one_line_error(code, err, "not a folder")


def test_rule_module_with_a_syntax_error(capsys, tmp_path, monkeypatch):
    (tmp_path / "broken_rule_mod.py").write_text("def oops(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, err = outcome(capsys, compare_learners, ["--learners", "broken_rule_mod:R",
                                                   "--out", str(tmp_path / "o")])
    one_line_error(code, err, "SyntaxError", "broken_rule_mod:R")


def test_tune_unknown_learner(capsys, tmp_path):
    code, err = outcome(capsys, tune, ["--learners", "nope", "--out", str(tmp_path / "o")],
                        run=lambda m, a: m.main(a))
    one_line_error(code, err, "unknown learner 'nope'")


def test_quick_sets_only_what_was_not_given():
    a = compare_learners.parse_args(["--quick", "--seeds", "10"])
    assert a.seeds == 10 and a.sweeps == compare_learners.QUICK["sweeps"]
    assert a.out == compare_learners.QUICK["out"]
    a = compare_learners.parse_args(["--quick", "--sweeps", "7", "--max-update-reads", "5"])
    assert a.sweeps == 7 and a.max_update_reads == 5 and a.seeds == 2
    a = compare_learners.parse_args([])
    assert a.seeds == 5 and a.measure_seeds == 1 and a.out == "results/compare_learners"
    a = compare_learners.parse_args(["--full", "--seeds", "3"])
    assert a.seeds == 3 and a.dataset_seeds == 5 and a.schedules == ["batched", "per_sequence",
                                                                      "online"]
    s = scaling.parse_args(["--quick", "--hidden", "8,8,4"])
    assert s.hidden == (4, 8) and s.lengths == scaling.QUICK["lengths"]
    t = tune.parse_args(["--learners", "bptt", "--quick", "--tune-seeds", "5", "6"])
    assert t.tune_seeds == [5, 6] and t.budget == 2


def test_hyper_reaches_the_specs():
    a = compare_learners.parse_args(["--hyper", "bptt.lr=0.05", "--hyper", "bptt.clip=2"])
    from studies.common import hyper_by_learner
    h = hyper_by_learner(a.hyper, ["bptt", "tbptt"])
    runs = compare_learners.learner_runs(["bptt", "tbptt"], h, "defaults", v1_row=True)
    specs = compare_learners.build_specs(runs, 1, 5, [{}])
    assert specs[0]["hyper"] == {"lr": 0.05, "clip": 2} and specs[1]["hyper"] == {}
    assert specs[2]["label"] == "bptt_v1" and specs[2]["hyper"] == {}


FLAGS = ["--seeds", "--sweeps", "--workers", "--learners", "--quick", "--no-progress",
         "--backend", "--run-timeout", "--hyper", "--measure-seeds", "--max-update-reads",
         "--whole-run-seeds", "--whole-run-max-reads", "--dataset-seeds", "--accuracy-only",
         "--full", "--schedules", "--reference", "--config",
         "--variable-timing", "--lengths", "--hidden", "--max-reads", "--force", "--bogus"]
VALUES = ["0", "1", "2", "-1", "2.5", "nan", "inf", "1e3", "", "bptt", "bptt,bptt", "nope",
          "bptt,tbptt", "5,10", "ray", "local", "bptt.lr=0.1", "bptt.lr=abc", "x=1",
          "failing_rules:Explodes", "tests:nope", "1,0"]


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(module=st.sampled_from([compare_learners, scaling, rule_report]),
       argv=st.lists(st.sampled_from(FLAGS) | st.sampled_from(VALUES), max_size=6))
def test_fuzz_flags_give_success_or_a_clean_error(capsys, tmp_path_factory, module, argv):
    out = tmp_path_factory.mktemp("fuzz")
    code, err = outcome(capsys, module, argv + ["--out", str(out / "o")])
    assert code in (0, 2), (argv, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        assert len(err.splitlines()) == 1, (argv, err)


def test_console_scripts_point_at_study_mains():
    import importlib
    import tomllib
    root = Path(__file__).resolve().parents[1]
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"compare-learners", "learner-scaling", "rule-report", "tune-learner",
            "replot"} <= set(scripts)
    for target in scripts.values():
        module, _, func = target.partition(":")
        assert callable(getattr(importlib.import_module(module), func)), target


def test_help_of_every_study_shows_the_shared_flags(capsys):
    for module in (compare_learners, scaling, rule_report):
        with pytest.raises(SystemExit) as e:
            module.parse_args(["--help"])
        assert e.value.code == 0
        text = capsys.readouterr().out
        for flag in ("--seeds", "--workers", "--out", "--quick", "--no-progress", "--backend",
                     "--run-timeout", "--force", "--hyper"):
            assert flag in text, (module.__name__, flag)
