"""The batch's timing lock (grader/_sandbox/quiet.py): waiting for it is not the waiting test's time."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from typing import Any

import pytest

from grader._sandbox.quiet import Quiet


class Alarm(BaseException):
    """What pytest-timeout's alarm raises in the middle of a test."""


def test_a_test_waiting_for_another_job_s_timing_check_keeps_its_own_time(tmp_path: Any) -> None:
    """A request waits while another job's timing check holds the batch. pytest-timeout's
    alarm (wall clock) must not run meanwhile: a student whose timing check held the batch for
    long (sleeping in its timed calls) would fail every test that waited behind it, each
    "the grader itself failed". The alarm runs on once the lock is had, with what it had left."""
    quiet = Quiet()
    held = 1.0
    pid = os.fork()
    if pid == 0:  # another job: holds the batch alone for a while
        try:
            fd = os.open(quiet.path, os.O_RDWR)
            fcntl.flock(fd, fcntl.LOCK_EX)
            time.sleep(held)
        finally:
            os._exit(0)
    rang: list[float] = []

    def ring(signum: int, frame: Any) -> None:
        rang.append(time.monotonic())
        raise Alarm

    old = signal.signal(signal.SIGALRM, ring)
    try:
        time.sleep(0.2)  # (the other job has it by now)
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.5)  # the test's own limit: less than the other's hold
        with quiet.request():
            waited = time.monotonic() - start
            with pytest.raises(Alarm):
                time.sleep(5)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.waitpid(pid, 0)
        quiet.close()
    assert waited >= held - 0.3, f"the lock was had after {waited:.2f} s, while the other job held it"
    assert rang and rang[0] - start >= waited + 0.4, "the alarm ran while the test waited for the lock"
