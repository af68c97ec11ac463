"""docs/cost_model.md is the cost-model contract in the repository: a copy of the shared
COST_MODEL.md, equal to it wherever the shared original is present beside the checkout."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPY = ROOT / "docs" / "cost_model.md"
ORIGINAL = ROOT.parent / "shared" / "COST_MODEL.md"
# not the project's files: git's folder, and mutmut's copy of the project (docs/mutation.md)
NOT_OURS = {".git", "mutants"}


def project_files(pattern):
    return [p for p in ROOT.rglob(pattern) if not NOT_OURS & set(p.relative_to(ROOT).parts)]


def test_copy_defines_the_sections_the_code_cites():
    text = COPY.read_text()
    assert "ByteDMD" in text
    cited = set()
    for p in project_files("*.py"):
        cited |= {int(n) for n in re.findall(r"cost_model\.md sections? (\d)", p.read_text())}
    headings = re.findall(r"(?m)^#+\s*(\d+)", text)
    assert cited and cited <= {int(h) for h in headings}, (cited, headings)


@pytest.mark.skipif(not ORIGINAL.exists(), reason="../shared/COST_MODEL.md not beside this checkout")
def test_copy_equals_the_shared_original():
    assert COPY.read_text() == ORIGINAL.read_text()


def test_nothing_points_outside_the_repository():
    for p in project_files("*.py") + project_files("*.md"):
        if p in (COPY, Path(__file__).resolve()):
            continue
        assert "COST_MODEL.md" not in p.read_text(), p
