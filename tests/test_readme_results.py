"""The README's generated result blocks come from the committed study outputs."""
from pathlib import Path

import pytest

from studies import readme_results

ROOT = Path(__file__).resolve().parents[1]


def test_replace_blocks_only_touches_the_block():
    text = "intro\n<!-- BEGIN generated:compare -->\nold\n<!-- END generated:compare -->\nrest\n"
    out = readme_results.replace_blocks(text, {"compare": "| new |"})
    assert out == "intro\n<!-- BEGIN generated:compare -->\n| new |\n<!-- END generated:compare -->\nrest\n"
    with pytest.raises(SystemExit, match="no block 'generated:scaling'"):
        readme_results.replace_blocks(text, {"scaling": "x"})


@pytest.mark.skipif(not all((ROOT / f).exists() for f in (
    "docs/results/compare_learners/summary.md", "docs/results/scaling/summary.md",
    "docs/results/rule_report/rule_report.md")), reason="no committed study outputs")
def test_readme_is_up_to_date_with_committed_outputs():
    readme = (ROOT / "README.md").read_text()
    outputs = {name: fn(ROOT / folder) for name, fn, folder in (
        ("compare", readme_results.block_compare, "docs/results/compare_learners"),
        ("scaling", readme_results.block_scaling, "docs/results/scaling"),
        ("rules", readme_results.block_rules, "docs/results/rule_report"),
        ("scaling_long", readme_results.block_scaling_long, "docs/results/scaling_long"))}
    assert readme_results.replace_blocks(readme, outputs) == readme, \
        "README results differ from docs/results: run python -m studies.readme_results"
