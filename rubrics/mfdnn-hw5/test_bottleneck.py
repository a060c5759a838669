"""Checks for `bottleneck` (mfdnn-hw5, Problem 5). The oracle counts on the two blocks the
template gives (imported here from the course's template, never from the submission):
parameters with numel(), operations with forward hooks that see each convolution's real
output size."""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
from torch import nn

from grader.checks import CheckFailed

# GoogLeNet's inception (3a): 192 x 28 x 28 in, the sizes of Szegedy et al. (2015), Table 1.
INCEPTION_3A = {"c_in": 192, "n1": 64, "r3": 96, "n3": 128, "r5": 16, "n5": 32, "pool_proj": 32}
NAIVE_KEYS = ("c_in", "n1", "n3", "n5")
ALL = ("naive_params", "naive_ops", "bottleneck_params", "bottleneck_ops")


def naive_of(sizes: dict[str, int]) -> dict[str, int]:
    return {k: sizes[k] for k in NAIVE_KEYS}


def oracle(given: Any, sizes: dict[str, int], h: int, w: int) -> dict[str, int]:
    """The four counts, made once per batch for each set of sizes (the inputs are the same for every student)."""
    return dict(_counted(given, tuple(sizes.items()), h, w))


@cache
def _counted(given: Any, items: tuple[tuple[str, int], ...], h: int, w: int) -> tuple[tuple[str, int], ...]:
    sizes = dict(items)
    out = {}
    for name, block in (("naive", given.NaiveInception(**naive_of(sizes))), ("bottleneck", given.BottleneckInception(**sizes))):
        ops = 0

        def hook(m: nn.Module, args: Any, y: torch.Tensor) -> None:
            nonlocal ops
            assert isinstance(m, nn.Conv2d)
            kh, kw = m.kernel_size
            ops += y.numel() * 2 * (m.in_channels // m.groups) * kh * kw  # C*k*k mults, C*k*k - 1 adds, 1 bias add

        handles = [m.register_forward_hook(hook) for m in block.modules() if isinstance(m, nn.Conv2d)]
        with torch.no_grad():
            y = block(torch.zeros(1, sizes["c_in"], h, w))
        for handle in handles:
            handle.remove()
        assert y.shape[-2:] == (h, w)
        out[f"{name}_params"] = sum(p.numel() for p in block.parameters())
        out[f"{name}_ops"] = ops
    return tuple(out.items())


def describe(sizes: dict[str, int], h: int, w: int) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + f", h={h}, w={w}"


def matches(submission, given, sizes: dict[str, int], h: int, w: int, which: tuple[str, ...], why: str) -> None:  # type: ignore[no-untyped-def]
    label = describe(sizes, h, w)
    got = submission.call("counts", fns=list(which), naive=naive_of(sizes), bottleneck=sizes, h=h, w=w, context=f"with {label}")
    want = oracle(given, sizes, h, w)
    wrong = [f"  {fn}: expected {want[fn]:,}, got {got[fn]:,} (off by {got[fn] - want[fn]:+,})" for fn in which if got[fn] != want[fn]]
    if wrong:
        raise CheckFailed(f"With {label} ({why}):\n" + "\n".join(wrong) + "\n(counted on the template's NaiveInception and BottleneckInception)")


def sizes_from(gen: torch.Generator, low: int = 1, high: int = 65) -> dict[str, int]:
    return {k: int(torch.randint(low, high, (), generator=gen)) for k in INCEPTION_3A}


def test_inception_3a(submission, given):  # type: ignore[no-untyped-def]
    # 387,296 and 163,696 parameters, 606,928,896 and 256,098,304 operations (the template's
    # README gives these; tests/test_rubric.py checks that this oracle reproduces them)
    matches(submission, given, INCEPTION_3A, 28, 28, ALL,
            "GoogLeNet's inception (3a) on 192 x 28 x 28")


def test_parameters(submission, given, generator):  # type: ignore[no-untyped-def]
    gen = generator()
    for _ in range(3):
        matches(submission, given, sizes_from(gen), 8, 8, ("naive_params", "bottleneck_params"), "random sizes")


def test_operations(submission, given, generator):  # type: ignore[no-untyped-def]
    gen = generator()
    for h, w in ((8, 8), (5, 11)):
        matches(submission, given, sizes_from(gen), h, w, ("naive_ops", "bottleneck_ops"), "random sizes, H and W may differ")


def test_hidden_sizes(submission, given, generator):  # type: ignore[no-untyped-def]
    gen = generator()
    one = dict.fromkeys(INCEPTION_3A, 1)
    matches(submission, given, one, 1, 1, ALL, "every size 1, a 1 x 1 image")
    matches(submission, given, {**sizes_from(gen, 1, 8), "c_in": 480}, 14, 3, ALL,
            "480 input channels, a 14 x 3 image")
    matches(submission, given, {**sizes_from(gen, 1, 5), "r3": 1, "r5": 1}, 7, 7, ("bottleneck_params", "bottleneck_ops"),
            "a one-channel bottleneck")
