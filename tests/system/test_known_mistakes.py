"""Every check of the slow problems fails on a known wrong submission, and only the checks it should.

The problems whose checks train or time networks for minutes (all but conftest's
QUICK_PROBLEMS, whose mistakes tests/unit/authoring/test_mistakes.py grades in-process): each
problem's mutants (rubrics/<assignment>/mistakes.toml), its reference and its template are
graded as one class with `grader grade`, the way an instructor runs it, in real workers.
Mistakes marked `extended` (their checks are already failed by a core mistake) form a
second class, marked slow: `make test-all` grades it (of every problem), `make test` does not.
"""

from __future__ import annotations


import pytest

from conftest import ASSIGNMENTS, QUICK_PROBLEMS, ROOT, build_class, grade_class, load_mistakes

# The full-marks sample student of mfdnn-hw7 (examples/mfdnn-hw7/eve) hands in lnin, whose
# checks build a 340M-parameter network: a class of lnin is graded once per test run, so
# eve's LNiN.py is graded in the known mistakes' class (tests/system/test_course_material.py
# grades eve's other problems).
SAMPLE_IN_CLASS, FULL_MARKS, SAMPLE = ("mfdnn-hw7", "lnin"), "eve", "sample-eve"


def cases() -> list:
    out = []
    for a in ASSIGNMENTS:
        for m in load_mistakes(a):
            if (a, m.problem) in QUICK_PROBLEMS and not m.extended:
                continue  # graded in-process: tests/unit/authoring/test_mistakes.py
            marks = [pytest.mark.slow] if m.extended else []
            out.append(pytest.param(a, m, id=f"{a}/{m.id}", marks=marks))
    return out


def problems() -> list:
    return [pytest.param(a, p, id=f"{a}/{p}") for a in ASSIGNMENTS for p in sorted({m.problem for m in load_mistakes(a)})
            if (a, p) not in QUICK_PROBLEMS]


_graded: dict[tuple[str, str, bool], dict[str, dict]] = {}


def graded(course, tmp_path_factory, assignment: str, problem: str, extended: bool = False) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """The class of one problem's core mutants (with its reference and template), or of its
    extended mutants, graded once per test session."""
    key = (assignment, problem, extended)
    if key not in _graded:
        a = course.assignment(assignment)
        spec = a.rubric.problem(problem)
        students: dict[str, dict[str, str]] = {}
        if not extended:
            students = {"reference": {}, "template": {spec.file: (a.template_dir / spec.file).read_text()}}
        for m in load_mistakes(assignment):
            if m.problem == problem and m.extended == extended:
                students[m.id] = {m.file: m.text(a)}
        if (assignment, problem) == SAMPLE_IN_CLASS and not extended:  # graded once per run, not in a class of its own
            students[SAMPLE] = {spec.file: (ROOT / "examples" / assignment / FULL_MARKS / spec.file).read_text()}
        root = tmp_path_factory.mktemp(f"{assignment}-{problem}{'-extended' if extended else ''}")
        build_class(course, assignment, root / "class", students)
        # problems that need CUDA are graded here with their CPU-sized checks (without the flag: skipped, see test_cli)
        _graded[key] = grade_class(root / "class", root / "out", assignment, "--problem", problem, "--gpu-problems-on-cpu")
    return _graded[key]


def xdist_group(item: pytest.Function) -> str:
    """Under pytest-xdist, the tests of one problem's class in one process (it is graded once)."""
    params = item.callspec.params
    problem = params["mistake"].problem if "mistake" in params else params["problem"]
    return f"known-{params['assignment']}-{problem}-{getattr(params.get('mistake'), 'extended', False)}"


def not_passed(result: dict) -> dict[str, str]:
    return {t["test"]: f"{t['outcome']}: {t['output']}" for t in result["tests"] if t["outcome"] != "passed"}


@pytest.mark.parametrize("assignment, mistake", cases())
def test_mistake_fails_exactly_its_checks(course, tmp_path_factory, assignment, mistake):  # type: ignore[no-untyped-def]
    results = graded(course, tmp_path_factory, assignment, mistake.problem, mistake.extended)
    failing = not_passed(results[mistake.id])
    assert set(failing) == set(mistake.fails), (
        f"{mistake.id} ({mistake.what}): expected exactly {sorted(mistake.fails)} to fail, got:\n"
        + "\n".join(f"  {k}: {v[:600]}" for k, v in sorted(failing.items()))
    )
    for name in mistake.fails:
        test = next(t for t in results[mistake.id]["tests"] if t["test"] == name)
        assert test["score"] == 0 and test["output"].strip(), f"{name}: a failing test must score 0 and say why"
        for phrase in mistake.says.get(name, []):  # each of its faults said, none hidden by another's
            assert phrase in test["output"], f"{mistake.id}: {name} does not say {phrase!r}:\n{test['output'][:1500]}"


@pytest.mark.parametrize("assignment, problem", problems())
def test_reference_passes_and_template_scores_zero(course, tmp_path_factory, assignment, problem):  # type: ignore[no-untyped-def]
    results = graded(course, tmp_path_factory, assignment, problem)
    assert not not_passed(results["reference"]), not_passed(results["reference"])
    assert results["reference"]["score"] == results["reference"]["max_score"] == course.assignment(assignment).rubric.problem(problem).points
    template = results["template"]
    assert template["score"] == 0
    for t in template["tests"]:
        assert t["outcome"] == "error" and "Not written yet" in t["output"], f"{t['name']}: {t['outcome']}: {t['output'][:300]}"


@pytest.mark.parametrize("assignment, problem", [pytest.param(*SAMPLE_IN_CLASS, id="/".join(SAMPLE_IN_CLASS))])
def test_the_hw7_full_marks_student_gets_full_marks_on_lnin_too(course, tmp_path_factory, assignment, problem):  # type: ignore[no-untyped-def]
    """eve's LNiN.py, graded in lnin's class above: full marks, every test passed (with
    tests/system/test_course_material.py, every problem of the rubric)."""
    r = graded(course, tmp_path_factory, assignment, problem)[SAMPLE]
    assert r["score"] == r["max_score"] == course.assignment(assignment).rubric.problem(problem).points, [
        (t["test"], t["outcome"], t["output"][:300]) for t in r["tests"]]
    assert {t["outcome"] for t in r["tests"]} == {"passed"}
