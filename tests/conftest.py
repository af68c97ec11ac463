"""Hypothesis runs derandomized by default, so the suite (and CI) gives the same verdict on every
run; `python -m pytest --hypothesis-profile=explore` draws fresh random examples instead."""
import signal

from hypothesis import settings

# The Ctrl-C tests need SIGINT delivered to this process and to the studies it starts. A test run
# started in the background by a non-interactive shell (`python -m pytest &`, nohup) inherits
# SIGINT ignored, Python then installs no KeyboardInterrupt handler, and every child inherits
# the ignoring too: restore Python's own handler (the one a terminal's run has).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=1000)
settings.load_profile("default")


def pytest_collection_modifyitems(config, items):
    """Under a mutation run (docs/mutation.md), run the fastest test files first and, within a
    file, the fastest tests first, by the durations mutmut recorded in its stats pass: a mutant
    is decided by its first failing test, so a killed mutant costs its quickest failing test,
    not whatever test came first. Files stay contiguous (module fixtures are built once). Tests
    the stats pass has not seen (written since, run by `tools/mutation.py --recheck`) go first:
    they are the ones written to kill the survivors being rechecked. Outside a mutation run
    (MUTANT_UNDER_TEST unset) the order is pytest's own."""
    import json
    import os
    from pathlib import Path

    if not os.environ.get("MUTANT_UNDER_TEST"):
        return
    stats = Path(__file__).resolve().parents[1] / "mutmut-stats.json"
    try:
        durations = json.loads(stats.read_text())["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    per_test = {it.nodeid: durations.get(it.nodeid, -1.0) for it in items}   # unseen: first
    per_file: dict[str, float] = {}
    for it in items:
        f = it.nodeid.split("::", 1)[0]
        per_file[f] = min(per_file.get(f, float("inf")), per_test[it.nodeid])
    items.sort(key=lambda it: (per_file[it.nodeid.split("::", 1)[0]], per_test[it.nodeid]))
