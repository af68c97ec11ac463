"""studies/movement.py piece by piece, with the measurements faked (harness.measure's
measure_update / measure_run replaced by stand-ins that return a fixed report or raise): which
figures a measured update fills in and from what, every note a skipped or failed measurement
leaves (and its wording), which arguments each measurement is given, and the frames built from
the rows (filled seeds, derived columns, curves). The real measurements are checked end to end
in test_cost_accounting.py and test_study_movement.py."""
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import harness.measure
import metrics
from metrics.tracking.errors import ReadBudgetExceeded
from studies import movement
from studies.movement import (DEFAULT_MAX_UPDATE_READS, DEFAULT_REUSE_MAX_READS,
                              DEFAULT_WHOLE_RUN_MAX_READS, MOVEMENT_COLUMNS, curves_frame,
                              fill_unmeasured, finish_movement_frame, history_frame,
                              results_frame, update_columns)


def fake_report(bytedmd=1000, reads=400, **kw):
    """What harness.measure.measure_update returns, with round numbers."""
    rep = dict(bytedmd=bytedmd, reads=reads, writes=100, read_bytes=3200, escapes=2,
               peak_live_bytes=4096, ard=1.5, dmc=2.5, mean_reuse_distance=7.25,
               by_phase=pd.DataFrame({"phase": ["forward", "credit"], "bytedmd": [600, 400]}),
               by_label=pd.DataFrame({"label": ["W"], "reads": [4]}),
               reuse_histogram={"distance": [1, 2], "count": [3, 4]})
    rep.update(kw)
    return SimpleNamespace(**rep)


class Recorder:
    """A stand-in for a measurement: records its calls, then returns or raises `outcome`."""

    def __init__(self, outcome):
        self.outcome, self.calls = outcome, []

    def __call__(self, learner, task, **kw):
        self.calls.append((learner, task, kw))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


@pytest.fixture
def task():
    from harness.sweep import make_task
    return make_task(None)


def test_failures_are_named_by_type_and_first_line():
    assert movement._failed(ValueError("first\nsecond")) == "failed: ValueError: first"
    assert movement._failed(RuntimeError()) == "failed: RuntimeError: "
    assert movement._over_budget(ReadBudgetExceeded(10, 5))

    class Narrower(ReadBudgetExceeded):
        pass
    assert movement._over_budget(Narrower(10, 5))
    assert not movement._over_budget(RuntimeError("tracked program exceeded its read budget"))


def test_update_columns_are_integers_with_a_missing_phase_at_zero():
    cols = update_columns(fake_report(bytedmd=1000.0, reads=400.0))
    assert cols == {"bytedmd": 1000, "reads": 400, "writes": 100, "read_bytes": 3200,
                    "escapes": 2, "bytedmd_forward": 600, "bytedmd_credit": 400,
                    "bytedmd_update": 0}
    assert all(type(v) is int for v in cols.values())


# ---- one measured update ------------------------------------------------------------------------

def test_a_measured_update_fills_its_figures_and_the_cost_to_criterion(monkeypatch, task):
    measure = Recorder((fake_report(), "the trace"))
    monkeypatch.setattr(harness.measure, "measure_update", measure)
    monkeypatch.setattr(metrics, "energy", lambda trace: SimpleNamespace(
        total_pj=12.5 if trace == "the trace" else None))
    row = {"converged_sweep": 5}
    spec = {"learner": "bptt", "seed": 3}
    rep = movement._measure_update(spec, task, row)
    assert rep is measure.outcome[0]
    assert row["per_update_measured"] is True and row["update_note"] is None
    assert row["bytedmd_per_update"] == 1000 and "bytedmd" not in row
    assert (row["reads"], row["writes"], row["read_bytes"], row["escapes"]) == (400, 100, 3200, 2)
    assert (row["bytedmd_forward"], row["bytedmd_credit"], row["bytedmd_update"]) == (600, 400, 0)
    assert row["update_peak_live_bytes"] == 4096
    assert (row["ard"], row["dmc"], row["mean_reuse_distance"]) == (1.5, 2.5, 7.25)
    assert row["energy_pj_per_update"] == 12.5
    assert row["by_label"] == {"label": ["W"], "reads": [4]}
    assert row["reuse_histogram"] == {"distance": [1, 2], "count": [3, 4]}
    assert row["bytedmd_to_criterion"] == 4 * 1000      # sweep 5 is logged after 4 updates
    (learner, t, kw), = measure.calls
    assert learner.name == "bptt" and t is task
    assert kw == {"seed": 3, "warm_sweeps": 3, "reuse": True, "max_reads": DEFAULT_MAX_UPDATE_READS,
                  "return_trace": True, "reuse_max_reads": DEFAULT_REUSE_MAX_READS,
                  "bytes_per_element": 8, "price_as": None}


def test_the_spec_sets_the_update_measurement_and_a_run_that_never_converged_has_no_cost(
        monkeypatch, task):
    measure = Recorder((fake_report(reads=400, reuse_histogram=None), None))
    monkeypatch.setattr(harness.measure, "measure_update", measure)
    monkeypatch.setattr(metrics, "energy", lambda trace: SimpleNamespace(total_pj=1.0))
    row = {"converged_sweep": None}
    spec = {"learner": "bptt", "warm_sweeps": 1, "max_update_reads": 5e6, "reuse_max_reads": 399,
            "bytes_per_element": 4}
    movement._measure_update(spec, task, row)
    kw = measure.calls[0][2]
    assert (kw["seed"], kw["warm_sweeps"], kw["max_reads"], kw["reuse_max_reads"]) == (0, 1, 5000000, 399)
    assert type(kw["max_reads"]) is int and kw["bytes_per_element"] == 4
    assert "energy_pj_per_update" not in row            # 400 reads > 399: no energy trace priced
    assert row["reuse_histogram"] is None and row["bytedmd_to_criterion"] is None
    row = {"converged_sweep": 1}
    movement._measure_update(dict(spec, reuse_max_reads=400), task, row)
    assert "energy_pj_per_update" in row and row["bytedmd_to_criterion"] == 0   # at the boundary


@pytest.mark.parametrize("whole_run", [False, True])
def test_an_update_over_its_read_budget_is_skipped_with_its_reason(monkeypatch, task, whole_run):
    monkeypatch.setattr(harness.measure, "measure_update",
                        Recorder(ReadBudgetExceeded(2001, 2000)))
    row = {}
    spec = {"learner": "bptt", "max_update_reads": 2000, "whole_run": whole_run}
    assert movement._measure_update(spec, task, row) is None
    assert row["update_note"] == "skipped: one update makes more than 2e+03 reads (--max-update-reads)"
    assert row["reads_lower_bound"] == 2001
    assert row["whole_run_note"] == ("skipped: the per-update measurement was skipped" if whole_run
                                     else "not requested (seed >= --whole-run-seeds)")
    assert "bytedmd_per_update" not in row and "per_update_measured" not in row


def test_an_over_budget_error_without_a_read_count_leaves_the_bound_unknown(monkeypatch, task):
    class ReadBudgetExceeded(Exception):       # another tracker's, known by its name only
        pass
    assert movement._over_budget(ReadBudgetExceeded())
    monkeypatch.setattr(harness.measure, "measure_update", Recorder(ReadBudgetExceeded()))
    row = {}
    assert movement._measure_update({"learner": "bptt", "max_update_reads": 5}, task, row) is None
    assert row["reads_lower_bound"] is None and row["update_note"].startswith("skipped: ")


@pytest.mark.parametrize("whole_run", [False, True])
def test_a_failed_update_measurement_keeps_the_row_with_its_reason(monkeypatch, task, whole_run):
    monkeypatch.setattr(harness.measure, "measure_update", Recorder(TypeError("np.foo\nmore")))
    row = {}
    assert movement._measure_update({"learner": "bptt", "whole_run": whole_run}, task, row) is None
    assert row["update_note"] == "failed: TypeError: np.foo"
    assert "reads_lower_bound" not in row
    assert row["whole_run_note"] == ("skipped: the per-update measurement failed" if whole_run
                                     else "not requested (seed >= --whole-run-seeds)")


def test_an_update_not_asked_for_is_noted_and_not_measured(monkeypatch, task):
    monkeypatch.setattr(harness.measure, "measure_update", Recorder(AssertionError("called")))
    row = {}
    assert movement._measure_update({"learner": "bptt", "measure": False}, task, row) is None
    assert row == {"update_note": "not requested (seed >= --measure-seeds)",
                   "whole_run_note": "not requested (seed >= --whole-run-seeds)"}


# ---- the same update in the other schedules -------------------------------------------------------

def test_other_schedules_are_measured_or_noted_one_by_one(monkeypatch, task):
    outcomes = {"per_sequence": fake_report(bytedmd=777.6), "online": RuntimeError("bad\nx")}
    calls = []

    def measure(learner, task, **kw):
        calls.append(kw)
        out = outcomes[kw["schedule"]]
        if isinstance(out, BaseException):
            raise out
        return out
    monkeypatch.setattr(harness.measure, "measure_update", measure)
    row = {"reads": 10}
    movement._schedules({"learner": "bptt", "seed": 2, "schedules": ["batched", "per_sequence",
                                                                     "online"]}, task, row)
    assert row["bytedmd_per_update_per_sequence"] == 777 and "bytedmd_per_update_online" not in row
    assert row["schedule_note"] == "online: failed: RuntimeError: bad"
    assert [c["schedule"] for c in calls] == ["per_sequence", "online"]      # batched: measured
    assert calls[0] == {"seed": 2, "warm_sweeps": 3, "reuse": False,
                        "max_reads": DEFAULT_MAX_UPDATE_READS, "schedule": "per_sequence",
                        "bytes_per_element": 8, "price_as": None}


def test_schedules_a_rule_lacks_or_over_budget_are_noted(monkeypatch, task):
    measure = Recorder(ReadBudgetExceeded(9, 8))
    monkeypatch.setattr(harness.measure, "measure_update", measure)
    row = {"reads": 10}
    movement._schedules({"learner": "snap1", "schedules": ["online", "per_sequence"],
                         "max_update_reads": 8.0, "warm_sweeps": 1}, task, row)
    assert row["schedule_note"] == ("online: not supported; "
                                    "per_sequence: skipped (over --max-update-reads)")
    learner, given_task, kw = measure.calls[0]    # the spec's settings; no seed in it: seed 0
    assert given_task is task and type(learner).__name__ == "SnAp1"
    assert (kw["seed"], kw["warm_sweeps"], kw["max_reads"]) == (0, 1, 8)
    assert type(kw["max_reads"]) is int
    row = {"reads": 10}
    movement._schedules({"learner": "snap1", "schedules": ["batched"]}, task, row)
    assert row == {"reads": 10, "schedule_note": None}


def test_other_schedules_are_skipped_when_the_batched_update_reads_too_much(monkeypatch, task):
    monkeypatch.setattr(harness.measure, "measure_update", Recorder(AssertionError("called")))
    row = {"reads": 30_000_001}
    movement._schedules({"learner": "bptt", "schedules": ["online"]}, task, row)
    assert row["schedule_note"] == ("other schedules skipped: the batched update makes 3e+07 "
                                    "reads > 2e+07")
    row = {"reads": 101}
    movement._schedules({"learner": "bptt", "schedules": ["online"], "reuse_max_reads": 100},
                        task, row)
    assert row["schedule_note"] == "other schedules skipped: the batched update makes 1e+02 reads > 1e+02"
    row = {"reads": 100}                                  # at the cap: measured
    monkeypatch.setattr(harness.measure, "measure_update", Recorder(fake_report(bytedmd=5)))
    movement._schedules({"learner": "bptt", "schedules": ["online"], "reuse_max_reads": 100},
                        task, row)
    assert row["bytedmd_per_update_online"] == 5 and row["schedule_note"] is None
    row = {"reads": 30_000_001}                           # only batched asked: nothing to skip
    movement._schedules({"learner": "bptt", "schedules": ["batched"]}, task, row)
    assert row["schedule_note"] is None


# ---- the whole run --------------------------------------------------------------------------------

def _run_row(**kw):
    return {"updates": 50, "unseen_acc": 0.6, "converged_sweep": 12, **kw}


def test_a_whole_run_is_measured_within_its_budget_and_must_agree(monkeypatch, task):
    wrep = SimpleNamespace(bytedmd=123456, reads=20000,
                           by_phase=pd.DataFrame({"phase": ["forward"], "bytedmd": [1]}))
    result = SimpleNamespace(unseen_acc=0.6, converged_sweep=12)
    measure = Recorder((result, wrep))
    monkeypatch.setattr(harness.measure, "measure_run", measure)
    row = _run_row()
    spec = {"learner": "bptt", "whole_run": True, "seed": 4, "sweeps": 50,
            "whole_run_max_reads": 20000}
    movement._whole_run(spec, task, row, fake_report(reads=400))     # 400 x 50 = the budget
    assert (row["bytedmd_whole_run"], row["whole_run_reads"]) == (123456, 20000)
    assert row["whole_run_by_phase"] == {"phase": ["forward"], "bytedmd": [1]}
    assert measure.calls[0][2] == {"seed": 4, "sweeps": 50, "reads_estimate": 20000,
                                   "bytes_per_element": 8, "price_as": None}
    measure.outcome = (SimpleNamespace(unseen_acc=0.6, converged_sweep=13), wrep)
    with pytest.raises(RuntimeError, match="^tracked whole run disagrees with the plain run"):
        movement._whole_run(spec, task, _run_row(), fake_report(reads=400))
    measure.outcome = (SimpleNamespace(unseen_acc=0.55, converged_sweep=12), wrep)
    with pytest.raises(RuntimeError, match="^tracked whole run disagrees with the plain run: "
                       "instrumentation changed the numbers$"):
        movement._whole_run(spec, task, _run_row(), fake_report(reads=400))


def test_a_whole_run_over_budget_failed_or_not_asked_is_noted(monkeypatch, task):
    measure = Recorder(MemoryError())
    monkeypatch.setattr(harness.measure, "measure_run", measure)
    row = _run_row()
    movement._whole_run({"learner": "bptt", "whole_run": True, "whole_run_max_reads": 19999},
                        task, row, fake_report(reads=400))
    assert row["whole_run_note"] == ("skipped: about 2e+04 reads > budget 2e+04 "
                                     "(--whole-run-max-reads)")
    assert not measure.calls
    row = _run_row(updates=DEFAULT_WHOLE_RUN_MAX_READS // 400 + 1)
    movement._whole_run({"learner": "bptt", "whole_run": True}, task, row, fake_report(reads=400))
    assert row["whole_run_note"].startswith("skipped: about 1.5e+09 reads > budget 1.5e+09")
    row = _run_row()
    movement._whole_run({"learner": "bptt", "whole_run": True}, task, row, fake_report(reads=400))
    assert row["whole_run_note"] == "failed: MemoryError: " and "bytedmd_whole_run" not in row
    row = _run_row()
    movement._whole_run({"learner": "bptt"}, task, row, fake_report())
    assert row["whole_run_note"] == "not requested (seed >= --whole-run-seeds)"
    assert len(measure.calls) == 1
    assert measure.calls[0][2]["seed"] == 0      # no seed in the spec: seed 0, as train_run's


# ---- the row of a run ---------------------------------------------------------------------------

def test_a_run_not_measured_has_every_column_and_its_data_set(task):
    t0 = time.perf_counter()
    row = movement.movement_run({"learner": "bptt", "seed": 1, "sweeps": 2, "measure": False,
                                 "task": {"dataset_seed": 0}})
    assert 0 < row["measure_s"] <= time.perf_counter() - t0            # seconds, this call's
    assert set(MOVEMENT_COLUMNS) - {"learner", "seed"} <= set(row)
    assert row["dataset_seed"] == 0 and row["per_update_measured"] is False
    assert row["bytedmd_per_update"] is None and row["update_peak_heap_bytes"] is None
    assert row["update_note"] == "not requested (seed >= --measure-seeds)"
    assert row["updates"] == 2
    row = movement.movement_run({"learner": "bptt", "sweeps": 1, "measure": False})
    assert row["dataset_seed"] == 0
    row = movement.movement_run({"learner": "bptt", "sweeps": 1, "measure": False,
                                 "task": {"dataset_seed": 2}})
    assert row["dataset_seed"] == 2


def test_a_study_row_names_its_learner_and_seed():
    """The runner's result leaves the row's learner and seed (harness.sweep.execute) alone."""
    from harness.sweep import execute
    row = execute({"runner": "studies.movement:movement_run", "learner": "bptt", "seed": 1,
                   "sweeps": 1, "measure": False})
    assert row["error"] is None and (row["learner"], row["seed"]) == ("bptt", 1)


def test_the_runner_declares_the_fields_a_saved_row_must_have():
    assert movement.movement_run.fields == ("train_acc", "unseen_acc", "updates", "update_note",
                                            "whole_run_note")


# ---- the frames ---------------------------------------------------------------------------------

def _rows():
    base = {"learner": "r", "dataset_seed": 0, "updates": 10, "error": None}
    return [
        {**base, "seed": 0, "per_update_measured": True, "bytedmd_per_update": 100, "reads": 7,
         "ard": 1.0, "converged_sweep": 3, "bytedmd_to_criterion": 200},
        {**base, "seed": 1, "per_update_measured": True, "bytedmd_per_update": 301, "reads": 9,
         "ard": 2.0, "converged_sweep": 3, "bytedmd_to_criterion": 602, "dataset_seed": 1},
        {**base, "seed": 2, "per_update_measured": False, "converged_sweep": 4},
        {**base, "seed": 3, "per_update_measured": False, "converged_sweep": 4,
         "bytedmd_per_update": 50},                       # has its own figure: kept
        {**base, "seed": 4, "per_update_measured": False, "converged_sweep": 4, "error": "boom"},
        {**base, "learner": "q", "seed": 0, "per_update_measured": False, "converged_sweep": 2},
    ]


def test_results_frame_keeps_the_columns_asked_for_and_integer_columns():
    df = results_frame(_rows(), ["learner", "seed", "bytedmd_per_update", "ard"])
    assert list(df.columns) == ["learner", "seed", "bytedmd_per_update", "ard", "error"]
    assert str(df["bytedmd_per_update"].dtype) == "Int64" and str(df["ard"].dtype) == "float64"
    assert df["error"].tolist()[4] == "boom" and len(df) == 6
    empty = results_frame([], ["learner", "seed", "bytedmd_per_update"])   # no run to report
    assert empty.empty and list(empty.columns) == ["learner", "seed", "bytedmd_per_update", "error"]


def test_unmeasured_runs_take_the_median_when_programs_differ_and_say_so():
    df = fill_unmeasured(results_frame(_rows(), MOVEMENT_COLUMNS))
    two = df.iloc[2]
    assert two["bytedmd_per_update"] == 200 and two["reads"] == 8   # medians, rounded (200.5 -> 200)
    assert two["ard"] == 1.5 and two["bytedmd_to_criterion"] == 3 * 200
    assert two["update_note"] == (
        "median per-update cost of the measured runs [(0, 0), (1, 1)], whose programs differ "
        "(ByteDMD 100 to 301: the program depends on the run, e.g. on whether clipping fires "
        "or on the drawn connectivity)")
    assert df.iloc[3]["bytedmd_per_update"] == 50 and pd.isna(df.iloc[3]["update_note"])
    assert pd.isna(df.iloc[4]["bytedmd_per_update"]) and pd.isna(df.iloc[4]["update_note"])
    assert pd.isna(df.iloc[5]["bytedmd_per_update"])  # learner q: nothing measured to take
    assert df.iloc[0]["bytedmd_per_update"] == 100 and pd.isna(df.iloc[0]["update_note"])


def test_unmeasured_runs_take_an_identical_program_and_name_its_runs():
    rows = _rows()
    rows[1].update(bytedmd_per_update=100, reads=7, ard=3.0)
    df = fill_unmeasured(results_frame(rows, MOVEMENT_COLUMNS))
    two = df.iloc[2]
    assert two["bytedmd_per_update"] == 100 and two["ard"] == 1.0     # the first measured run's
    assert two["update_note"] == ("per-update cost of (data set, seed) [(0, 0), (1, 1)] "
                                  "(identical program on every measured run)")
    no_data_set = results_frame(rows, [c for c in MOVEMENT_COLUMNS if c != "dataset_seed"])
    note = fill_unmeasured(no_data_set).iloc[2]["update_note"]
    assert "[(0, 0), (0, 1)]" in note                      # no data-set column: data set 0
    rows[1].update(reads=9)                    # the same ByteDMD from different programs
    two = fill_unmeasured(results_frame(rows, MOVEMENT_COLUMNS)).iloc[2]
    assert two["reads"] == 8 and two["update_note"].startswith("median per-update cost")


def test_the_finished_frame_derives_cost_times_updates_and_flags():
    rows = _rows()
    rows[0]["per_update_measured"] = None
    df = finish_movement_frame(results_frame(rows, MOVEMENT_COLUMNS))
    assert df["per_update_x_updates"].tolist()[:4] == [1000, 3010, 3010, 500]  # seed 1's only
    assert str(df["per_update_x_updates"].dtype) == "Int64"
    assert df["per_update_measured"].tolist() == [False, True, False, False, False, False]
    assert str(df["ard"].dtype) == "float64" and str(df["energy_pj_per_update"].dtype) == "float64"
    assert all(str(df[c].dtype) == "Int64" for c in movement.INT_COLUMNS if c in df)
    rows[0]["per_update_measured"] = float("nan")                    # missing: not measured
    df = finish_movement_frame(results_frame(rows, MOVEMENT_COLUMNS))
    assert df["per_update_measured"].tolist()[:2] == [False, True]


def test_each_learner_is_filled_whatever_the_ones_before_it_lacked():
    rows = _rows()
    first = fill_unmeasured(results_frame(rows, MOVEMENT_COLUMNS))
    df = fill_unmeasured(results_frame(rows[-1:] + rows[:-1], MOVEMENT_COLUMNS))   # q first
    assert df["bytedmd_per_update"].tolist()[1:] == first["bytedmd_per_update"].tolist()[:-1]
    assert df["bytedmd_per_update"][3] == 200 and pd.isna(df["bytedmd_per_update"][0])


def test_history_and_curves_number_sweeps_from_one_with_the_cost_before_each():
    row = {"learner": "r", "seed": 0, "error": None,
           "history": {"loss": [0.5, 0.4, 0.3], "train_acc": [0.1, 0.2, 0.3],
                       "test_acc": [0.0, 0.0, 0.5]}}
    h = history_frame(row)
    assert list(h.columns) == ["sweep", "loss", "train_acc", "test_acc"]
    assert h["sweep"].tolist() == [1, 2, 3]
    df = pd.DataFrame({"learner": ["r", "s"], "seed": [0, 0], "bytedmd_per_update": [7, None]})
    failed = {**row, "learner": "x", "error": "boom"}
    empty = {**row, "learner": "y", "history": {}}
    other = {**row, "learner": "s"}
    c = curves_frame([row, failed, empty, other], df)
    assert c[c["learner"] == "r"]["bytedmd_cumulative"].tolist() == [0, 7, 14]
    assert c[c["learner"] == "s"]["bytedmd_cumulative"].isna().all()   # no per-update figure
    assert list(c.columns[:3]) == ["learner", "seed", "sweep"] and set(c["learner"]) == {"r", "s"}
    assert str(c["bytedmd_cumulative"].dtype) == "Int64"
    assert c.index.tolist() == list(range(6))              # one row label per row, not per run
    alone = curves_frame([row])                            # no frame of costs
    assert alone["bytedmd_cumulative"].isna().all()
    assert str(alone["bytedmd_cumulative"].dtype) == "Int64"       # integers when known, or NA
    none = curves_frame([failed])
    assert none.empty and list(none.columns) == ["learner", "seed", "sweep", "loss", "train_acc",
                                                 "test_acc", "bytedmd_cumulative"]


# ---- the memory of one update -------------------------------------------------------------------

class UpdateRecorder:
    """Wraps harness.training.run_update: records the state each update returns."""

    def __init__(self, real):
        self.real, self.states = real, []

    def __call__(self, *a, **kw):
        new_state, cache = self.real(*a, **kw)
        self.states.append(new_state)
        return new_state, cache


def _same_state(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("variable_timing", [False, True])
def test_the_update_whose_memory_is_measured_is_the_runs_first_update(monkeypatch,
                                                                       variable_timing):
    import harness.training
    from harness.sweep import make_learner, make_task
    from harness.training import train
    task = make_task({"variable_timing": variable_timing})
    spec = {"learner": "bptt", "seed": 3}
    first = train(make_learner(spec, task), task, seed=3, sweeps=1).state
    updates = UpdateRecorder(harness.training.run_update)
    monkeypatch.setattr(harness.training, "run_update", updates)
    movement.one_plain_update(make_learner(spec, task), task, 3)
    assert _same_state(updates.states[0], first)

    measured = []

    def peak(fn, *args):                 # harness.measure.peak_memory_bytes, without memray
        n = len(updates.states)
        fn(*args)
        measured.append(updates.states[n])
        return 4321.0, "profile"
    monkeypatch.setattr(harness.measure, "peak_memory_bytes", peak)
    row = {}
    movement._update_memory(spec, task, row)
    assert row == {"update_peak_heap_bytes": 4321} and type(row["update_peak_heap_bytes"]) is int
    assert len(measured) == 1 and _same_state(measured[0], first)
    if variable_timing:              # a spec without a seed: seed 0, as train_run's
        movement._update_memory({"learner": "bptt"}, task, row)
        assert _same_state(measured[1], train(make_learner(spec, task), task, seed=0,
                                              sweeps=1).state)
