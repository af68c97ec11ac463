"""The main study's runner and its rows: one learner and seed trained (accuracy, convergence,
peak memory) and, when asked, its data movement measured: one warm update on tracked arrays and
the whole run traced as one program. A measurement that fails or is over its read budget leaves
the training row intact, with the reason in `update_note` / `whole_run_note`.

Units: ByteDMD cost units (docs/cost_model.md); reads/writes in elements; bytes in bytes. Every
measurement is priced in the spec's number format (spec["bytes_per_element"], default 8, and
spec["price_as"]: studies/number_format.py).
"""
from __future__ import annotations

import time

import pandas as pd

from studies.number_format import measure_kwargs

DEFAULT_MAX_UPDATE_READS = 1_000_000_000
DEFAULT_REUSE_MAX_READS = 20_000_000
DEFAULT_WHOLE_RUN_MAX_READS = 1_500_000_000
SCHEDULES = ("batched", "per_sequence", "online")
SCHEDULE_COLUMNS = [f"bytedmd_per_update_{s}" for s in SCHEDULES[1:]]
MOVEMENT_COLUMNS = ["learner", "dataset_seed", "seed", "train_acc", "test_acc", "validation_acc",
                    "unseen_acc", "converged_sweep", "gen_sweep", "updates", "bytedmd_per_update",
                    "bytedmd_to_criterion", "bytedmd_whole_run", "ard", "dmc", "reads", "writes",
                    "read_bytes", "update_peak_heap_bytes", "update_peak_live_bytes",
                    "energy_pj_per_update", *SCHEDULE_COLUMNS, "wall_s",
                    "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "mean_reuse_distance",
                    "escapes", "whole_run_reads", "per_update_x_updates", "per_update_measured",
                    "update_note", "whole_run_note", "schedule_note"]
INT_COLUMNS = ("converged_sweep", "gen_sweep", "updates", "bytedmd_per_update",
               "bytedmd_to_criterion", "bytedmd_whole_run", "reads", "writes", "read_bytes",
               "update_peak_heap_bytes", "update_peak_live_bytes", *SCHEDULE_COLUMNS,
               "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "escapes", "whole_run_reads")
# per-update figures a seed may take from another seed's identical program (fill_unmeasured)
PER_UPDATE_COLUMNS = ["bytedmd_per_update", "reads", "writes", "read_bytes", "ard", "dmc",
                      "escapes", "bytedmd_forward", "bytedmd_credit", "bytedmd_update",
                      "mean_reuse_distance", "update_peak_live_bytes", "energy_pj_per_update",
                      *SCHEDULE_COLUMNS]


def _over_budget(e: BaseException) -> bool:
    """A tracked run stopped by its read budget (the tracker's ReadBudgetExceeded)."""
    return any(c.__name__ == "ReadBudgetExceeded" for c in type(e).__mro__)


def _failed(e: BaseException) -> str:
    return f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def update_columns(rep) -> dict:
    """The columns of one measured update's report that every study keeps: ByteDMD (cost
    units) in total and per phase, reads and writes (elements), bytes read, escapes."""
    phase = dict(zip(rep.by_phase["phase"], rep.by_phase["bytedmd"]))
    return {"bytedmd": int(rep.bytedmd), "reads": int(rep.reads), "writes": int(rep.writes),
            "read_bytes": int(rep.read_bytes), "escapes": int(rep.escapes),
            **{f"bytedmd_{p}": int(phase.get(p, 0)) for p in ("forward", "credit", "update")}}


def one_plain_update(learner, task, seed):
    """One plain update (forward, credit, update) from the initial state: what the memory of an
    update is measured on (harness.measure.peak_memory_bytes)."""
    import numpy as np

    from harness.training import run_update
    state = learner.init(task, np.random.default_rng(seed))
    timing_rng = task.timing_rng(seed) if task.variable_timing else None
    run_update(learner, state, task.train_batch(timing_rng))


def movement_run(spec: dict) -> dict:
    """One learner and seed: plain training, and, when the spec asks for it, one warm update
    measured on tracked arrays (ByteDMD, energy, peak live bytes; the same update in the other
    schedules the rule supports), the memray peak of one plain update, and the whole run traced
    as one program. Units: ByteDMD cost units; reads/writes in elements; bytes in bytes; energy
    in pJ. `ard`, `dmc`, `reads`, `writes`, `read_bytes` are per update. A measurement over its
    read budget or failing (an unmodelled numpy call, an escape) is noted, never fails the row."""
    from harness.sweep import make_task, train_run

    task = make_task(spec.get("task"))
    t0 = time.perf_counter()
    row = train_run(spec)
    for c in MOVEMENT_COLUMNS:
        if c not in ("learner", "seed"):
            row.setdefault(c, None)
    row["dataset_seed"] = (spec.get("task") or {}).get("dataset_seed", 0)
    row["per_update_measured"] = False
    rep = _measure_update(spec, task, row)
    if rep is not None:
        _update_memory(spec, task, row)
        _schedules(spec, task, row)
        _whole_run(spec, task, row, rep)
    row["measure_s"] = time.perf_counter() - t0
    return row


def _update_memory(spec, task, row):
    """memray peak heap (bytes) of one plain update, after a warm-up update in this process (so
    the figure is the update's, not first-use allocations)."""
    from harness.measure import peak_memory_bytes
    from harness.sweep import make_learner
    learner = make_learner(spec, task)
    one_plain_update(learner, task, spec.get("seed", 0))
    peak, _ = peak_memory_bytes(one_plain_update, learner, task, spec.get("seed", 0))
    row["update_peak_heap_bytes"] = int(peak)


def _schedules(spec, task, row):
    """ByteDMD of the same warm update run in each other schedule the rule supports
    (harness/schedules.py), for the schedules the spec asks for."""
    from harness.measure import measure_update
    from harness.sweep import make_learner
    notes = []
    cap = spec.get("reuse_max_reads", DEFAULT_REUSE_MAX_READS)
    if any(x != "batched" for x in spec.get("schedules") or ()) and (row.get("reads") or 0) > cap:
        row["schedule_note"] = (f"other schedules skipped: the batched update makes "
                                f"{row['reads']:.2g} reads > {cap:.2g}")
        return
    for sched in spec.get("schedules") or ():
        if sched == "batched":
            continue
        learner = make_learner(spec, task)
        if sched not in learner.SCHEDULES:
            notes.append(f"{sched}: not supported")
            continue
        try:
            rep = measure_update(learner, task, seed=spec.get("seed", 0),
                                 warm_sweeps=spec.get("warm_sweeps", 3), reuse=False,
                                 max_reads=int(spec.get("max_update_reads", DEFAULT_MAX_UPDATE_READS)),
                                 schedule=sched, **measure_kwargs(spec))
            row[f"bytedmd_per_update_{sched}"] = int(rep.bytedmd)
        except Exception as e:
            notes.append(f"{sched}: " + ("skipped (over --max-update-reads)" if _over_budget(e)
                                         else _failed(e)))
    row["schedule_note"] = "; ".join(notes) or None


movement_run.fields = ("train_acc", "unseen_acc", "updates", "update_note", "whole_run_note")


def _measure_update(spec, task, row):
    from harness.measure import measure_update
    from harness.sweep import make_learner
    if not spec.get("measure", True):
        row["update_note"] = "not requested (seed >= --measure-seeds)"
        row["whole_run_note"] = "not requested (seed >= --whole-run-seeds)"
        return None
    limit = int(spec.get("max_update_reads", DEFAULT_MAX_UPDATE_READS))
    try:
        rep, trace = measure_update(make_learner(spec, task), task, seed=spec.get("seed", 0),
                                    warm_sweeps=spec.get("warm_sweeps", 3), reuse=True,
                                    max_reads=limit, return_trace=True,
                                    reuse_max_reads=spec.get("reuse_max_reads",
                                                             DEFAULT_REUSE_MAX_READS),
                                    **measure_kwargs(spec))
    except Exception as e:          # the training row stays; the reason goes in the note
        if _over_budget(e):
            row["update_note"] = (f"skipped: one update makes more than {limit:.2g} reads "
                                  "(--max-update-reads)")
            row["reads_lower_bound"] = getattr(e, "reads", None)
        else:
            row["update_note"] = _failed(e)
        row["whole_run_note"] = ("not requested (seed >= --whole-run-seeds)"
                                 if not spec.get("whole_run")
                                 else "skipped: the per-update measurement was skipped"
                                 if row["update_note"].startswith("skipped")
                                 else "skipped: the per-update measurement failed")
        return None
    cols = update_columns(rep)
    row.update(per_update_measured=True, update_note=None,
               bytedmd_per_update=cols.pop("bytedmd"), **cols,
               update_peak_live_bytes=int(rep.peak_live_bytes))
    if rep.reads <= spec.get("reuse_max_reads", DEFAULT_REUSE_MAX_READS):
        from metrics import energy
        row["energy_pj_per_update"] = float(energy(trace).total_pj)
    row.update({
        "ard": rep.ard, "dmc": rep.dmc, "mean_reuse_distance": rep.mean_reuse_distance,
        "by_label": rep.by_label.to_dict(orient="list"),
        "reuse_histogram": None if rep.reuse_histogram is None
        else pd.DataFrame(rep.reuse_histogram).to_dict(orient="list"),
    })
    conv = row.get("converged_sweep")
    # sweep c is logged before its update: the criterion is reached after c - 1 updates
    row["bytedmd_to_criterion"] = None if conv is None else (conv - 1) * rep.bytedmd
    return rep


def _whole_run(spec, task, row, rep):
    from harness.measure import measure_run
    from harness.sweep import make_learner
    if not spec.get("whole_run"):
        row["whole_run_note"] = "not requested (seed >= --whole-run-seeds)"
        return
    limit = float(spec.get("whole_run_max_reads", DEFAULT_WHOLE_RUN_MAX_READS))
    estimate = rep.reads * row["updates"]
    if estimate > limit:
        row["whole_run_note"] = (f"skipped: about {estimate:.2g} reads > budget {limit:.2g} "
                                 "(--whole-run-max-reads)")
        return
    try:
        result, wrep = measure_run(make_learner(spec, task), task, seed=spec.get("seed", 0),
                                   sweeps=spec.get("sweeps"), reads_estimate=estimate,
                                   **measure_kwargs(spec))
    except Exception as e:          # the training row stays; the reason goes in the note
        row["whole_run_note"] = _failed(e)
        return
    if (result.unseen_acc, result.converged_sweep) != (row["unseen_acc"], row["converged_sweep"]):
        raise RuntimeError("tracked whole run disagrees with the plain run: "
                           "instrumentation changed the numbers")
    row["bytedmd_whole_run"], row["whole_run_reads"] = wrep.bytedmd, wrep.reads
    row["whole_run_by_phase"] = wrep.by_phase.to_dict(orient="list")


def fill_unmeasured(df: pd.DataFrame) -> pd.DataFrame:
    """Runs whose update was not measured take their learner's per-update figures: the measured
    program itself when every measured run of that learner gave the same program (identical
    ByteDMD and reads), otherwise the median over the measured runs, said so in update_note (a
    program can depend on the run: whether a clipping branch fires, a rule's drawn sparse
    connectivity). The row is marked per_update_measured=False."""
    df = df.copy()
    cols = [c for c in PER_UPDATE_COLUMNS if c in df]
    for name, g in df.groupby("learner", sort=False):
        ok = g[g["error"].isna()]
        measured = ok[ok["per_update_measured"].astype(bool)]
        todo = ok.index[~ok["per_update_measured"].astype(bool) & ok["bytedmd_per_update"].isna()]
        if measured.empty or not len(todo):
            continue
        same = measured["bytedmd_per_update"].nunique() == 1 and measured["reads"].nunique() == 1
        src = measured.iloc[0] if same else measured[cols].apply(
            lambda v: pd.to_numeric(v, errors="coerce").median())
        for c in cols:
            v = src[c]
            df.loc[todo, c] = round(float(v)) if c in INT_COLUMNS and pd.notna(v) else v
        per = int(round(float(src["bytedmd_per_update"])))
        conv = pd.to_numeric(df.loc[todo, "converged_sweep"], errors="coerce")
        df.loc[todo, "bytedmd_to_criterion"] = [None if pd.isna(v) else (int(v) - 1) * per
                                                for v in conv]
        src_runs = sorted(zip(measured.get("dataset_seed", measured["seed"] * 0), measured["seed"]))
        lo, hi = measured["bytedmd_per_update"].min(), measured["bytedmd_per_update"].max()
        df.loc[todo, "update_note"] = (
            f"per-update cost of (data set, seed) {src_runs} (identical program on every "
            "measured run)" if same else
            f"median per-update cost of the measured runs {src_runs}, whose programs differ "
            f"(ByteDMD {lo:.4g} to {hi:.4g}: the program depends on the run, e.g. on whether "
            "clipping fires or on the drawn connectivity)")
    return df



def results_frame(rows: list[dict], columns) -> pd.DataFrame:
    recs = []
    for r in rows:
        rec = {c: r.get(c) for c in columns}
        rec["error"] = r.get("error")
        recs.append(rec)
    df = pd.DataFrame(recs, columns=list(columns) + ["error"])
    for c in INT_COLUMNS:
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    return df


def finish_movement_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Fill seeds with an unmeasured but identical per-update program, then the derived
    column per_update_x_updates (ByteDMD of one update times the updates run)."""
    df = fill_unmeasured(df)
    per = pd.to_numeric(df["bytedmd_per_update"], errors="coerce")
    upd = pd.to_numeric(df["updates"], errors="coerce")
    df["per_update_x_updates"] = (per * upd).round().astype("Int64")
    for c in INT_COLUMNS:
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("ard", "dmc", "mean_reuse_distance", "energy_pj_per_update"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["per_update_measured"] = df["per_update_measured"].fillna(False).astype(bool)
    return df


def history_frame(row: dict) -> pd.DataFrame:
    """A run's per-sweep history (harness.sweep.train_run's `history`) as a DataFrame with a
    1-based `sweep` column first: row k holds what was logged before sweep k's update."""
    h = pd.DataFrame(row["history"])
    h.insert(0, "sweep", range(1, len(h) + 1))
    return h


def curves_frame(rows: list[dict], df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy training curves: one row per learner, seed and sweep (loss, train and held-out
    accuracy before that sweep's update), with the cumulative ByteDMD of the updates made before
    it (sweep - 1 updates times the seed's per-update ByteDMD) where that is known."""
    per = {}
    if df is not None and "bytedmd_per_update" in df:
        for _, r in df.iterrows():
            if pd.notna(r.get("bytedmd_per_update")):
                per[(r["learner"], int(r["seed"]))] = int(r["bytedmd_per_update"])
    frames = []
    for r in rows:
        if r.get("error") is None and r.get("history"):
            h = history_frame(r)
            h.insert(0, "seed", r["seed"])
            h.insert(0, "learner", r["learner"])
            b = per.get((r["learner"], r["seed"]))
            h["bytedmd_cumulative"] = pd.array([None if b is None else (s - 1) * b
                                                for s in h["sweep"]], dtype="Int64")
            frames.append(h)
    if not frames:
        return pd.DataFrame(columns=["learner", "seed", "sweep", "loss", "train_acc", "test_acc",
                                     "bytedmd_cumulative"])
    return pd.concat(frames, ignore_index=True)
