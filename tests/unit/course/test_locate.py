"""Where the grader finds a course: --course, $GRADER_COURSE, or the nearest course.toml
from the current folder up (issue 16: a course is a folder of the instructor's own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from grader import ConfigError
from grader._course.layout import Course


def course(tmp_path: Path, name: str = "course", marker: str | None = 'title = "A course"\n') -> Path:
    root = tmp_path / name
    (root / "rubrics").mkdir(parents=True)
    if marker is not None:
        (root / "course.toml").write_text(marker)
    return root


def test_the_nearest_course_toml_from_the_current_folder_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_COURSE", raising=False)
    root = course(tmp_path)
    deep = root / "student_template" / "hw1" / "work"
    deep.mkdir(parents=True)
    assert Course.locate(start=deep).root == root.resolve()
    assert Course.locate(start=deep).title == "A course"
    inner = course(root / "student_template", "nested")  # a course inside a course: the nearest wins
    assert Course.locate(start=inner / "rubrics").root == inner.resolve()


def test_course_and_the_environment_come_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here, there, named = course(tmp_path, "here"), course(tmp_path, "there"), course(tmp_path, "named", marker=None)
    monkeypatch.setenv("GRADER_COURSE", str(there))
    assert Course.locate(start=here).root == there.resolve()
    assert Course.locate(named, start=here).root == named.resolve()  # rubrics/ without course.toml: still a course
    assert Course.locate(named).title == "named"


def test_what_is_not_a_course_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_COURSE", raising=False)
    with pytest.raises(ConfigError, match="--course .*no such folder"):
        Course.locate(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigError, match="not a course folder .*course.toml nor rubrics/"):
        Course.locate(tmp_path / "plain")
    monkeypatch.setenv("GRADER_COURSE", str(tmp_path / "plain"))
    with pytest.raises(ConfigError, match=r"\$GRADER_COURSE .*not a course folder"):
        Course.locate()
    monkeypatch.delenv("GRADER_COURSE")
    bad = course(tmp_path, "bad", marker="title = \n")
    with pytest.raises(ConfigError, match="course.toml: not valid TOML"):
        Course.locate(start=bad)
    odd = course(tmp_path, "odd", marker='titel = "typo"\n')
    with pytest.raises(ConfigError, match="unknown field.*titel.*title"):
        Course.locate(start=odd)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "course.toml").write_text("")
    with pytest.raises(ConfigError, match="no rubrics/ folder yet"):
        Course.locate(start=empty)


def test_outside_any_course_the_message_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_COURSE", raising=False)
    import grader._course.layout as where

    monkeypatch.setattr(where, "__file__", str(tmp_path / "site-packages" / "grader" / "_course.py"))  # an installed grader
    with pytest.raises(ConfigError, match="no course found: no course.toml in .* or any folder above it.*--course DIR"):
        Course.locate(start=tmp_path)


def test_this_repository_is_a_course() -> None:
    c = Course.locate(start=ROOT / "student_template" / "mfdnn-hw5")
    assert c.root == ROOT.resolve()
    assert c.assignment_ids() == ["data598-hw3", "ese546-hw2", "mfdnn-hw5", "mfdnn-hw7"]
