"""Results folders, shared by every study (re-exported by studies.common): which study and task
kind a folder holds, claiming one, and removing stale outputs."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from harness.io import atomic_write_text


class StudyError(Exception):
    """A mistake in the study's input: printed as one line, exit code 2."""


# ---- results folders -----------------------------------------------------------------------------

MARKER = ".study"
TASK_MARKER = ".task"          # the task kind (--task) a folder's runs are of; absent: final


def folder_owner(out: Path) -> str | None:
    """The study whose results a folder holds: its marker, else (older folders) the command in
    results.json or the file names; None for a folder with no study's results."""
    if (out / MARKER).is_file():
        return (out / MARKER).read_text().strip() or None
    try:
        cmd = json.loads((out / "results.json").read_text()).get("command", "")
        for word in str(cmd).split():
            if word.startswith("studies."):
                return word.split(".", 1)[1]
    except (OSError, ValueError, AttributeError):
        pass
    if (out / "rule_report.md").exists():
        return "rule_report"
    if any(out.glob("tune_*.csv")):
        return "tune"
    return None


def folder_task(out: Path) -> str:
    """The task kind of a folder's runs: its task marker, else final (folders before it)."""
    try:
        return (Path(out) / TASK_MARKER).read_text().strip() or "final"
    except OSError:
        return "final"


def prepare_out(out, study: str, force: bool = False, task_kind: str | None = None) -> Path:
    """Claim `out` for `study`: refuse (StudyError) a file, an unwritable folder, a folder of
    another study or, given `task_kind`, of this study on another task kind (unless force: then
    it is replaced whole) or a non-empty folder holding no study's results; mark it as this
    study's (and task kind's)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StudyError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        owner = folder_owner(out)
        if owner is None:
            raise StudyError(f"--out {out}: not empty and holds no study's results; "
                             "choose a new or empty folder")
        other_task = (owner == study and task_kind is not None
                      and folder_task(out) != task_kind)
        if owner != study or other_task or force:
            if not force:
                what = (f"studies.{owner} on --task {folder_task(out)}, not --task {task_kind}"
                        if other_task else f"studies.{owner}, not studies.{study}")
                raise StudyError(f"--out {out} holds results of {what}: choose another "
                                 f"folder, or --force to replace it whole")
            shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / MARKER, study + "\n")
        if task_kind is not None:
            atomic_write_text(out / TASK_MARKER, task_kind + "\n")
    except OSError as e:
        raise StudyError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    return out


def remove_stale(out: Path, known: list[str], written) -> list[str]:
    """Delete the outputs a study may write (`known`, names relative to out) that this
    invocation did not write: no figure or table of an earlier run survives beside new ones."""
    written = {Path(w).name for w in written if w}
    gone = []
    for name in known:
        for suffix in ((".png", ".pdf") if name.endswith(".png") else (Path(name).suffix,)):
            p = out / Path(name).with_suffix(suffix)
            if p.name not in written and p.with_suffix(".png").name not in written and p.exists():
                p.unlink()
                gone.append(p.name)
    return gone


def report_written(out: Path, names) -> None:
    print(f"wrote into {out}/: {', '.join(n for n in names if n)}; runs/ holds one file per run",
          file=sys.stderr)
