"""The pytest plugin that turns rubric test modules into grades.

Why one module of about 500 lines: its hooks share one session's state (the plan, the
order students are claimed in, each student's result as it grows, the workers alive);
split, that state would be passed between files that only make sense together.

One pytest session grades a whole batch: every rubric test is parametrised over the
students, items run student by student, and when a student's last test is done their
``Result`` is handed to ``Plan.on_result`` (which writes it). Session-scoped fixtures in
rubric modules therefore compute reference outputs once per batch; a module-scoped one
ends with each student's last test of that module and is made again for the next student
(``template`` gives session-scoped fixtures the template module).

Rubric tests see these fixtures: ``submission`` (a ``ProblemRun`` on the student's
file), ``baseline`` (a ``ProblemRun`` on the template, for timing), ``given`` (the
template module imported here, on the trusted side; ``template(problem_id)`` the same
for session-scoped fixtures), ``generator`` (seeded
``torch.Generator`` factory), ``seed``, ``device``, ``assignment`` and ``data_dir``.

A problem whose rubric says ``needs = "cuda"`` is skipped, with the reason, where student
code runs on the CPU (unless ``Plan.gpu_problems_on_cpu``); a missing file still shows as
missing.

``data_dir`` is the folder an instructor named with ``--data DIR`` (a ``Path``), or None:
where a rubric may read a real data set on the trusted side (e.g. FashionMNIST) instead of
generating one; the data then reach the worker as tensors, never as files. A rubric that
finds nothing usable there raises ``ConfigError``: any test that raises it stops the whole
batch (nothing more is graded or written) and the message is what the instructor reads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Literal

import pytest

from .._course.layout import Assignment
from .._course.display import capped
from .._exceptions import CheckFailed, ConfigError, StudentFault, SubmissionError
from ..checks import observe, take_notes, take_observations
from .._course.intake import Submission, identity
from .._course.models import NotebookCell, ProblemResult, ProblemSpec, Result, TestResult, TestSpec
from .._notebooks.module import NotebookModule
from .diagnosis import Known, Log, diagnose
from .runs import ProblemRun, RanOut
from .._sandbox.runner import Limits, Runner, WorkerSpec

log = logging.getLogger(__name__)

OUTPUT_CHARS = 16_000  # of one test's message in result.json (the page shows less)
BASELINE = "\x00template"  # no upload can be named so (a file name holds no NUL): never a student's name


@dataclass
class Plan:
    """Everything one grading session needs; built by ``grader._grading.api``."""

    assignment: Assignment
    submissions: list[Submission]
    runner: Runner
    mode: Literal["grade", "check"] = "grade"
    problems: set[str] | None = None
    seed: int = 0
    device: str = "cpu"
    limits: Limits = field(default_factory=Limits)
    memory_mb: int | None = None  # the instructor's --memory-mb; None: each problem's rubric value
    data_dir: Path | None = None  # the instructor's --data: the `data_dir` fixture of rubric tests
    gpu_problems_on_cpu: bool = False  # grade problems that need CUDA on the CPU anyway (their smaller CPU-sized checks)
    hide: list[Path] = field(default_factory=list)  # besides the course's own secrets: submissions, output
    on_result: Callable[[Result], None] = lambda r: None
    on_test: Callable[[str, TestResult], None] = lambda s, t: None
    # In a parallel batch: the next student this session grades (None: no more), shared by
    # every job; None here means this session grades every submission in order.
    claim: Callable[[], str | None] | None = None
    # Diagnosis (diagnosis.py): the known mistakes, graded at the head of the batch under the
    # names ``tests_of`` gives the only tests they run (their failed ones); never a result, their
    # comparisons kept in ``observations`` and in ``observed_dir``/<name>.pickle (for the other jobs)
    known: list[Known] = field(default_factory=list)
    tests_of: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # name -> {(problem, test)}
    observed_dir: Path | None = None

    # Filled while grading:
    config_error: str | None = None
    internal_errors: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    observations: dict[str, dict[str, Log]] = field(default_factory=dict)  # student -> problem -> comparisons

    @property
    def observing(self) -> bool:
        return bool(self.known)

    def selected(self, problem: ProblemSpec, test: TestSpec) -> bool:
        if self.problems is not None and problem.id not in self.problems:
            return False
        return self.mode == "grade" or test.visibility == "visible"

    def graded_here(self, problem: ProblemSpec) -> bool:
        """False for a problem that needs CUDA while student code runs on the CPU (its tests are skipped)."""
        return problem.needs != "cuda" or self.device.startswith("cuda") or self.gpu_problems_on_cpu


def _problem_of(item: pytest.Item) -> str:
    return Path(str(item.path)).stem.removeprefix("test_")


def _hidden(item: pytest.Item) -> bool:
    """Whether ``item`` is one of the tests a student does not see (any visibility but "visible")."""
    spec = item.stash.get(_SPEC, None)
    return spec is not None and spec[1].visibility != "visible"


def _exception_only(excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
    return excinfo.exconly()


def _student_of(item: pytest.Item) -> str:
    return str(item.callspec.params["submission"])  # type: ignore[attr-defined]


class GraderPlugin:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rubric = plan.assignment.rubric
        self.subs = {s.student: s for s in plan.submissions}
        self.order = {s.student: i for i, s in enumerate(plan.submissions)}
        # (student, problem, hidden): a problem's hidden tests get a worker of their own, never
        # the one that produced a visible message, and run after every visible test of the
        # student, so nothing a hidden test sends can reach what the student reads.
        self.runs: dict[tuple[str, str, bool], ProblemRun] = {}
        self.given_modules: dict[str, ModuleType] = {}
        self.records: dict[str, list[TestResult]] = {s.student: [] for s in plan.submissions}
        self.started: dict[str, float] = {}
        self.spent: dict[str, float] = {}  # student time used so far, per student
        # (student, problem id) -> the calls of its code that ran out of time (RanOut), for its visible and hidden tests
        self.ran_out: dict[tuple[str, str], dict[str, RanOut]] = {}
        # (student, problem) -> a notebook's module, the worker's files, or why it cannot be read
        self.notebooks: dict[tuple[str, str], tuple[NotebookModule | None, dict[str, Path], str | None]] = {}
        self.scratch: list[Path] = []  # where notebooks' modules are written (hidden from every worker)
        # (student, problem) -> the cells (and lines) its messages name
        self.named_cells: dict[tuple[str, str], list[tuple[int, int | None]]] = {}
        # (student, problem) -> the comparisons its checks made (diagnosis.py), while observing
        self.observed: dict[tuple[str, str], Log] = {}

    # ------------------------------------------------------------ collection --

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "submission" in metafunc.fixturenames:
            names = [s.student for s in self.plan.submissions]
            metafunc.parametrize("submission", names, ids=names, indirect=True)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.plan.config_error = f"a rubric test module failed to load:\n{report.longreprtext}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
        if self.plan.config_error:  # a module that failed to load: say that, not what it then lacks
            self._config_error(self.plan.config_error)
        found: dict[str, set[str]] = {}
        for item in items:
            name = getattr(item, "originalname", item.name)
            found.setdefault(_problem_of(item), set()).add(name)
            if "submission" not in getattr(item, "fixturenames", ()):
                self._config_error(f"{item.path}: {name} does not take the `submission` fixture, so it grades nothing")
        problems = [p for p in self.rubric.problems if self.plan.problems is None or p.id in self.plan.problems]
        for problem in problems:
            listed = {t.name for t in problem.tests}
            have = found.get(problem.id, set())
            if self.plan.mode == "check":  # (the hidden checks' module is not collected)
                listed = {t.name for t in problem.tests if t.visibility == "visible"}
            path = " and ".join(map(str, self.plan.assignment.test_modules(problem, hidden=self.plan.mode == "grade")))
            if missing := sorted(listed - have):
                self._config_error(f"{path}: the rubric lists {missing} but the module has no such test")
            if extra := sorted(have - listed):
                self._config_error(f"{path}: {extra} are not in rubric.toml, so they would be worth nothing")
        keep, drop = [], []
        rank = {(p.id, t.name): (i, j) for i, p in enumerate(self.rubric.problems) for j, t in enumerate(p.tests)}
        for item in items:
            problem = self.rubric.problem(_problem_of(item))
            test = next(t for t in problem.tests if t.name == getattr(item, "originalname", item.name))
            only = self.plan.tests_of.get(_student_of(item))
            if self.plan.selected(problem, test) and (only is None or (problem.id, test.name) in only):
                item.add_marker(pytest.mark.timeout(test.timeout + 900, method="signal"))
                # pytest's own report of a failure (a long traceback, formatted for every
                # failing test: half a second of a self-check) is never read: _classify
                # words each outcome itself, from the exception.
                item.repr_failure = _exception_only  # type: ignore[method-assign]
                item.stash[_SPEC] = (problem, test)
                keep.append(item)
            else:
                drop.append(item)
        keep.sort(key=lambda it: (self.order[_student_of(it)], _hidden(it), rank[(_problem_of(it), getattr(it, "originalname", it.name))]))
        items[:] = keep
        if drop:
            config.hook.pytest_deselected(items=drop)

    def _config_error(self, message: str) -> None:
        self.plan.config_error = message
        pytest.exit(message, returncode=4)

    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """In a parallel batch, run only the students this session claims, one by one, each
        claimed only once the last is done (a job never holds a student another job could
        start). A student's last item is run with another student's first item as the next
        one (every student has the same items), so pytest keeps the session's reference
        outputs; at the very end pytest tears everything down anyway."""
        claim = self.plan.claim
        if claim is None or session.config.option.collectonly:
            return None
        by: dict[str, list[pytest.Item]] = {}
        for item in session.items:
            by.setdefault(_student_of(item), []).append(item)
        firsts = [items[0] for items in by.values()]
        current = claim()
        while current is not None:
            items = by.get(current, [])
            after = next((f for f in firsts if _student_of(f) != current), None)
            for i, item in enumerate(items):
                nextitem = items[i + 1] if i + 1 < len(items) else after
                item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                if session.shouldfail:
                    raise session.Failed(session.shouldfail)
                if session.shouldstop:
                    raise session.Interrupted(session.shouldstop)
            current = claim()
        return True

    # -------------------------------------------------------------- fixtures --

    def _run(self, student: str, problem: ProblemSpec, hidden: bool = False) -> ProblemRun:
        key = (student, problem.id, hidden)
        if key not in self.runs:
            a = self.plan.assignment
            memory = self.plan.memory_mb or max(problem.memory_mb, 256)  # the instructor's word, else the rubric's
            limits = Limits(**{**self.plan.limits.__dict__, "memory_mb": memory})
            data = {n: a.template_dir / n for n in self.rubric.data_files}
            notebook = None
            if student == BASELINE:
                files, missing = {problem.file: a.template_file(problem.file)}, None
            else:
                sub = self.subs[student]
                src = sub.files.get(problem.file)
                files = {problem.file: src} if src else {}
                notes = [n for n in sub.notes if n.startswith(problem.file) or f"/{problem.file}" in n]
                absent = "was not found in this folder" if self.plan.mode == "check" else "was not submitted"
                missing = sub.problem or (None if src else f"{problem.file} {absent}." + (
                    " (" + "; ".join(notes) + ")" if notes else ""))
                if src is not None and src.suffix.lower() == ".ipynb" and not sub.problem:
                    notebook, files, unreadable = self._notebook(student, problem, src, sub.origin.get(problem.file, src.name))
                    missing = missing or unreadable
                    if hidden and notebook is not None:
                        # a copy of its own: what the hidden tests' worker reports when it loads
                        # (load_failures) is never what the page's notes, made from the visible
                        # tests' notebook object, show
                        notebook = replace(notebook, load_failures=[])
            course_private = [a.root / d for d in ("rubrics", "reference", "tests", "examples", ".git")]
            spec = WorkerSpec(
                label=("(template)" if student == BASELINE else student) + f"/{problem.id}" + ("/hidden" if hidden else ""),
                hide=tuple(p for p in [*course_private, *self.plan.hide, *self.scratch[:1]] if p.is_dir()),
                files={**data, **files},
                module=problem.module,
                driver=a.driver(problem),
                limits=limits,
                device=self.plan.device,
                submission=None if student == BASELINE else student,
            )
            run = self.runs[key] = ProblemRun(self.plan.runner, spec, import_timeout=problem.import_timeout, missing=missing,
                                              notebook=notebook, by_hand=problem.by_hand,
                                              ran_out=self.ran_out.setdefault((student, problem.id), {}))
            shown = self.runs.get((student, problem.id, False))
            if hidden and shown is not None:  # an import that failed (or hung) for the visible tests is not tried again
                run.inherit_import_failure(shown)
        return self.runs[key]

    def _notebook(self, student: str, problem: ProblemSpec, path: Path,
                  shown: str) -> tuple[NotebookModule | None, dict[str, Path], str | None]:
        """The problem's module made from the student's notebook (once per student and problem;
        its hidden tests' worker gets the same files, and a copy of the module: this one, the
        visible tests', is what the feedback's notes read): the module, the files the worker
        gets, and, where the notebook cannot be read, the message that says why."""
        key = (student, problem.id)
        if key not in self.notebooks:
            from .._notebooks.module import convert, template_names

            if not self.scratch:
                self.scratch.append(Path(tempfile.mkdtemp(prefix="grader-notebooks-")))
            try:
                nb = convert(path, problem.module, mode=problem.notebook, notebook_name=shown,
                             wanted=template_names(self.plan.assignment.template_file(problem.file)))
            except SubmissionError as exc:
                self.notebooks[key] = (None, {}, f"{str(exc).rstrip('.')}. (It stands for {problem.file}.)")
            except Exception as exc:  # noqa: BLE001 - one upload never stops the batch
                log.error("reading %s's notebook %s:\n%s", student, shown, traceback.format_exc())
                self.notebooks[key] = (None, {}, f"{shown} could not be read as a notebook ({type(exc).__name__}); "
                                                 f"save it again from Jupyter or Colab. (It stands for {problem.file}.)")
            else:
                folder = self.scratch[0] / f"{len(self.notebooks)}"
                self.notebooks[key] = (nb, nb.write(folder), None)
        return self.notebooks[key]

    @pytest.fixture
    def submission(self, request: pytest.FixtureRequest) -> Iterator[ProblemRun]:
        problem, test = request.node.stash[_SPEC]
        student = request.param
        run = self._run(student, problem, test.visibility != "visible")
        if not self.plan.graded_here(problem) and not run.missing:
            pytest.skip(f"Not graded here: {problem.id} needs a CUDA GPU and this grader runs student code on the CPU. "
                        "It is graded when the instructor grades on a machine with a GPU (--gpus, or --device cuda).")
        left = self.plan.limits.submission_seconds - self.spent.get(student, 0.0)
        if left < test.timeout:
            run.start_test(left, whole=self.plan.limits.submission_seconds)
        else:
            run.start_test(test.timeout)
        run.test_label = test.name if test.visibility == "visible" else "a hidden test"  # (its name is not the student's to read)
        observe(self.plan.observing)
        yield run
        self.spent[student] = self.spent.get(student, 0.0) + run.used
        request.node.stash[_STUDENT_TIME] = run.used  # the test's time is the student's code's, not the worker's start

    @pytest.fixture
    def baseline(self, request: pytest.FixtureRequest) -> ProblemRun:
        problem, _ = request.node.stash[_SPEC]
        run = self._run(BASELINE, problem)
        run.start_test(3600.0)
        return run

    def _given(self, problem_id: str) -> ModuleType:
        if problem_id not in self.given_modules:
            problem = self.rubric.problem(problem_id)
            path = self.plan.assignment.template_file(problem.file)
            spec = importlib.util.spec_from_file_location(f"_given_{self.rubric.assignment}_{problem.module}".replace("-", "_"), path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.given_modules[problem_id] = module
        return self.given_modules[problem_id]

    @pytest.fixture(scope="module")
    def given(self, request: pytest.FixtureRequest) -> ModuleType:
        return self._given(Path(str(request.path)).stem.removeprefix("test_"))

    @pytest.fixture(scope="session")
    def template(self) -> Callable[[str], ModuleType]:
        """``template(problem_id)``: the module ``given`` is, for session-scoped fixtures."""
        return self._given

    @pytest.fixture(scope="session")
    def seed(self) -> int:
        return self.plan.seed

    @pytest.fixture(scope="session")
    def device(self) -> str:
        return self.plan.device

    @pytest.fixture(scope="session")
    def assignment(self) -> Assignment:
        return self.plan.assignment

    @pytest.fixture(scope="session")
    def data_dir(self) -> Path | None:
        return self.plan.data_dir

    @pytest.fixture
    def generator(self, request: pytest.FixtureRequest) -> Callable[..., Any]:
        """``generator(tag)``: a CPU torch.Generator seeded from this run's seed, the test and ``tag``.

        The same for every student of a batch (so references are computed once), different each run.
        """
        import torch

        base = f"{self.plan.seed}/{request.node.path.stem}/{getattr(request.node, 'originalname', request.node.name)}"

        def make(tag: str = "") -> torch.Generator:
            digest = hashlib.sha256(f"{base}/{tag}".encode()).digest()
            return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)

        return make

    # --------------------------------------------------------------- running --

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        student = _student_of(item)
        self.started.setdefault(student, time.monotonic())
        yield
        if nextitem is None or _student_of(nextitem) != student:
            self._finish(student)
        elif (_problem_of(nextitem), _hidden(nextitem)) != (_problem_of(item), _hidden(item)) and (
                run := self.runs.get((student, _problem_of(item), _hidden(item)))):
            run.close()  # items run problem by problem: this worker is done (its sandbox may serve the next)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            item.stash[_OUTCOME] = self._classify(item, call, report)
            item.stash[_DURATION] = report.duration

    def _classify(self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> tuple[str, str]:
        notes = take_notes()
        if report.passed:
            return "passed", notes
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            return "skipped", reason.removeprefix("Skipped: ")
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, StudentFault):
            return exc.outcome, str(exc)
        if isinstance(exc, ConfigError):  # the grader was set up wrong (e.g. --data): no verdict on anyone
            self.plan.config_error = self.plan.config_error or str(exc)
            item.session.shouldstop = str(exc)
            return "error", str(exc)
        if isinstance(exc, (CheckFailed, AssertionError)):
            return "failed", str(exc) or "The check failed."
        if call.excinfo is not None and "Timeout" in call.excinfo.typename:
            return "timeout", "The grader ran out of time on this test."
        detail = "".join(traceback.format_exception(exc)) if exc else str(report.longrepr)
        self.plan.internal_errors.append(f"{item.nodeid}:\n{detail}")
        log.error("internal error in %s:\n%s", item.nodeid, detail)
        return "error", (
            "The grader itself failed on this test; this is not a verdict on your code. "
            f"Please tell your instructor. ({type(exc).__name__ if exc else 'error'}: {exc})"
        )

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        problem, test = item.stash[_SPEC]
        outcome, output = item.stash.get(_OUTCOME, ("error", "The test did not run."))
        student = _student_of(item)
        run = self.runs.get((student, problem.id, test.visibility != "visible"))
        if run is not None and run.notebook is not None:  # places in the notebook's code named as its cells
            output, cells = run.notebook.explain(output, outcome)
            if test.visibility == "visible":
                self.named_cells.setdefault((student, problem.id), []).extend(cells)
        record = TestResult(
            name=f"{problem.id}: {test.title}",
            problem=problem.id,
            status="passed" if outcome == "passed" else "failed",
            outcome=outcome,  # type: ignore[arg-type]
            score=test.points if outcome == "passed" else 0.0,
            max_score=test.points,
            visibility=test.visibility,
            output=capped(output, OUTPUT_CHARS),  # a message echoing a flood stays small
            test=test.name,
            duration=round(float(item.stash.get(_STUDENT_TIME, item.stash.get(_DURATION, 0.0))), 3),
        )
        self.records[student].append(record)
        if self.plan.observing:
            log_ = self.observed.setdefault((student, problem.id), {})
            for i, seen in enumerate(take_observations()):
                log_[(test.name, i)] = seen
        self.plan.on_test(student, record)

    def _finish(self, student: str) -> None:
        if self.plan.config_error:  # the batch stops: a result graded under a broken setup is not written
            return
        compute = 0.0
        for (s, _, _), run in list(self.runs.items()):
            if s == student:
                compute += run.compute
                run.close()
        self.plan.runner.release(student)
        if student in self.plan.tests_of:  # a known mistake (diagnosis.py): its comparisons, never a result
            self._keep_known(student)
            return
        rank = {(p.id, t.name): (i, j) for i, p in enumerate(self.rubric.problems) for j, t in enumerate(p.tests)}
        tests = sorted(self.records[student], key=lambda t: rank[(t.problem, t.test)])  # rubric order (hidden ones ran last)
        problems = []
        for p in self.rubric.problems:
            mine = [t for t in tests if t.problem == p.id]
            if mine:
                try:
                    found, public = self._diagnosis(student, p)
                except Exception as exc:  # noqa: BLE001 - a diagnosis never costs a student their result
                    log.warning("no diagnosis of %s on %s: %s: %s", student, p.id, type(exc).__name__, exc)
                    found, public = [], []
                shown = [m.as_hint() for m in public if m.shown == "students"]
                hints = shown + [m.as_hint(to_students=False) for m in found if m.id not in {h.mistake for h in shown}]
                problems.append(ProblemResult(id=p.id, title=p.title, score=sum(t.score for t in mine),
                                              max_score=sum(t.max_score for t in mine), **self._notebook_part(student, p),
                                              diagnosis=[m.id for m in found], hints=hints))
        for key in [k for k in self.observed if k[0] == student]:
            del self.observed[key]
        result = Result(
            assignment=self.rubric.assignment,
            student=student,
            score=sum(t.score for t in tests),
            max_score=sum(t.max_score for t in tests),
            execution_time=round(time.monotonic() - self.started.get(student, time.monotonic()), 3),
            problems=problems,
            tests=tests,
            mode=self.plan.mode,
            seed=self.plan.seed,
            device=self.plan.device,
            student_time=round(compute, 3),
            **identity(self.subs.get(student)),
        )
        # A group submission is graded once; each other member gets the same result as theirs.
        members = self.subs[student].group if student in self.subs else []
        for r in [result, *(result.model_copy(update={"student": m.student, **identity(m)}, deep=True) for m in members)]:
            self.plan.results.append(r)
            self.plan.on_result(r)

    def _keep_known(self, mistake: str) -> None:
        """Keep a known mistake's comparisons (per problem) for the students of this job, and
        in a file for the other jobs of the batch."""
        logs = {p: log_ for (s, p), log_ in self.observed.items() if s == mistake}
        for key in [k for k in self.observed if k[0] == mistake]:
            del self.observed[key]
        self.plan.observations[mistake] = logs
        if self.plan.observed_dir is not None:
            import pickle

            self.plan.observed_dir.mkdir(parents=True, exist_ok=True)
            path = self.plan.observed_dir / f"{mistake}.pickle"
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(logs))
            tmp.replace(path)

    def _known_log(self, m: Known) -> Log:
        """A known mistake's comparisons on its problem: kept here, or read from the file the
        job that graded it wrote (waiting for it while that job grades it: mistakes are claimed
        before any student, so it is under way; a job that died with it leaves none, and after
        the time a submission may take, that mistake diagnoses nobody)."""
        if m.runs_as not in self.plan.observations:
            import pickle

            path = None if self.plan.observed_dir is None else self.plan.observed_dir / f"{m.runs_as}.pickle"
            until = time.monotonic() + self.plan.limits.submission_seconds + 60
            while path is not None and not path.is_file() and time.monotonic() < until:
                time.sleep(0.05)
            try:
                self.plan.observations[m.runs_as] = pickle.loads(path.read_bytes()) if path is not None else {}
            except (OSError, pickle.UnpicklingError, EOFError) as exc:
                log.warning("no diagnosis by %s: its comparisons could not be read (%s)", m.id, exc)
                self.plan.observations[m.runs_as] = {}
        return self.plan.observations[m.runs_as].get(m.problem, {})

    def _diagnosis(self, student: str, problem: ProblemSpec) -> tuple[list[Known], list[Known]]:
        """The known mistakes the student's answers on ``problem`` match (diagnosis.py), on
        every test (the instructor's) and on the public tests alone: only the latter show a
        student their hint (one decided by the hidden tests' answers would tell, by showing
        or not, what the hidden tests hold)."""
        known = [replace(m, log=self._known_log(m)) for m in self.plan.known if m.problem == problem.id]
        if not known:
            return [], []
        log_ = self.observed.get((student, problem.id), {})
        visible = {t.name for t in problem.tests if t.visibility == "visible"}
        public = diagnose({k: o for k, o in log_.items() if k[0] in visible},
                          [replace(m, log={k: o for k, o in m.log.items() if k[0] in visible}) for m in known])
        return diagnose(log_, known), public

    def _notebook_part(self, student: str, problem: ProblemSpec) -> dict[str, Any]:
        """A problem's result's notebook fields: the block saying what of the notebook ran,
        and the cells its messages (and that block) name, with their source."""
        nb, _, _ = self.notebooks.get((student, problem.id), (None, {}, None))
        if nb is None:
            return {}
        named = list(self.named_cells.get((student, problem.id), []))
        named += [(lo.cell.index, lo.line) for _, lo in nb.needed_but_left_out] + [(c.index, None) for c, _ in nb.bad_cells_here()]
        named += [(place[0].index, place[1]) for line, _ in nb.load_failures if (place := nb.at(line))]
        lines: dict[int, set[int]] = {}
        for index, line in named:
            lines.setdefault(index, set()).update([line] if line else [])
        cells = [c for i in lines if (c := nb.cell(i)) is not None][:8]
        return {"notebook": nb.notebook, "notes": nb.summary(),
                "cells": [NotebookCell(index=c.index, execution_count=c.execution_count, source=capped(c.source, 8000),
                                       lines=sorted(lines[c.index])) for c in cells]}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        for run in self.runs.values():
            run.close()
        for folder in self.scratch:
            shutil.rmtree(folder, ignore_errors=True)


_SPEC = pytest.StashKey[tuple[ProblemSpec, TestSpec]]()
_OUTCOME = pytest.StashKey[tuple[str, str]]()
_DURATION = pytest.StashKey[float]()
_STUDENT_TIME = pytest.StashKey[float]()

__all__ = ["BASELINE", "ConfigError", "GraderPlugin", "Plan"]
