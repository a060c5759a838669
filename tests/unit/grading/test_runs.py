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

