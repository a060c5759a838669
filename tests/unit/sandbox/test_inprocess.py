"""The in-process runner, the runner seam's fake: it keeps the protocol of a real worker
(every value encoded and decoded, faults said in the student's terms, a time limit), so that
checks, drivers, the plugin and the reports can be tested on it in seconds. What it must not
be mistaken for: a sandbox (tests/security holds what a real worker keeps out)."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
import torch

from grader._exceptions import DriverError, NotWritten, StudentError, WorkerTimeout, WrongAnswer
from grader._grading.runs import ProblemRun
from grader._sandbox.inprocess import InProcessRunner
from grader._sandbox.runner import Limits, WorkerSpec

DRIVER = Path(__file__).parents[2] / "sandbox" / "driver.py"  # tests/sandbox: shared by the tiers


@pytest.fixture
def runner():  # type: ignore[no-untyped-def]
    r = InProcessRunner()
    yield r
    r.close()


def make_run(runner: InProcessRunner, folder: Path, source: str, budget: float = 20.0, label: str = "student/p") -> ProblemRun:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sub.py"
    path.write_text(textwrap.dedent(source))
    run = ProblemRun(runner, WorkerSpec(label=label, files={"sub.py": path}, module="sub", driver=DRIVER,
                                        limits=Limits(threads=1)), import_timeout=5.0)
    run.start_test(budget)
    return run


def test_values_cross_the_same_channel_as_with_a_worker(runner: InProcessRunner, tmp_path: Path) -> None:
    run = make_run(runner, tmp_path, """
        import torch
        KEPT = []
        def double(x):
            KEPT.append(x)
            return x * 2
        def same():
            return KEPT[0]
    """)
    x = torch.arange(4.0)
    got = run.function("double")(x)
    assert torch.equal(got, x * 2)
    back = run.function("same")()
    assert torch.equal(back, x) and back is not x  # what the student's code held was decoded from a frame, not ours


def test_faults_are_said_as_a_worker_says_them(runner: InProcessRunner, tmp_path: Path) -> None:
    run = make_run(runner, tmp_path, """
        def bad():
            return 1 / 0
        def todo():
            raise NotImplementedError("write me")
    """)
    with pytest.raises(StudentError) as raised:
        run.function("bad")()
    said = str(raised.value)
    assert "ZeroDivisionError" in said and 'File "sub.py"' in said and str(tmp_path) not in said
    with pytest.raises(NotWritten, match="write me"):
        run.function("todo")()
    with pytest.raises(WrongAnswer, match="defines no function missing"):
        run.function("missing")()


def test_a_driver_s_broken_reply_is_the_driver_s_fault(runner: InProcessRunner, tmp_path: Path) -> None:
    run = make_run(runner, tmp_path, "def f():\n    return 1\n")
    with pytest.raises(DriverError, match="cannot send back"):
        run.call("unsendable", name="f", what="a set")
    assert run.call("call", name="f")["value"] == 1  # and the worker serves on


def test_two_workers_of_one_module_name_keep_their_own_modules(runner: InProcessRunner, tmp_path: Path) -> None:
    ann = make_run(runner, tmp_path / "ann", "WHO = 'ann'\ndef who():\n    return WHO\n", label="ann/p")
    ben = make_run(runner, tmp_path / "ben", "WHO = 'ben'\ndef who():\n    return WHO\n", label="ben/p")
    for _ in range(2):
        assert ann.function("who")() == "ann"
        assert ben.function("who")() == "ben"
    import sys

    assert "sub" not in sys.modules  # between requests, no student module is left in the process's


def test_a_call_past_its_time_is_stopped_and_the_next_worker_serves(runner: InProcessRunner, tmp_path: Path) -> None:
    slow = make_run(runner, tmp_path / "slow", "import time\ndef slow():\n    time.sleep(3)\n    return 1\n", budget=0.5)
    started = time.monotonic()
    with pytest.raises(WorkerTimeout, match="did not finish within"):
        slow.function("slow")()
    assert time.monotonic() - started < 2.5  # the wall-clock limit, not the call's end
    fine = make_run(runner, tmp_path / "fine", "def f():\n    return 7\n")
    assert fine.function("f")() == 7


def test_an_autograd_watch_reports_to_the_worker_it_watches(runner: InProcessRunner, tmp_path: Path) -> None:
    plain = make_run(runner, tmp_path / "plain", "import torch\ndef f():\n    return torch.ones(2) * 3\n", label="a/p")
    grad = make_run(runner, tmp_path / "grad", """
        import torch
        def f():
            x = torch.ones(2, requires_grad=True)
            (x * 3).sum().backward()
            return x.grad
    """, label="b/p")
    assert plain.call("watched", name="f")["used"] == []
    used = grad.call("watched", name="f")["used"]
    assert used, "a use of autograd must be seen"
    assert plain.call("watched", name="f")["used"] == []  # nothing of the other's watch reached this one
