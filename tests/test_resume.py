"""A batch killed at any moment resumes with the same command; --regrade redoes on purpose."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, run_cli

STUDENTS = ("erin", "frank", "heidi")


def classroom(tmp_path: Path) -> Path:
    src = tmp_path / "class"
    for who in STUDENTS:
        shutil.copytree(ROOT / "examples" / "mfdnn-hw5" / who, src / who)
    return src


def graded(out: Path) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in out.glob("*/result.json")}


def test_a_batch_killed_halfway_resumes_and_grades_nobody_twice(tmp_path: Path) -> None:
    src, out = classroom(tmp_path), tmp_path / "out"
    args = ["grade", "mfdnn-hw5", str(src), "--out", str(out), "--problem", "momentum", "--seed", "4"]
    proc = subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not graded(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up: as a power loss would do
    proc.wait()
    before = graded(out)
    assert 1 <= len(before) < len(STUDENTS), f"kill the batch halfway, not after {sorted(before)}"

    again = run_cli(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"Resuming: {len(before)} of {len(STUDENTS)} students are graded already" in again.stderr
    after = graded(out)
    assert sorted(after) == sorted(STUDENTS)
    assert all(after[s] == before[s] for s in before), "a finished student was graded again"
    regraded = {line.split("== ")[1].split(":")[0] for line in again.stderr.splitlines() if "== " in line}
    assert regraded == set(STUDENTS) - set(before)
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
