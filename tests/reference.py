"""The reference vectors (docs/cost_model.md section 5).

The repo carries a copy, tests/data/reference_vectors.json, so that the tests run on any clean
checkout; test_reference_copy checks it against ../shared/reference_vectors.json wherever that
original is present."""
import json
from pathlib import Path

COPY = Path(__file__).resolve().parent / "data" / "reference_vectors.json"
ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "reference_vectors.json"


def load() -> dict:
    return json.loads(COPY.read_text())
