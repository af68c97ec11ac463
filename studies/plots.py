"""Figures of the main study, one message each. Every function takes the study's rows (dicts, as
saved in runs/) or its results DataFrame and writes one figure (PNG and PDF) atomically. Each
learner keeps its colour and marker (studies.common.learner_style) in every figure."""
from __future__ import annotations

import numpy as np
import pandas as pd

from studies.analysis import pareto_front
from studies.common import learner_style, pyplot as _plt, save_figure as _save


def _colors(names):
    return {n: learner_style(n)[0] for n in names}


def plot_curves(rows: list[dict], path, df: pd.DataFrame | None = None):
    """Median training loss (log scale) per learner, seed range shaded: against sweeps (left)
    and, for learners whose per-update ByteDMD is known (the median of `df`'s
    bytedmd_per_update, cost units), against the cumulative ByteDMD of the updates made (right)."""
    plt = _plt()
    per_update = {}
    if df is not None and "bytedmd_per_update" in df:
        med = df[df["error"].isna()].groupby("learner")["bytedmd_per_update"].median()
        per_update = {k: float(v) for k, v in med.items() if pd.notna(v) and v > 0}
    panels = 2 if per_update else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.4 * panels, 4.2), squeeze=False)
    by = {}
    for r in rows:
        if r.get("error") is None and r.get("history"):
            by.setdefault(r["learner"], []).append(np.asarray(r["history"]["loss"], float))
    col = _colors(list(by))
    for name, curves in by.items():
        n = min(len(c) for c in curves)
        m = np.stack([c[:n] for c in curves])
        sweeps = np.arange(1, n + 1)
        xs = [sweeps] + ([(sweeps - 1) * per_update[name]] if name in per_update else [])
        for ax, x in zip(axes[0], xs):
            keep = x > 0                     # log axis: the cost before the first update is 0
            ax.plot(x[keep], np.median(m, axis=0)[keep], color=col[name],
                    marker=learner_style(name)[1], markevery=0.1, ms=4,
                    label=f"{name} (n={len(curves)})")
            ax.fill_between(x[keep], m.min(axis=0)[keep], m.max(axis=0)[keep], color=col[name],
                            alpha=0.15)
    labels = [("sweep (full passes over the 20 training sequences)", "against sweeps"),
              ("cumulative ByteDMD of the updates made (cost units)", "against data moved")]
    for ax, (xl, t) in zip(axes[0], labels):
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel("training loss (0.5 · mean squared error)")
        ax.set_title(f"Training loss {t}: median over seeds, range shaded", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_pareto(df: pd.DataFrame, path, baseline: float | None = None):
    """ByteDMD to the convergence criterion (log x) against unseen accuracy: one point per
    learner and seed (hollow: never converged, placed at the cost of its whole budget), the
    median per learner as a large marker, and the Pareto front of the medians."""
    plt = _plt()
    ok = df[df["error"].isna()].copy()
    ok["cost_plot"] = ok["bytedmd_to_criterion"].astype(float)
    never = ok["cost_plot"].isna()
    ok.loc[never, "cost_plot"] = (ok.loc[never, "bytedmd_per_update"].astype(float)
                                  * ok.loc[never, "updates"].astype(float))
    ok = ok[ok["cost_plot"].notna() & (ok["cost_plot"] > 0)]   # unmeasured: nothing to place
    if ok.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    names = list(dict.fromkeys(ok["learner"]))
    col = _colors(names)
    meds = []
    for name in names:
        g = ok[ok["learner"] == name]
        conv = g[~g["bytedmd_to_criterion"].isna()]
        nev = g[g["bytedmd_to_criterion"].isna()]
        mk = learner_style(name)[1]
        ax.scatter(conv["cost_plot"], conv["unseen_acc"], s=18, marker=mk, color=col[name],
                   alpha=0.6)
        ax.scatter(nev["cost_plot"], nev["unseen_acc"], s=18, marker=mk, facecolors="none",
                   edgecolors=[col[name]], alpha=0.8)
        if len(conv):
            mx, my = float(conv["cost_plot"].median()), float(g["unseen_acc"].median())
            meds.append((name, mx, my))
            ax.scatter([mx], [my], s=120, marker=mk, color=col[name], edgecolors="black",
                       label=f"{name} ({len(conv)}/{len(g)} converged)")
        else:
            ax.scatter([], [], s=60, marker=mk, facecolors="none", edgecolors=[col[name]],
                       label=f"{name} (never converged)")
    # what the kinds of mark mean
    ax.scatter([], [], s=18, color="0.4", label="one seed, converged")
    ax.scatter([], [], s=18, facecolors="none", edgecolors=["0.4"],
               label="one seed, never converged (at its whole budget's cost)")
    ax.scatter([], [], s=120, color="0.4", edgecolors="black",
               label="median of the converged seeds (x), of all seeds (y)")
    if meds:
        front = pareto_front([m[1] for m in meds], [m[2] for m in meds])
        fx = [meds[i][1] for i in front]
        fy = [meds[i][2] for i in front]
        ax.step(fx, fy, where="post", color="black", lw=1, ls="--", label="Pareto front (medians)")
    if baseline is not None:
        ax.axhline(baseline, color="gray", lw=1, ls=":", label=f"best constant code ({baseline:.2f})")
    ax.set_xscale("log")
    ax.set_xlabel("ByteDMD to criterion (cost units: Σ ceil(√byte depth) over bytes read)")
    ax.set_ylabel("accuracy on the reported unseen sequences (all 3 bits)")
    ax.set_title("Data movement to reach 100% train accuracy vs generalization")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _save(fig, path)


UNNAMED = "intermediates created inside a phase"      # the "(unnamed)" label of harness.measure
_ARRAY_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "*"]


def array_label(label: str) -> str:
    """The legend text of a harness.measure array label: "cache:hs" (created by the forward
    pass), "grad:W_hh" (by credit assignment), state keys as they are; "(unnamed)" temporaries
    become UNNAMED."""
    return UNNAMED if label == "(unnamed)" else label


def plot_cost_breakdown(rows: list[dict], path, top_arrays: int = 8):
    """Where one update's ByteDMD goes, per learner, on an absolute log scale (cost units): the
    grey bar is the learner's median ByteDMD per update (its value at right); the marks are the
    median cost of each phase (left) and of the arrays that dominate some learner (right), named
    by where they are created (cache:<key> by the forward pass, grad:<key> by credit
    assignment, state entries by their key; temporaries are UNNAMED)."""
    plt = _plt()
    ok = [r for r in rows if r.get("error") is None and r.get("bytedmd_per_update")]
    names = list(dict.fromkeys(r["learner"] for r in ok))
    if not names:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 0.45 * len(names) + 3.2), sharey=True)
    phases = ["forward", "credit", "update"]
    pstyle = dict(zip(phases, [("#4c72b0", "o"), ("#dd8452", "s"), ("#55a868", "^")]))
    totals, phase_cost, arr_cost = {}, {}, {}
    for name in names:
        rs = [r for r in ok if r["learner"] == name]
        totals[name] = float(np.median([r["bytedmd_per_update"] for r in rs]))
        phase_cost[name] = {p: float(np.median([r.get(f"bytedmd_{p}") or 0 for r in rs]))
                            for p in phases}
        arr_cost[name] = {}
        labelled = [r for r in rs if r.get("by_label")]
        for r in labelled:
            a = pd.DataFrame(r["by_label"])
            for k, v in zip(a["label"], a["bytedmd"]):
                arr_cost[name].setdefault(array_label(k), []).append(float(v))
        arr_cost[name] = {k: float(np.median(v + [0.0] * (len(labelled) - len(v))))
                          for k, v in arr_cost[name].items()}
    # the arrays that dominate some learner (largest share of its cost)
    score = {}
    for name, costs in arr_cost.items():
        for k, v in costs.items():
            score[k] = max(score.get(k, 0.0), v / totals[name])
    top = sorted(score, key=score.get, reverse=True)[:top_arrays]
    cmap = plt.get_cmap("tab10")
    astyle = {k: (cmap(i % 10), _ARRAY_MARKERS[i % len(_ARRAY_MARKERS)]) for i, k in enumerate(top)}
    marks = [v for n in names for v in list(phase_cost[n].values())
             + [arr_cost[n].get(k, 0.0) for k in top] + [totals[n]] if v > 0]
    lo = 10 ** np.floor(np.log10(min(marks)))
    hi = 10 ** np.ceil(np.log10(max(marks)) + 0.6)          # room for the totals' labels
    for ax in (ax1, ax2):
        for y, name in enumerate(names):
            ax.barh(y, totals[name] - lo, left=lo, height=0.6, color="0.88", zorder=1,
                    label="whole update (median)" if y == 0 else None)
            ax.text(totals[name] * 1.4, y, f"{totals[name]:.3g}", va="center", fontsize=7)
    for y, name in enumerate(names):
        for p in phases:
            v = phase_cost[name][p]
            if v > 0:
                c, m = pstyle[p]
                ax1.scatter(v, y, color=c, marker=m, s=28, zorder=3, label=p if y == 0 else None)
        for k in top:
            v = arr_cost[name].get(k, 0.0)
            if v > 0:
                c, m = astyle[k]
                ax2.scatter(v, y, color=c, marker=m, s=28, zorder=3, edgecolor="k",
                            linewidth=0.3)
    for k in top:                                       # one legend entry per array
        c, m = astyle[k]
        ax2.scatter([], [], color=c, marker=m, s=28, edgecolor="k", linewidth=0.3, label=k)
    ax1.set_yticks(range(len(names)), names)
    ax1.invert_yaxis()
    for ax, t in ((ax1, "by phase"), (ax2, "by array (named by where it is created)")):
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel("ByteDMD per update (cost units, log scale)")
        ax.set_title(t, fontsize=10)
        ax.grid(axis="x", which="major", color="0.8", linewidth=0.5, zorder=0)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3,
                  frameon=False)
    fig.suptitle("Where one update's data movement goes (median over measured seeds)")
    fig.tight_layout()
    return _save(fig, path)


def plot_reuse(rows: list[dict], path):
    """Element-level reuse-distance histograms of one update per learner (log-log, left) and the
    miss-ratio curves of a fully associative LRU cache they imply (right)."""
    plt = _plt()
    first = {}
    for r in rows:
        if r.get("error") is None and r.get("reuse_histogram") and r["learner"] not in first:
            first[r["learner"]] = pd.DataFrame(r["reuse_histogram"])
    if not first:
        return None
    col = _colors(list(first))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, h in first.items():
        lo = h["bin_lo"].to_numpy(float)
        cnt = h["count"].to_numpy(float)
        total = cnt.sum()
        centers = np.maximum(lo, 0.5)
        ax1.plot(centers, cnt / total, marker="o", ms=3, color=col[name], label=name)
        # misses of an LRU cache of c values: reads at distance >= c
        hi = h["bin_hi"].to_numpy(float)
        miss = 1.0 - np.cumsum(cnt) / total
        ax2.step(np.concatenate([[1], hi]), np.concatenate([[1.0], miss]), where="post",
                 color=col[name], label=name)
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("reuse distance (distinct values touched since last touch; log2 bins)")
    ax1.set_ylabel("fraction of reads")
    ax1.set_title("Reuse distances of one update", fontsize=10)
    ax2.set_xscale("log")
    ax2.set_xlabel("LRU cache size (values)")
    ax2.set_ylabel("miss ratio")
    ax2.set_title("Miss-ratio curves implied", fontsize=10)
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
    fig.suptitle("How far back each read reaches")
    fig.tight_layout()
    return _save(fig, path)
