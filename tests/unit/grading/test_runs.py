"""A problem's run of a student's worker (grader/_grading/runs.py): what a request that did not
end with its reply read leaves behind (nothing: the worker is ended, and the next call gets a
fresh one with its own reply)."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from grader._grading.runs import ProblemRun
from grader._sandbox.inprocess import InProcessRunner
from grader._sandbox.runner import Limits, WorkerSpec

DRIVER = Path(__file__).parents[2] / "sandbox" / "driver.py"  # tests/sandbox: shared by the tiers


class Alarm(BaseException):
    """What pytest-timeout's alarm raises in the middle of a test (its Failed, a BaseException)."""


@pytest.fixture
def runner() -> Iterator[InProcessRunner]:
    r = InProcessRunner()
    yield r
    r.close()


def make_run(runner: InProcessRunner, folder: Path, source: str) -> ProblemRun:
    path = folder / "sub.py"
    path.write_text(textwrap.dedent(source))
    run = ProblemRun(runner, WorkerSpec(label="student/p", files={"sub.py": path}, module="sub", driver=DRIVER,
                                        limits=Limits(threads=1)), import_timeout=5.0)
    run.start_test(20.0)
    return run


def test_a_request_interrupted_before_its_reply_leaves_no_reply_for_the_next(runner: InProcessRunner, tmp_path: Path) -> None:
    """A test's own alarm (pytest-timeout) fired while a reply was due: that reply, read by
    the next request as its own, would answer every later call of the worker with the one
    before (a baseline worker shared by a batch: every later student timed against nothing)."""
    run = make_run(runner, tmp_path, """
        import time
        def slow(v):
            time.sleep(0.6)
            return ("slow", v)
        def fast(v):
            return ("fast", v)
    """)
    assert run.call("call", name="fast", v=0)["value"] == ["fast", 0]

    def ring(signum: int, frame: Any) -> None:
        raise Alarm

    old = signal.signal(signal.SIGALRM, ring)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Alarm):
            run.call("call", name="slow", v=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    for v in (2, 3):  # (the slow reply would have come by now)
        assert run.call("call", name="fast", v=v)["value"] == ["fast", v]
    run.close()


def test_a_call_that_outlasts_most_of_a_test_is_a_hang_and_many_slow_calls_are_not(runner: InProcessRunner, tmp_path: Path) -> None:
    """``hung`` (what cuts a problem's later tests to a quarter of their limits, in the plugin)
    marks one call that ran out of time having begun with most of the test's time left: code
    that never ends. Slow calls that each finish, many of which together use up a test's time
    (a timing check's rounds of a slow but right answer), are not: its later tests keep all
    of their time (a right LNiN whose Net2 loops over windows lost a hidden test to the cut)."""
    from grader._exceptions import WorkerTimeout

    run = make_run(runner, tmp_path, """
        import time
        def step():
            time.sleep(0.3)
            return 1
        def forever():
            time.sleep(3)
    """)
    run.start_test(1.0)
    with pytest.raises(WorkerTimeout):
        for _ in range(6):  # each finishes; the fourth finds too little time left
            run.call("call", name="step")
    assert not run.hung
    run.start_test(1.0)
    with pytest.raises(WorkerTimeout):
        run.call("call", name="forever")
    assert run.hung
    run.start_test(1.0)
    assert not run.hung  # (per test)
    run.close()
