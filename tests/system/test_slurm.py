"""A class graded through a real Slurm cluster (``grader grade --slurm``).

These need a cluster that this user can submit to: CI starts one on its own host from
Debian's packages (.ci/slurm-cluster: munged, slurmctld, two slurmd). Without one they are
skipped; GRADER_REQUIRE_SLURM=1 turns the skip into a failure. Each grades a few cheap
students of mfdnn-hw5's momentum problem, from examples/mfdnn-hw5: erin is right, frank has
a sign error, grace loops for ever in one case (a slow student, cut off by her time), heidi
handed in the template.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, build_class, docker_runner_or_skip, run_cli, slurm_or_skip

pytestmark = pytest.mark.slurm

ENV = {"GRADER_SLURM_POLL": "0.5"}  # a small cluster answers at once; 5 s by default
BASE = ["--problem", "momentum", "--seed", "7", "--submission-seconds", "6"]


@pytest.fixture(scope="module", autouse=True)
def cluster() -> None:
    slurm_or_skip()


def classroom(tmp_path: Path, students: dict[str, str]) -> Path:
    """One folder per student, a copy of an example student's (name -> example)."""
    src = tmp_path / "class"
    for name, example in students.items():
        shutil.copytree(ROOT / "examples" / "mfdnn-hw5" / example, src / name)
    return src


def slow_down(folder: Path, seconds: int) -> None:
    """Make a student (erin's right answer) take ``seconds`` at import, under the import timeout:
    a task that is surely still running when the test acts on it, however loaded the machine."""
    f = folder / "momentum.py"
    f.write_text(f"import time\ntime.sleep({seconds})\n" + f.read_text())


def results(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(out.glob("*/result.json"))}


def verdicts(out: Path) -> dict[str, list[tuple[str, str, float]]]:
    return {s: [(t["name"], t["outcome"], t["score"]) for t in r["tests"]] for s, r in results(out).items()}


def queue(out: Path) -> list[str]:
    """The tasks in the queue of the runs into ``out`` ("JOB_TASK|name|state"; a job's name
    ends with its run folder's), not other runs of this user elsewhere."""
    runs = {p.name for p in out.glob(".slurm/*") if p.is_dir()}
    proc = subprocess.run(["squeue", "--noheader", "--array", "--user", str(os.getuid()), "--format", "%i|%j|%t"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if any(line.split("|")[1].endswith(r) for r in runs)]


def wait_for(what, seconds: float = 240.0, step: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(step)
    raise AssertionError(f"waited {seconds:g} s in vain for {what.__doc__ or what}")


def _interruptible() -> None:
    # A run started from a shell's background job (`nohup ... &`: how a CI may start) inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler: Ctrl-C is what a
    # person at a terminal sends, with SIGINT at its default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def slurm_grade(src: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "grader", "grade", "mfdnn-hw5", str(src), "--out", str(out), *BASE, "--slurm", *extra],
                            cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_interruptible)  # fmt: skip


def task_logs(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.glob(".slurm/*/task-*.log"))}


def test_a_class_graded_through_slurm_scores_as_a_local_run_and_a_rerun_submits_nothing(tmp_path: Path) -> None:
    src = classroom(tmp_path, {"erin": "erin", "frank": "frank", "heidi": "heidi", "ivan": "erin", "judy": "frank"})
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    proc = run_cli("grade", "mfdnn-hw5", src, "--out", local, *BASE)
    assert proc.returncode == 0, proc.stderr[-3000:]

    proc = run_cli("grade", "mfdnn-hw5", src, "--out", slurm, *BASE, "--slurm", "--students-per-task", "2", env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Submitted Slurm job" in proc.stderr and "3 task(s) for 5 student(s)" in proc.stderr, proc.stderr
    assert verdicts(slurm) == verdicts(local)
    assert verdicts(local)["erin"] != verdicts(local)["frank"], "the class must tell right from wrong"
    assert (slurm / "gradebook.csv").read_text() == (local / "gradebook.csv").read_text()
    assert (slurm / "summary.html").is_file()
    # Each student was graded by one task, on a node of the cluster
    logs = task_logs(slurm)
    assert len(logs) == 3
    graded = [line.split(":")[0].strip() for text in logs.values() for line in text.splitlines() if line.startswith("  ")]
    assert sorted(graded) == sorted(results(slurm)), logs
    assert all(r["isolation"] in ("root", "rootless") for r in results(slurm).values())
    assert "Isolation of the results: 5 " in proc.stderr
    assert "queued" in proc.stderr and "running" in proc.stderr and "done of 5" in proc.stderr

    before = {s: (slurm / s / "result.json").read_bytes() for s in results(slurm)}
    again = run_cli("grade", "mfdnn-hw5", src, "--out", slurm, *BASE, "--slurm", "--students-per-task", "2", env=ENV)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Resuming: 5 of 5 students are graded already" in again.stderr
    assert "Submitted" not in again.stderr
    assert {s: (slurm / s / "result.json").read_bytes() for s in before} == before
    assert not queue(slurm)


def task_process(out: Path, index: int) -> list[int]:
    """the pid of the running `grader slurm-task` of task ``index`` of the run into ``out``"""
    runs = [str(p) for p in out.glob(".slurm/*") if p.is_dir()]
    found = []
    for pid in os.listdir("/proc"):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if "slurm-task" in words and words[-1] == str(index) and any(w in runs for w in words):
            found.append(int(pid))
    return found


@pytest.mark.parametrize("kill", ["scancel", "kill -9 of its step"])
def test_a_task_killed_mid_chunk_is_retried_for_its_ungraded_students_and_the_class_completes(tmp_path: Path, kill: str) -> None:
    # Chunks in name order: [a_erin, b_grace] and [c_frank]. The first is killed once a_erin is
    # graded and while b_grace (slow) still runs: only b_grace is submitted again. Killed by
    # Slurm (scancel of the array element), or by SIGKILL to the task's own process (the
    # batch step dies; nothing of the grader runs to clean up).
    src = classroom(tmp_path, {"a_erin": "erin", "b_grace": "grace", "c_frank": "frank"})
    slow_down(src / "b_grace", 20)
    out = tmp_path / "out"
    proc = slurm_grade(src, out, "--students-per-task", "2")
    try:
        first = wait_for(lambda: (out / "a_erin" / "result.json").is_file())
        assert first
        assert not (out / "b_grace" / "result.json").exists(), "kill the task mid-chunk, not after it"
        erin = (out / "a_erin" / "result.json").read_bytes()
        task = wait_for(lambda: [t.split("|")[0] for t in queue(out) if t.split("|")[0].endswith("_0") and t.endswith("|R")])[0]
        if kill == "scancel":
            subprocess.run(["scancel", task], check=True)
        else:
            os.kill(wait_for(lambda: task_process(out, 0))[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr[-3000:]
    assert stderr.count("Submitted Slurm job") == 2, stderr
    assert "1 task(s) for 1 student(s)" in stderr
    assert sorted(results(out)) == ["a_erin", "b_grace", "c_frank"]
    assert (out / "a_erin" / "result.json").read_bytes() == erin, "a student graded before the kill was graded again"
    assert not any(r["not_graded"] for r in results(out).values())
    assert results(out)["b_grace"]["score"] < results(out)["a_erin"]["score"]
    assert not queue(out)


def test_a_student_whose_task_fails_every_try_gets_a_result_saying_why_and_a_rerun_grades_them(tmp_path: Path) -> None:
    src = classroom(tmp_path, {"b_grace": "grace"})
    slow_down(src / "b_grace", 20)
    out = tmp_path / "out"
    proc = slurm_grade(src, out, "--slurm-retries", "1")
    cancelled: set[str] = set()
    try:
        def running_task() -> list[str]:
            """a task of the run running, not cancelled yet"""
            return [t.split("|")[0] for t in queue(out) if t.endswith("|R") and t.split("|")[0] not in cancelled]

        for _ in range(2):  # the first try and its one retry
            task = wait_for(running_task)[0]
            subprocess.run(["scancel", task], check=True)
            cancelled.add(task)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 3, stderr[-3000:]
    r = results(out)["b_grace"]
    assert "cancelled" in r["not_graded"] and "tried 2 times" in r["not_graded"], r["not_graded"]
    assert r["score"] == 0 and all(t["outcome"] == "error" for t in r["tests"])
    assert "Not graded: " in r["tests"][0]["output"]
    assert "could not be graded" in stderr and "b_grace" in stderr
    assert "Not graded" in (out / "b_grace" / "feedback.html").read_text()

    again = run_cli("grade", "mfdnn-hw5", src, "--out", out, *BASE, "--slurm", env=ENV)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Submitted Slurm job" in again.stderr
    assert not results(out)["b_grace"]["not_graded"]
    assert not queue(out)


def test_ctrl_c_cancels_the_array_leaves_the_output_consistent_and_a_second_run_meanwhile_is_refused(tmp_path: Path) -> None:
    src = classroom(tmp_path, {"a_erin": "erin", "b_grace": "grace", "c_frank": "frank", "d_heidi": "heidi"})
    out = tmp_path / "out"
    # The tasks may not start for 10 minutes (sbatch --begin): the run is surely in progress
    # when the second run and the Ctrl-C come, however loaded the machine (a slow student
    # was not enough on CI's).
    proc = slurm_grade(src, out, "--students-per-task", "1", "--sbatch-option=--begin=now+600")
    try:
        wait_for(lambda: len(queue(out)) == 4)
        second = run_cli("grade", "mfdnn-hw5", src, "--out", out, *BASE, "--slurm", env=ENV)
        assert second.returncode == 2, second.stderr[-3000:]
        assert "still has" in second.stderr and "tasks in the queue" in second.stderr and "scancel" in second.stderr
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Interrupted: the run's Slurm tasks are cancelled" in stderr
    assert not queue(out), "the array outlived the Ctrl-C"
    for s, r in results(out).items():  # every result there reads whole
        assert r["student"] == s
    done = set(results(out))
    assert not done, "interrupt the run before it ends"
    assert not (out / ".slurm" / "active.json").exists()

    again = run_cli("grade", "mfdnn-hw5", src, "--out", out, *BASE, "--slurm", "--students-per-task", "1", env=ENV)
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(results(out)) == ["a_erin", "b_grace", "c_frank", "d_heidi"]
    assert f"for {4 - len(done)} student(s)" in again.stderr
    assert not queue(out)


def test_a_fault_of_the_setup_in_a_task_stops_the_run_with_its_message_and_is_not_retried(tmp_path: Path, course) -> None:  # type: ignore[no-untyped-def]
    # data598-hw3 with --data naming a folder without FashionMNIST: the task's checks refuse it
    # before grading anyone. Retrying it on another node would fail the same way.
    src = build_class(course, "data598-hw3", tmp_path / "class", {"alice": {}, "bob": {}})
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / "out"
    proc = run_cli("grade", "data598-hw3", src, "--out", out, "--seed", "3", "--data", empty, "--slurm", env=ENV, timeout=600)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "a Slurm task could not grade" in proc.stderr and "FashionMNIST" in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.count("Submitted Slurm job") == 1
    assert not results(out)
    assert not queue(out)


def test_gpus_are_asked_for_through_gres_and_each_task_uses_the_ones_slurm_gave_it(tmp_path: Path) -> None:
    # The test cluster's nodes have two stand-in GPUs each (.ci/slurm-cluster): Slurm hands
    # them out, torch finds no CUDA behind them. Four tasks of one GPU fill the four; each
    # must be told a GPU of its own, and the first to look for CUDA stops the run, saying so.
    src = classroom(tmp_path, {"a": "erin", "b": "frank", "c": "erin", "d": "frank"})
    out = tmp_path / "out"
    proc = run_cli("grade", "mfdnn-hw5", src, "--out", out, *BASE, "--slurm", "--gpus-per-task", "1", "--students-per-task", "1",
                   env=ENV, timeout=600)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "torch sees no CUDA device there" in proc.stderr and "CUDA_VISIBLE_DEVICES" in proc.stderr, proc.stderr[-3000:]
    given = []
    for name, text in task_logs(out).items():
        node = text.split(" on ", 1)[1].split(":", 1)[0]
        line = [line for line in text.splitlines() if "GPUs from Slurm" in line]
        assert line, f"{name} was not told its GPUs:\n{text}"
        given.append((node, line[0].rsplit("=", 1)[1]))
    assert given and all(g not in ("", "None") for _, g in given), given
    assert len(given) == len(set(given)), f"two tasks were given the same GPU: {given}"
    assert not results(out)
    assert not queue(out)


def test_more_tasks_than_an_array_may_hold_go_as_several_arrays(tmp_path: Path, course, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import grader._platforms.slurm as slurm

    monkeypatch.setattr(slurm, "ARRAY_MAX", 2)  # Slurm's MaxArraySize is 1001: a class of 3,000 in tasks of 1 needs 3 arrays
    src = classroom(tmp_path, {"a": "erin", "b": "frank", "c": "heidi"})
    out = tmp_path / "out"
    submitted: list[tuple[str, int, int]] = []
    got = slurm.grade_on_slurm("mfdnn-hw5", src, out, options=slurm.SlurmOptions(students_per_task=1, poll_seconds=0.5),
                               course=course, problems={"momentum"}, seed=7, limits=slurm.Limits(submission_seconds=6),
                               on_submit=lambda job, tasks, students: submitted.append((job, tasks, students)))  # fmt: skip
    assert [(t, s) for _, t, s in submitted] == [(2, 2), (1, 1)]
    assert len({job for job, _, _ in submitted}) == 2
    assert sorted(r.student for r in got) == ["a", "b", "c"] and not any(r.not_graded for r in got)
    assert sorted(results(out)) == ["a", "b", "c"]
    assert not queue(out)


@pytest.mark.docker
def test_tasks_grade_in_docker_containers_on_their_nodes_where_asked(tmp_path: Path) -> None:
    image = os.environ.get("GRADER_TEST_IMAGE", "dl-grader:local")
    docker_runner_or_skip(image).close()
    src = classroom(tmp_path, {"erin": "erin", "frank": "frank"})
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    proc = run_cli("grade", "mfdnn-hw5", src, "--out", local, *BASE, "--runner", "docker", "--image", image)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_cli("grade", "mfdnn-hw5", src, "--out", slurm, *BASE, "--slurm", "--runner", "docker", "--image", image,
                   "--students-per-task", "1", env=ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "in Docker containers of " + image in proc.stderr
    assert verdicts(slurm) == verdicts(local)
    assert {r["isolation"] for r in results(slurm).values()} == {"container"}
    assert not queue(slurm)
