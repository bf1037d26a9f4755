"""Reporters: plain lines off a terminal; the rich dashboard renders without a terminal too."""

from __future__ import annotations

import io

from rich.console import Console

from experiments.progress import PlainReporter, RichReporter, TrialOutcome, make_reporter


class _Trial:
    def __init__(self, tid, gamma):
        self.trial_id, self.params = tid, {"gamma": gamma}


def _feed(rep):
    rep.start(name="g", total=3, workers=2, objective="pnl")
    rep.trial_done(_Trial("a" * 16, 0.1), TrialOutcome(trial_id="a" * 16, status="done",
                                                       metrics={"pnl": 2.5, "n_fills": 4.0}))
    rep.trial_done(_Trial("b" * 16, 0.2), TrialOutcome(trial_id="b" * 16, status="failed",
                                                       error="ValueError: bad"))
    rep.finish(interrupted=True)


def test_plain_reporter_prints_one_line_per_trial():
    """One header line, one line per finished trial (with params and error), one summary."""
    buf = io.StringIO()
    _feed(PlainReporter(buf, ["gamma"]))
    lines = buf.getvalue().splitlines()
    assert lines[0] == "sweep g: 3 trials on 2 worker(s)"
    assert lines[1].startswith("[1/3] aaaaaaaaaaaaaaaa done") and "gamma=0.1 pnl=2.5" in lines[1]
    assert lines[2].startswith("[2/3] bbbbbbbbbbbbbbbb failed") and "ValueError: bad" in lines[2]
    assert lines[3].startswith("sweep g interrupted: 1 done, 1 failed, 1 not run")


def test_rich_reporter_renders_best_so_far_and_failures():
    """The live view shows the bar, failures and the best-so-far table."""
    buf = io.StringIO()
    _feed(RichReporter(Console(file=buf, force_terminal=True, width=120), ["gamma"]))
    text = buf.getvalue()
    assert "best so far by pnl" in text and "failed" in text and "2/3" in text


def test_make_reporter_is_plain_off_a_terminal():
    """Under pytest stdout is captured (not a TTY): the plain reporter is chosen."""
    assert isinstance(make_reporter(["gamma"]), PlainReporter)
    assert isinstance(make_reporter(plain=False), RichReporter)


def test_rich_view_shows_running_trials_eta_direction_and_resume_hint():
    """Running trials with their parameters and elapsed time, ETA, a best-so-far table ranked
    by the objective's direction, and the one-line resume hint after Ctrl-C."""
    import time

    console = Console(record=True, width=140, force_terminal=True)
    rep = RichReporter(console, ["gamma"])
    rep.start(name="g", total=4, workers=2, objective="pnl", direction="minimize")
    for tid, g, pnl in (("a" * 16, 0.1, 5.0), ("b" * 16, 0.2, -3.0)):
        rep.trial_done(_Trial(tid, g), TrialOutcome(trial_id=tid, status="done",
                                                    metrics={"pnl": pnl}))
    rep.tick([(_Trial("c" * 16, 0.7), time.monotonic() - 12.0)])
    rep._live.refresh()
    text = console.export_text()
    assert "running" in text and "cccccccccccccccc" in text and "0.7" in text
    assert "12." in text and "ETA" in text
    best = text[text.index("best so far by pnl"):]
    assert best.index("bbbbbbbbbbbbbbbb") < best.index("aaaaaaaaaaaaaaaa")  # minimize: -3 first
    rep.finish(interrupted=True, hint="resume with: mmsim resume r.duckdb")
    tail = console.export_text()
    assert "interrupted" in tail and tail.rstrip().endswith("resume with: mmsim resume r.duckdb")


def test_plain_reporter_resume_counts_and_hint():
    """Resumed sweeps count stored trials; the hint is one plain line; tick prints nothing."""
    buf = io.StringIO()
    rep = PlainReporter(buf, ["gamma"])
    rep.start(name="g", total=5, workers=1, objective="pnl", already=3)
    rep.tick([(_Trial("c" * 16, 0.7), 0.0)])
    rep.trial_done(_Trial("a" * 16, 0.1), TrialOutcome(trial_id="a" * 16, status="done",
                                                       metrics={"pnl": 1.0}))
    rep.finish(interrupted=True, hint="resume with: mmsim resume r.duckdb")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "sweep g: 5 trials on 1 worker(s) (3 already stored)"
    assert lines[1].startswith("[4/5] aaaaaaaaaaaaaaaa done")
    assert lines[2].startswith("sweep g interrupted: 1 done, 0 failed, 1 not run")
    assert lines[3] == "resume with: mmsim resume r.duckdb" and len(lines) == 4


def test_one_eta_from_finished_trials_wall_time():
    """Issue 14 item 12: the ETA is (w × trials not started + Σ max(w − elapsed, 0) over the
    running ones) / min(workers, left), w = mean wall time of the finished trials; by hand."""
    from experiments.progress import _Tally

    t = _Tally()
    t.start("g", total=10, workers=2, objective="pnl")
    assert t.eta_s() is None  # nothing finished yet: no estimate
    for tid, wall in (("a", 4.0), ("b", 6.0)):
        t.add(_Trial(tid, 0.1), TrialOutcome(trial_id=tid, status="done", metrics={"pnl": 1.0}, wall_s=wall))
    now = 100.0
    t.running = [(_Trial("c", 0.2), now - 2.0), (_Trial("d", 0.3), now - 9.0)]
    # w = 5; left 8: 6 queued × 5 = 30, running c: 5 − 2 = 3, d: past w → 0; 33 / 2 workers
    assert t.eta_s(now) == 16.5
    t.workers = 16  # more workers than trials left: 8 share the work
    assert t.eta_s(now) == 33.0 / 8


def test_rich_view_has_a_single_eta():
    """The bar no longer has its own (rate-based) time remaining: one ETA on screen."""
    console = Console(record=True, width=160, force_terminal=True)
    rep = RichReporter(console, ["gamma"])
    rep.start(name="g", total=4, workers=1, objective="pnl")
    rep.trial_done(_Trial("a" * 16, 0.1), TrialOutcome(trial_id="a" * 16, status="done",
                                                       metrics={"pnl": 1.0}, wall_s=30.0))
    rep._live.refresh()
    frame = console.export_text().split("best so far")[0]
    assert frame.count("ETA") == 1 and "1:30" in frame  # 3 trials left × 30 s on 1 worker
    rep.finish(interrupted=False)


def test_best_so_far_ranks_a_trial_without_fills_last():
    """Issue 14 item 1: an idle quoter (no fill) is never ranked first, whatever its objective."""
    buf = io.StringIO()
    rep = PlainReporter(buf, ["gamma"])
    rep.start(name="g", total=2, workers=1, objective="pnl_per_1k_notional")
    rep.trial_done(_Trial("i" * 16, 1.0), TrialOutcome(trial_id="i" * 16, status="done",
                                                       metrics={"pnl_per_1k_notional": 0.0, "n_fills": 0.0}))
    rep.trial_done(_Trial("t" * 16, 0.1), TrialOutcome(trial_id="t" * 16, status="done",
                                                       metrics={"pnl_per_1k_notional": -4.0, "n_fills": 12.0}))
    assert [b[1].trial_id for b in rep.tally.best] == ["t" * 16, "i" * 16]
