"""Copy the committed study outputs into README.md, between generated-block markers.

    python -m studies.readme_results [--compare docs/results/compare_learners]
                                     [--scaling docs/results/scaling_all]
                                     [--scaling-long docs/results/scaling_long]
                                     [--hierarchy docs/results/scaling_no_llc]
                                     [--evaluation-order docs/results/evaluation_order]
                                     [--rules docs/results/rule_report] [--readme README.md]

Each block `<!-- BEGIN generated:NAME -->` ... `<!-- END generated:NAME -->` in the README is
replaced by the named output (the tables of summary.md, the git commit and command from
results.json), so that every number in the README is one a committed command wrote. Text
outside the blocks (what the numbers show) is written by hand. Blocks:

    compare     compare_learners summary.md (accuracy and data-movement tables)
    scaling     studies.scaling summary.md of every rule: ByteDMD and energy per update
    rules       studies.rule_report's rule_report.md (every rule over 10 seeds, both networks)
    scaling_long  the long-sequence scaling study: ByteDMD and energy per update, crossings,
                BPTT's history against the cache levels
    hierarchy   the scaling study on another memory hierarchy: energy per update, crossings,
                BPTT's history against its levels
    evaluation_order  studies.evaluation_order summary.md (numpy order vs fused chains)
    width4, width2, per_step, rtrl  the scaling study at 4 / 2 bytes per value and on per-step
                targets, and RTRL with BPTT: cost per update and crossings below BPTT
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from harness.io import atomic_write_text


ROOT = Path(__file__).resolve().parents[1]


def _shown(p: Path) -> str:
    """A path as the README shows it: relative to the repository root when inside it."""
    try:
        return p.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return p.as_posix()


def _provenance(folder: Path) -> str:
    p = folder / "results.json"
    if not p.exists():
        return ""
    prov = json.loads(p.read_text())
    commit = (prov.get("git_commit") or "?")[:10]
    cmd = prov.get("command") or ""
    return f"Produced by `{cmd}` at commit `{commit}` (config in `{_shown(p)}`)."


def _drop_title(md: str) -> str:
    lines = md.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).strip()


def _sections(md: str, wanted: list[str]) -> str:
    """The '## ' sections of a markdown text whose titles start with one of `wanted`."""
    parts = re.split(r"(?m)^## ", md)
    keep = [p for p in parts[1:] if any(p.startswith(w) for w in wanted)]
    return "\n".join("##### " + p.strip() + "\n" for p in keep).strip()


def block_compare(folder: Path) -> str:
    md = _drop_title((folder / "summary.md").read_text())
    md = re.sub(r"(?m)^## ", "#### ", md)
    return f"{_provenance(folder)}\n\n{md}"


def block_scaling(folder: Path) -> str:
    md = (folder / "summary.md").read_text()
    body = _sections(md, ["ByteDMD per update", "Energy per update"])
    return (f"{_provenance(folder)}\n\n{body}\n\nCrossings below BPTT for every rule, schedule "
            f"and cost model: `{_shown(folder / 'crossings.csv')}`.")


def block_hierarchy(folder: Path) -> str:
    md = (folder / "summary.md").read_text()
    body = _sections(md, ["Energy per update", "Crossings below BPTT", "BPTT's stored history"])
    return f"{_provenance(folder)}\n\n{body}"


def block_crossings(folder: Path) -> str:
    """A scaling study's energy table and its crossings below BPTT (number formats, per-step
    targets)."""
    md = (folder / "summary.md").read_text()
    body = _sections(md, ["ByteDMD per update", "Energy per update", "Crossings below BPTT"])
    return f"{_provenance(folder)}\n\n{body}"


def block_evaluation_order(folder: Path) -> str:
    md = _drop_title((folder / "summary.md").read_text())
    md = re.sub(r"(?m)^## ", "##### ", md)
    return f"{_provenance(folder)}\n\n{md}"


def block_scaling_long(folder: Path) -> str:
    md = (folder / "summary.md").read_text()
    body = _sections(md, ["ByteDMD per update", "Energy per update", "Crossings below BPTT",
                          "BPTT's stored history"])
    return f"{_provenance(folder)}\n\n{body}"


def block_rules(folder: Path) -> str:
    """The 10-seed table of studies.rule_report (rule_report.md), without its title."""
    md = _drop_title((folder / "rule_report.md").read_text())
    return md.replace("\n## ", "\n#### ")


BLOCKS = {"compare": block_compare, "scaling": block_scaling, "rules": block_rules,
          "scaling_long": block_scaling_long, "hierarchy": block_hierarchy,
          "evaluation_order": block_evaluation_order, "width4": block_crossings,
          "width2": block_crossings, "per_step": block_crossings, "rtrl": block_crossings}


# block -> (committed folder, the file its block reads)
DEFAULT_FOLDERS = {"compare": ("docs/results/compare_learners", "summary.md"),
                   "scaling": ("docs/results/scaling_all", "summary.md"),
                   "rules": ("docs/results/rule_report", "rule_report.md"),
                   "scaling_long": ("docs/results/scaling_long", "summary.md"),
                   "hierarchy": ("docs/results/scaling_no_llc", "summary.md"),
                   "evaluation_order": ("docs/results/evaluation_order", "summary.md"),
                   "width4": ("docs/results/scaling_width4", "summary.md"),
                   "width2": ("docs/results/scaling_width2", "summary.md"),
                   "per_step": ("docs/results/scaling_per_step", "summary.md"),
                   "rtrl": ("docs/results/scaling_rtrl", "summary.md")}


def replace_blocks(readme: str, outputs: dict[str, str]) -> str:
    for name, text in outputs.items():
        pat = re.compile(rf"(<!-- BEGIN generated:{name} -->\n)(.*?)(<!-- END generated:{name} -->)",
                         re.S)
        if not pat.search(readme):
            raise SystemExit(f"README has no block 'generated:{name}': add the markers "
                             f"<!-- BEGIN generated:{name} --> and <!-- END generated:{name} -->")
        readme = pat.sub(lambda m: m.group(1) + text.strip() + "\n" + m.group(3), readme)
    return readme


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m studies.readme_results", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, (folder, _) in DEFAULT_FOLDERS.items():
        p.add_argument("--" + name.replace("_", "-"), default=folder, metavar="DIR")
    p.add_argument("--readme", default="README.md")
    args = p.parse_args(argv)
    outputs = {}
    for name, (_, needed) in DEFAULT_FOLDERS.items():
        f = Path(getattr(args, name))
        if not (f / needed).exists():
            raise SystemExit(f"{f}/{needed} not found: run the study that writes it first")
        outputs[name] = BLOCKS[name](f)
    readme = Path(args.readme)
    atomic_write_text(readme, replace_blocks(readme.read_text(), outputs))
    print(f"updated {readme}: blocks {', '.join(outputs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
