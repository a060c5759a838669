"""A class graded across a Slurm cluster: the students in chunks, one array task per chunk.

Why one module of about 550 lines: the submitter and the task are the two halves of one
protocol (the run folder, the chunk files, the task script, who writes which result) and
change together; its options, which the command line reads too, are apart (``options.py``).

The submitting side (``grade_on_slurm``) takes the class in as a local run does, leaves out
who is graded already, and submits the rest with ``sbatch --array``: task ``i`` runs
``python -m grader slurm-task RUN SUBMISSION i`` on its node, which is the local ``grade``
of its chunk (``students=``), with the runner asked for, writing each student's files into
the shared output folder atomically as a local run does. The submitter then only watches:
``squeue`` says which tasks are queued or running, a student's ``result.json`` says they are
done. A task that leaves the queue with students of its chunk ungraded (node lost, time
limit, out of memory, preempted, cancelled) has those students submitted again, up to
``retries`` times; a student still ungraded after that gets a result saying why
(``Result.not_graded``), which a rerun grades again. A student is in one queued or running
task at a time, so no two tasks ever write the same student's files.

``sbatch``, ``squeue`` and ``scancel`` only, called directly rather than through submitit:
submitit learns that a job ended from ``sacct``, which needs Slurm's accounting database
(slurmdbd), and without one it reports a cancelled job as UNKNOWN, not done, for ever; here
the shared output folder is what says a student is done, and the queue what says a task
still runs. A task is also the grader's own command line, which a person can rerun by hand
from the run folder (``OUT/.slurm/<run>/``: the task script, each submission's chunks and
each task's log).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, cast

from .._course.layout import Course
from .options import SlurmOptions as SlurmOptions  # re-exported: what a Slurm run asks for, each default once
from .._exceptions import ConfigError, GraderError
from .._course.intake import Submission, identity, take_in
from .._course.limits import Limits
from .._course.models import ProblemResult, Result, TestResult

log = logging.getLogger(__name__)

RUNS = ".slurm"  # under the output folder: one folder per run, and the marker of a run in progress
ACTIVE = "active.json"
ARRAY_MAX = 1000  # tasks per sbatch --array (Slurm's MaxArraySize is 1001 by default): more go as several arrays


@dataclass
class _Task:
    """One array task: its students, and when it was seen gone from the queue."""

    students: list[str]
    log: Path
    gone_at: float | None = None


@dataclass
class SlurmStatus:
    """What the submitter knows after a poll, for the progress line."""

    job_ids: list[str]
    queued: int
    waiting_for: str  # why the queued tasks wait, as squeue says (the most common reason)
    running: int
    done: int
    failed: int
    total: int
    spent: float
    left: float | None


def slurm_tools() -> str | None:
    """Why Slurm cannot be used from here (None where sbatch, squeue and scancel are all found)."""
    missing = [t for t in ("sbatch", "squeue", "scancel") if shutil.which(t) is None]
    return f"{', '.join(missing)} not found on PATH: run --slurm on a cluster's login node" if missing else None


def _slurm(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _queue(name: str, reasons: dict[str, str] | None = None) -> dict[str, str] | None:
    """This run's array tasks still in the queue, by "JOB_TASK", with their state (PD, R, CG,
    ...); None where squeue did not answer (slurmctld busy or restarting: ask again later).
    ``reasons`` gets why each pending task waits (Priority, Resources, ReqNodeNotAvail...)."""
    try:
        proc = _slurm("squeue", "--noheader", "--array", "--user", str(os.getuid()), "--name", name, "--format", "%i|%t|%r")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        log.debug("squeue failed (%s): %s", proc.returncode, proc.stderr.strip())
        return None
    found = {}
    for line in proc.stdout.splitlines():
        task, state, reason = (line.strip().split("|") + ["", ""])[:3]
        if task:
            found[task] = state
            if reasons is not None and state == "PD":
                reasons[task] = reason
    return found


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


_ENDINGS = [  # what slurmstepd writes into a task's log when Slurm ends it, and what to tell
    (re.compile(r"CANCELLED AT \S+ DUE TO TIME LIMIT"), "its Slurm task ran past its time limit (--time)"),
    (re.compile(r"DUE TO PREEMPTION"), "its Slurm task was preempted"),
    (re.compile(r"DUE TO NODE FAIL"), "the node of its Slurm task failed"),
    (re.compile(r"oom[-_ ]kill|Out Of Memory", re.I), "its Slurm task ran out of memory (ask for more with --sbatch-option=--mem=...)"),
    (re.compile(r"CANCELLED AT"), "its Slurm task was cancelled (scancel)"),
]


def _why(task_id: str, log_path: Path) -> str:
    """Why a task ended with students ungraded: Slurm's accounting where it has one, else the
    lines slurmstepd writes into the task's log, else the log's last lines."""
    try:
        proc = _slurm("sacct", "--noheader", "--parsable2", "--jobs", task_id, "--format", "State,ExitCode", timeout=20)
        state = proc.stdout.split("\n", 1)[0].strip() if proc.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        state = ""
    try:
        text = log_path.read_text(errors="replace")[-20000:]
    except OSError:
        text = ""
    for pattern, meaning in _ENDINGS:
        if pattern.search(text):
            return f"{meaning} (Slurm task {task_id})"
    if state:
        return f"its Slurm task {task_id} ended {state.replace('|', ', exit ')} before grading them"
    tail = "\n".join(text.strip().splitlines()[-5:])
    return f"its Slurm task {task_id} ended before grading them" + (f"; the end of its log {log_path}:\n{tail}" if tail else
                                                                    f" and left no log ({log_path})")


def not_graded_result(a: Any, student: str, why: str, problems: set[str] | None, seed: int,
                      sub: Submission | None = None) -> Result:
    """The result of a student who could not be graded: every problem 0, and one test per
    problem saying why, under the student's identity (``sub``: their Canvas id, login and
    intake notes). It counts as not done: a rerun grades the student again."""
    chosen = [p for p in a.rubric.problems if problems is None or p.id in problems]
    message = f"Not graded: {why}. This is not your submission's doing; the course staff will grade it again."
    tests = [TestResult(name=f"{p.title or p.id}: not graded", problem=p.id, status="failed", outcome="error", score=0.0,
                        max_score=p.points, visibility="visible", output=message, test="not_graded") for p in chosen]
    return Result(assignment=a.id, student=student, score=0.0, max_score=sum(p.points for p in chosen), execution_time=0.0,
                  problems=[ProblemResult(id=p.id, title=p.title, score=0.0, max_score=p.points) for p in chosen],
                  tests=tests, seed=seed, not_graded=why, graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  **identity(sub))


def grade_on_slurm(
    assignment: str,
    submissions_dir: Path,
    out_dir: Path,
    *,
    options: SlurmOptions,
    course: Course | None = None,
    problems: set[str] | None = None,
    seed: int | None = None,
    runner: str = "local",
    image: str | None = None,
    device: str = "cpu",
    limits: Limits | None = None,
    memory_mb: int | None = None,
    data_dir: Path | None = None,
    regrade: set[str] | None = None,
    regrade_all: bool = False,
    gpu_problems_on_cpu: bool = False,
    layout: str = "auto",
    unsandboxed: bool = False,
    on_intake: Callable[[list[str]], None] = lambda lines: None,
    on_resume: Callable[[int, int], None] = lambda done, total: None,
    on_result: Callable[[Result], None] = lambda r: None,
    on_status: Callable[[SlurmStatus], None] = lambda s: None,
    on_submit: Callable[[str, int, int], None] = lambda job, tasks, students: None,
) -> list[Result]:
    """Grade the class through Slurm (see the module's docstring); return every student's
    result, the ones graded before included, after writing the gradebooks and summary."""
    from .._course.files import atomic_write
    from .._grading.api import finished_results, write_class_files

    why = slurm_tools()
    if why:
        raise ConfigError(f"--slurm: {why}")
    course = course or Course.locate()
    a = course.assignment(assignment)
    out_dir, submissions_dir = out_dir.resolve(), submissions_dir.resolve()
    if unknown := sorted((problems or set()) - {p.id for p in a.rubric.problems}):
        raise ConfigError(f"{a.id} has no problem {', '.join(unknown)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = out_dir / RUNS
    runs.mkdir(exist_ok=True)
    _refuse_a_second_run(runs / ACTIVE)

    scratch = Path(tempfile.mkdtemp(prefix="grader-intake-"))
    try:
        intake = take_in(submissions_dir, a.student_files, scratch, layout=layout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    everyone = [s.student for s in intake.submissions]
    subs = {s.student: s for s in intake.submissions}
    # The uploads graded, by their leader: a group's other members get copies of its result.
    members = {s.student: [s.student, *(m.student for m in s.group)] for s in intake.submissions if s.leader is None}
    names = list(members)
    atomic_write(out_dir / "intake.txt", "\n".join(intake.summary()) + "\n")
    on_intake(intake.summary())
    if unknown := sorted((regrade or set()) - set(everyone)):
        raise ConfigError(f"--regrade {' '.join(unknown)}: no such student in {submissions_dir}")
    again = {u for u in names if set(members[u]) & (regrade or set())}
    wanted = {p.id for p in a.rubric.problems if problems is None or p.id in problems}
    done = {} if regrade_all else finished_results(out_dir, a.id, wanted, [subs[s] for s in names if s not in again])
    on_resume(len(done), len(everyone))
    todo = [s for s in names if s not in done]
    seed = secrets.randbits(31) if seed is None else seed
    if not todo:
        results = sorted(done.values(), key=lambda r: r.student)
        write_class_files(out_dir, a, results)
        return results

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run = runs / f"{stamp}-{secrets.token_hex(3)}"
    run.mkdir()
    name = f"grader-{a.id[:80]}-{run.name}"  # the run folder last, whole: it tells this run's tasks from others
    needs = memory_mb or max((p.memory_mb for p in a.rubric.problems if p.id in wanted), default=Limits().memory_mb)
    config = {
        "course": str(course.root), "assignment": a.id, "submissions": str(submissions_dir), "out": str(out_dir),
        "problems": sorted(problems) if problems is not None else None, "seed": seed, "runner": runner, "image": image,
        "device": "cuda" if options.gpus_per_task and runner == "local" else device, "gpus": options.gpus_per_task,
        "limits": dataclasses.asdict(limits or Limits()), "memory_mb": memory_mb,
        "data_dir": str(data_dir) if data_dir else None, "layout": layout, "gpu_problems_on_cpu": gpu_problems_on_cpu,
        "unsandboxed": unsandboxed, "cpus": options.cpus_per_task,
    }  # fmt: skip
    atomic_write(run / "run.json", json.dumps(config, indent=2))
    script = run / "task.sh"
    script.write_text("#!/bin/sh\n# One Slurm array task of a `grader grade --slurm` run: grades its chunk of students.\n"
                      f"exec {shlex.quote(sys.executable)} -m grader slurm-task {shlex.quote(str(run))} \"$1\" \"$SLURM_ARRAY_TASK_ID\"\n")
    script.chmod(0o755)

    # Who still has the result of an earlier grading: they are done when it is replaced.
    before = {m: _signature(out_dir / m / "result.json") for s in todo for m in members[s]}
    tries = {s: 0 for s in todo}
    tasks: dict[str, _Task] = {}
    finished: dict[str, Result] = {}
    failed: dict[str, str] = {}
    submissions = 0
    start = time.monotonic()
    jobs: list[str] = []

    def result_of(student: str) -> Result | None:
        path = out_dir / student / "result.json"
        if _signature(path) in (None, before[student]):
            return None
        try:
            r = Result.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            return None
        return r if r.assignment == a.id and not r.not_graded else None

    def unit_of(student: str) -> list[Result] | None:
        """The results of an upload's every member, once all are written (a group's task writes them one by one)."""
        found = [result_of(m) for m in members[student]]
        return None if any(r is None for r in found) else cast("list[Result]", found)

    def submit(students: list[str]) -> None:
        chunks = [students[i:i + options.students_per_task] for i in range(0, len(students), options.students_per_task)]
        for first in range(0, len(chunks), ARRAY_MAX):  # Slurm's MaxArraySize is 1001 unless raised
            submit_array(chunks[first:first + ARRAY_MAX])

    def submit_array(chunks: list[list[str]]) -> None:
        nonlocal submissions
        submissions += 1
        chunk_file = run / f"chunks-{submissions}.json"
        students = [s for c in chunks for s in c]
        regrading = sorted(s for s in students if before[s] is not None)  # their old result must not count as done
        atomic_write(chunk_file, json.dumps({"chunks": chunks, "regrade": regrading, "submitted": time.time()}, indent=1))
        command = ["sbatch", "--parsable", f"--job-name={name}", f"--array=0-{len(chunks) - 1}",
                   f"--output={run}/task-%A_%a.log", "--open-mode=append", f"--chdir={out_dir}",
                   f"--cpus-per-task={options.cpus_per_task}", "--export=ALL"]
        if options.partition:
            command.append(f"--partition={options.partition}")
        if options.account:
            command.append(f"--account={options.account}")
        if options.time:
            command.append(f"--time={options.time}")
        if options.gpus_per_task:
            command.append(f"--gres=gpu:{options.gpus_per_task}")
        if not any(o.startswith(("--mem", "--mem-per-cpu", "--mem-per-gpu")) for o in options.sbatch):
            per_job = 2 * needs  # a student's worker and a timing baseline's, as default_jobs counts
            command.append(f"--mem={per_job * max(options.gpus_per_task or options.cpus_per_task, 1) + 2048}M")
        command += [*options.sbatch, str(script), str(chunk_file)]
        proc = _slurm(*command)
        if proc.returncode != 0:
            raise ConfigError(f"sbatch refused the tasks (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}\n"
                              f"the command: {shlex.join(command)}")
        job = proc.stdout.strip().split(";")[0]
        jobs.append(job)
        atomic_write(runs / ACTIVE, json.dumps({"jobs": jobs, "name": name, "run": str(run), "host": socket.gethostname(),
                                                "pid": os.getpid()}))
        for i, chunk in enumerate(chunks):
            for s in chunk:
                tries[s] += 1
            tasks[f"{job}_{i}"] = _Task(chunk, run / f"task-{job}_{i}.log")
        on_submit(job, len(chunks), len(students))

    previous_term = signal.getsignal(signal.SIGTERM)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    try:
        submit(todo)
        blind_since: float | None = None
        while tasks:
            time.sleep(options.poll_seconds)
            fatal = sorted(run.glob("fatal-*.txt"))
            if fatal:
                raise ConfigError(f"a Slurm task could not grade ({fatal[0].name}):\n{fatal[0].read_text(errors='replace').strip()}")
            for s in todo:
                if s not in finished and s not in failed and (rs := unit_of(s)) is not None:
                    finished[s] = rs[0]
                    for r in rs:
                        on_result(r)
            reasons: dict[str, str] = {}
            queue = _queue(name, reasons)
            if queue is None:
                if blind_since is None:
                    log.warning("squeue does not answer (is slurmctld up?); asking again, for up to 10 minutes")
                blind_since = blind_since or time.monotonic()
                if time.monotonic() - blind_since > 600:
                    raise ConfigError("squeue has not answered for 10 minutes: is slurmctld up? The tasks may still run; "
                                      "rerun the same command once squeue answers")
                continue
            blind_since = None
            now = time.monotonic()
            for task_id, task in list(tasks.items()):
                if task_id in queue:
                    continue
                if task.gone_at is None:  # a shared file system may show its last files a moment later
                    task.gone_at = now
                    continue
                if now - task.gone_at < 2 * options.poll_seconds:
                    continue
                del tasks[task_id]
                for s in task.students:
                    if s not in finished and (rs := unit_of(s)) is not None:
                        finished[s] = rs[0]
                        for r in rs:
                            on_result(r)
                missing = [s for s in task.students if s not in finished]
                if not missing:
                    continue
                reason = _why(task_id, task.log)
                log.warning("%s: %d students ungraded: %s", task_id, len(missing), reason)
                retry = [s for s in missing if tries[s] <= options.retries]
                for s in missing:
                    if s not in retry:
                        failed[s] = f"{reason}; tried {tries[s]} times"
                        for m in members[s]:
                            r = not_graded_result(a, m, failed[s], problems, seed, subs[m])
                            _write_result(out_dir, a, r)
                            on_result(r)
                if retry:
                    submit(retry)
            queued = sum(len(t.students) for i, t in tasks.items() if queue.get(i, "") in ("PD", "CF", "RQ", "S"))
            running = sum(1 for t in tasks.values() for s in t.students if s not in finished) - queued
            total, finished_n = len(todo), len(finished) + len(failed)
            spent = time.monotonic() - start
            why_waiting = [reasons[i] for i in tasks if i in reasons and reasons[i] not in ("", "None")]
            on_status(SlurmStatus(job_ids=list(jobs), queued=queued, running=max(running, 0), done=len(finished),
                                  waiting_for=max(set(why_waiting), key=why_waiting.count) if why_waiting else "",
                                  failed=len(failed), total=total, spent=spent,
                                  left=spent / finished_n * (total - finished_n) if finished_n else None))
    except BaseException:
        _cancel(name, jobs)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if not _queue_has(name):
            (runs / ACTIVE).unlink(missing_ok=True)
        _write_class(out_dir, a, wanted, everyone)
    return _class_results(out_dir, a, everyone)


def _write_result(out_dir: Path, a: Any, r: Result) -> None:
    from .._reports.feedback import write_feedback
    from .._course.files import atomic_write

    folder = out_dir / r.student
    write_feedback(r, folder / "feedback.html", problem_titles={p.id: p.title for p in a.rubric.problems})
    atomic_write(folder / "result.json", r.model_dump_json(indent=2))


def _write_class(out_dir: Path, a: Any, wanted: set[str], names: list[str]) -> None:
    """The gradebooks and summary of every student of the class with a result, also when the
    run was interrupted (they then show who is graded so far)."""
    from .._grading.api import write_class_files

    write_class_files(out_dir, a, _class_results(out_dir, a, names))


def _class_results(out_dir: Path, a: Any, names: list[str]) -> list[Result]:
    """The stored results of these students (of this assignment), by student."""
    results = []
    for s in names:
        try:
            r = Result.model_validate_json((out_dir / s / "result.json").read_bytes())
        except (OSError, ValueError):
            continue
        if r.assignment == a.id:
            results.append(r)
    return sorted(results, key=lambda r: r.student)


def _queue_has(name: str) -> bool:
    q = _queue(name)
    return bool(q) if q is not None else True


def _cancel(name: str, jobs: list[str]) -> None:
    """scancel the run's tasks and wait (a while) until they have left the queue, so that none
    writes into the output folder after the submitter has gone."""
    try:  # by the run's job name too: an array sbatch queued just as the signal came is not in ``jobs`` yet
        _slurm("scancel", "--user", str(os.getuid()), "--name", name)
        if jobs:
            _slurm("scancel", *jobs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("scancel of %s (jobs %s) failed: %s", name, " ".join(jobs), exc)
        return
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        q = _queue(name)
        if q is not None and not q:
            return
        time.sleep(1)
    log.warning("the tasks of %s (jobs %s) are still in the queue after scancel", name, " ".join(jobs))


def _refuse_a_second_run(active: Path) -> None:
    """One run at a time into an output folder: a rerun while an earlier one's tasks are still
    queued or running would have two tasks write the same student."""
    try:
        earlier = json.loads(active.read_text())
    except (OSError, ValueError):
        return
    q = _queue(str(earlier.get("name", "")))
    if q is None:
        raise ConfigError(f"{active}: an earlier --slurm run into this folder may still be running, and squeue does "
                          "not answer to tell; retry when it does")
    if q:
        jobs = " ".join(earlier.get("jobs", []))
        raise ConfigError(f"an earlier `grader grade --slurm` into this output folder still has {len(q)} tasks in the queue "
                          f"(jobs {jobs}, submitted from {earlier.get('host')} by process {earlier.get('pid')}): wait for them "
                          f"to end or cancel them (scancel {jobs}), then rerun")
    active.unlink(missing_ok=True)


def run_task(run: Path, chunk_file: Path, index: int) -> int:
    """One array task, on its node: grade chunk ``index`` of ``chunk_file`` as a local run
    grades a class, with the CPUs and GPUs Slurm gave the task. A fault of the setup (the
    course, a sandbox the node cannot give) is written where the submitter stops on it:
    retrying it elsewhere would fail the same way."""
    started = time.time()
    config = json.loads((run / "run.json").read_text())
    plan = json.loads(chunk_file.read_text())
    chunk = plan["chunks"][index]
    task_id = f"{os.environ.get('SLURM_ARRAY_JOB_ID', '?')}_{index}"
    node = os.environ.get("SLURMD_NODENAME", socket.gethostname())
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    print(f"grader slurm-task {task_id} on {node}: {len(chunk)} students: {' '.join(chunk)}", flush=True)
    if config["gpus"]:
        print(f"grader slurm-task {task_id}: GPUs from Slurm: CUDA_VISIBLE_DEVICES={gpus}", flush=True)
    code = _run_chunk(run, config, plan, chunk, task_id)
    from .._course.files import atomic_write

    # When it ran, for the benchmark and for whoever reads why a class took its time
    atomic_write(run / f"task-{task_id}.json", json.dumps({"node": node, "gpus": gpus, "students": chunk, "submitted": plan.get("submitted"),
                                                           "started": started, "ended": time.time(), "exit": code}))
    return code


def _run_chunk(run: Path, config: dict[str, Any], plan: dict[str, Any], chunk: list[str], task_id: str) -> int:
    from .._grading.api import grade

    stopped: list[int] = []

    def terminated(signum: int, frame: object) -> None:
        stopped.append(signum)
        raise KeyboardInterrupt  # Slurm's SIGTERM (time limit, scancel, preemption): workers and containers go

    signal.signal(signal.SIGTERM, terminated)
    try:
        from .._sandbox.local import LocalRunner
        from .._sandbox.runner import visible_gpus

        cpus = max(1, int(os.environ.get("SLURM_CPUS_PER_TASK") or config.get("cpus") or 1))
        if config["runner"] == "docker":
            from .._sandbox.docker import DEFAULT_IMAGE, DockerRunner

            gpu_ids = visible_gpus() if config["gpus"] and os.environ.get("CUDA_VISIBLE_DEVICES") is not None else None
            runner: Any = DockerRunner(config["image"] or DEFAULT_IMAGE, gpus=config["gpus"] or None, gpu_ids=gpu_ids)
        else:
            if config["gpus"]:
                import torch

                if not torch.cuda.is_available():
                    raise ConfigError(f"Slurm gave this task GPU(s) {os.environ.get('CUDA_VISIBLE_DEVICES')} (CUDA_VISIBLE_DEVICES) on "
                                      f"{os.environ.get('SLURMD_NODENAME', socket.gethostname())}, but torch sees no CUDA device there: "
                                      "grade on a partition whose nodes have NVIDIA's driver (--partition), or without --gpus-per-task")
            runner = LocalRunner(unsandboxed=config["unsandboxed"])
        if config["gpus"] and os.environ.get("CUDA_VISIBLE_DEVICES") is None:
            print(f"grader slurm-task {task_id}: warning: Slurm set no CUDA_VISIBLE_DEVICES (no GPU binding in its gres.conf?): "
                  "the task uses the first GPUs it sees, which may be another task's", flush=True)
        jobs = min(len(visible_gpus()), config["gpus"]) if config["gpus"] else cpus
        print(f"grader slurm-task {task_id}: {jobs} at once; isolation: {runner.isolation}", flush=True)
        limits = Limits(**config["limits"])
        limits = dataclasses.replace(limits, threads=min(limits.threads, max(1, cpus // max(jobs, 1))))
        results = grade(
            config["assignment"], Path(config["submissions"]), Path(config["out"]), course=Course.locate(config["course"]),
            problems=set(config["problems"]) if config["problems"] is not None else None, seed=config["seed"], runner=runner,
            device=runner.device or config["device"], limits=limits, memory_mb=config["memory_mb"],
            data_dir=Path(config["data_dir"]) if config["data_dir"] else None, regrade=set(plan["regrade"]) & set(chunk),
            jobs=max(1, jobs), gpu_problems_on_cpu=config["gpu_problems_on_cpu"], layout=config["layout"],
            students=set(chunk), class_files=False,
        )  # fmt: skip
    except KeyboardInterrupt:
        print(f"grader slurm-task {task_id}: stopped by a signal", flush=True)
        return 130
    except GraderError as exc:
        from .._course.files import atomic_write

        if stopped:  # pytest turned the signal into "grading stopped": it is the stop, not a fault
            print(f"grader slurm-task {task_id}: stopped by a signal", flush=True)
            return 130

        atomic_write(run / f"fatal-{task_id}.txt", f"{type(exc).__name__} on {os.environ.get('SLURMD_NODENAME', socket.gethostname())}: {exc}\n")
        print(f"grader slurm-task {task_id}: {exc}", file=sys.stderr, flush=True)
        return 2
    for r in results:
        print(f"  {r.student}: {r.score:g}/{r.max_score:g} in {r.execution_time:.1f} s", flush=True)
    return 0
