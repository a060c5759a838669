"""Issue 30, point 4: a course written in one file per problem (tests/corpus/one_file: its
references mark their solutions, and it keeps no template file). Validate, release, notebooks
and the Gradescope bundle use the derived template; a release holds no marker and no solution;
a template file beside a marked reference wins, and validate says whether its given code is
the reference's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from grader._authoring.given import template_agreement
from grader._authoring.release import release
from grader._course.layout import Course
from grader._course.solutions import derive
from grader._exceptions import ConfigError
from grader._grading.api import validate
from grader._sandbox.inprocess import InProcessRunner

CORPUS = ROOT / "tests" / "corpus" / "one_file"
FILES = ["scale.py", "shift.py"]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the one-file course, to change."""
    root = tmp_path / "course"
    shutil.copytree(CORPUS, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def solution_code(reference: Path) -> list[str]:
    """The lines of code of the reference's marked solutions (this test's own reading: the
    lines between BEGIN and END, and a line marked # SOLUTION, without their comments)."""
    text = reference.read_text()
    d = derive(text)
    assert d is not None
    lines = text.splitlines()
    code = [lines[i - 1].split("#", 1)[0].strip() for s in d.solutions for i in range(s.first, s.last + 1)]
    return [c for c in code if c]


def test_the_course_keeps_no_template_file() -> None:
    assert sorted(p.name for p in (CORPUS / "student_template" / "hw1").iterdir()) == ["README.md"]
    for f in FILES:
        assert derive((CORPUS / "reference" / "hw1" / f).read_text()) is not None, f


def test_validate_grades_the_derived_template_and_says_it_is_derived(course: Path) -> None:
    c = Course.locate(course)
    reference, template, mistakes = validate("hw1", course=c, seed=7, runner=InProcessRunner())
    assert reference.ok and reference.result is not None, reference.problems
    assert reference.result.score == reference.result.max_score == 15
    assert template.ok and template.result is not None, template.problems
    assert template.result.score == 0
    stubs = {"scale": "Not written yet: scale", "shift": "Not written yet: Shift.apply"}
    for t in template.result.tests:  # the derived stubs raise, each naming its function
        assert t.outcome == "error" and stubs[t.problem] in t.output, (t.name, t.output[:300])
    assert template.notes == [f"{f}: the template is derived from reference/hw1/{f} (1 marked solution)" for f in FILES]
    assert mistakes.ok, mistakes.problems
    assert {m.id for m in mistakes.mistakes} == {"scale_adds", "shift_subtracts"}


def test_a_release_holds_the_derived_template_no_marker_and_no_solution(course: Path, tmp_path: Path) -> None:
    c = Course.locate(course)
    a = c.assignment("hw1")
    r = release("hw1", tmp_path / "rel", course=c, wheel=False, notebooks=True)
    for f in FILES:
        derived = derive((course / "reference" / "hw1" / f).read_text())
        assert derived is not None
        assert (r.out / f).read_text() == derived.text  # what students start from
        assert (r.out / ".grader" / "student_template" / "hw1" / f).read_text() == derived.text  # what the checks import
    assert {"scale.ipynb", "shift.ipynb", "README.md"} <= set(r.files)
    texts = {f: (r.out / f).read_bytes().decode("utf-8", "replace") for f in r.files}
    cells = {f: "".join("".join(cell["source"]) for cell in json.loads(texts[f])["cells"]) for f in r.files
             if f.endswith(".ipynb")}
    assert 'raise NotImplementedError("scale")' in cells["scale.ipynb"], cells["scale.ipynb"]
    secrets = [line for f in FILES for line in solution_code(course / "reference" / "hw1" / f)]
    assert "return x * f" in secrets and "return x + self.by" in secrets
    for where, text in {**texts, **{f"{f} (cells)": t for f, t in cells.items()}}.items():
        assert "SOLUTION" not in text.upper(), where
        assert not [s for s in secrets if s in text], (where, [s for s in secrets if s in text])
        assert "test_scale_hidden_shapes" not in text, where
    assert not (r.out / ".grader" / "reference").exists()
    # The released course loads, and its template is the released file (no reference there).
    released = Course.locate(r.out / ".grader").assignment("hw1")
    assert released.template_file("scale.py") == r.out / ".grader" / "student_template" / "hw1" / "scale.py"
    assert a.template_file("scale.py") != a.template_dir / "scale.py"  # (in the course: derived)


def test_the_gradescope_bundle_holds_the_derived_template(course: Path) -> None:
    from grader._platforms.gradescope import _course_files

    files = dict((name, path) for path, name in _course_files(Course.locate(course), "hw1"))
    for f in FILES:
        path = files[f"course/student_template/hw1/{f}"]
        assert path.read_text() == derive((course / "reference" / "hw1" / f).read_text()).text  # type: ignore[union-attr]
    assert not [n for n in files if n.startswith(("course/reference/", "course/rubrics/hw1/mistakes"))]


def test_a_template_file_wins_and_validate_says_it_agrees(course: Path) -> None:
    own = course / "student_template" / "hw1" / "scale.py"
    derived = derive((course / "reference" / "hw1" / "scale.py").read_text())
    assert derived is not None
    own.write_text(derived.text.replace('    raise NotImplementedError("scale")',
                                        "    # Your code here: use as_factor.\n    raise NotImplementedError(\"write scale\")"))
    a = Course.locate(course).assignment("hw1")
    assert a.template_file("scale.py") == own and a.derived_templates().keys() == {"shift.py"}
    problems, notes = template_agreement(a)
    assert problems == []
    assert notes == ["student_template/hw1/scale.py agrees with what the solution markers of reference/hw1/scale.py "
                     "derive: the same given code (1 marked solution; the template file is used)",
                     "shift.py: the template is derived from reference/hw1/shift.py (1 marked solution)"]


def test_validate_catches_a_template_whose_given_code_drifted(course: Path) -> None:
    own = course / "student_template" / "hw1" / "scale.py"
    derived = derive((course / "reference" / "hw1" / "scale.py").read_text())
    assert derived is not None
    own.write_text(derived.text.replace("FACTOR_DTYPE = torch.float64", "FACTOR_DTYPE = torch.float32")
                   .replace("def as_factor(factor: float)", "def as_factor(factor)"))
    _, template = validate("hw1", course=Course.locate(course), seed=7, runner=InProcessRunner(), mistakes=False)
    assert not template.ok
    [drift] = [p for p in template.problems if "given code" in p]
    assert drift.splitlines() == [
        "student_template/hw1/scale.py: its given code is not the reference's (reference/hw1/scale.py outside its "
        "1 marked solution; comments and blank lines are not compared):",
        "student_template/hw1/scale.py:5: 'FACTOR_DTYPE = torch.float32', where reference/hw1/scale.py:5 has "
        "'FACTOR_DTYPE = torch.float64'",
        "student_template/hw1/scale.py:8: 'def as_factor(factor) -> torch.Tensor:', where reference/hw1/scale.py:8 has "
        "'def as_factor(factor: float) -> torch.Tensor:'",
    ], drift


def test_a_template_file_with_markers_is_refused(course: Path, tmp_path: Path) -> None:
    shutil.copyfile(course / "reference" / "hw1" / "shift.py", course / "student_template" / "hw1" / "shift.py")
    a = Course.locate(course).assignment("hw1")
    problems, _ = template_agreement(a)
    assert problems == ["student_template/hw1/shift.py:14: a solution marker ('return x + self.by  # SOLUTION') in the "
                        "template: students would get it (`grader release` refuses it). Remove the template file to "
                        "derive it from the reference, or the marker"]
    with pytest.raises(ConfigError) as info:
        release("hw1", tmp_path / "rel", course=Course.locate(course), wheel=False)
    assert "shift.py:14: a solution marker ('return x + self.by  # SOLUTION')" in str(info.value), str(info.value)
    assert not (tmp_path / "rel").exists()


def test_wrong_markers_stop_the_assignment_naming_the_line(course: Path) -> None:
    ref = course / "reference" / "hw1" / "scale.py"
    ref.write_text(ref.read_text().replace("    # END SOLUTION\n", ""))
    with pytest.raises(ConfigError, match=r"reference/hw1/scale.py:18: BEGIN SOLUTION has no END SOLUTION after it"):
        Course.locate(course).assignment("hw1")
    # With a template file of its own, the assignment loads, and validate says the markers are wrong.
    (course / "student_template" / "hw1" / "scale.py").write_text("def scale(x, factor):\n    raise NotImplementedError\n")
    problems, _ = template_agreement(Course.locate(course).assignment("hw1"))
    assert problems == ["reference/hw1/scale.py:18: BEGIN SOLUTION has no END SOLUTION after it (the template file "
                        "student_template/hw1/scale.py is used, but the markers must be right)"]


def test_no_template_and_no_markers_is_a_missing_template(course: Path) -> None:
    ref = course / "reference" / "hw1" / "shift.py"
    ref.write_text(ref.read_text().replace("  # SOLUTION", ""))
    with pytest.raises(ConfigError, match=r"problem 'shift': its template file .*student_template/hw1/shift.py is "
                                          r"missing \(and .*reference/hw1/shift.py has no solution markers"):
        Course.locate(course).assignment("hw1")


def test_this_repository_s_courses_have_no_markers_and_are_compared_with_nothing() -> None:
    """The courses kept in two files (this repository's and examples/) are read as before."""
    for root in [ROOT, *sorted(p for p in (ROOT / "examples").iterdir() if (p / "course.toml").is_file())]:
        c = Course.locate(root)
        for aid in c.assignment_ids():
            a = c.assignment(aid)
            assert a.derived_templates() == {}, (root, aid)
            assert template_agreement(a) == ([], []), (root, aid)

