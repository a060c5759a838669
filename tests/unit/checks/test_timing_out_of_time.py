"""A timing check whose right but slow candidate uses up the test's time before the rounds
decide (grader/checks.py, ``speed_ratio``): the rounds timed so far are the verdict where
they already put it over the limit, with the figures, rather than a bare timeout."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch

from grader._exceptions import WorkerTimeout
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
