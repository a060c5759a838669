"""How one pytest session (one job of a batch) walks its students: what it claims when,
how long each worker lives, and that reference outputs are made once per session."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

from conftest import ROOT, build_class

from grader._course.layout import Course
from grader._grading.api import run_plan
from grader._course.intake import Submission
from grader._grading.plugin import Plan
from grader._sandbox.inprocess import InProcessRunner
from grader._sandbox.local import LocalRunner
from grader._sandbox.runner import WorkerSpec

STUDENTS = ["ann", "ben", "cal"]

COUNTING_FIXTURE = '''

@pytest.fixture(scope="session", autouse=True)
def _made_once_per_session():  # (added by tests/unit/grading/test_plugin.py)
    with open({path!r}, "a") as f:
        f.write("made\\n")
'''


class Recording(InProcessRunner):
    """An in-process runner that notes when workers start and close and when a submission is
    released (the rest of the ``Runner`` seam is the in-process runner's own)."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    def start(self, spec: WorkerSpec) -> Any:
        worker = super().start(spec)
        self.events.append(f"start {spec.label}")
        close, events = worker.close, self.events

        def closing() -> None:
            events.append(f"close {spec.label}")
            close()

        worker.close = closing
        return worker

    def release(self, submission: str) -> None:
        self.events.append(f"release {submission}")


def _course(tmp_path: Path, count_file: Path) -> Course:
    """A copy of mfdnn-hw5 whose momentum tests have a session fixture that counts itself."""
    root = tmp_path / "course"
    for part in ("rubrics", "student_template", "reference"):
        shutil.copytree(ROOT / part / "mfdnn-hw5", root / part / "mfdnn-hw5")
    module = root / "rubrics" / "mfdnn-hw5" / "test_momentum.py"
    text = module.read_text()
    module.write_text(text + "\nimport pytest\n" + textwrap.dedent(COUNTING_FIXTURE.format(path=str(count_file))))
    return Course.locate(root)


def test_a_job_claims_a_student_only_when_done_and_makes_references_once(tmp_path: Path) -> None:
    """A job claims the next student after the last one's result is out (never one it has
    not started: another job could grade it), each problem's worker is closed before the
    next problem's starts (the hidden tests, after all visible ones, in workers of their own), the runner hears when a student is done, and the session
    fixtures (the reference outputs) are made once for all the students."""
    count = tmp_path / "made.txt"
    course = _course(tmp_path, count)
    a = course.assignment("mfdnn-hw5")
    folder = build_class(course, "mfdnn-hw5", tmp_path / "class", {s: {} for s in STUDENTS})
    subs = [Submission(student=s, files={f: folder / s / f for f in a.student_files}) for s in STUDENTS]
    events: list[str] = []
    queue = list(STUDENTS)

    def claim() -> str | None:
        who = queue.pop(0) if queue else None
        events.append(f"claim {who}")
        return who

    runner = Recording(events)
    plan = Plan(assignment=a, submissions=subs, runner=runner, problems={"backprop", "momentum"}, seed=3, claim=claim,
                on_result=lambda r: events.append(f"result {r.student} {r.score}/{r.max_score}"))
    try:
        results = run_plan(plan)
    finally:
        runner.close()
    assert [r.student for r in results] == STUDENTS and all(r.score == r.max_score for r in results), results
    lifecycle = [e for e in events if "(template)" not in e]  # timing baselines live for the session
    expected: list[str] = []
    max_score = results[0].max_score
    for s in STUDENTS:
        expected += [f"claim {s}", f"start {s}/backprop", f"close {s}/backprop", f"start {s}/momentum",
                     f"close {s}/momentum",  # the hidden tests come last, each problem's in a worker of their own
                     f"start {s}/backprop/hidden", f"close {s}/backprop/hidden", f"start {s}/momentum/hidden",
                     f"close {s}/momentum/hidden", f"release {s}", f"result {s} {max_score}/{max_score}"]
    assert lifecycle == [*expected, "claim None"], "\n".join(lifecycle)
    assert count.read_text() == "made\n", "the session fixtures were made more than once"


def test_a_second_course_in_the_same_process_is_graded_with_its_own_checks(tmp_path: Path) -> None:
    """pytest names a check module by its path under the rubric folder (``test_momentum``): a
    session after another course's (or another assignment's problem of the same id) in the
    same process imports its own module, never the one left in sys.modules."""
    from grader._grading.api import check

    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copyfile(ROOT / "reference" / "mfdnn-hw5" / "momentum.py", folder / "momentum.py")
    first = check("mfdnn-hw5", folder, course=Course.locate(ROOT), seed=1, problems={"momentum"}, runner=InProcessRunner())
    assert first.score == first.max_score > 0
    count = tmp_path / "made.txt"
    second = check("mfdnn-hw5", folder, course=_course(tmp_path, count), seed=1, problems={"momentum"},
                   runner=InProcessRunner())
    assert second.score == second.max_score
    assert count.read_text() == "made\n", "the second course was graded with the first course's check module"


def test_each_job_of_a_parallel_batch_gets_one_gpu_of_its_own(monkeypatch: Any) -> None:
    """The one rule (``job_gpu``, applied by each runner's ``fresh``): job i of a batch of more
    than one gets the visible GPUs in turn; a batch of one keeps them all; a local batch on
    CUDA runs one job per GPU (on the CPU, one per core)."""
    import os

    from grader._grading.api import default_jobs
    from grader._sandbox.runner import job_gpu

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")  # restored after the test, whatever fresh() set
    assert [job_gpu(j, 3) for j in range(3)] == ["3", "5", "3"]
    assert job_gpu(0, 1) is None
    batch = LocalRunner(zygote=False)
    try:
        assert batch.device is None and batch.gpu_count() == 2
        assert default_jobs(batch, "cuda") == 2 and default_jobs(batch, "cpu") == (os.cpu_count() or 1)
        job = batch.fresh(1, 2)  # in the job's own process, in a batch
        try:
            assert os.environ["CUDA_VISIBLE_DEVICES"] == "5" and job.gpu_count() == 1
        finally:
            job.close()
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
        assert job_gpu(0, 2) is None and batch.gpu_count() == 0
        assert default_jobs(batch, "cuda") == (os.cpu_count() or 1)
    finally:
        batch.close()


def test_pytest_options_in_the_environment_do_not_change_a_grading(tmp_path: Path, monkeypatch: Any) -> None:
    """PYTEST_ADDOPTS and PYTEST_PLUGINS are a CI's settings for its own tests: a grading
    session takes none of them (``--collect-only`` graded nothing; ``-x`` stopped at the first
    failure; ``--junitxml`` wrote over the CI's report), and leaves them as they were."""
    from grader._grading.api import check

    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copyfile(ROOT / "reference" / "mfdnn-hw5" / "momentum.py", folder / "momentum.py")
    report = tmp_path / "ci-report.xml"
    options = f"-x --collect-only --junitxml={report}"
    monkeypatch.setenv("PYTEST_ADDOPTS", options)
    monkeypatch.setenv("PYTEST_PLUGINS", "no_such_plugin_of_the_ci")
    result = check("mfdnn-hw5", folder, course=Course.locate(ROOT), seed=1, problems={"momentum"}, runner=InProcessRunner())
    assert result.score == result.max_score > 0 and all(t.outcome == "passed" for t in result.tests), result.tests
    assert not report.exists()
    import os

    assert os.environ["PYTEST_ADDOPTS"] == options and os.environ["PYTEST_PLUGINS"] == "no_such_plugin_of_the_ci"
