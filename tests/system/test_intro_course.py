"""Issue 16, point 8: the second course (examples/intro-course), built only with `grader new`
and docs/authoring.md, is validated with its known mistakes, graded as a class, released,
and self-checked from the release."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from conftest import ROOT, run_cli

COURSE = ROOT / "examples" / "intro-course"


def test_intro_course_validates_with_its_known_mistakes() -> None:
    proc = run_cli("validate", "hw1", cwd=COURSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hw1 reference: 20/20 ok" in proc.stdout and "hw1 template: 0/20 ok" in proc.stdout, proc.stdout
    known = len(tomllib.loads((COURSE / "rubrics" / "hw1" / "mistakes.toml").read_text())["mistake"])
    assert known >= 11, known  # each a wrong (or right) submission the checks were shown to judge
    assert f"known mistakes: {known}/{known} fail exactly their checks ok" in proc.stdout, proc.stdout
    assert not (COURSE / "rubrics" / "hw1" / "drivers" / "logsumexp.py").exists()  # the function problem has no driver


def test_intro_course_grades_its_sample_class(tmp_path: Path) -> None:
    proc = run_cli("grade", "hw1", COURSE / "submissions" / "hw1", "--out", tmp_path / "out", cwd=COURSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scores = {s: json.loads((tmp_path / "out" / s / "result.json").read_text())["score"] for s in ("ada", "ben", "chloe", "dan")}
    assert scores == {"ada": 20, "ben": 17, "chloe": 13, "dan": 10}, scores
    ben = json.loads((tmp_path / "out" / "ben" / "result.json").read_text())
    failed = {t["test"] for t in ben["tests"] if t["status"] == "failed"}
    assert failed == {"test_large_values", "test_large_negative"}, failed  # the naive log(sum(exp(x)))


def test_intro_course_release_self_checks(tmp_path: Path) -> None:
    release = tmp_path / "student"
    proc = run_cli("release", "hw1", "--out", release, "--no-wheel", cwd=COURSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_cli("check", "hw1", cwd=release)
    assert proc.returncode == 1 and "Not written yet" in proc.stdout + proc.stderr, proc.stdout
    for f in ("logsumexp.py", "mlp.py"):
        shutil.copyfile(COURSE / "reference" / "hw1" / f, release / f)
    proc = run_cli("check", "hw1", cwd=release)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Public tests: 16/16" in proc.stdout, proc.stdout
    text = "\n".join(p.read_text(errors="replace") for p in release.rglob("*") if p.is_file())
    for hidden in ("test_other_shapes", "test_large_negative", "test_other_sizes"):
        assert hidden not in text
