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


def test_readme_is_up_to_date_with_committed_outputs():
    readme = (ROOT / "README.md").read_text()
    outputs = {name: readme_results.BLOCKS[name](ROOT / folder)
               for name, (folder, _) in readme_results.DEFAULT_FOLDERS.items()}
    assert set(outputs) == set(readme_results.BLOCKS)
    assert readme_results.replace_blocks(readme, outputs) == readme, \
        "README results differ from docs/results: run python -m studies.readme_results"
