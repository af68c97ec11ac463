"""The cost-breakdown figure: absolute log scale of ByteDMD per update, arrays named by where they
are created, temporaries as 'intermediates created inside a phase'."""
from studies import plots


def _row(learner, scale):
    return {"learner": learner, "error": None, "bytedmd_per_update": 100 * scale,
            "bytedmd_forward": 50 * scale, "bytedmd_credit": 40 * scale,
            "bytedmd_update": 10 * scale,
            "by_label": {"label": ["(unnamed)", "cache:hs", "grad:W_hh", "W_hh"],
                         "reads": [5, 4, 3, 2],
                         "bytedmd": [60 * scale, 20 * scale, 15 * scale, 5 * scale]}}


def test_cost_breakdown_absolute_log_scale(tmp_path, monkeypatch):
    seen = {}

    def capture(fig, path):
        seen["fig"] = fig
        return str(path)
    monkeypatch.setattr(plots, "_save", capture)
    rows = [_row("bptt", 1e6), _row("bptt", 1e6), _row("rtrl", 4.4e9)]
    assert plots.plot_cost_breakdown(rows, tmp_path / "c.png") == str(tmp_path / "c.png")
    ax1, ax2 = seen["fig"].axes[:2]
    assert ax1.get_xscale() == ax2.get_xscale() == "log"
    lo, hi = ax1.get_xlim()
    assert lo <= 5e6 * 2 and hi >= 4.4e11                  # spans both learners' absolute costs
    legend = [t.get_text() for t in ax2.get_legend().get_texts()]
    assert {"intermediates created inside a phase", "cache:hs", "grad:W_hh", "W_hh"} <= set(legend)
    assert "(unnamed)" not in legend
    phases = [t.get_text() for t in ax1.get_legend().get_texts()]
    assert {"forward", "credit", "update"} <= set(phases)


def test_cost_breakdown_writes_png(tmp_path):
    out = plots.plot_cost_breakdown([_row("bptt", 1e6), _row("uoro", 1e7)], tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0 and out
