"""A batch killed at any moment resumes with the same command; --regrade redoes on purpose."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, processes, progress_students, run_cli

STUDENTS = ("erin", "frank", "heidi")


def classroom(tmp_path: Path) -> Path:
    src = tmp_path / "class"
    for who in STUDENTS:
        shutil.copytree(ROOT / "examples" / "mfdnn-hw5" / who, src / who)
    return src


def graded(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in out.glob("*/result.json")}


def zygotes(tmp: Path) -> set[int]:
    """Live worker zygotes (pre-imported processes that fork workers) of batches whose TMPDIR
    is ``tmp``: a zygote works in a folder made there. Other tests run beside this one and
    start zygotes of their own, which are not this batch's to end."""
    found = set()
    for pid, (_, cmd) in processes().items():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if "--zygote" in cmd and cwd.startswith(f"{tmp}/"):
            found.add(pid)
    return found


def test_a_batch_killed_halfway_resumes_and_grades_nobody_twice(tmp_path: Path) -> None:
    src, out = classroom(tmp_path), tmp_path / "out"
    args = ["grade", "mfdnn-hw5", str(src), "--out", str(out), "--problem", "momentum", "--seed", "4", "--jobs", "2"]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(tmp)})  # fmt: skip
    deadline, seen = time.monotonic() + 120, set()
    while not graded(out) and time.monotonic() < deadline:
        seen |= zygotes(tmp)
        time.sleep(0.05)
    assert seen, f"no zygote was seen working under {tmp}: the check below would see none either"
    os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up: as a power loss would do
    proc.wait()
    before = graded(out)
    deadline = time.monotonic() + 15  # the jobs die with the batch, their zygotes and workers with them
    while zygotes(tmp) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not zygotes(tmp), "a zygote outlived the batch killed with SIGKILL"
    assert 1 <= len(before) < len(STUDENTS), f"kill the batch halfway, not after {sorted(before)}"

    again = run_cli(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"Resuming: {len(before)} of {len(STUDENTS)} students are graded already" in again.stderr
    after = graded(out)
    assert sorted(after) == sorted(STUDENTS)
    assert all(after[s] == before[s] for s in before), "a finished student was graded again"
    regraded = progress_students(again.stderr)
    assert sorted(regraded) == sorted(set(STUDENTS) - set(before))
    assert all((out / s / "feedback.html").is_file() for s in STUDENTS)
    assert (out / "gradebook.csv").read_text().count("\n") == len(STUDENTS) + 1

    redo = run_cli(*args, "--regrade", "frank")
    assert redo.returncode == 0, redo.stderr[-3000:]
    now = graded(out)
    assert now["frank"] != after["frank"] and all(now[s] == after[s] for s in STUDENTS if s != "frank")
    everyone = run_cli(*args, "--regrade-all")
    assert everyone.returncode == 0 and all(graded(out)[s] != now[s] for s in STUDENTS)
    nobody = run_cli(*args, "--regrade", "zed")
    assert nobody.returncode == 2 and "--regrade zed: no such student" in nobody.stderr


def test_parallel_jobs_give_the_verdicts_of_one_job(tmp_path: Path) -> None:
    src = classroom(tmp_path)
    runs = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"out-{jobs}"
        proc = run_cli("grade", "mfdnn-hw5", src, "--out", out, "--seed", "9", "--jobs", jobs)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert sorted(progress_students(proc.stderr)) == sorted(STUDENTS)  # each reported once
        runs[jobs] = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}
    one, three = runs["1"], runs["3"]
    assert sorted(one) == sorted(three) == sorted(STUDENTS)
    for s in STUDENTS:
        assert [(t["name"], t["outcome"], t["score"]) for t in one[s]["tests"]] == \
               [(t["name"], t["outcome"], t["score"]) for t in three[s]["tests"]], s
    assert [one[s]["score"] for s in STUDENTS] == [50, 35, 0]  # erin, frank, heidi, as examples/ says
