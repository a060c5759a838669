"""Checks for `clip_grad` (ESE 546, Homework 2). The oracles: torch.nn.utils.clip_grad_norm_
(the ratio computed here without its 1e-6) and clip_grad_value_, on parameters whose .grad
are the inputs."""

from __future__ import annotations

from typing import Any

import torch

from grader.checks import CheckFailed, Tolerance, all_faults, close_all, input_changes
from grader.fixtures import Generator, Submission

FNS = ("clip_by_norm", "clip_by_value")


def gradients(gen: torch.Generator, shapes: list[tuple[int, ...]], scale: float, dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    return [scale * torch.randn(*s, generator=gen, dtype=dtype) for s in shapes]


def oracle(fn: str, grads: list[torch.Tensor], c: float) -> list[torch.Tensor]:
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    if fn == "clip_by_value":
        torch.nn.utils.clip_grad_value_(params, c)
        return [p.grad for p in params]  # type: ignore[misc]  # (set just above: never None)
    norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))  # type: ignore[arg-type]
    return [g * min(1.0, c / norm) if norm > 0 else g.clone() for g in grads]


def run(submission: Submission, fn: str, grads: list[torch.Tensor], c: float) -> dict[str, Any]:
    shapes = ", ".join(str(tuple(g.shape)) for g in grads)
    return submission.call("clip", fn=fn, grads=grads, c=c, context=f"{fn} with c = {c:g} on gradients of shapes {shapes}")


def tolerance(dtype: torch.dtype) -> Tolerance:
    if dtype == torch.float64:
        return Tolerance(rtol=1e-10, atol=1e-12, why="float64: one scaling or clamp per entry")
    return Tolerance(rtol=1e-5, atol=1e-6, why="float32: the norm is a sum of many squares")


def matches(submission: Submission, fn: str, grads: list[torch.Tensor], c: float, why: str) -> None:
    got = run(submission, fn, grads, c)
    close_all(got["clipped"] if got["count"] else [], oracle(fn, grads, c), item="tensor {i}", tol=tolerance(grads[0].dtype),
              what=f"{fn}(grads, c={c:g}) against torch.nn.utils ({why})")


SHAPES = [(4, 3), (7,), (2, 3, 5)]


def test_clip_by_norm(submission: Submission, generator: Generator) -> None:
    gen = generator()
    grads = gradients(gen, SHAPES, 2.0)
    total = float(torch.sqrt(sum((g ** 2).sum() for g in grads)))  # type: ignore[arg-type]
    matches(submission, "clip_by_norm", grads, total / 3, "the joint norm is 3 times c: every tensor scaled by the same factor")
    # Below c, the homework's words ("scale the gradient to have a fixed l2 norm c") and
    # clip_grad_norm_ (leave it) differ: either is accepted (student_template/ese546-hw2/README.md).
    got = run(submission, "clip_by_norm", grads, total * 2)
    try:
        close_all(got["clipped"] if got["count"] else [], oracle("clip_by_norm", grads, total * 2), item="tensor {i}",
                  tol=tolerance(grads[0].dtype), what="clip_by_norm(grads, c) with the joint norm below c: unchanged")
    except CheckFailed as unchanged:
        try:
            close_all(got["clipped"] if got["count"] else [], [g * 2 for g in grads], item="tensor {i}", tol=tolerance(grads[0].dtype),
                      what="clip_by_norm(grads, c) with the joint norm below c: scaled up to norm c")
        except CheckFailed:
            raise CheckFailed(f"{unchanged}\n(Scaling every tensor up to the joint norm c, the homework's reading, "
                              "would be accepted too; the answer is neither.)") from None


def test_clip_by_value(submission: Submission, generator: Generator) -> None:
    gen = generator()
    grads = gradients(gen, SHAPES, 2.0)
    matches(submission, "clip_by_value", grads, 1.5, "entries beyond +-c are set to +-c")
    matches(submission, "clip_by_value", grads, 100.0, "c above every entry: nothing changes")


def test_inputs_unchanged_and_new_tensors(submission: Submission, generator: Generator) -> None:
    """Both functions, on both paths, every fault said: one function's fault (or its error)
    never hides the other's."""
    gen = generator()
    grads = gradients(gen, SHAPES, 2.0)
    with all_faults() as faults:
        for fn in FNS:
            for c, path in ((0.5, "they are clipped"), (1e9, "nothing needs clipping")):  # every path returns new tensors
                with faults.part():
                    got = run(submission, fn, grads, c)
                    faults.that(got["count"] == len(grads), f"{fn} returned {got['count']} tensors for {len(grads)} gradients.")
                    # decided here, from the inputs the worker held from before the call (its own references)
                    changed = input_changes({"grads": grads}, got["inputs"])
                    faults.that(not changed, f"With c = {c:g} ({path}), {fn} changed its input:\n  " + "\n  ".join(changed)
                                + "\nReturn new tensors and leave grads (the list and its tensors) as they are.")
                    faults.that(not got["shares_input"], f"With c = {c:g} ({path}), {fn} returned input gradient(s) "
                                f"{got['shares_input']} themselves (or views of them: the same storage); return new tensors "
                                "on every path, e.g. g.clone() or g * 1.0.")
