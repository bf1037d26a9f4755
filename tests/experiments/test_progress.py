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
