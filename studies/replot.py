"""Rebuild a results folder's figures from its saved outputs, without rerunning anything.

    python -m studies.replot results/compare_learners      (or: replot FOLDER)

compare_learners: with the run files the study used (results.json lists them), every table
(results.csv, summary.md, curves.csv) and figure, by the study's own code; a folder without
runs/, such as the committed one, rebuilds the pareto figure from results.csv only. scaling:
the report (figures, fits, crossings, summary) from scaling.csv (studies.scaling --report-only).
Every figure is written as PNG and PDF, atomically, with the same colours as the study's.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from studies.common import Parser, StudyError, cli, folder_owner


def _rows(folder: Path, prov: dict) -> list[dict]:
    """The run files the study used (valid JSON objects), in its order."""
    rows = []
    for key in prov.get("runs") or []:
        try:
            row = json.loads((folder / "runs" / f"{key}.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def replot_compare(folder: Path) -> list[str]:
    from studies import plots
    try:
        prov = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        prov = {}
    rows = _rows(folder, prov)
    cfg = prov.get("config") or {}
    if rows and cfg.get("rows") and cfg.get("reference"):
        # every table and figure rebuilt from the run files, by the study's own code
        from harness.sweep import make_task
        from studies.compare_learners import tables
        task = make_task((rows[0].get("spec") or {}).get("task"))
        _, written = tables(folder, rows, cfg["rows"], cfg["reference"],
                            not cfg.get("accuracy_only"), task, cfg.get("skipped"))
        return written
    df = pd.read_csv(folder / "results.csv")
    written = []
    baseline = (prov.get("baselines") or {}).get("best")
    if baseline is None:
        from harness.sweep import make_task
        baseline = make_task({}).constant_code_baseline("unseen")[1]
    if "bytedmd_to_criterion" in df and df["error"].isna().any():
        written.append(plots.plot_pareto(df, folder / "pareto.png", baseline=baseline))
    if rows:
        written.append(plots.plot_curves(rows, folder / "curves.png", df))
        written.append(plots.plot_cost_breakdown(rows, folder / "cost_breakdown.png"))
        written.append(plots.plot_reuse(rows, folder / "reuse.png"))
    return [Path(w).name for w in written if w]


def replot_scaling(folder: Path) -> list[str]:
    """The scaling report redrawn from scaling.csv (studies.scaling --report-only)."""
    from studies.scaling import rerender
    rerender(folder)
    return ["scaling_fits.csv", "crossings.csv", "history_overflow.csv", "summary.md",
            "scaling.png", "scaling_energy.png"]


REPLOT = {"compare_learners": replot_compare, "scaling": replot_scaling}


def _main(argv) -> int:
    p = Parser(prog="python -m studies.replot", description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="a results folder written by a study")
    a = p.parse_args(argv)
    folder = Path(a.folder)
    if not folder.is_dir():
        raise StudyError(f"{folder}: not a folder")
    owner = folder_owner(folder)
    if owner not in REPLOT:
        what = f"results of studies.{owner}" if owner else "no study's results"
        raise StudyError(f"{folder} holds {what}; figures are rebuilt for "
                         f"{', '.join(REPLOT)} folders")
    try:
        written = REPLOT[owner](folder)
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as e:
        raise StudyError(f"{folder}: cannot rebuild the figures ({type(e).__name__}: {e})") from None
    print(f"rebuilt in {folder}/: " + (", ".join(w + (" (+ .pdf)" if w.endswith(".png") else "")
                                               for w in written) or "nothing"),
          file=sys.stderr)
    return 0


def main(argv=None) -> int:
    return cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
