"""The per_step task variant (harness/task.py): a target at every step, the teacher's code of the
prefix seen so far; the default stays the v1 task; the studies' --task flag, the task kind in
each run's key, and results folders that hold one task kind."""
import json

import numpy as np
import pytest

import harness
import learners
from harness.schedules import sequences
from harness.sweep import spec_key
from harness.task import SequenceLookup
from studies import common, compare_learners
from studies.common import StudyError


def prefix_code(task, seq, k):
    """sign(sum_{j <= k} W_teacher[:, seq_j] pos_weight[j] + b_teacher), sign(0) = +1, written
    out for one sequence."""
    z = task.b_teacher + sum(task.W_teacher[:, seq[j]] * task.pos_weight[j] for j in range(k + 1))
    return np.where(z >= 0, 1.0, -1.0)


def test_per_step_targets_are_the_codes_of_the_prefixes():
    task = SequenceLookup(target_kind="per_step")
    b = task.train_batch()
    seqs = task.sequences[task.train_idx]
    (S,) = b.step_targets
    assert S.shape == (20, 5, 3) and b.target_kind == "per_step"
    for i, s in enumerate(seqs):
        for k in range(5):
            assert np.array_equal(S[i, k], prefix_code(task, s, k)), (i, k)
    assert np.array_equal(S[:, -1], b.targets)
    assert np.array_equal(S[:, -1], task.targets(seqs))             # bit for bit the final code
    assert (S[:, :-1] != S[:, -1:]).any()        # the prefixes' codes are not all the final one


def test_per_step_targets_under_variable_timing_hold_each_letters_code():
    task = SequenceLookup(target_kind="per_step", variable_timing=True)
    b = task.train_batch(task.timing_rng(0))
    timings = task.timing_rng(0)
    seqs = task.sequences[task.train_idx]
    assert len(b.step_targets) == len(b.segments) == 20
    for s, x, S in zip(seqs, b.segments, b.step_targets):
        tm = timings.integers(1, task.max_timing + 1, size=task.length)   # the same draw
        assert x.shape[1] == S.shape[1] == tm.sum()
        want = np.repeat(np.array([prefix_code(task, s, k) for k in range(5)]), tm, axis=0)
        assert np.array_equal(S[0], want)
    for batch in (task.test_batch(), task.unseen_batch(), task.validation_batch()):
        assert all(np.array_equal(S[:, -1], t[None]) for S, t in zip(batch.step_targets,
                                                                     batch.targets))


def test_the_default_task_is_unchanged_and_per_step_draws_the_same_data():
    final, per = SequenceLookup(), SequenceLookup(target_kind="per_step")
    assert final.target_kind == "final" and final.train_batch().step_targets is None
    assert final.train_batch().target_kind == "final"
    for name in ("sequences", "train_idx", "test_idx", "unseen_sequences", "validation_sequences"):
        assert np.array_equal(getattr(final, name), getattr(per, name)), name
    for a, b in ((final.train_batch(), per.train_batch()),
                 (final.unseen_batch(), per.unseen_batch())):
        assert np.array_equal(a.segments[0], b.segments[0]) and np.array_equal(a.targets, b.targets)


@pytest.mark.parametrize("bad", ["steps", "", None, 1, "Final"])
def test_a_bad_target_kind_is_a_one_line_error(bad):
    with pytest.raises(ValueError, match=r"^SequenceLookup: target_kind must be one of final, "
                                         r"per_step, got .+$"):
        SequenceLookup(target_kind=bad)


def test_one_sequence_at_a_time_carries_its_per_step_targets():
    b = SequenceLookup(target_kind="per_step", variable_timing=True).train_batch(
        np.random.default_rng(0))
    seqs = list(sequences(b))
    assert len(seqs) == 20
    for s, S in zip(seqs, b.step_targets):
        assert s.size == 20 and np.array_equal(s.step_targets[0], S)
    assert all(s.step_targets is None for s in sequences(SequenceLookup().train_batch()))


def test_per_step_training_is_scored_on_the_final_code():
    task = SequenceLookup(target_kind="per_step")
    lr = learners.get("bptt")(alpha=0.3)
    r = harness.train(lr, task, seed=0, sweeps=60)
    y = lr.predict(r.params, task.unseen_batch())
    assert r.unseen_acc == harness.accuracy(y, task.targets(task.unseen_sequences))
    assert r.train_acc > SequenceLookup().majority_code_baseline("train")[1]  # it learns


def test_the_task_kind_is_in_every_runs_key():
    spec = {"learner": "bptt", "seed": 0, "sweeps": 5}
    a = spec_key(dict(spec, task={}))
    b = spec_key(dict(spec, task={"target_kind": "per_step"}))
    assert a != b and a == spec_key(dict(spec, task={"target_kind": "final"}))


# ---- the studies' --task ---------------------------------------------------------------------

def test_task_flag_defaults_to_final_and_per_step_gets_its_own_folder():
    assert common.TASK_KINDS == harness.task.TARGET_KINDS
    a = compare_learners.parse_args([])
    b = compare_learners.parse_args(["--task", "per_step"])
    c = compare_learners.parse_args(["--task", "per_step", "--out", "x"])
    assert a.task == "final" and a.out == "results/compare_learners"
    assert b.task == "per_step" and b.out == "results/compare_learners_per_step"
    assert c.out == "x"
    assert compare_learners.task_list(b)[0]["target_kind"] == "per_step"


def test_a_bad_task_flag_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as e:
        compare_learners.parse_args(["--task", "steps"])
    assert e.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_results_folder_holds_one_task_kind(tmp_path):
    out = tmp_path / "r"
    common.prepare_out(out, "compare_learners", task_kind="per_step")
    (out / "results.csv").write_text("x\n")
    common.prepare_out(out, "compare_learners", task_kind="per_step")        # resume: fine
    with pytest.raises(StudyError, match=r"on --task per_step, not --task final"):
        common.prepare_out(out, "compare_learners", task_kind="final")
    common.prepare_out(out, "compare_learners", force=True, task_kind="final")
    assert not (out / "results.csv").exists() and common.folder_task(out) == "final"
    old = tmp_path / "old"                     # a folder from before the marker: final
    common.prepare_out(old, "compare_learners")
    (old / "results.csv").write_text("x\n")
    with pytest.raises(StudyError, match="not --task per_step"):
        common.prepare_out(old, "compare_learners", task_kind="per_step")


def test_a_rule_without_per_step_targets_is_skipped_with_the_reason(tmp_path, capsys):
    out = tmp_path / "cl"
    code = compare_learners.main(["--task", "per_step", "--learners",
                                  "bptt,tests.failing_rules:FinalOnly", "--seeds", "1",
                                  "--sweeps", "3", "--accuracy-only", "--no-v1-row",
                                  "--workers", "1", "--no-progress", "--out", str(out)])
    assert code == 0
    summary = (out / "summary.md").read_text()
    assert ("- not run: tests.failing_rules:FinalOnly does not support per_step targets; it "
            "supports final") in summary
    cfg = json.loads((out / "results.json").read_text())["config"]
    assert cfg["task"] == "per_step" and list(cfg["skipped"]) == ["tests.failing_rules:FinalOnly"]
    runs = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert [r["spec"]["task"]["target_kind"] for r in runs] == ["per_step"]
    assert compare_learners.main(["--task", "per_step", "--learners",
                                  "tests.failing_rules:FinalOnly", "--seeds", "1",
                                  "--accuracy-only", "--out", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "error: --task per_step: none of the learners supports per_step targets")
