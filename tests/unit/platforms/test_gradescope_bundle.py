"""Where ``grader gradescope`` writes its zip, and what a failure leaves (issue 30's smaller things)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader._course.layout import Course
from grader._platforms import gradescope


def test_an_existing_folder_as_out_gets_the_zip_inside(course: Course, tmp_path: Path) -> None:
    path = gradescope.build("mfdnn-hw5", tmp_path, course=course)
    assert path == tmp_path / "autograder-mfdnn-hw5.zip"
    assert {"setup.sh", "run_autograder"} <= set(zipfile.ZipFile(path).namelist())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autograder-mfdnn-hw5.zip"]
    named = gradescope.build("mfdnn-hw5", tmp_path / "sub" / "bundle.zip", course=course)
    assert named == tmp_path / "sub" / "bundle.zip" and zipfile.is_zipfile(named)


def test_a_failure_leaves_no_half_written_zip(course: Course, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(gradescope, "_add", broken)
    with pytest.raises(OSError, match="disk full"):
        gradescope.build("mfdnn-hw5", tmp_path / "a.zip", course=course)
    assert list(tmp_path.iterdir()) == []


def test_a_new_course_ignores_its_bundles() -> None:
    from grader._authoring.scaffold import render

    assert "autograder-*.zip" in render("course/gitignore.j2").splitlines()
