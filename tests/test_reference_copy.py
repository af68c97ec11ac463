import json

import pytest

from reference import COPY, ORIGINAL, load


def test_copy_has_every_family():
    ref = load()
    assert len(ref["bytedmd"]) >= 10 and len(ref["ard"]) >= 2


@pytest.mark.skipif(not ORIGINAL.exists(), reason="../shared/reference_vectors.json not in this checkout")
def test_copy_equals_the_shared_original():
    assert json.loads(COPY.read_text()) == json.loads(ORIGINAL.read_text())
