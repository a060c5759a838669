"""Diagnosis end to end (issue 31): `grader grade` on a small class in real, sandboxed workers,
two jobs (the known mistakes then run in a process of their own, once), and `grader check`
in the course's folder."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from conftest import ROOT, build_class, grade_class, load_mistakes, run_cli
from markupsafe import escape

from grader._course.layout import Course


def _mistake(mistake_id: str) -> dict[str, str]:
    m = next(m for m in load_mistakes("mfdnn-hw5") if m.id == mistake_id)
    return {m.file: m.text(Course.locate(ROOT).assignment("mfdnn-hw5"))}


def test_a_class_is_diagnosed_and_told_the_hints(tmp_path: Path) -> None:
    course = Course.locate(ROOT)
    folder = build_class(course, "mfdnn-hw5", tmp_path / "class", {
        "sigma": _mistake("backprop_sigmoid_prime_of_activation"),
        "sign": _mistake("backprop_loss_gradient_sign"),
        "uphill": _mistake("heavy_ball_gradient_ascent"),
    })
    for name in ("erin", "frank"):  # examples/mfdnn-hw5: frank's Form II climbs the gradient, in his own words
        shutil.copytree(ROOT / "examples" / "mfdnn-hw5" / name, folder / name)
    out = tmp_path / "out"
    results = grade_class(folder, out, "mfdnn-hw5", "--problem", "backprop", "--problem", "momentum", "--jobs", "2")
    named = {s: {p["id"]: p["diagnosis"] for p in r["problems"]} for s, r in results.items()}
    assert named == {
        "sigma": {"backprop": ["backprop_sigmoid_prime_of_activation"], "momentum": []},
        "sign": {"backprop": ["backprop_loss_gradient_sign"], "momentum": []},
        "uphill": {"backprop": [], "momentum": ["heavy_ball_gradient_ascent"]},
        "erin": {"backprop": [], "momentum": []},
        "frank": {"backprop": [], "momentum": ["velocity_gradient_ascent"]},
    }
    hints = {m.id: m.hint for m in load_mistakes("mfdnn-hw5")}
    frank = (out / "frank" / "feedback.html").read_text()
    assert str(escape(hints["velocity_gradient_ascent"])) in frank
    uphill = (out / "uphill" / "feedback.html").read_text()  # an instructors-only hint
    assert str(escape(hints["heavy_ball_gradient_ascent"])) not in uphill and "mistake we have seen" not in uphill
    summary = (out / "summary.html").read_text()
    assert all(m in summary for m in ("velocity_gradient_ascent", "heavy_ball_gradient_ascent"))
    book = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}  # the instructor's: every id
    assert {s: r["diagnosis"] for s, r in book.items()} == {
        "sigma": "backprop: backprop_sigmoid_prime_of_activation", "sign": "backprop: backprop_loss_gradient_sign",
        "uphill": "momentum: heavy_ball_gradient_ascent", "erin": "", "frank": "momentum: velocity_gradient_ascent"}
    assert all(float(book[s]["score"]) == r["score"] for s, r in results.items())

    plain = grade_class(folder, tmp_path / "plain", "mfdnn-hw5", "--problem", "backprop", "--problem", "momentum",
                        "--no-diagnosis")
    assert {s: r["score"] for s, r in plain.items()} == {s: r["score"] for s, r in results.items()}
    assert all(p["diagnosis"] == [] for r in plain.values() for p in r["problems"])
    assert all(r["diagnosis"] == "" for r in csv.DictReader((tmp_path / "plain" / "gradebook.csv").open()))


def test_check_in_the_course_folder_shows_a_students_hint(tmp_path: Path) -> None:
    frank = shutil.copytree(ROOT / "examples" / "mfdnn-hw5" / "frank", tmp_path / "frank")  # (check writes feedback.html there)
    proc = run_cli("check", "mfdnn-hw5", frank, "--problem", "momentum", "--seed", "5", "--course", ROOT)
    assert proc.returncode == 1, proc.stderr[-2000:]
    hint = next(m.hint for m in load_mistakes("mfdnn-hw5") if m.id == "velocity_gradient_ascent")
    assert "HINT (momentum)" in proc.stdout and hint in proc.stdout
