"""Verdicts that hold on a busy machine (issue 14, point 5).

A test's time limit counts the CPU time the student's processes used (read from the
worker's cgroup), never more than the wall time, with a wall-clock backstop for code that
sleeps or blocks. So a call that needs 2.5 s of CPU passes a 4 s limit even when CPU hogs
beside it leave it less than half a core (its wall time then passes 4 s), while a call that
never ends is still stopped, whatever the load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader._exceptions import WorkerTimeout
from grader._sandbox.local import LocalRunner
from workers import ROOT_ONLY, make_run

SLOW = """
    import time
    def burn(seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
        return seconds
    def forever():
        while True:
            pass
    def asleep():
        time.sleep(3600)
"""


@pytest.fixture
def hogs():  # type: ignore[no-untyped-def]
    """Busy loops on every core, twice over (the machine's other jobs)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)  # each its own autogroup
             for _ in range(2 * (os.cpu_count() or 1))]
    time.sleep(0.5)
    yield
    for p in procs:
        p.kill()
        p.wait()


@ROOT_ONLY
def test_a_slow_but_finishing_call_passes_its_limit_on_a_loaded_machine(tmp_path: Path, hogs: None) -> None:
    runner = LocalRunner()
    try:
        if runner.cgroups is None:
            pytest.skip("no cgroup here: limits count wall time")
        run = make_run(tmp_path, SLOW, budget=4.0, runner=runner)
        run.call("call", name="burn", seconds=0.01)  # the worker is up (its start is not the student's)
        run.start_test(4.0)
        started = time.monotonic()
        assert run.call("call", name="burn", seconds=2.5)["value"] == 2.5
        wall = time.monotonic() - started
        print(f"\n2.5 s of CPU took {wall:.1f} s of wall time beside the hogs; charged {run.used:.2f} s")
        assert run.used <= 4.0
        run.start_test(4.0)
        started = time.monotonic()
        with pytest.raises(WorkerTimeout):
            run.call("call", name="forever")
        assert time.monotonic() - started < max(3 * 4.0, 4.0 + 30) + 10  # the wall-clock backstop at the latest
        run.start_test(2.0)
        started = time.monotonic()
        with pytest.raises(WorkerTimeout):
            run.call("call", name="asleep")  # no CPU at all: the wall-clock backstop stops it
        assert 2.0 <= time.monotonic() - started < max(3 * 2.0, 2.0 + 30) + 10
        run.close()
    finally:
        runner.close()
