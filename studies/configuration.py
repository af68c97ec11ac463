"""Which configuration of each rule a study runs: its tuned one (learners/tuned.json, from the
common search of studies/tune.py) or its constructor's defaults, with --hyper on top."""
from __future__ import annotations

from studies.common import StudyError


def configured_hyper(names: list[str], hyper: dict[str, dict], config: str) -> dict[str, dict]:
    """Each learner's hyperparameters: its tuned configuration (learners/tuned.json) with
    config == "tuned" (a rule given as 'module:Class' runs at its own defaults, untuned), nothing
    with config == "defaults" (the constructor's defaults); the --hyper settings on top."""
    import learners
    out = {}
    for n in names:
        base = {}
        if config == "tuned" and ":" not in n:
            try:
                base = learners.get(n).tuned_hyper()
            except LookupError as e:
                raise StudyError(f"--config tuned: {e}; or use --config defaults") from None
        out[n] = {**base, **hyper.get(n, {})}
    return out


def add_config_flag(p) -> None:
    """--config tuned|defaults (the study reads args.config, None meaning tuned)."""
    p.add_argument("--config", choices=["tuned", "defaults"], default=None,
                   help="each rule at its tuned configuration (learners/tuned.json) or at its "
                        "constructor's defaults (default tuned)")
