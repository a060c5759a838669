"""The Python API behind the CLI: grade a class, self-check one folder, validate an assignment.

Why one module of about 750 lines: grade, check, validate and report all run one ``Plan``
through one pytest session (``run_plan``) and share its resume, stamping and class files;
split by verb, each would reach into the others for them."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, cast

import pytest

from .._course.files import atomic_write
from .._course.layout import Assignment, Course
from .._exceptions import ConfigError
from .._reports.feedback import write_feedback
from .._course.display import FORMULA, cell
from .._course.intake import Submission, single, take_in
from .._reports.summary import load_results, render_summary
from .._course.models import Result, TestResult
from . import released_hints
from .diagnosis import Known
from .similarity import MIN_CLASS, class_similarity
from .plugin import GraderPlugin, Plan
from .._sandbox.local import LocalRunner
from .._sandbox.runner import Limits, Runner

log = logging.getLogger(__name__)

try:
    GRADER_VERSION = version("dl-grader")
except PackageNotFoundError:  # running from a checkout without installing
    GRADER_VERSION = "0+unknown"


@dataclass(frozen=True)
class Progress:
    """Callbacks the CLI uses to show progress; the library itself only logs."""

    on_test: Callable[[str, TestResult], None] = lambda student, test: None
    on_result: Callable[[Result], None] = lambda result: None
    on_intake: Callable[[list[str]], None] = lambda lines: None
    on_resume: Callable[[int, int], None] = lambda done, total: None  # already graded, in all


def run_plan(plan: Plan) -> list[Result]:
    """Run one pytest session over the plan's submissions; return their results in order."""
    a = plan.assignment
    problems = [p for p in a.rubric.problems if plan.problems is None or p.id in plan.problems]
    if not problems:
        raise ConfigError(f"none of the problems {sorted(plan.problems or [])} is in {a.id} (it has {[p.id for p in a.rubric.problems]})")
    if not plan.submissions:
        return []
    # The hidden checks' modules only when hidden checks are graded (a self-check never imports them).
    args = [str(m) for p in problems for m in a.test_modules(p, hidden=plan.mode == "grade")] + [
        "-p", "no:cacheprovider",
        "-p", "no:terminal",
        "-p", "no:stepwise",
        "-p", "no:unraisableexception",  # its cleanup runs gc.collect() five times: a second of every run
        "--capture=no",
        "--noconftest",
        "--import-mode=importlib",
        "--rootdir", str(a.rubric_dir),
        "-c", os.devnull,
        "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]  # fmt: skip
    plugin = GraderPlugin(plan)
    try:
        with _own_options():
            code = pytest.main(args, plugins=[plugin])
    finally:
        _forget_rubric_modules(a.rubric_dir)
    if plan.config_error:
        raise ConfigError(plan.config_error)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise ConfigError(f"grading {a.id} stopped: pytest exited with {code!r}")
    return plan.results


@contextlib.contextmanager
def _own_options() -> Iterator[None]:
    """The grading session without the options and plugins pytest takes from the environment
    (``PYTEST_ADDOPTS``, ``PYTEST_PLUGINS``): a CI's ``-x``, ``--collect-only`` or ``-n auto``,
    meant for its own tests, stopped or emptied the grading of a class (every job wrote its
    ``--junitxml`` over the CI's own, too)."""
    saved = {name: os.environ.pop(name) for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS") if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _forget_rubric_modules(rubric_dir: Path) -> None:
    """Drop the session's check modules from ``sys.modules``. pytest's importlib mode names a
    module by its path under the rootdir (``test_momentum``) and reuses one of that name it
    finds there: without this, a later session in the same process (another course, or
    another assignment with a problem of the same id) would be graded with these checks."""
    root = os.path.realpath(rubric_dir) + os.sep
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if isinstance(where, str) and os.path.realpath(where).startswith(root):
            del sys.modules[name]


def _stamp(result: Result, isolation: str) -> Result:
    return result.model_copy(update={"grader_version": GRADER_VERSION, "isolation": isolation,
                                     "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def grade(
    assignment: str,
    submissions_dir: Path,
    out_dir: Path,
    *,
    course: Course | None = None,
    problems: set[str] | None = None,
    seed: int | None = None,
    runner: Runner | None = None,
    device: str = "cpu",
    limits: Limits | None = None,
    memory_mb: int | None = None,
    data_dir: Path | None = None,
    regrade: set[str] | None = None,
    regrade_all: bool = False,
    jobs: int | None = None,
    progress: Progress = Progress(),
    gpu_problems_on_cpu: bool = False,
    layout: str = "auto",
    students: set[str] | None = None,
    class_files: bool = True,
    diagnose: bool = True,
) -> list[Result]:
    """Grade every submission in ``submissions_dir``; write result.json and feedback.html per
    student and gradebook.csv into ``out_dir``. Each student's files are written as soon as
    their grading ends, so an interruption loses only the students being graded, and the
    same call resumes: a student whose result.json is already there (for these problems) is
    not graded again, unless named in ``regrade`` or ``regrade_all``. ``jobs`` students are
    graded at once (default: one per core, or one per GPU when grading on GPUs). ``data_dir``
    is where rubrics may read a real data set (their `data_dir` fixture; None: they make their own).
    ``students``: only these of the class (a Slurm task's share); ``class_files`` False leaves
    intake.txt, the gradebooks and summary.html to whoever grades the rest (the Slurm submitter).
    ``diagnose``: grade the known mistakes that carry a hint once, first, and name in each
    student's result those whose answers theirs match (diagnosis.py); no score changes."""
    course = course or Course.locate()
    a = course.assignment(assignment)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="grader-intake-"))
    try:
        intake = take_in(submissions_dir, a.student_files, scratch, layout=layout)
        # The uploads graded: a group's members get copies of their leader's result (see _plugin).
        units = [s for s in intake.submissions if s.leader is None]
        if students is not None:
            absent = sorted(students - {s.student for s in intake.submissions})
            if absent:
                raise ConfigError(f"no such student in {submissions_dir}: {', '.join(absent)}")
            units = [s for s in units if s.student in students]
        subs = [m for u in units for m in (u, *u.group)]
        if class_files:
            atomic_write(out_dir / "intake.txt", "\n".join(intake.summary()) + "\n")
            progress.on_intake(intake.summary())
        for sub in subs:
            for note in sub.notes:
                log.info("%s: %s", sub.student, note)
            if sub.problem:
                log.warning("%s: %s", sub.student, sub.problem)
        titles = {p.id: p.title for p in a.rubric.problems}
        unknown = sorted((regrade or set()) - {s.student for s in subs})
        if unknown:
            raise ConfigError(f"--regrade {' '.join(unknown)}: no such student in {submissions_dir}")
        again = {u.student for u in units if {m.student for m in (u, *u.group)} & (regrade or set())}
        wanted = {p.id for p in a.rubric.problems if problems is None or p.id in problems}
        done = {} if regrade_all else finished_results(out_dir, a.id, wanted, [u for u in units if u.student not in again])
        progress.on_resume(len(done), len(subs))
        todo = [u for u in units if u.student not in done]

        runner = runner or LocalRunner()
        isolation = runner.isolation  # before any student code: refused here where none can be had (SandboxError)
        needs = memory_mb or max((p.memory_mb for p in a.rubric.problems if problems is None or p.id in problems), default=0)
        jobs = max(1, min(jobs or default_jobs(runner, device, needs), len(todo)))
        limits = limits or Limits()
        if jobs > 1:  # the cores are shared out between the jobs
            limits = dataclasses.replace(limits, threads=min(limits.threads, max(1, (os.cpu_count() or 1) // jobs)))

        def write(result: Result) -> Result:
            result = _stamp(result, isolation)
            folder = out_dir / result.student
            write_feedback(result, folder / "feedback.html", problem_titles=titles)
            atomic_write(folder / "result.json", result.model_dump_json(indent=2))  # last: it marks the student done
            return result

        plan = Plan(
            assignment=a,
            submissions=todo,
            runner=runner,
            mode="grade",
            problems=problems,
            seed=secrets.randbits(31) if seed is None else seed,
            device=device,
            limits=limits,
            memory_mb=memory_mb,
            data_dir=data_dir,
            hide=[submissions_dir.resolve(), out_dir.resolve(), scratch],
            on_result=lambda r: progress.on_result(write(r)),
            on_test=progress.on_test,
            gpu_problems_on_cpu=gpu_problems_on_cpu,
        )
        if todo and diagnose:
            add_known_mistakes(plan, scratch)
        if not todo:
            results = []
        elif jobs == 1:
            if isinstance(runner, LocalRunner):
                runner.warm(device)  # its zygote imports torch while this session collects (and imports it too)
            results = run_plan(plan)
        else:
            results = _run_jobs(plan, jobs, write, progress)
        results = sorted([*done.values(), *results], key=lambda r: r.student)
        if class_files:
            if len(results) >= MIN_CLASS:
                log.info("Comparing the class's code (similarity, for the summary: instructors only)")
                class_similarity(a.id, submissions_dir, out_dir, course=course, layout=layout)
            write_class_files(out_dir, a, results)
        return results
    finally:
        if runner is not None:  # containers go, also when the batch was interrupted
            runner.close()
        shutil.rmtree(scratch, ignore_errors=True)


def add_known_mistakes(plan: Plan, scratch: Path, *, students_only: bool = False) -> None:
    """Put the known mistakes of ``plan``'s assignment that carry a hint at the head of its
    batch (diagnosis.py): each graded once, before any student is claimed, on the batch's
    seed, mode and runner, only on the checks it fails (the only ones where it can get a
    comparison wrong) that the plan runs (a self-check: the public ones; a mistake that fails
    none of them is left out); never written or counted as a student. A mistakes.toml that
    cannot be read is logged and gives none; a mistake whose run fails diagnoses nobody.
    ``students_only``: only the mistakes whose hint is shown to students (a release's)."""
    from .._authoring import mistakes as _mistakes

    a = plan.assignment
    try:
        hinted = [m for m in _mistakes.load(a) if m.diagnoses and (plan.problems is None or m.problem in plan.problems)
                  and (m.shown == "students" or not students_only)]
    except ConfigError as exc:
        log.warning("no diagnosis: %s", exc)
        return
    taken = {s.student for s in plan.submissions}
    subs, known = [], []
    for m in hinted:
        problem = a.rubric.problem(m.problem)
        tests = {(m.problem, t.name) for t in problem.tests if t.name in m.fails and plan.selected(problem, t)}
        if not tests:
            continue
        try:
            text = m.text(a)
        except ConfigError as exc:
            log.warning("no diagnosis by %s: %s", m.id, exc)
            continue
        name = f"known-mistake-{m.id}"
        while name in taken:  # a student of that name: the mistake runs under another
            name += "_"
        taken.add(name)
        folder = scratch / "known-mistakes" / m.id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / m.file).write_text(text, encoding="utf-8")
        subs.append(Submission(name, {m.file: folder / m.file}))
        known.append(Known(m.id, m.problem, m.hint, m.shown, runs_as=name))
        plan.tests_of[name] = tests
    plan.submissions = [*subs, *plan.submissions]
    plan.known = known
    plan.observed_dir = scratch / "known-mistakes-observed"


def write_class_files(out_dir: Path, a: Assignment | None, results: list[Result]) -> None:
    """gradebook.csv, gradebook-canvas.csv and summary.html of a graded class."""
    atomic_write(out_dir / "gradebook.csv", gradebook(a, results))
    atomic_write(out_dir / "gradebook-canvas.csv", canvas_gradebook(results))
    if results:
        similar = out_dir / "similarity" / "similarity.json"
        atomic_write(out_dir / "summary.html", render_summary(results, similar if similar.is_file() else None))


def default_jobs(runner: Runner, device: str, memory_mb: int = 0) -> int:
    """One job per core (one per GPU when student code runs on GPUs), and no more than the
    machine's free memory holds when each job's workers use ``memory_mb`` (a student's
    worker and a timing baseline's: twice a problem's limit)."""
    gpus = runner.gpu_count() if (runner.device or device).startswith("cuda") else 0
    jobs = gpus or os.cpu_count() or 1
    free = _available_mb()
    if memory_mb and free:
        jobs = min(jobs, max(1, free // (2 * memory_mb)))
    return jobs


def _available_mb() -> int:
    """MemAvailable of /proc/meminfo in MiB (0 where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _run_jobs(plan: Plan, jobs: int, write: Callable[[Result], Result], progress: Progress) -> list[Result]:
    """Grade ``plan`` in ``jobs`` processes at once, each a pytest session with a runner of
    its own that claims the next student from a shared counter (so a slow student holds up
    one job only). Each job writes its students' files itself; results come back here for
    the progress line and the gradebook. A job that dies takes nothing else with it: its
    finished students are written, and a rerun grades the rest."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork")  # the grader has not imported torch yet: forking is cheap and safe
    counter = ctx.Value("i", 0)
    names = [s.student for s in plan.submissions]
    links, procs = [], []
    for job in range(jobs):
        ours, theirs = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_job, args=(plan, job, jobs, counter, names, write, theirs), name=f"grader-job-{job}", daemon=False)
        p.start()
        theirs.close()
        links.append(ours)
        procs.append(p)
    results: list[Result] = []
    fatal: list[str] = []
    try:
        open_links = list(links)
        while open_links:
            for link in cast("list[Any]", wait(open_links)):
                try:
                    kind, body = link.recv()
                except (EOFError, OSError):
                    open_links.remove(link)
                    continue
                if kind == "result":
                    r = Result.model_validate_json(body)
                    results.append(r)
                    progress.on_result(r)
                elif kind == "fatal":
                    fatal.append(body)
        for p in procs:
            p.join()
    except BaseException:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: each job ends like an interrupted batch (containers go)
        for p in procs:
            p.join(timeout=120)
            if p.is_alive():
                p.kill()
        raise
    if fatal:
        raise ConfigError(fatal[0])
    lost = [p.name for p in procs if p.exitcode not in (0, None)]
    if lost:
        log.warning("%s ended abnormally (exit %s); rerun the same command to grade who is left",
                    ", ".join(lost), [p.exitcode for p in procs if p.exitcode])
    return results


def _job(plan: Plan, job: int, jobs: int, counter: Any, names: list[str], write: Callable[[Result], Result], link: Any) -> None:
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a job never outlives its batch
    if os.getppid() == 1:
        os._exit(1)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM from the batch: end like Ctrl-C (its containers go)

    signal.signal(signal.SIGTERM, interrupted)

    def claim() -> str | None:
        with counter.get_lock():
            i = counter.value
            counter.value += 1
        return names[i] if i < len(names) else None

    runner = plan.runner.fresh(job, jobs)  # where the job gets its GPU (one per job), before anything touches CUDA
    if isinstance(runner, LocalRunner):
        runner.warm(plan.device)  # its zygote imports torch while this job's session collects (and imports it too)
    plan.runner, plan.claim = runner, claim
    plan.on_result = lambda r: link.send(("result", write(r).model_dump_json()))
    plan.on_test = lambda s, t: None
    code = 0
    try:
        run_plan(plan)
    except ConfigError as exc:
        link.send(("fatal", str(exc)))
        code = 2
    except KeyboardInterrupt:
        code = 130
    finally:
        runner.close()
    link.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def finished_results(out_dir: Path, assignment: str, wanted: set[str], units: list[Submission]) -> dict[str, Result]:
    """The students of this batch already graded in ``out_dir`` (by student): a result.json
    that reads, of this assignment, covering the problems asked for now (not one saying they
    could not be graded), and graded for this very student and upload: the same Canvas user,
    login, SIS id, upload (its LMS ids) and files, not merely the same name (a name another
    person's may be next time, and a person's newer submission is graded anew). A group's
    upload counts as done only when every member's result is there."""
    done = {}
    for unit in units:
        found = {}
        for sub in (unit, *unit.group):
            try:
                r = Result.model_validate_json((out_dir / sub.student / "result.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                break
            same = (r.student, r.canvas_id, r.login, r.sis_id, r.upload, r.files_sha256) == (
                sub.student, sub.canvas_id, sub.login, sub.sis_id, sub.upload, sub.digest) and bool(r.upload)
            if not (same and r.assignment == assignment and r.mode == "grade" and not r.not_graded
                    and wanted <= {p.id for p in r.problems}):
                break
            found[sub.student] = r
        else:
            done.update(found)
    return done


def gradebook(a: Assignment | None, results: list[Result]) -> str:
    """One row per student: each problem's score, the total, and last the known mistakes
    diagnosed (``problem: id id; problem: id``, every one, instructors-only hints included:
    the gradebook is the instructor's), empty where none was; a column at the end, so the
    score columns stay where spreadsheets and scripts read them."""
    buf = io.StringIO()
    w = csv.writer(buf)
    ids = [p.id for p in a.rubric.problems] if a else list(dict.fromkeys(p.id for r in results for p in r.problems))
    w.writerow(["student", *ids, "score", "max_score", "diagnosis"])
    for r in sorted(results, key=lambda r: r.student):
        by = {p.id: p.score for p in r.problems}
        diagnosed = "; ".join(f"{p.id}: {' '.join(p.diagnosis)}" for p in r.problems if p.diagnosis)
        # a name (or an id) never runs as a formula
        w.writerow([cell(r.student), *(by.get(i, "") for i in ids), r.score, r.max_score, cell(diagnosed)])
    return buf.getvalue()


def _canvas_key(r: Result) -> str:
    """Who ``r`` is, by the LMS's ids: the Canvas user id, else the login (an e-mail, a
    folder's name), else the Gradescope submission (and submitter) of a submitter without an
    e-mail; "" where none is known (a name several uploads make)."""
    if r.canvas_id:
        return f"id:{r.canvas_id}"
    login = r.student if r.login is None else r.login  # (None: a result of an older grader)
    if login:
        return f"login:{login.casefold()}"
    return f"upload:{r.upload}" if r.upload.startswith("Gradescope submission") else ""


def one_per_person(results: list[Result]) -> list[Result]:
    """The results, less those of a person graded again under another name (a folder left from
    an earlier batch: a Canvas user whose login another user's name now shares is ``ann_500``
    now, no longer ``ann``; a Gradescope submitter renamed): of results that the LMS's ids say
    are one person's, the newest. A result of an older grader, which does not say which
    upload it graded, is kept, with a warning where newer ones do say."""
    newest: dict[str, Result] = {}
    for r in results:
        key = _canvas_key(r)
        if key and (key not in newest or (r.graded_at, r.student) > (newest[key].graded_at, newest[key].student)):
            newest[key] = r
    kept = [r for r in results if not _canvas_key(r) or newest[_canvas_key(r)] is r]
    for r in results:
        if not any(r is k for k in kept):
            other = newest[_canvas_key(r)]
            who = (f"Canvas user {r.canvas_id}" if r.canvas_id else "the same login" if r.login
                   else r.upload if r.upload else "the same person")
            log.warning("%s/result.json left out of the gradebooks: %s is graded again, later, as %s", r.student, who,
                        other.student)
    if any(r.upload for r in kept):
        for r in kept:
            if not r.upload:
                log.warning("%s/result.json was written by an older grader and does not say which upload it graded: it "
                            "cannot be matched to a person by the LMS's ids. Grade the class again, or remove it", r.student)
    return kept


# An ID, SIS User ID or SIS Login ID written as it is, for Canvas to match: digits, or an
# e-mail address of characters that start no spreadsheet function (no parenthesis, quote,
# space, | or !). Anything else is guarded as every other cell is.
_ID_CELL = re.compile(r"[\w.+'=-]+(@[\w.-]+)?", re.ASCII)


def _id_cell(value: str) -> str:
    return value if _ID_CELL.fullmatch(value) and ("@" in value or value.isdigit() or not value.startswith(FORMULA)) \
        else cell(value)


def canvas_gradebook(results: list[Result]) -> str:
    """The totals in the CSV that Canvas's Gradebook > Import reads: Canvas matches a row by
    ID (the Canvas user id, known from a Canvas bulk download), else by SIS User ID (the
    Gradescope sid of a submitter without an e-mail) or SIS Login ID (a Gradescope
    submitter's e-mail as written, a folder's name). Each is left empty where it is not one
    row's alone; a display name is never one. The ids are written as Canvas must read them
    (an e-mail starting with - or = too); the Student column, a label, is guarded against
    spreadsheets. The score column is named after the assignment: Canvas adds it as a new
    assignment, or rename it to an existing one's "Name (id)"."""
    buf = io.StringIO()
    w = csv.writer(buf)
    assignment = results[0].assignment if results else "score"
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    w.writerow(["Points Possible", "", "", "", "", max((r.max_score for r in results), default=0)])
    rows = sorted(results, key=lambda r: r.student)
    ids = [[r.canvas_id or "", r.sis_id or "", "" if r.canvas_id else r.student if r.login is None else r.login]
           for r in rows]  # (login None: a result of an older grader, whose name was its login)
    for column, what in enumerate(("Canvas user id", "SIS User ID", "SIS Login ID")):
        seen: dict[str, list[str]] = {}
        for r, row in zip(rows, ids):
            if row[column]:
                seen.setdefault(row[column].casefold(), []).append(r.student)
        for value, students in seen.items():
            if len(students) > 1:
                log.warning("%s %r is in %d rows (%s): written in none of them; enter their scores by hand", what, value,
                            len(students), ", ".join(students))
        for row in ids:
            if row[column] and len(seen[row[column].casefold()]) > 1:
                row[column] = ""
    for r, (canvas_id, sis_id, login) in zip(rows, ids):
        w.writerow([cell(r.student), _id_cell(canvas_id), _id_cell(sis_id), _id_cell(login), "", r.score])
    return buf.getvalue()


def report(out_dir: Path) -> list[Result]:
    """Re-make every page of an output folder from its stored result.json files (no grading):
    each student's feedback.html, gradebook.csv and summary.html (a person once, see
    ``one_per_person``)."""
    results = load_results(out_dir)
    for r in results:
        write_feedback(r, out_dir / r.student / "feedback.html")
    results = one_per_person(results)
    write_class_files(out_dir, None, results)
    return results


def grade_one(
    a: Assignment,
    sub: Submission,
    *,
    mode: Literal["grade", "check"],
    seed: int | None = None,
    device: str = "cpu",
    hide: list[Path] | None = None,
    data_dir: Path | None = None,
    on_test: Callable[[str, TestResult], None] = lambda s, t: None,
    gpu_problems_on_cpu: bool = False,
    problems: set[str] | None = None,
    unsandboxed: bool = False,
    runner: Runner | None = None,
    diagnose: bool = False,
    known: list[Known] | None = None,
) -> Result:
    """One submission in local workers (or ``runner``'s), in a session of its own (a self-check, a Gradescope run).
    ``diagnose``: name the known mistakes its answers match (``add_known_mistakes``: where the
    course folder has them, never in a release). ``known``: instead, these mistakes, their
    comparisons already made (a release's hints: released_hints.py)."""
    if runner is None:
        local = LocalRunner(unsandboxed=unsandboxed)
        local.warm(device)
        runner = local
    isolation = runner.isolation  # SandboxError here, before anything runs, where none can be had
    plan = Plan(
        assignment=a,
        submissions=[sub],
        runner=runner,
        mode=mode,
        seed=secrets.randbits(31) if seed is None else seed,
        device=device,
        hide=hide or [],
        gpu_problems_on_cpu=gpu_problems_on_cpu,
        data_dir=data_dir,
        on_test=on_test,
        problems=problems,
    )
    if known:
        plan.known = [m for m in known if problems is None or m.problem in problems]
        plan.observations = {m.runs_as: {m.problem: m.log} for m in plan.known}
    scratch = Path(tempfile.mkdtemp(prefix="grader-known-")) if diagnose and not known else None
    try:
        if scratch is not None:
            add_known_mistakes(plan, scratch)
        (result,) = run_plan(plan)
    finally:
        runner.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return _stamp(result, isolation)


def check(
    assignment: str,
    folder: Path,
    *,
    course: Course | None = None,
    seed: int | None = None,
    device: str = "cpu",
    progress: Progress = Progress(),
    feedback: Path | None = None,
    gpu_problems_on_cpu: bool = False,
    data_dir: Path | None = None,
    problems: set[str] | None = None,
    unsandboxed: bool = False,
    runner: Runner | None = None,
    diagnose: bool = True,
) -> Result:
    """A student's self-check: the public tests on their folder; feedback.html written beside it.
    ``runner``: where the code runs (default: local workers, sandboxed unless ``unsandboxed``).
    ``diagnose``: name the known mistakes with hints that its answers match, on the public
    tests: in a course's own folder, its known mistakes; in a release, the hints it carries
    for students (released_hints.py; none where it has none)."""
    course = course or Course.locate()
    a = course.assignment(assignment)
    unknown = sorted((problems or set()) - {p.id for p in a.rubric.problems})
    if unknown:
        raise ConfigError(f"{assignment} has no problem {', '.join(unknown)}; its problems: "
                          + ", ".join(p.id for p in a.rubric.problems))
    notebook = folder.is_file() and folder.suffix.lower() == ".ipynb"
    where = folder.parent if notebook else folder
    sub = single(folder, a.student_files, student=where.resolve().name or "me")
    if notebook and problems is None:
        # A notebook named for one file (momentum.ipynb, as a release hands them out) checks that problem
        named = [p.id for p in a.rubric.problems if Path(p.file).stem == folder.stem]
        problems = set(named) or None
    result = grade_one(a, sub, mode="check", seed=seed, device=device, data_dir=data_dir, on_test=progress.on_test,
                       gpu_problems_on_cpu=gpu_problems_on_cpu, problems=problems, unsandboxed=unsandboxed, runner=runner,
                       diagnose=diagnose and not course.released,
                       known=released_hints.read(course.root, a.id) if diagnose and course.released else None)
    default = folder.with_name(f"{folder.stem}-feedback.html") if notebook else folder / "feedback.html"
    write_feedback(result, feedback or default, problem_titles={p.id: p.title for p in a.rubric.problems})
    return result


def record_hints(a: Assignment, *, seeds: tuple[int, int] | None = None, runner: Callable[[], Runner] | None = None,
                 device: str = "cpu") -> str:
    """What a release of ``a`` carries for students' self-checks (released_hints.py): its known
    mistakes with a hint shown to students, graded on the public checks at the head of an
    otherwise empty self-check batch (``add_known_mistakes``), once under each of two seeds,
    and of their wrong answers those that do not depend on the seed. ``runner`` makes the
    workers of each run (default: local ones without a sandbox: only the course's own code
    runs)."""
    first, second = seeds or (secrets.randbits(31), secrets.randbits(31))
    while second == first:
        second = secrets.randbits(31)
    runs: list[dict[str, dict[str, Any]]] = []
    known: list[Known] = []
    for seed in (first, second):
        plan = Plan(assignment=a, submissions=[], runner=runner() if runner else LocalRunner(unsandboxed=True),
                    mode="check", seed=seed, device=device)
        scratch = Path(tempfile.mkdtemp(prefix="grader-release-hints-"))
        try:
            add_known_mistakes(plan, scratch, students_only=True)
            if plan.submissions:
                run_plan(plan)
        finally:
            plan.runner.close()
            shutil.rmtree(scratch, ignore_errors=True)
        known = plan.known
        runs.append(plan.observations)
    return released_hints.dumps(a.id, released_hints.kept(known, runs[0], runs[1]))


@dataclass(frozen=True)
class MistakeCheck:
    """How one known mistake was graded: the checks of its problem it did not pass, against
    those it names."""

    id: str
    problem: str
    what: str
    expected: list[str]
    failed: list[str]
    troubles: list[str]  # what else is wrong: a failing check that scored or said nothing, the grader failing

    @property
    def ok(self) -> bool:
        return set(self.failed) == set(self.expected) and not self.troubles


@dataclass(frozen=True)
class Validation:
    assignment: str
    which: Literal["reference", "template", "mistakes"]
    result: Result | None  # None for "mistakes": one result per mistake, summed up in ``mistakes``
    problems: list[str]  # what is wrong; empty when valid
    notes: list[str] = field(default_factory=list)  # what could not be validated here, and why
    mistakes: list[MistakeCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(assignment: str, *, course: Course | None = None, seed: int | None = None, progress: Progress = Progress(),
             gpu_problems_on_cpu: bool = False, mistakes: bool = True, extended: bool = False,
             problems: set[str] | None = None, runner: Runner | None = None) -> list[Validation]:
    """The reference must score full marks on every test; the untouched template must score
    zero on every test, each with an outcome other than an internal grader error. Problems
    that need CUDA are skipped here (said in ``notes``) unless ``gpu_problems_on_cpu``.
    Checks that call a driver function their driver does not define, or with arguments it
    does not take, stop the assignment's loading (``Course.assignment``); the placeholders
    ``grader new`` left are reported with the reference's problems, first. Where a reference
    marks its solutions, the template's given code (derived, or its own file) must be the
    reference's (``_authoring.given``): said with the template's problems.

    With ``mistakes``, every known mistake (``rubrics/<assignment>/mistakes.toml``; the
    ``extended`` ones too when asked) is graded in the same batch, on its own problem: each
    must fail exactly the checks it names, and every check must be failed by one of them
    (a check never shown to fail is not trusted to pass a right answer). ``problems``: only
    these problems and their mistakes. ``runner``: where the code runs (default: local
    workers without a sandbox, the course's own code being all that runs; the grader's tests
    give the in-process runner)."""
    from .._authoring import given as _given
    from .._authoring import mistakes as _mistakes
    from .._authoring import scaffold as _scaffold

    course = course or Course.locate()
    if course.released:
        raise ConfigError(f"{course.root} is a release for students (public checks only, no reference solutions): "
                          "validate in the course's own folder")
    a = course.assignment(assignment)
    # (a check calling what its driver lacks stopped course.assignment() already, as a ConfigError)
    authoring = [f"still to write: {t}" for t in _scaffold.todos(a)]
    given_problems, given_notes = _given.template_agreement(a)  # the template's given code is the reference's
    known = [m for m in _mistakes.load(a) if (extended or not m.extended) and (problems is None or m.problem in problems)
             ] if mistakes else []
    subs = [
        Submission("reference", {f: a.reference_dir / f for f in a.student_files if (a.reference_dir / f).is_file()}),
        Submission("template", {f: a.template_file(f) for f in a.student_files}),
    ]
    scratch = Path(tempfile.mkdtemp(prefix="grader-mistakes-")) if known else None
    unmade: list[str] = []  # mistakes whose edits no longer apply to the reference: said, not graded
    for i, m in enumerate(list(known)):
        assert scratch is not None
        try:
            text = m.text(a)
        except ConfigError as exc:
            unmade.append(str(exc))
            known.remove(m)
            continue
        folder = scratch / f"{i:04d}"
        folder.mkdir()
        (folder / m.file).write_text(text, encoding="utf-8")
        # only the mistake's own file: the other problems are "missing" and cost nothing
        subs.append(Submission(f"mistake-{m.id}", {m.file: folder / m.file}))
    # the course's own code only (reference, template, known mistakes): unsandboxed workers,
    # or the in-process runner a test gives
    runner = runner or LocalRunner(unsandboxed=True)
    plan = Plan(
        assignment=a,
        submissions=subs,
        runner=runner,
        mode="grade",
        problems=problems,
        seed=secrets.randbits(31) if seed is None else seed,
        on_test=progress.on_test,
        gpu_problems_on_cpu=gpu_problems_on_cpu,
    )
    try:
        results = {r.student: r for r in run_plan(plan)}
    finally:
        runner.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    out = []
    ref, tpl = results["reference"], results["template"]
    not_here = {p.id for p in a.rubric.problems if not plan.graded_here(p)}
    unchecked = [t for t in ref.tests if t.outcome == "skipped" and t.problem in not_here]
    out.append(Validation(a.id, "reference", ref, authoring + [
        f"{t.name}: {t.outcome}\n{t.output}" for t in ref.tests if t.outcome != "passed" and t not in unchecked
    ] + ([f"missing reference file {f}" for f in a.student_files if f not in subs[0].files]), [
        f"{p}: not validated here, it needs a CUDA GPU ({sum(t.problem == p for t in unchecked)} tests skipped; "
        "--gpu-problems-on-cpu runs its CPU-sized checks)" for p in sorted({t.problem for t in unchecked})]))
    out.append(Validation(a.id, "template", tpl, given_problems + [
        f"{t.name}: {t.outcome} (the untouched template must not score)" for t in tpl.tests if t.score > 0
    ] + [f"{t.name}: the grader failed internally:\n{t.output}" for t in tpl.tests if "grader itself failed" in t.output],
        given_notes))
    if mistakes:
        left_out = {p.id for p in a.rubric.problems if problems is not None and p.id not in problems}
        out.append(_mistake_validation(a, known, unmade, results, not_here, left_out))
    return out


def _mistake_validation(a: Any, known: list[Any], unmade: list[str], results: dict[str, Result],
                        not_here: set[str], left_out: set[str] = set()) -> Validation:  # noqa: B006 - never changed
    """The "mistakes" entry of validate: ``unmade`` says which mistakes could not be made;
    ``left_out``: the problems not asked for (nothing is said of them)."""
    from .._authoring import mistakes as _mistakes

    checks: list[MistakeCheck] = []
    problems: list[str] = list(unmade)
    notes: list[str] = []
    for m in known:
        if m.problem in not_here:
            continue
        r = results[f"mistake-{m.id}"]
        tests = [t for t in r.tests if t.problem == m.problem]
        failed = [t.test for t in tests if t.outcome != "passed"]
        troubles = [f"{t.test} did not pass but scored {t.score:g}" for t in tests if t.outcome != "passed" and t.score > 0]
        troubles += [f"{t.test} did not pass and says nothing" for t in tests if t.outcome != "passed" and not t.output.strip()]
        troubles += [f"{t.test}: the grader failed internally" for t in tests if "grader itself failed" in t.output]
        troubles += [f"{t.test} does not say {phrase!r} (it says: {t.output.strip()[:300]})" for t in tests
                     for phrase in m.says.get(t.test, []) if t.outcome != "passed" and phrase not in t.output]
        check = MistakeCheck(m.id, m.problem, m.what, list(m.fails), failed, troubles)
        checks.append(check)
        if not check.ok:
            lines = [f"mistake {m.id} ({m.problem}: {m.what}):"]
            if set(failed) != set(m.fails):
                extra, missed = sorted(set(failed) - set(m.fails)), sorted(set(m.fails) - set(failed))
                if missed:
                    lines.append(f"  passed, but should fail: {', '.join(missed)}")
                for name in extra:
                    out_ = next(t for t in tests if t.test == name)
                    lines.append(f"  failed, but is not named: {name}: {out_.outcome}: " + out_.output.strip()[:400])
            lines += [f"  {t}" for t in troubles]
            problems.append("\n".join(lines))
    failed_somewhere = {(c.problem, name) for c in checks for name in c.failed}  # as graded, not as claimed
    for p in a.rubric.problems:
        names = [t.name for t in p.tests if (p.id, t.name) not in failed_somewhere]
        if p.id in not_here or p.id in left_out or not names:
            continue
        problems.append(f"{p.id}: no known mistake fails {', '.join(names)}: add one to {a.rubric_dir / _mistakes.FILE} "
                        "(a check never shown to fail is not trusted to pass a right answer)")
    if not known:
        notes.append(f"no known mistakes: add them to {a.rubric_dir / _mistakes.FILE} (or validate with --no-mistakes)")
    skipped = sorted({m.problem for m in known if m.problem in not_here})
    notes += [f"{p}: its known mistakes were not graded here (it needs a CUDA GPU; --gpu-problems-on-cpu runs them)"
              for p in skipped]
    return Validation(a.id, "mistakes", None, problems, notes, checks)
