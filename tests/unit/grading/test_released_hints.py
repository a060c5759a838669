"""Hints in a release (issue 31, point 4; grader/_grading/released_hints.py): what a release
carries of its known mistakes is their wrong answers to inputs that do not depend on the seed,
only for the mistakes whose hint is shown to students, and it reads back as it was written; a
hints file that cannot be read gives no hints and no error."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import ROOT, load_mistakes

from grader._course.layout import Course
from grader._grading import released_hints
from grader._grading.api import record_hints
from grader._grading.diagnosis import Known, Log, diagnose
from grader._sandbox.inprocess import InProcessRunner
from grader.checks import Observation, Tolerance

TOL = Tolerance(rtol=1e-5, atol=1e-6, why="float32 sums", of_largest=1e-7)


def _seen(*items: torch.Tensor | None, matched: bool = False, tol: Tolerance = TOL) -> Observation:
    return Observation(items=tuple(items), tol=tol, matched=matched)


def _runs(name: str, problem: str, log: Log) -> dict[str, dict[str, Log]]:
    return {name: {problem: log}}


def test_only_the_wrong_answers_that_do_not_depend_on_the_seed_are_kept() -> None:
    fixed = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = Known("sign", "backprop", "Look at the sign.", "students", runs_as="known-mistake-sign")
    first = _runs(m.runs_as, "backprop", {
        ("test_example", 0): _seen(fixed),                         # same answer under both seeds: kept
        ("test_example", 1): _seen(fixed.double(), fixed.double()),  # kept (two tensors)
        ("test_random", 0): _seen(torch.tensor([1.0])),            # seeded input: another answer under the other seed
        ("test_right", 0): _seen(fixed, matched=True),            # right: nothing to carry
        ("test_big", 0): _seen(None),                              # not kept by the check (too big): not carried
        ("test_once", 0): _seen(fixed),                            # made under one seed only
        ("test_tol", 0): _seen(fixed),                             # a tolerance scaled to a seeded input
    })
    second = _runs(m.runs_as, "backprop", {
        ("test_example", 0): _seen(fixed.clone()),
        ("test_example", 1): _seen(fixed.double(), fixed.double()),
        ("test_random", 0): _seen(torch.tensor([2.0])),
        ("test_right", 0): _seen(fixed, matched=True),
        ("test_big", 0): _seen(None),
        ("test_tol", 0): _seen(fixed, tol=Tolerance(rtol=1e-5, atol=1e-6, why="float32 sums", of_largest=2e-7)),
    })
    (k,) = released_hints.kept([m], first, second)
    assert sorted(k.log) == [("test_example", 0), ("test_example", 1)]
    assert (k.id, k.problem, k.hint, k.shown) == (m.id, m.problem, m.hint, "students")

    # The same answer in float32 and float64 is not the same answer; a dropped seed-only mistake is not carried.
    other = _runs(m.runs_as, "backprop", {("test_example", 0): _seen(fixed.double())})
    assert released_hints.kept([m], first, other) == []
    assert released_hints.kept([m], first, {}) == []


def test_an_instructors_only_mistake_is_never_carried() -> None:
    fixed = torch.tensor([5.0, 6.0])
    log: Log = {("test_example", 0): _seen(fixed)}
    secret = Known("uphill", "momentum", "for the TAs", "instructors", runs_as="known-mistake-uphill")
    shown = Known("down", "momentum", "Look at the step's sign.", "students", runs_as="known-mistake-down")
    runs = {secret.runs_as: {"momentum": log}, shown.runs_as: {"momentum": log}}
    assert [k.id for k in released_hints.kept([secret, shown], runs, runs)] == ["down"]
    # and dumps writes nothing of one, whoever hands it one
    text = released_hints.dumps("hw", [Known("uphill", "momentum", "for the TAs", "instructors", log=log), shown])
    assert "uphill" not in text and "for the TAs" not in text


def test_the_hints_file_reads_back_as_written_and_diagnoses_the_same() -> None:
    answers: list[torch.Tensor] = [
        torch.tensor([[0.1, -2.5e-8], [3.0, 1e30]], dtype=torch.float32),
        torch.tensor([1 / 3, -0.0], dtype=torch.float64),
        torch.tensor(7, dtype=torch.int64),                   # a 0-dim tensor
        torch.zeros(0, 3, dtype=torch.float16),               # an empty one keeps its shape
        torch.tensor([True, False]),
        torch.tensor([1.5, -2.25], dtype=torch.bfloat16),
    ]
    exact = Tolerance(rtol=0.0, atol=0.0, why="exact")  # (a tolerance scaled to |entries| is for numbers, not flags)
    log: Log = {("test_example", i): _seen(t, tol=TOL if t.is_floating_point() else exact) for i, t in enumerate(answers)}
    log[("test_pair", 0)] = _seen(answers[0], answers[1])
    m = Known("sign", "backprop", "Look at the sign \"of\" delta:\n\u03c3'(z).", "students", log=log)
    (back,) = released_hints.loads(released_hints.dumps("mfdnn-hw5", [m]), "mfdnn-hw5")
    assert (back.id, back.problem, back.hint, back.shown) == (m.id, m.problem, m.hint, m.shown)
    assert sorted(back.log) == sorted(log)
    for key, o in log.items():
        b = back.log[key]
        assert b.tol == o.tol and b.matched is False
        assert o.items is not None and b.items is not None and len(b.items) == len(o.items)
        for x, y in zip(o.items, b.items):
            assert y is not None and x is not None
            assert y.dtype == x.dtype and y.shape == x.shape and torch.equal(x, y)
    student = dict(log)
    assert [k.id for k in diagnose(student, [back])] == ["sign"]
    right = {k: _seen(*(o.items or ()), matched=True) for k, o in log.items()}
    assert diagnose(right, [back]) == []


def test_a_hostile_hints_file_gives_no_hints_and_no_crash(tmp_path: Path) -> None:
    """From an attack on the release's hints file (by someone who never read these tests): a
    shape or an order of 1e400 (JSON's infinity) was an OverflowError traceback; a float8 dtype,
    or a tolerance of NaN, read as hints. Each now gives no hints."""
    def doc(dtype: str = "float32", shape: str = "[2]", order: str = "0", rtol: str = "0") -> str:
        return ('{"format": "dl-grader release hints", "version": 1, "assignment": "mfdnn-hw5", "mistakes": [{"id": "x", '
                '"problem": "p", "hint": "h", "comparisons": [{"test": "t", "order": ' + order + ', "answer": [{"dtype": "'
                + dtype + '", "shape": ' + shape + ', "values": [1, 2]}], "tolerance": {"rtol": ' + rtol
                + ', "atol": 0, "of_largest": 0, "why": ""}}]}]}')
    where = released_hints.path(tmp_path, "mfdnn-hw5")
    where.parent.mkdir(parents=True)
    where.write_text(doc())
    assert len(released_hints.read(tmp_path, "mfdnn-hw5")) == 1  # the well-formed one reads
    for text in (doc(shape="[1e400]"), doc(order="1e400"), doc(dtype="float8_e5m2"), doc(rtol="NaN"), doc(rtol="1e308")):
        where.write_text(text)
        assert released_hints.read(tmp_path, "mfdnn-hw5") == [], text
    where.write_text(doc() + " " * released_hints.MAX_BYTES)  # larger than a release writes: not even parsed
    assert released_hints.read(tmp_path, "mfdnn-hw5") == []


def test_an_answer_too_big_to_carry_is_left_out() -> None:
    """A fixed public input of a million entries would make a hints file of megabytes: such a
    comparison is not carried (the mistake's smaller ones still are)."""
    big, small = torch.zeros(released_hints.MAX_ENTRIES + 1), torch.ones(3)
    m = Known("sign", "backprop", "Look at the sign.", "students", runs_as="known-mistake-sign")
    runs = _runs(m.runs_as, "backprop", {("test_big", 0): _seen(big), ("test_small", 0): _seen(small)})
    (k,) = released_hints.kept([m], runs, runs)
    assert list(k.log) == [("test_small", 0)]
    only_big = _runs(m.runs_as, "backprop", {("test_big", 0): _seen(big)})
    assert released_hints.kept([m], only_big, only_big) == []


@pytest.mark.parametrize("text", [
    "", "not json", "[]", '{"format": "something else", "version": 1}',
    '{"format": "dl-grader release hints", "version": 99, "assignment": "mfdnn-hw5", "mistakes": []}',
    '{"format": "dl-grader release hints", "version": 1, "assignment": "other-hw", "mistakes": []}',
    '{"format": "dl-grader release hints", "version": 1, "assignment": "mfdnn-hw5", "mistakes": [{"id": "x"}]}',
    '{"format": "dl-grader release hints", "version": 1, "assignment": "mfdnn-hw5", "mistakes": [{"id": "x", "problem": "p", '
    '"hint": "h", "comparisons": [{"test": "t", "order": 0, "answer": [{"dtype": "Tensor", "shape": [1], "values": [1]}], '
    '"tolerance": {"rtol": 0, "atol": 0, "of_largest": 0, "why": ""}}]}]}',
    '{"format": "dl-grader release hints", "version": 1, "assignment": "mfdnn-hw5", "mistakes": [{"id": "x", "problem": "p", '
    '"hint": "h", "comparisons": [{"test": "t", "order": 0, "answer": [{"dtype": "float32", "shape": [3], "values": [1, 2]}], '
    '"tolerance": {"rtol": 0, "atol": 0, "of_largest": 0, "why": ""}}]}]}',
])
def test_a_hints_file_that_cannot_be_read_gives_no_hints(tmp_path: Path, text: str) -> None:
    where = released_hints.path(tmp_path, "mfdnn-hw5")
    assert released_hints.read(tmp_path, "mfdnn-hw5") == []  # absent
    where.parent.mkdir(parents=True)
    where.write_text(text)
    assert released_hints.read(tmp_path, "mfdnn-hw5") == []
    where.write_bytes(b"\xff\xfe\x00garbage")
    assert released_hints.read(tmp_path, "mfdnn-hw5") == []


def test_recorded_hints_of_mfdnn_hw5_are_the_students_mistakes_on_fixed_public_inputs() -> None:
    """The release's grading step, on the in-process runner: backprop's students-shown mistakes
    are carried on the homework's example only (its random networks are drawn from the seed);
    momentum's public checks draw every input from the seed, so none of its mistakes is."""
    a = Course.locate(ROOT).assignment("mfdnn-hw5")
    known = released_hints.loads(record_hints(a, seeds=(11, 12), runner=InProcessRunner), a.id)
    mistakes = {m.id: m for m in load_mistakes("mfdnn-hw5")}
    students = {i for i, m in mistakes.items() if m.diagnoses and m.shown == "students"}
    public = {(p.id, t.name) for p in a.rubric.problems for t in p.tests if t.visibility == "visible"}
    assert known and {m.id for m in known} <= students
    assert {m.problem for m in known} == {"backprop"}
    assert any(mistakes[i].problem == "momentum" for i in students)  # graded, and none kept
    for m in known:
        assert m.hint == mistakes[m.id].hint
        assert {(m.problem, test) for test, _ in m.log} <= public
        assert {test for test, _ in m.log} <= {"test_homework_example_weights", "test_homework_example_biases"}
    # Seed-independent indeed: another two seeds keep the same answers.
    again = {m.id: m for m in released_hints.loads(record_hints(a, seeds=(5, 6), runner=InProcessRunner), a.id)}
    assert set(again) == {m.id for m in known}
    for m in known:
        assert set(again[m.id].log) == set(m.log)
        for k, o in m.log.items():
            assert o.items is not None and all(
                x is not None and y is not None and torch.equal(x, y) for x, y in zip(o.items, again[m.id].log[k].items or ()))
