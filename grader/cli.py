"""The command line: thin wrappers over ``grader._grading.api``; every default lives there.

Why one module of about 550 lines: one click command per verb, each a thin wrapper; the
verbs share their options, their progress lines and how an error is said."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._course.display import visible

from ._exceptions import GraderError
from ._platforms.options import DEFAULTS as SLURM, SlurmOptions
from ._sandbox.runner import Limits, Runner

if TYPE_CHECKING:
    from ._course.models import Result

_LIMITS = Limits()

_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "missing": "MISSING", "skipped": "SKIP"}
_COLOR = {"passed": "green", "failed": "red", "error": "red", "timeout": "yellow", "missing": "yellow", "skipped": "blue"}


def _course(course: str | None):  # type: ignore[no-untyped-def]
    from ._course.layout import Course

    return Course.locate(course)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


def _progress(verbose: bool, tests: bool = True, who: bool = True, students_read: bool = False):  # type: ignore[no-untyped-def]
    """Progress on stderr: each test (``tests``; named with its student unless ``who`` is
    False: a self-check has one), and per student a line with the counts, the time spent and
    the time left (from the pace so far). ``students_read``: a student reads it (a
    self-check), so only visible tests are told (a self-check runs no other)."""
    import time

    from ._grading.api import Progress

    state = {"todo": 0, "done": 0, "start": time.monotonic()}
    told: dict[tuple[str, str], dict[str, str]] = {}  # (student, problem) -> message -> the test it was told under
    last: dict[str, str] = {}  # student -> the message told or pointed to last

    def on_test(student: str, t) -> None:  # type: ignore[no-untyped-def]
        if not tests or (students_read and t.visibility != "visible"):
            return
        mark = click.style(f"{_MARK[t.outcome]:>7}", fg=_COLOR[t.outcome])
        click.echo(f"  {mark}  {t.score:g}/{t.max_score:g}  " + (f"{visible(student)}: " if who else "") + t.name, err=True)
        # A skip's reason is told once, under the table at the end (``check``).
        if verbose and t.outcome not in ("passed", "skipped") and t.output:
            # One message per cause: an import failure, a stub not written yet or a missing file
            # gives every test of the problem the same message; it is told once, under the first.
            seen = told.setdefault((student, t.problem), {})
            first = seen.get(t.output)
            if first is not None:
                where = "above" if last.get(student) == t.output else f"under \u201c{visible(first)}\u201d above"
                click.echo(f"           (the same as {where})", err=True)
            else:
                seen[t.output] = t.name
                click.echo("\n".join("           " + line for line in visible(t.output, newlines=True).splitlines()), err=True)
            last[student] = t.output
        else:
            last.pop(student, None)

    def on_result(r) -> None:  # type: ignore[no-untyped-def]
        state["done"] += 1
        done, todo = state["done"], max(state["todo"], state["done"])
        spent = time.monotonic() - state["start"]
        left = spent / done * (todo - done)
        count = f"[{done:>{len(str(todo))}}/{todo}]" if state["todo"] else ""
        pace = f"  {_clock(spent)} spent, about {_clock(left)} left" if state["todo"] and done < todo else ""
        bad = [t.outcome for t in r.tests if t.outcome in ("timeout", "error")]
        flag = click.style(f"  ({', '.join(sorted(set(bad)))})", fg="yellow") if bad else ""
        click.echo(click.style(f"  {count} {visible(r.student)}: {r.score:g}/{r.max_score:g} in {r.execution_time:.1f} s", bold=True)
                   + flag + pace, err=True)

    def on_intake(lines: list[str]) -> None:
        head, rest = lines[0], lines[1:]
        click.echo(click.style(head, bold=True), err=True)
        shown = rest if verbose or len(rest) <= 60 else [l for l in rest if "note:" in l or "ignored:" in l or "refused:" in l][:60]
        for line in shown:
            click.echo(line, err=True)
        if len(shown) < len(rest):
            click.echo(f"  ... {len(rest) - len(shown)} more lines in intake.txt in the output folder", err=True)

    def on_resume(done: int, total: int) -> None:
        state["todo"], state["start"] = total - done, time.monotonic()
        if done:
            click.echo(click.style(f"Resuming: {done} of {total} students are graded already in the output folder; "
                                   f"grading the other {total - done} (--regrade NAME or --regrade-all to redo).", bold=True), err=True)

    return Progress(on_test=on_test, on_result=on_result, on_intake=on_intake, on_resume=on_resume)


_unsandboxed_option = click.option(
    "--unsandboxed", is_flag=True, envvar="GRADER_UNSANDBOXED",
    help="Where this kernel refuses an ordinary user the namespaces workers are contained with: run student code "
         "uncontained anyway, as you (every result records it). Also GRADER_UNSANDBOXED=1.")


def _say_isolation(isolation: str) -> None:
    """The line every grade and check starts with: what contains the student's code."""
    from ._sandbox.runner import ISOLATIONS

    text = f"Isolation: {ISOLATIONS[isolation]}."
    click.echo(click.style(text, fg="red", bold=True) if isolation == "none" else text, err=True)


def _runner(kind: str, image: str | None, gpus: str | None, device: str | None, unsandboxed: bool = False):  # type: ignore[no-untyped-def]
    """The runner the options ask for, and a phrase saying where student code will run."""
    if kind == "local":
        if image or gpus:
            raise click.UsageError("--image and --gpus go with --runner docker")
        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise click.UsageError("--device cuda: no CUDA device is visible here (torch.cuda.is_available() is False)")
        from ._sandbox.local import LocalRunner

        return LocalRunner(unsandboxed=unsandboxed), f"in local worker processes, on the {(device or 'cpu').upper()}"
    if device:
        raise click.UsageError("with --runner docker, ask for GPUs with --gpus, not --device")
    from ._sandbox.docker import DEFAULT_IMAGE, DockerRunner, host_has_gpu, parse_gpus

    count = parse_gpus(gpus)
    note = ""
    if count is not None and not host_has_gpu():
        note, count = " (GPUs were asked for, but this machine has no NVIDIA GPU: grading on the CPU)", None
    r = DockerRunner(image or DEFAULT_IMAGE, gpus=count)
    on = "the CPU" if count is None else ("every GPU" if count < 0 else f"{count} GPU(s)")
    return r, f"in Docker containers of {r.image}, on {on}{note}"


def workers_device(workers: Runner, device: str | None) -> str:
    """Where student code runs: the runner's own device where it decides (Docker), else ``--device``."""
    return workers.device or device or "cpu"


# Options that several commands take, defined once.
_data_option = click.option(
    "--data", "data_dir", type=click.Path(exists=True, file_okay=False, resolve_path=True, path_type=Path), default=None,
    help="Folder of a real data set the rubric may use instead of generated data (e.g. one holding FashionMNIST/raw/).")
_gpu_problems_on_cpu_option = click.option(
    "--gpu-problems-on-cpu", is_flag=True,
    help="Also grade problems that need a CUDA GPU when student code runs on the CPU (their smaller CPU-sized checks; by default they are reported skipped).")


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``grader --version``: the version, and which grader this is (its folder) on which Python."""
    if not value or ctx.resilient_parsing:
        return
    import grader

    click.echo(f"dl-grader {grader.__version__} ({Path(grader.__file__).resolve().parent}; Python {sys.version.split()[0]})")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Print the grader's version, where it is installed, and exit.")
@click.option("-v", "--verbose", is_flag=True, help="Log what the grader does.")
def cli(verbose: bool) -> None:
    """Grade PyTorch homework: numeric checks that explain themselves, sandboxed student code."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.argument("assignment")
@click.argument("submissions_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder for result.json, feedback.html per student and gradebook.csv.")
@click.option("--problem", "problems", multiple=True, help="Grade only this problem id (repeatable).")
@click.option("--seed", type=int, default=None, help="Seed for the test inputs (default: a fresh random one).")
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
@click.option("--threads", type=int, default=None, help=f"Threads per worker (default here: {_LIMITS.threads}).")
@click.option("--cpu-seconds", type=int, default=None, help=f"CPU seconds per worker (default: {_LIMITS.cpu_seconds}).")
@click.option("--disk-mb", type=int, default=None, help=f"MiB of an isolated worker's /tmp, /var/tmp and folder, each (default: {_LIMITS.disk_mb}).")
@click.option("--file-mb", type=int, default=None, help=f"MiB of one file a worker writes (default: {_LIMITS.file_mb}).")
@click.option("--submission-seconds", type=float, default=None, help=f"Student time for all tests of a submission (default: {_LIMITS.submission_seconds:g}).")
@click.option("--memory-mb", type=int, default=None, help=f"MiB of memory per worker (default: what the rubric gives each problem, {_LIMITS.memory_mb} where it says nothing).")
@_data_option
@click.option("--runner", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="Where student code runs: processes here, or a container per worker.")
@click.option("--image", default=None, help="Docker image for --runner docker (default: dl-grader:local, built by `make image`).")
@click.option("--gpus", default=None, help="With --runner docker: all, N or none (default: none). Without a GPU here, grades on the CPU and says so.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None, help="With --runner local: where student code runs (default: cpu).")
@click.option("--regrade", "regrade", multiple=True, help="Grade this student again even if the output folder has their result (repeatable).")
@click.option("--regrade-all", is_flag=True, help="Grade every student again (by default a rerun grades only who is not done).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Students graded at once (default: one per core, or per GPU with --gpus, as far as free memory allows two workers of each job's problems).")
@click.option("--each-test", is_flag=True, help="Print every test's outcome, not only a line per student.")
@click.option("--layout", type=click.Choice(["auto", "folders", "gradescope", "canvas"]), default="auto", show_default=True,
              help="How SUBMISSIONS_DIR is laid out (auto: recognised from its top, never from inside an upload).")
@click.option("--diagnosis/--no-diagnosis", default=True, show_default=True,
              help="Grade the known mistakes that carry a hint (mistakes.toml) once, first, and name in each result those "
                   "whose answers the student's match; scores are not changed.")
@_gpu_problems_on_cpu_option
@_unsandboxed_option
@click.option("--slurm", is_flag=True, help="Grade through Slurm: a job array, each task a chunk of students on a node "
              "(the output folder must be on a file system the nodes share). The options below go with it.")
@click.option("--partition", default=None, help="With --slurm: the partition (sbatch --partition).")
@click.option("--account", default=None, help="With --slurm: the account charged (sbatch --account).")
@click.option("--time", "time_limit", default=None, help="With --slurm: each task's time limit, e.g. 1:00:00 (sbatch --time).")
@click.option("--gpus-per-task", type=click.IntRange(min=0), default=SLURM.gpus_per_task, show_default=True,
              help="With --slurm: GPUs per task through GRES (--gres=gpu:N); student code runs on them, one student per GPU at once.")
@click.option("--cpus-per-task", type=click.IntRange(min=1), default=SLURM.cpus_per_task, show_default=True,
              help="With --slurm: cores per task; on the CPU, a task grades that many students at once.")
@click.option("--students-per-task", type=click.IntRange(min=1), default=SLURM.students_per_task, show_default=True,
              help="With --slurm: students in each array task (see the README on choosing it).")
@click.option("--sbatch-option", "sbatch_options", multiple=True,
              help="With --slurm: another sbatch option, as sbatch takes it, e.g. --sbatch-option=--qos=short (repeatable).")
@click.option("--slurm-retries", type=click.IntRange(min=0), default=SLURM.retries, show_default=True,
              help="With --slurm: times a student whose task failed (node lost, time limit, out of memory, preempted) is submitted again.")
def grade(
    assignment: str, submissions_dir: Path, out_dir: Path, problems: tuple[str, ...], seed: int | None, course: str | None,
    threads: int | None, cpu_seconds: int | None, disk_mb: int | None, file_mb: int | None, submission_seconds: float | None,
    memory_mb: int | None, data_dir: Path | None, runner: str, image: str | None, gpus: str | None, device: str | None,
    regrade: tuple[str, ...], regrade_all: bool, jobs: int | None, each_test: bool, layout: str, gpu_problems_on_cpu: bool,
    unsandboxed: bool, slurm: bool, partition: str | None, account: str | None, time_limit: str | None, gpus_per_task: int,
    cpus_per_task: int, students_per_task: int, sbatch_options: tuple[str, ...], slurm_retries: int, diagnosis: bool,
) -> None:  # fmt: skip
    """Grade every student folder or .zip in SUBMISSIONS_DIR."""
    from ._grading.api import grade as run

    given = {"threads": threads, "cpu_seconds": cpu_seconds, "disk_mb": disk_mb, "file_mb": file_mb, "submission_seconds": submission_seconds}
    limits = Limits(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
    options = SlurmOptions(partition=partition, account=account, time=time_limit, gpus_per_task=gpus_per_task,
                           cpus_per_task=cpus_per_task, students_per_task=students_per_task, sbatch=tuple(sbatch_options),
                           retries=slurm_retries, poll_seconds=float(os.environ.get("GRADER_SLURM_POLL", SLURM.poll_seconds)))
    slurm_given = [o for o, field in (("--partition", "partition"), ("--account", "account"), ("--time", "time"),
                                      ("--gpus-per-task", "gpus_per_task"), ("--cpus-per-task", "cpus_per_task"),
                                      ("--students-per-task", "students_per_task"), ("--sbatch-option", "sbatch"),
                                      ("--slurm-retries", "retries")) if getattr(options, field) != getattr(SLURM, field)]
    if slurm:
        if jobs or gpus or device:
            raise click.UsageError("with --slurm, Slurm decides the cores and GPUs: use --cpus-per-task and --gpus-per-task, "
                                   "not --jobs, --gpus or --device")
        _grade_on_slurm(assignment, submissions_dir, out_dir, options, problems=set(problems) or None, seed=seed,
                        course=course, limits=limits, memory_mb=memory_mb, data_dir=data_dir, runner=runner, image=image,
                        regrade=set(regrade), regrade_all=regrade_all, layout=layout, gpu_problems_on_cpu=gpu_problems_on_cpu,
                        unsandboxed=unsandboxed)
        return
    if slurm_given:
        raise click.UsageError(f"{', '.join(slurm_given)} go with --slurm")
    workers, where = _runner(runner, image, gpus, device, unsandboxed)
    click.echo(f"Student code runs {where}.", err=True)
    _say_isolation(workers.isolation)
    results = run(assignment, submissions_dir, out_dir, course=_course(course), problems=set(problems) or None, seed=seed,
                  limits=limits, runner=workers, device=workers_device(workers, device), progress=_progress(False, each_test),
                  memory_mb=memory_mb, data_dir=data_dir, regrade=set(regrade), regrade_all=regrade_all, jobs=jobs, gpu_problems_on_cpu=gpu_problems_on_cpu,
                  layout=layout, diagnose=diagnosis)  # fmt: skip
    _summary_lines(assignment, out_dir, results)


def _grade_on_slurm(assignment: str, submissions_dir: Path, out_dir: Path, options: SlurmOptions, *, course: str | None,
                    runner: str, image: str | None, unsandboxed: bool, **grading: Any) -> None:
    """``grade --slurm``: the Python API's ``grade_on_slurm`` with the options as given, and its progress said."""
    import time

    from ._sandbox.runner import ISOLATIONS
    from ._platforms.slurm import SlurmStatus, grade_on_slurm

    gpus_per_task, cpus_per_task, students_per_task = options.gpus_per_task, options.cpus_per_task, options.students_per_task
    on = f"{gpus_per_task} GPU(s)" if gpus_per_task else f"{cpus_per_task} core(s)"
    how = "in local worker processes" if runner == "local" else f"in Docker containers of {image or 'dl-grader:local'}"
    click.echo(f"Student code runs in Slurm tasks of {students_per_task} students each, {how} on each task's {on}.", err=True)
    click.echo("Isolation: what each node gives (root or rootless namespaces"
               + (", else none: --unsandboxed" if unsandboxed else "; a node that gives neither stops the run") + "); every result records it.", err=True)
    progress = _progress(False, tests=False)
    shown_line, shown_at = [""], [0.0]

    def on_status(st: SlurmStatus) -> None:
        left = f", about {_clock(st.left)} left" if st.left is not None else ""
        waiting = f" ({st.waiting_for})" if st.queued and st.waiting_for else ""
        line = (f"Slurm {','.join(st.job_ids)}: {st.queued} queued{waiting}, {st.running} running, {st.done} done"
                + (f", {st.failed} not graded" if st.failed else "") + f" of {st.total}; {_clock(st.spent)} spent{left}")
        key = line.split(";")[0]
        if key != shown_line[0] or time.monotonic() - shown_at[0] > 60:
            click.echo(line, err=True)
            shown_line[0], shown_at[0] = key, time.monotonic()

    def on_submit(job: str, tasks: int, students: int) -> None:
        click.echo(f"Submitted Slurm job {job}: {tasks} task(s) for {students} student(s).", err=True)

    try:
        results = grade_on_slurm(assignment, submissions_dir, out_dir, options=options, course=_course(course), runner=runner,
                                 image=image, unsandboxed=unsandboxed, on_intake=progress.on_intake, on_resume=progress.on_resume,
                                 on_result=progress.on_result, on_status=on_status, on_submit=on_submit, **grading)  # fmt: skip
    except KeyboardInterrupt:
        click.echo(click.style("Interrupted: the run's Slurm tasks are cancelled and out of the queue; who was graded is in "
                               f"{out_dir} (gradebooks included). Rerun the same command to grade the rest.", bold=True), err=True)
        sys.exit(130)
    kinds: dict[str, int] = {}
    for r in results:
        if not r.not_graded:
            kinds[r.isolation or "unknown"] = kinds.get(r.isolation or "unknown", 0) + 1
    if kinds:
        click.echo("Isolation of the results: " + "; ".join(f"{n} {ISOLATIONS.get(k, k)}" for k, n in sorted(kinds.items())) + ".", err=True)
    failed = [r for r in results if r.not_graded]
    _summary_lines(assignment, out_dir, results)
    if failed:
        click.echo(click.style(f"{len(failed)} student(s) could not be graded (their result says why); rerun the same command "
                               "to grade them again: " + " ".join(visible(r.student) for r in failed), fg="yellow"), err=True)
        sys.exit(3)


def _summary_lines(assignment: str, out_dir: Path, results) -> None:  # type: ignore[no-untyped-def]
    click.echo(f"Graded {len(results)} submissions of {assignment}.")
    click.echo(f"Gradebook:      {out_dir / 'gradebook.csv'}")
    click.echo(f"For Canvas:     {out_dir / 'gradebook-canvas.csv'} (Gradebook > Import)")
    click.echo(f"Class summary:  {out_dir / 'summary.html'}")
    for r in results:
        click.echo(f"  {visible(r.student):<20} {r.score:>6g}/{r.max_score:g}   {visible(str(out_dir / r.student / 'feedback.html'))}")


@cli.command(name="slurm-task", hidden=True)
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("chunks", type=click.Path(path_type=Path))
@click.argument("index", type=int)
def slurm_task(run: Path, chunks: Path, index: int) -> None:
    """One array task of `grade --slurm` (what its task.sh runs on a node)."""
    from ._platforms.slurm import run_task

    sys.exit(run_task(run, chunks, index))


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
def report(out_dir: Path) -> None:
    """Re-make the pages of OUT_DIR (feedback, gradebook.csv, summary.html) from its results, without grading."""
    from ._grading.api import report as run
    from ._reports.summary import pass_rate_lines, pass_rates

    results = run(out_dir)
    click.echo(f"Re-made the pages of {len(results)} students of {results[0].assignment}.")
    click.echo("Pass rate per test (passed / graded; hidden tests included; a missing file or a skipped test is not graded):")
    for line in pass_rate_lines(pass_rates(results)):
        click.echo(line)
    click.echo(f"Class summary:  {out_dir / 'summary.html'}")
    click.echo(f"Gradebook:      {out_dir / 'gradebook.csv'}")
    click.echo(f"For Canvas:     {out_dir / 'gradebook-canvas.csv'} (Gradebook > Import)")


@cli.command()
@click.argument("assignment")
@click.argument("submissions_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for similarity.json, similarity.html and the side-by-side pages (default: similarity-ASSIGNMENT here). "
                   "Keep it away from what students get.")
@click.option("--floor", type=click.FloatRange(0, 1), default=None,
              help="Pairs scoring below this are left out of the report (default: 0.2).")
@click.option("--pages", type=click.IntRange(min=0), default=None, help="Side-by-side pages written, highest pairs first (default: 100).")
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
@click.option("--layout", type=click.Choice(["auto", "folders", "gradescope", "canvas"]), default="auto", show_default=True,
              help="How SUBMISSIONS_DIR is laid out (as for grade).")
def similarity(assignment: str, submissions_dir: Path, out_dir: Path | None, floor: float | None, pages: int | None,
               course: str | None, layout: str) -> None:
    """Rank pairs of students of SUBMISSIONS_DIR by how much code they share, the template's
    given code and lines most of the class wrote left out. No student code runs. The report is
    for instructors: evidence to look at, never a verdict."""
    from ._grading.similarity import PAGES, similarity as run
    from ._reports.similarity import FLOOR

    out = out_dir or Path(f"similarity-{assignment}")
    r = run(assignment, submissions_dir, out, course=_course(course), layout=layout,
            floor=FLOOR if floor is None else floor, pages=PAGES if pages is None else pages)
    sim = r.similarity
    click.echo(f"Compared {len(sim.students)} submissions of {assignment}: {len(sim.pairs)} pair(s) score {sim.floor:g} or more.")
    for i, p in enumerate(sim.pairs[:10], start=1):
        click.echo(f"  {i:>3}. {p.score:.2f}  {visible(p.a)}  {visible(p.b)}")
    for note in sim.notes:
        click.echo(f"  note: {visible(note)}", err=True)
    click.echo(f"Report:         {r.page}")
    click.echo(f"Pairs (JSON):   {r.json_path}")
    click.echo("Similarity is evidence to look at, never a verdict: read the side-by-side pages before concluding anything.")


@cli.command()
@click.argument("assignment")
@click.argument("folder", type=click.Path(path_type=Path), default=".")
@click.option("--seed", type=int, default=None, help="Seed for the test inputs (default: a fresh random one).")
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
@click.option("--problem", "problems", multiple=True, help="Check only this problem id (repeatable).")
@_data_option
@_gpu_problems_on_cpu_option
@_unsandboxed_option
def check(assignment: str, folder: Path, seed: int | None, course: str | None, problems: tuple[str, ...],
          gpu_problems_on_cpu: bool, data_dir: Path | None, unsandboxed: bool) -> None:
    """Self-check the files in FOLDER (or one notebook, FOLDER being an .ipynb file) against the
    public tests (exit 1 if one fails; a test that cannot run on this machine is SKIP, with the
    reason, and does not fail the check)."""
    from ._grading.api import check as run
    from ._sandbox.isolation import local_isolation, refuse_unsandboxed
    from ._reports.shown import shown_tests

    isolation, why = local_isolation()
    if isolation == "none" and not unsandboxed:
        refuse_unsandboxed(why)
    _say_isolation(isolation)
    result = run(assignment, folder, course=_course(course), seed=seed, progress=_progress(True, who=False, students_read=True), gpu_problems_on_cpu=gpu_problems_on_cpu,
                 data_dir=data_dir, problems=set(problems) or None, unsandboxed=unsandboxed)
    click.echo("")
    for line in check_table(result):
        click.echo(line)
    again = " ".join(["grader check", assignment, str(folder), "--seed", str(result.seed),
                      *(a for p in problems for a in ("--problem", p))])
    click.echo(f"Seed {result.seed}: to run exactly these tests again: {again}")
    page = folder.with_name(f"{folder.stem}-feedback.html") if folder.suffix.lower() == ".ipynb" else folder / "feedback.html"
    click.echo(f"Feedback page: {page}")
    sys.exit(0 if all(t.outcome in ("passed", "skipped") for t in shown_tests(result)) else 1)


def check_table(result: Result) -> list[str]:
    """The table ``grader check`` ends with: each visible test, the reasons of skips, and
    the total of the visible tests. A self-check runs no other test; were one in ``result``,
    nothing of it would be printed (``grader._reports.shown``)."""
    from ._reports.shown import shown_tests

    tests = shown_tests(result)
    lines = []
    width = max((len(t.name) for t in tests), default=0)
    for t in tests:
        mark = click.style(f"{_MARK[t.outcome]:<7}", fg=_COLOR[t.outcome])
        lines.append(f"{mark}  {t.name:<{width}}  {t.score:g}/{t.max_score:g}")
    for reason in sorted({t.output for t in tests if t.outcome == "skipped"}):
        lines.append(click.style("SKIP: ", fg=_COLOR["skipped"]) + visible(reason, newlines=True))
    for p in result.problems:  # a diagnosis' hints marked for students (never an instructors-only one)
        for h in p.hints:
            if h.shown == "students":
                lines.append(f"HINT ({p.id}): your answers are those of a mistake we have seen before; look at: "
                             + visible(h.text, newlines=True))
    score, max_score = sum(t.score for t in tests), sum(t.max_score for t in tests)
    lines.append(f"\nPublic tests: {score:g}/{max_score:g}. Hidden tests are graded after the deadline.")
    return lines


@cli.command()
@click.argument("assignment", required=False)
@click.option("--all", "all_", is_flag=True, help="Validate every assignment of the course.")
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
@click.option("--mistakes/--no-mistakes", default=True, show_default=True,
              help="Also grade the known mistakes (rubrics/ASSIGNMENT/mistakes.toml): each must fail exactly its checks.")
@click.option("--extended", is_flag=True, help="Also the mistakes marked extended (their checks are failed by others too).")
@_gpu_problems_on_cpu_option
def validate(assignment: str | None, all_: bool, course: str | None, mistakes: bool, extended: bool,
             gpu_problems_on_cpu: bool) -> None:
    """Check the course material: each reference scores full marks, each template zero, each
    known mistake fails exactly the checks it names, and every check is failed by one."""
    from ._grading.api import validate as run

    c = _course(course)
    if all_ == bool(assignment):
        raise click.UsageError("give an ASSIGNMENT or --all")
    ids = c.assignment_ids() if all_ else [str(assignment)]
    bad = 0
    for a in ids:
        click.echo(f"Validating {a} ...", err=True)
        for v in run(a, course=c, progress=_progress(False, tests=False), gpu_problems_on_cpu=gpu_problems_on_cpu,
                     mistakes=mistakes, extended=extended):
            state = click.style("ok" if v.ok else "INVALID", fg="green" if v.ok else "red")
            if v.result is not None:
                click.echo(f"{a} {v.which}: {v.result.score:g}/{v.result.max_score:g} {state}")
            else:
                right = sum(m.ok for m in v.mistakes)
                click.echo(f"{a} known mistakes: {right}/{len(v.mistakes)} fail exactly their checks {state}")
                if v.mistakes:
                    width = max(len(m.id) for m in v.mistakes)
                    for m in v.mistakes:
                        mark = click.style("ok  " if m.ok else "BAD ", fg="green" if m.ok else "red")
                        fails = ", ".join(sorted(m.failed)) or "none (a right answer: full marks)"
                        click.echo(f"  {mark} {m.id:<{width}}  {m.problem}: fails {fails}")
            for p in v.problems:
                click.echo("  " + p.replace("\n", "\n    "))
            for n in v.notes:
                click.echo("  note: " + n)
            bad += not v.ok
    sys.exit(1 if bad else 0)


@cli.command()
@click.argument("assignment")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="The zip to write, or a folder to write autograder-ASSIGNMENT.zip in (default: that name, here).")
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
def gradescope(assignment: str, out: Path | None, course: str | None) -> None:
    """Write the autograder.zip that runs ASSIGNMENT's checks on Gradescope."""
    from ._platforms.gradescope import build

    path = build(assignment, out or Path(f"autograder-{assignment}.zip"), course=_course(course))
    click.echo(f"Gradescope bundle: {path}")
    click.echo("Upload it as the assignment's autograder (Configure Autograder > Zip file upload); "
               "its setup.sh installs Python 3.11+, torch and the grader, run_autograder grades each "
               "submission and writes results.json (hidden tests keep the rubric's visibility).")


@cli.command()
@click.argument("assignment")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="The folder to write (new, or --force).")
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
@click.option("--wheel/--no-wheel", default=True, show_default=True,
              help="Ship the grader's wheel in the release (unless course.toml names an `install` command).")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option("--notebooks", is_flag=True,
              help="Also write each student file X.py as a Jupyter notebook X.ipynb (students may hand in either).")
@click.option("--hints/--no-hints", default=True, show_default=True,
              help="Let self-checks show the hints of known mistakes marked for students (shown = \"students\"): those "
                   "mistakes are graded here on the public checks, and only their wrong answers to inputs that do not "
                   "depend on the seed are released, never their code.")
def release(assignment: str, out: Path, course: str | None, wheel: bool, force: bool, notebooks: bool, hints: bool) -> None:
    """Write what students get for ASSIGNMENT into OUT: the template, its README (with how to
    install the grader and self-check), and the public checks only. Hidden checks, reference
    solutions and known mistakes are never copied, and the release is searched for them
    before it is written."""
    from ._authoring.release import release as run
    from ._course.layout import RELEASED_DIR
    from ._grading.api import record_hints
    from ._grading.released_hints import read

    if hints:
        click.echo(f"Grading the known mistakes of {assignment} with hints for students, on the public checks ...", err=True)
    r = run(assignment, out, course=_course(course), wheel=wheel, force=force, notebooks=notebooks,
            hints=record_hints if hints else None)
    click.echo(f"Release of {assignment}: {r.out} ({len(r.files)} files; no hidden check, reference or known mistake in it)")
    if r.hints is not None:
        named = read(r.out / RELEASED_DIR, assignment)
        click.echo(f"Self-checks can show {len(named)} known mistake(s)' hints for students"
                   + (f" ({', '.join(sorted({m.problem for m in named}))})" if named else "")
                   + ": only those whose wrong answers on the public checks do not depend on the seed")
    click.echo(f"Students install the grader with: {r.install}")
    click.echo(f"and self-check in that folder with: grader check {assignment}")


@cli.group()
def new() -> None:
    """Scaffold a course, an assignment or a problem (then run `grader validate`)."""


@new.command("course")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--title", default=None, help="The course's title (default: the folder's name).")
def new_course(folder: Path, title: str | None) -> None:
    """A new course in FOLDER: course.toml, rubrics/, reference/, student_template/."""
    from ._authoring.scaffold import new_course as run

    s = run(folder, title)
    _written(s.root, s.written)
    click.echo(f"Next: cd {folder} && grader new assignment hw1 --problem first")


_KIND = click.option("--kind", type=click.Choice(["function", "module"]), default="function", show_default=True,
                     help="function: the student writes functions on tensors (no driver); module: an nn.Module (with a driver).")


@new.command("assignment")
@click.argument("assignment")
@click.option("--problem", required=True, help="The id of its first problem (the student's file is PROBLEM.py).")
@click.option("--title", default=None, help="The assignment's title.")
@_KIND
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
def new_assignment(assignment: str, problem: str, title: str | None, kind: str, course: str | None) -> None:
    """A new ASSIGNMENT with its first problem: rubric, checks, template, reference, known mistakes."""
    from ._authoring.scaffold import new_assignment as run

    s = run(_course(course), assignment, problem, title=title, kind=kind)  # type: ignore[arg-type]
    _written(s.root, s.written)
    click.echo(f"Next: grader validate {assignment}  (it lists what is still to write)")


@new.command("problem")
@click.argument("assignment")
@click.argument("problem")
@click.option("--title", default=None, help="The problem's title.")
@_KIND
@click.option("--course", default=None, help="Course folder (default: $GRADER_COURSE, else the nearest course.toml from here up).")
def new_problem(assignment: str, problem: str, title: str | None, kind: str, course: str | None) -> None:
    """A new PROBLEM in ASSIGNMENT: its rubric entry, checks, template, reference, a known mistake."""
    from ._authoring.scaffold import new_problem as run

    s = run(_course(course), assignment, problem, kind=kind, title=title)  # type: ignore[arg-type]
    _written(s.root, s.written)
    click.echo(f"Next: grader validate {assignment}  (it lists what is still to write)")


def _written(root: Path, paths: list[Path]) -> None:
    for p in dict.fromkeys(paths):
        try:
            click.echo(f"  wrote {p.relative_to(root)}")
        except ValueError:
            click.echo(f"  wrote {p}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a batch like Ctrl-C: what was written stays, containers go


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        cli(standalone_mode=True)
    except GraderError as exc:
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc), err=True)
        sys.exit(2)
