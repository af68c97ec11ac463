"""The main study's runner and its rows: one learner and seed trained (accuracy, convergence,
peak memory) and, when asked, its data movement measured: one warm update on tracked arrays and
the whole run traced as one program. A measurement that fails or is over its read budget leaves
the training row intact, with the reason in `update_note` / `whole_run_note`.

Units: ByteDMD cost units (docs/cost_model.md); reads/writes in elements; bytes in bytes.
"""
from __future__ import annotations

import time

import pandas as pd

DEFAULT_MAX_UPDATE_READS = 1_000_000_000
DEFAULT_REUSE_MAX_READS = 20_000_000
DEFAULT_WHOLE_RUN_MAX_READS = 1_500_000_000
MOVEMENT_COLUMNS = ["learner", "seed", "train_acc", "test_acc", "unseen_acc", "converged_sweep",
                    "updates", "bytedmd_per_update", "bytedmd_to_criterion", "bytedmd_whole_run",
                    "ard", "dmc", "reads", "writes", "read_bytes", "peak_memory_bytes", "wall_s",
                    "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "mean_reuse_distance",
                    "escapes", "whole_run_reads", "per_update_x_updates", "per_update_measured",
                    "update_note", "whole_run_note"]
INT_COLUMNS = ("converged_sweep", "updates", "bytedmd_per_update", "bytedmd_to_criterion",
               "bytedmd_whole_run", "reads", "writes", "read_bytes", "peak_memory_bytes",
               "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "escapes", "whole_run_reads")


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


def movement_run(spec: dict) -> dict:
    """One learner and seed: plain training (under memray), and, when the spec asks for it, one
    warm update measured on tracked arrays and the whole run traced as one program. Units:
    ByteDMD cost units; reads/writes in elements; read_bytes and peak_memory_bytes in bytes.
    `ard`, `dmc`, `reads`, `writes`, `read_bytes` are per update. A measurement over its read
    budget or failing (an unmodelled numpy call, an escape) is noted, never fails the row."""
    from harness.measure import peak_memory_bytes
    from harness.sweep import make_task, train_run

    task = make_task(spec.get("task"))
    t0 = time.perf_counter()
    # one short run first, so that the measured peak is the learner's run and not this
    # process's first-use allocations (imports, caches of the task's splits)
    train_run({**spec, "sweeps": 1})
    peak, row = peak_memory_bytes(train_run, spec)
    row["peak_memory_bytes"] = peak
    for c in MOVEMENT_COLUMNS:
        if c not in ("learner", "seed"):
            row.setdefault(c, None)
    row["per_update_measured"] = False
    rep = _measure_update(spec, task, row)
    if rep is not None:
        _whole_run(spec, task, row, rep)
    row["measure_s"] = time.perf_counter() - t0
    return row


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
        rep = measure_update(make_learner(spec, task), task, seed=spec.get("seed", 0),
                             warm_sweeps=spec.get("warm_sweeps", 3), reuse=True,
                             max_reads=limit,
                             reuse_max_reads=spec.get("reuse_max_reads", DEFAULT_REUSE_MAX_READS))
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
               bytedmd_per_update=cols.pop("bytedmd"), **cols)
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
                                   sweeps=spec.get("sweeps"))
    except Exception as e:          # the training row stays; the reason goes in the note
        row["whole_run_note"] = _failed(e)
        return
    if (result.unseen_acc, result.converged_sweep) != (row["unseen_acc"], row["converged_sweep"]):
        raise RuntimeError("tracked whole run disagrees with the plain run: "
                           "instrumentation changed the numbers")
    row["bytedmd_whole_run"], row["whole_run_reads"] = wrep.bytedmd, wrep.reads
    row["whole_run_by_phase"] = wrep.by_phase.to_dict(orient="list")


def fill_unmeasured(df: pd.DataFrame) -> pd.DataFrame:
    """Seeds whose update was not measured take their learner's per-update ByteDMD, reads, ARD
    and DMC when every measured seed of that learner gave the same program (identical ByteDMD
    and reads): the learners' access patterns do not depend on the weights' values. The row is
    marked per_update_measured=False. Otherwise the columns stay empty."""
    df = df.copy()
    cols = ["bytedmd_per_update", "reads", "writes", "read_bytes", "ard", "dmc", "escapes",
            "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "mean_reuse_distance"]
    for name, g in df.groupby("learner", sort=False):
        ok = g[g["error"].isna()]
        measured = ok[ok["per_update_measured"].astype(bool)]
        todo = ok.index[~ok["per_update_measured"].astype(bool) & ok["bytedmd_per_update"].isna()]
        if measured.empty or not len(todo):
            continue
        if measured["bytedmd_per_update"].nunique() != 1 or measured["reads"].nunique() != 1:
            continue
        src = measured.iloc[0]
        for c in cols:
            df.loc[todo, c] = src[c]
        per = int(src["bytedmd_per_update"])
        conv = pd.to_numeric(df.loc[todo, "converged_sweep"], errors="coerce")
        df.loc[todo, "bytedmd_to_criterion"] = [None if pd.isna(v) else (int(v) - 1) * per
                                                for v in conv]
        df.loc[todo, "update_note"] = (f"per-update cost of seeds {sorted(measured['seed'].tolist())} "
                                       "(identical program on every measured seed)")
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
    for c in ("bytedmd_per_update", "bytedmd_to_criterion", "reads", "writes", "read_bytes",
              "escapes", "bytedmd_forward", "bytedmd_credit", "bytedmd_update"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("ard", "dmc", "mean_reuse_distance"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["per_update_measured"] = df["per_update_measured"].fillna(False).astype(bool)
    return df


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
            h = pd.DataFrame(r["history"])
            h.insert(0, "sweep", range(1, len(h) + 1))
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
