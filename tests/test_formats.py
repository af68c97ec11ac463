"""Number formats (docs/formats.md): the studies' --bytes-per-element prices every float64 value at
8, 4 or 2 bytes (pricing only); a rule's storage dtype (trace_dtype, history_dtype,
influence_dtype) really rounds what it stores and is priced at that width; price_as prices a dtype
narrower without rounding. Default width 8 gives the committed numbers bit for bit."""
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import learners  # noqa: E402
from harness.formats import FormatTracker  # noqa: E402
from harness.measure import TrackedStep, measure_update  # noqa: E402
from harness.training import run_update  # noqa: E402
from learners.base import Learner  # noqa: E402
from metrics import energy  # noqa: E402
from metrics.engine import bytedmd_price  # noqa: E402
from metrics.energy_model import energy_of_trace  # noqa: E402
from metrics.tracking import TrackedArray  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TASK = harness.SequenceLookup()


# ---- a hand-computed program through the study path --------------------------------------------

@dataclasses.dataclass
class _NoConfig:
    pass


class Square(Learner):
    """state w (one float64); forward y = w * w; credit passes y; update w' = y + w. Two
    instructions, the batch never read (so it leaves the stack as it is pushed)."""
    name = "square"
    Config = _NoConfig

    def init(self, task, rng):
        return {"w": np.array([2.0])}

    def forward(self, state, batch):
        return {"y": state["w"] * state["w"]}

    def credit(self, state, batch, cache):
        return {"w": cache["y"]}

    def update(self, state, grads):
        return {"w": grads["w"] + state["w"]}


def S(n):
    """sum_{i <= n} ceil(sqrt(i)) (docs/cost_model.md section 1)."""
    return sum(int(np.ceil(np.sqrt(i))) for i in range(1, n + 1))


@pytest.mark.parametrize("w", [8, 4, 2])
def test_width_scales_a_hand_computed_program(w):
    """Stack [w]. y = w*w reads w twice at element depth 1: 2 S(w). w' = y + w reads y at depth 1
    and w at depth 2: S(w) + (S(2w) - S(w)). Energy (default hierarchy, everything in the 8 KiB
    level at 1.25 pJ/B): 4 reads and 2 writes of w bytes, 2 instructions at 20 pJ."""
    rep, trace = measure_update(Square(), TASK, seed=0, bytes_per_element=w, return_trace=True)
    assert rep.bytedmd == 2 * S(w) + S(2 * w) == {8: 88, 4: 33, 2: 13}[w]
    assert rep.reads == 4 and rep.read_bytes == 4 * w
    assert energy(trace).total_pj == pytest.approx((4 * w + 2 * w) * 1.25 + 2 * 20)
    if w == 8:            # the default width is the dtype width
        assert measure_update(Square(), TASK, seed=0).bytedmd == rep.bytedmd


@pytest.mark.parametrize("w", [4, 2])
def test_study_width_equals_pricing_the_float64_program_at_that_width(w):
    """A float64-only update (no clipping test, so no boolean): measuring it at width w equals
    pricing its width-8 record at w (the engine's and the energy model's uniform override), and
    the scaling study's runner measures exactly that."""
    from studies.scaling import measure_point
    L = learners.get("bptt")(clip=None, n_hidden=6)
    task = harness.SequenceLookup(length=4)
    rep8, trace8 = measure_update(L, task, bytes_per_element=8, return_trace=True, reuse=False)
    rep, trace = measure_update(L, task, bytes_per_element=w, return_trace=True, reuse=False)
    assert rep.bytedmd == bytedmd_price(trace8, bytes_per_element=w).cost < rep8.bytedmd
    assert rep.reads == rep8.reads and rep.read_bytes * 8 == rep8.read_bytes * w
    e = energy(trace).total_pj
    assert e == pytest.approx(energy_of_trace(trace8, bytes_per_element=w).total_pj)
    assert e < energy(trace8).total_pj
    row = measure_point({"learner": "bptt", "hyper": {"clip": None, "n_hidden": 6},
                         "task": {"length": 4}, "bytes_per_element": w, "max_energy_reads": 1e9})
    assert row["bytedmd"] == rep.bytedmd and row["energy_pj_per_update"] == pytest.approx(e)


def test_default_width_gives_the_committed_numbers():
    """The committed per-update ByteDMD and energy (docs/results/compare_learners, data set 0,
    seed 0) are what the study's runner measures at its default width 8, bit for bit."""
    from studies.movement import movement_run
    df = pd.read_csv(ROOT / "docs/results/compare_learners/results.csv")
    committed = df[(df["dataset_seed"] == 0) & (df["seed"] == 0)].set_index("learner")
    for label, name, hyper in (("bptt", "bptt", learners.get("bptt").tuned_hyper()),
                               ("bptt_v1", "bptt", {}),
                               ("eprop", "eprop", learners.get("eprop").tuned_hyper())):
        rep, trace = measure_update(learners.get(name)(**hyper), TASK, seed=0,
                                    bytes_per_element=8, return_trace=True)
        assert rep.bytedmd == committed.loc[label, "bytedmd_per_update"], label
        assert energy(trace).total_pj == pytest.approx(committed.loc[label,
                                                                     "energy_pj_per_update"],
                                                       rel=1e-12), label
    spec = {"learner": "tbptt", "hyper": learners.get("tbptt").tuned_hyper(), "seed": 0,
            "sweeps": 2, "task": {}, "measure": True, "bytes_per_element": 8,
            "schedules": ["batched", "online"]}
    row = movement_run(spec)
    assert row["bytedmd_per_update"] == committed.loc["tbptt", "bytedmd_per_update"]
    assert row["bytedmd_per_update_online"] == committed.loc["tbptt", "bytedmd_per_update_online"]


def test_storage_dtype_float64_is_the_default_program():
    """Each storage option at float64 records the very program of the rule's default (the same
    record, not only the same cost), in the batched and online schedules."""
    cases = [("bptt", "history_dtype", {}), ("tbptt", "history_dtype", {}),
             ("feedback_alignment", "history_dtype", {}), ("snap1", "influence_dtype", {}),
             ("snap2", "influence_dtype", {"n_hidden": 10}),
             ("rtrl", "influence_dtype", {"n_hidden": 5}), ("eprop", "trace_dtype", {})]
    for name, option, extra in cases:
        L = learners.get(name)
        for sched in ("batched", "online") if "online" in L.SCHEDULES else ("batched",):
            recs = []
            for hyper in ({**extra, "alpha": 0.3}, {**extra, "alpha": 0.3, option: "float64"}):
                _, tr = measure_update(L(**hyper), TASK, schedule=sched, return_trace=True,
                                       reuse=False)
                recs.append(tr.arrays())
            assert all(np.array_equal(a, b) for a, b in zip(*recs)), (name, sched)


# ---- storage dtypes: really rounded, priced at their width --------------------------------------

def _warm(learner, task=TASK, sweeps=3):
    state = learner.init(task, np.random.default_rng(0))
    for _ in range(sweeps):
        state, _ = run_update(learner, state, task.train_batch())
    return state, task.train_batch()


def _tracked_cache(learner, state, batch, bpe=8):
    """The tracked cache of one update and the widths of its values."""
    tr = FormatTracker(bytes_per_element=bpe, plain_arrays="input")
    new_state, cache = TrackedStep(tr)(learner, state, batch)
    widths = np.concatenate([c.value_bytes for c in tr.trace(keep=new_state).chunks])
    return cache, widths, tr


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_bptt_fp16_history_is_the_rounded_float64_history_priced_at_2_bytes(alpha):
    b64 = learners.get("bptt")(alpha=alpha)
    b16 = learners.get("bptt")(alpha=alpha, history_dtype="float16")
    state, batch = _warm(b64)
    c64, c16 = b64.forward(state, batch), b16.forward(state, batch)
    assert np.array_equal(c16["y"], c64["y"])            # the forward itself stays float64
    for key in ("hs", "rs") if alpha != 1.0 else ("hs",):
        for t, v in c16[key][0].items():
            assert v.dtype == np.float16
            assert np.array_equal(v, c64[key][0][t].astype(np.float16)), (key, t)
    assert ("rs" in c16) == (alpha != 1.0)
    g64, g16 = b64.credit(state, batch, c64), b16.credit(state, batch, c16)
    for k in ("W_hh", "W_xh", "b_h", "W_hy"):
        rel = float(np.abs(g16[k] - g64[k]).max() / np.abs(g64[k]).max())
        assert 0 < rel < 1e-2, k
    for bpe in (8, 4, 2):
        cache, widths, tr = _tracked_cache(b16, state, batch, bpe)
        stored = [v for H in cache["hs"] for v in H.values() if isinstance(v, TrackedArray)]
        assert len(stored) == 5 and all(set(widths[v.ids.ravel()]) == {2} for v in stored)
        tr.close()
    r64, r16 = (measure_update(L, TASK, reuse=False) for L in (b64, b16))
    assert r16.bytedmd < r64.bytedmd


def test_influence_fp16_is_stored_rounded_and_priced_at_2_bytes():
    for name, key, extra in (("rtrl", "P", {"n_hidden": 6}), ("snap1", "S", {}),
                             ("snap2", "Q", {"n_hidden": 12})):
        L64 = learners.get(name)(alpha=0.3, **extra)
        L16 = learners.get(name)(alpha=0.3, influence_dtype="float16", **extra)
        state, batch = _warm(L64)
        c64, c16 = L64.forward(state, batch), L16.forward(state, batch)
        assert all(a.dtype == np.float16 for a in c16[key][0]), name
        assert np.array_equal(c16["y"], c64["y"])          # the network's forward is untouched
        g64, g16 = L64.credit(state, batch, c64), L16.credit(state, batch, c16)
        rel = float(np.abs(g16["W_hh"] - g64["W_hh"]).max() / np.abs(g64["W_hh"]).max())
        assert 0 < rel < 2e-2, name
        cache, widths, tr = _tracked_cache(L16, state, batch, 4)
        stored = cache[key][0]
        assert all(set(widths[a.ids.ravel()]) == {2} for a in stored), name
        tr.close()
        assert measure_update(L16, TASK, reuse=False).bytedmd < \
            measure_update(L64, TASK, reuse=False).bytedmd, name


def test_fp16_storage_trains_identically_tracked_and_plain():
    """Rounded storage is part of the arithmetic: the tracked run reproduces the plain run's
    parameters bit for bit at every width."""
    from harness.measure import measure_run
    for name, hyper in (("bptt", {"history_dtype": "float16", "alpha": 0.3}),
                        ("snap1", {"influence_dtype": "float16"})):
        plain = harness.train(learners.get(name)(n_hidden=8, **hyper), TASK, seed=1, sweeps=2)
        tracked, _ = measure_run(learners.get(name)(n_hidden=8, **hyper), TASK, seed=1,
                                 sweeps=2, bytes_per_element=2)
        assert all(np.array_equal(plain.params[k], tracked.params[k]) for k in plain.params)


def test_storage_dtype_bad_value_is_one_line():
    for name, option in (("bptt", "history_dtype"), ("tbptt", "history_dtype"),
                         ("rtrl", "influence_dtype"), ("snap1", "influence_dtype"),
                         ("snap2", "influence_dtype")):
        with pytest.raises(ValueError, match=f"{option} must be one of") as e:
            learners.get(name)(**{option: "int8"})
        assert len(str(e.value).splitlines()) == 1


# ---- price_as: pricing only ---------------------------------------------------------------------

def test_price_as_prices_a_dtype_narrower_without_rounding():
    e16 = learners.get("eprop")(trace_dtype="float16")
    r2, t2 = measure_update(e16, TASK, schedule="online", reuse=False, return_trace=True)
    r1, t1 = measure_update(e16, TASK, schedule="online", reuse=False, return_trace=True,
                            price_as={"float16": 1})
    a2, a1 = t2.arrays(), t1.arrays()
    assert np.array_equal(a2[0], a1[0]) and np.array_equal(a2[1], a1[1])   # the same program
    assert set(np.unique(a2[2])) == {1, 2, 8} and set(np.unique(a1[2])) == {1, 8}
    assert np.sum(a2[2] == 2) == np.sum(a1[2] == 1) - np.sum(a2[2] == 1)
    assert r1.bytedmd < r2.bytedmd and r1.reads == r2.reads
    for bad, words in (({"float8": 1}, "float8"), ({"float16": 0}, "1..8"), ([1], "dict")):
        with pytest.raises(ValueError, match=words):
            measure_update(e16, TASK, price_as=bad)


# ---- the studies: flags, run keys, results folders -------------------------------------------

def test_run_key_includes_the_width():
    from harness.sweep import spec_key
    from studies.compare_learners import build_specs
    runs = [("bptt", "bptt", {})]
    keys = {}
    for w in (8, 4, 2):
        (spec,) = build_specs(runs, 1, 5, [{}], measure=True, measure_seeds=1,
                              fmt={"bytes_per_element": w, "price_as": {}})
        assert spec["bytes_per_element"] == w and "price_as" not in spec
        keys[w] = spec_key(spec)
    (priced,) = build_specs(runs, 1, 5, [{}], measure=True,
                            fmt={"bytes_per_element": 8, "price_as": {"float16": 1}})
    assert len(set(keys.values()) | {spec_key(priced)}) == 4
    (plain,) = build_specs(runs, 1, 5, [{}], measure=False)
    assert "bytes_per_element" not in plain                # training alone has no width


def test_two_widths_never_share_a_results_folder(tmp_path, capsys):
    from studies import scaling
    out = tmp_path / "o"
    base = ["--learners", "tbptt", "--hidden", "8", "--lengths", "3", "--seeds", "0",
            "--workers", "1", "--no-progress", "--out", str(out)]
    assert scaling.main(base + ["--bytes-per-element", "4"]) == 0
    cfg = json.loads((out / "results.json").read_text())["config"]
    assert cfg["bytes_per_element"] == 4 and cfg["price_as"] == {}
    specs = [json.loads(p.read_text())["spec"] for p in (out / "runs").glob("*.json")]
    assert specs and all(s["bytes_per_element"] == 4 for s in specs)
    summary = (out / "summary.md").read_text()
    assert "## ByteDMD per update (4 bytes per value)" in summary and "float32 pricing" in summary
    four = pd.read_csv(out / "scaling.csv")["bytedmd"].iloc[0]
    capsys.readouterr()
    assert scaling.main(base + ["--bytes-per-element", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "4 bytes per element" in err and "--force" in err
    assert scaling.main(base) == 2                       # the default 8 is another format too
    assert scaling.main(base + ["--bytes-per-element", "2", "--force"]) == 0
    assert not any(json.loads(p.read_text())["spec"]["bytes_per_element"] != 2
                   for p in (out / "runs").glob("*.json"))
    assert pd.read_csv(out / "scaling.csv")["bytedmd"].iloc[0] < four


@pytest.mark.parametrize("module, argv, words", [
    ("compare_learners", ["--bytes-per-element", "3"], ["--bytes-per-element", "8, 4, 2", "'3'"]),
    ("compare_learners", ["--bytes-per-element", "fp16"], ["--bytes-per-element", "'fp16'"]),
    ("scaling", ["--bytes-per-element", "16"], ["--bytes-per-element"]),
    ("scaling", ["--price-as", "float16"], ["--price-as", "DTYPE=BYTES"]),
    ("scaling", ["--price-as", "float16=9"], ["--price-as", "1..8"]),
    ("scaling", ["--price-as", "float16=1", "--price-as", "float16=2"], ["given twice"]),
    ("rule_report", ["--bytes-per-element", "4"], ["--bytes-per-element", "measures no"]),
    ("compare_learners", ["--accuracy-only", "--bytes-per-element", "4"], ["--bytes-per-element",
                                                                          "measures nothing"]),
    ("tune", ["--price-as", "float16=1"], ["--price-as", "measures no"]),
])
def test_bad_format_flags_are_one_line_errors(module, argv, words, capsys):
    import importlib
    mod = importlib.import_module(f"studies.{module}")
    try:
        code = mod.parse_args(argv) and 0
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def test_default_format_and_summary_note():
    from studies import compare_learners, number_format
    args = compare_learners.parse_args([])
    assert args.bytes_per_element == 8 and args.price_as == {}
    assert number_format.study_format(args) == {"bytes_per_element": 8, "price_as": {}}
    args = compare_learners.parse_args(["--bytes-per-element", "2", "--price-as", "float16=1"])
    note = number_format.note(number_format.study_format(args))
    assert "2 bytes" in note and "float16 pricing" in note and "float16 values at 1 bytes" in note
    with pytest.raises(ValueError, match="mix number formats"):
        number_format.of_specs([{"bytes_per_element": 8}, {"bytes_per_element": 4}])
    assert number_format.of_specs([{}, {"bytes_per_element": 8}]) == {"bytes_per_element": 8,
                                                                      "price_as": {}}
