"""A timing check whose right but slow candidate uses up the test's time before the rounds
decide (grader/checks.py, ``speed_ratio``): the rounds timed so far are the verdict where
they already put it over the limit, with the figures, rather than a bare timeout."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch

from grader._exceptions import FreezeBroken, WorkerTimeout
from grader._grading.runs import ProblemRun
from grader._sandbox.inprocess import InProcessRunner
from grader._sandbox.runner import Limits, WorkerSpec
from grader.checks import speed_ratio

DRIVER = Path(__file__).parents[2] / "sandbox" / "driver.py"  # tests/sandbox: shared by the tiers


@pytest.fixture
def runner() -> Iterator[InProcessRunner]:
    r = InProcessRunner()
    yield r
    r.close()


def make_run(runner: InProcessRunner, folder: Path, source: str, budget: float) -> ProblemRun:
    folder.mkdir()
    path = folder / "sub.py"
    path.write_text(textwrap.dedent(source))
    run = ProblemRun(runner, WorkerSpec(label=f"{folder.name}/p", files={"sub.py": path}, module="sub", driver=DRIVER,
                                        limits=Limits(threads=1)), import_timeout=5.0)
    run.start_test(budget)
    return run


FAST = """
    def double(x):
        return x * 2
"""
SLOW = """
    import time
    def double(x):
        time.sleep({pause})
        return x * 2
"""


def timing(runner: InProcessRunner, tmp_path: Path, pause: float, budget: float) -> Any:
    candidate = make_run(runner, tmp_path / "student", SLOW.format(pause=pause), budget)
    baseline = make_run(runner, tmp_path / "baseline", SLOW.format(pause=0.01), 60.0)

    def right(out: Any, x: torch.Tensor) -> None:
        assert torch.equal(out, x * 2)

    try:
        return speed_ratio(candidate, baseline, "timed", values={"name": "double"}, inputs=lambda: torch.ones(3),
                           check=right, rounds=5, limit=1.5)
    finally:
        candidate.close()
        baseline.close()


def test_a_slow_answer_that_runs_out_of_time_is_told_slower_with_its_figures(runner: InProcessRunner, tmp_path: Path) -> None:
    # 0.4 s a call against 0.01 s: the warm-up and two rounds fit in 1.3 s, the third does not
    got = timing(runner, tmp_path, pause=0.4, budget=1.3)
    assert got.out_of_time and got.ratio > 1.5 and len(got.candidate) >= 1
    said = got.describe("yours", "the baseline")
    assert "the test's time ran out before more rounds could be timed" in said and "ratio" in said


def test_out_of_time_before_any_round_stays_a_timeout(runner: InProcessRunner, tmp_path: Path) -> None:
    with pytest.raises(WorkerTimeout):  # (the warm-up itself outlasts the test's time: no round to judge by)
        timing(runner, tmp_path, pause=0.5, budget=0.3)


def test_an_attempt_another_job_spoiled_costs_the_student_nothing(runner: InProcessRunner, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Another job's worker that runs while a check is timed (it is then stopped for good)
    makes the check time again from the start. The spoiled attempt is not the student's time:
    charged to it, two such attempts of a slow network used up a CI run's wall time, and the
    third was a bare "not run" timeout instead of "slower" with figures."""
    # 21 calls of 0.05 s (the warm-up and 20 rounds) fit in the 2 s allowed once, not twice over
    candidate = make_run(runner, tmp_path / "student", SLOW.format(pause=0.05), 2.0)
    baseline = make_run(runner, tmp_path / "baseline", SLOW.format(pause=0.01), 60.0)
    spoiled = []
    real_run = ProblemRun.run

    def run(self: ProblemRun, *args: Any, **kwargs: Any) -> Any:
        if self is baseline and not spoiled and candidate.used >= 1.0:
            spoiled.append(candidate.used)
            raise FreezeBroken("another job's worker ran while this check was timed, and was stopped for good")
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(ProblemRun, "run", run)

    def right(out: Any, x: torch.Tensor) -> None:
        assert torch.equal(out, x * 2)

    try:
        got = speed_ratio(candidate, baseline, "timed", values={"name": "double"}, inputs=lambda: torch.ones(3),
                          check=right, rounds=20)
    finally:
        candidate.close()
        baseline.close()
    assert spoiled, "the attempt was never spoiled: this test would show nothing"
    assert not got.out_of_time and len(got.candidate) == 20 and got.ratio > 1.5
    # the limit is given back, the wall time is not: the bound on how long a test holds the batch stands
    assert candidate.walled >= spoiled[0] + candidate.used - 0.01
