"""The in-process runner stands in for real workers only where both give every check the same
verdict: the same class (references, templates and every known mistake of three problems)
graded both ways, compared check by check. (The unit tier grades the quick problems' known
mistakes on the in-process runner: tests/unit/authoring/test_mistakes.py.)"""

from __future__ import annotations

from typing import Any

import torch

from grader._course.layout import Course
from grader._grading.api import validate
from grader._sandbox.inprocess import InProcessRunner
from grader._sandbox.local import LocalRunner
from grader._sandbox.runner import Runner

CLASSES = [("mfdnn-hw5", {"backprop", "momentum"}), ("ese546-hw2", {"clip_grad"}), ("mfdnn-hw7", {"softmax"})]


def verdicts(course: Course, assignment: str, problems: set[str], runner: Runner) -> dict[str, Any]:
    reference, template, mistakes = validate(assignment, course=course, seed=12345, runner=runner, problems=problems)
    out: dict[str, Any] = {}
    for v in (reference, template):
        assert v.result is not None
        out[v.which] = sorted((t.name, t.outcome, t.score) for t in v.result.tests)
    out["mistakes"] = sorted((c.id, tuple(sorted(c.failed)), tuple(c.troubles)) for c in mistakes.mistakes)
    return out


def test_workers_and_the_in_process_runner_give_every_check_the_same_verdict(course: Course) -> None:
    for assignment, problems in CLASSES:
        real = verdicts(course, assignment, problems, LocalRunner())
        fake = verdicts(course, assignment, problems, InProcessRunner())
        assert real["mistakes"], f"{assignment}: no known mistakes were graded"
        for part in ("reference", "template", "mistakes"):
            assert fake[part] == real[part], f"{assignment} {part}: in-process {fake[part]} != workers {real[part]}"


def off(value: Any) -> Any:
    """``value`` with every floating-point tensor in it made half as large again."""
    if isinstance(value, torch.Tensor):
        return value * 1.5 if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: off(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(off(v) for v in value)
    return value


def test_the_comparison_can_fail(course: Course) -> None:
    """A verdict that differs is seen: a runner whose workers all answer wrongly disagrees."""

    class Wrong(InProcessRunner):
        def start(self, spec):  # type: ignore[no-untyped-def]
            worker = super().start(spec)
            request = worker.request

            def wrong(header, values, timeout):  # type: ignore[no-untyped-def]
                return off(request(header, values, timeout))

            worker.request = wrong  # type: ignore[method-assign]
            return worker

    right = verdicts(course, "ese546-hw2", {"clip_grad"}, InProcessRunner())
    wrong = verdicts(course, "ese546-hw2", {"clip_grad"}, Wrong())
    assert wrong["reference"] != right["reference"]

