"""One worker at a time, for the tests that talk to a worker directly (tests/security/test_sandbox.py,
test_boundary.py, test_load.py, tests/system/test_docker.py; tests/unit/checks/test_kept_inputs.py
on the in-process runner): a student module written from a string, its ProblemRun, the
sandbox driver (tests/sandbox/driver.py)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from grader._grading.runs import ProblemRun
from grader._sandbox.isolation import local_isolation
from grader._sandbox.local import LocalRunner
from grader._sandbox.runner import Limits, Runner, WorkerSpec

DRIVER = Path(__file__).parent / "sandbox" / "driver.py"  # calls whatever the student module offers
# Workers are contained in namespaces of their own as root, and rootless where the kernel
# lets an ordinary user make a user namespace (CI runs the security tier both ways).
ISOLATION = local_isolation()[0]
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs the grader run as root (cgroups of its own)")
ISOLATED = pytest.mark.skipif(ISOLATION == "none", reason=f"workers cannot be isolated here: {local_isolation()[1]}")
# Workers forked from one zygote, as a batch has them (the tests below hold for workers
# started from scratch too: test_workers_started_from_scratch_are_bounded_alike).
SHARED = LocalRunner()
  # (closed at the end of the session: conftest's pytest_sessionfinish)


def make_run(tmp_path: Path, source: str, budget: float = 20.0, runner: Runner | None = None,
             submission: str | None = None, **limits: int) -> ProblemRun:
    path = tmp_path / "sub.py"
    path.write_text(textwrap.dedent(source))
    spec = WorkerSpec(label="student/p", files={"sub.py": path}, module="sub", driver=DRIVER,
                      limits=Limits(threads=1, **limits), submission=submission)
    run = ProblemRun(runner or SHARED, spec, import_timeout=5.0)
    run.start_test(budget)
    return run


FORK_BOMB = """
    import os
    def bomb():
        while True:
            try:
                os.fork()
            except OSError:
                pass
    def ok():
        return 1
"""
