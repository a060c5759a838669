"""Checks for `bottleneck` (mfdnn-hw5, Problem 5). The oracle counts on the two blocks the
template gives (imported here from the course's template, never from the submission):
parameters with numel(), additions and multiplications with forward hooks that see each
convolution's real output size, activations as the output entries of the ReLUs.

Each quantity is scored on its own (rubrics/README.md, "Right numbers, right form"): the
homework's two models get one test per model and quantity, the value of a count is graded
whatever its form, and the form (exact Python ints) is one test of its own."""

from __future__ import annotations

from functools import cache
from typing import Any, Callable

import torch
from torch import nn

from grader.checks import Faults, all_faults
from types import ModuleType
from grader.fixtures import Generator, Submission

# The homework's Problem 5: Model I = NaiveInception(256, 124, 192, 96) and Model II =
# BottleneckInception(256, 124, 64, 192, 64, 96, 64), on 256 x 32 x 32. Its answers
# (the solution's own figures; tests/unit/course/test_rubric.py checks that the oracle below gives them):
MODEL_II = {"c_in": 256, "n1": 124, "r3": 64, "n3": 192, "r5": 64, "n5": 96, "pool_proj": 64}
HOMEWORK_HW = (32, 32)
HOMEWORK = {
    "naive_params": 1_088_924, "bottleneck_params": 345_692,
    "naive_additions": 1_114_636_288, "naive_multiplications": 1_114_636_288, "naive_activations": 421_888,
    "bottleneck_additions": 353_370_112, "bottleneck_multiplications": 353_370_112, "bottleneck_activations": 618_496,
}  # fmt: skip
# GoogLeNet's inception (3a): 192 x 28 x 28 in, the sizes of Szegedy et al. (2015), Table 1.
INCEPTION_3A = {"c_in": 192, "n1": 64, "r3": 96, "n3": 128, "r5": 16, "n5": 32, "pool_proj": 32}
NAIVE_KEYS = ("c_in", "n1", "n3", "n5")
QUANTITIES = ("additions", "multiplications", "activations")
FNS = ("naive_params", "naive_ops", "bottleneck_params", "bottleneck_ops")
MODELS = {"naive": "Model I (no bottleneck)", "bottleneck": "Model II (with 1x1 bottlenecks)"}
EVERY = tuple(f"{m}_{q}" for m in MODELS for q in ("params", *QUANTITIES))  # every count, by name


def naive_of(sizes: dict[str, int]) -> dict[str, int]:
    return {k: sizes[k] for k in NAIVE_KEYS}


def oracle(given: Any, sizes: dict[str, int], h: int, w: int) -> dict[str, int]:
    """Every count, by name ("naive_params", "bottleneck_activations", ...), made once per
    batch for each set of sizes (the inputs are the same for every student)."""
    return dict(_counted(given, tuple(sizes.items()), h, w))


@cache
def _counted(given: Any, items: tuple[tuple[str, int], ...], h: int, w: int) -> tuple[tuple[str, int], ...]:
    sizes = dict(items)
    out = {}
    for name, block in (("naive", given.NaiveInception(**naive_of(sizes))), ("bottleneck", given.BottleneckInception(**sizes))):
        seen = dict.fromkeys(QUANTITIES, 0)

        def conv(m: nn.Module, args: Any, y: torch.Tensor, seen: dict[str, int] = seen) -> None:
            assert isinstance(m, nn.Conv2d) and m.bias is not None
            kh, kw = m.kernel_size
            products = y.numel() * (m.in_channels // m.groups) * kh * kw
            seen["multiplications"] += products
            seen["additions"] += products  # C*k*k - 1 to sum the products, 1 for the bias

        def relu(m: nn.Module, args: Any, y: torch.Tensor, seen: dict[str, int] = seen) -> None:
            seen["activations"] += y.numel()

        handles = [m.register_forward_hook(conv) for m in block.modules() if isinstance(m, nn.Conv2d)]
        handles += [m.register_forward_hook(relu) for m in block.modules() if isinstance(m, nn.ReLU)]
        with torch.no_grad():
            y = block(torch.zeros(1, sizes["c_in"], h, w))
        for handle in handles:
            handle.remove()
        assert y.shape[-2:] == (h, w)
        out[f"{name}_params"] = sum(p.numel() for p in block.parameters())
        out.update({f"{name}_{q}": seen[q] for q in QUANTITIES})
    return tuple(out.items())


def describe(sizes: dict[str, int], h: int, w: int) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items()) + f", h={h}, w={w}"


def _fn_of(count: str) -> str:
    model, quantity = count.split("_", 1)
    return f"{model}_params" if quantity == "params" else f"{model}_ops"


def _said(count: str) -> str:
    model, quantity = count.split("_", 1)
    if quantity == "params":
        return f"{model}_params (trainable parameters)"
    return f"{model}_ops(...)[{QUANTITIES.index(quantity)}] ({quantity})"


def reported(submission: Submission, sizes: dict[str, int], h: int, w: int, which: tuple[str, ...],
             faults: Faults) -> dict[str, list[Any]]:
    """[number, form] of each count of ``which``, calling only the functions they need, each
    on its own: a function that raises, or returns what cannot be read, is kept in ``faults``
    and its counts are left out (it never hides another function's counts)."""
    fns = sorted({_fn_of(c) for c in which}, key=FNS.index)
    got: dict[str, Any] = {}
    for fn in fns:
        with faults.part():
            got.update(submission.call("counts", fns=[fn], naive=naive_of(sizes), bottleneck=sizes, h=h, w=w,
                                       context=f"with {describe(sizes, h, w)}"))
    out = {}
    for count in which:
        model, quantity = count.split("_", 1)
        if _fn_of(count) not in got:
            continue
        value = got[_fn_of(count)]
        out[count] = value if quantity == "params" else value[QUANTITIES.index(quantity)]
    return out


def _hint(count: str, got: Any, sizes: dict[str, int], h: int, w: int) -> str:
    """What the student's number is, when it is a known other convention's."""
    model, quantity = count.split("_", 1)
    convs = _convs(model, sizes)
    if quantity == "params":
        if got == sum(k * k * ci * co for ci, co, k in convs):
            return " That is the count without the biases: each convolution also has C_out of them."
    elif quantity in ("additions", "multiplications"):
        products = [h * w * k * k * ci * co for ci, co, k in convs]
        if quantity == "additions" and got == sum(products) - sum(h * w * co for ci, co, k in convs):
            return (" That is C_in*k*k - 1 additions per output entry: the homework also counts the bias's addition, "
                    "so C_in*k*k.")
        if got == 2 * sum(products):
            return " That is additions and multiplications together: report each of them on its own."
    elif quantity == "activations" and model == "bottleneck":
        reductions = (1, 3)  # the 1x1 convolutions before the 3x3 and the 5x5
        if got == sum(h * w * co for i, (ci, co, k) in enumerate(convs) if i not in reductions):
            return " That leaves out the 1x1 reductions' activations: every convolution is followed by its ReLU."
    return ""


def _convs(model: str, s: dict[str, int]) -> list[tuple[int, int, int]]:
    """(C_in, C_out, k) of each convolution of a block, as the template builds it (for hints only)."""
    if model == "naive":
        return [(s["c_in"], s["n1"], 1), (s["c_in"], s["n3"], 3), (s["c_in"], s["n5"], 5)]
    return [(s["c_in"], s["n1"], 1), (s["c_in"], s["r3"], 1), (s["r3"], s["n3"], 3), (s["c_in"], s["r5"], 1),
            (s["r5"], s["n5"], 5), (s["c_in"], s["pool_proj"], 1)]


def matches(submission: Submission, given: ModuleType, sizes: dict[str, int], h: int, w: int, which: tuple[str, ...], why: str) -> None:
    """The values of the counts ``which`` equal the oracle's (their form is test_exact_ints'):
    every wrong count and every function that failed, said together."""
    want = oracle(given, sizes, h, w)
    shown = naive_of(sizes) if all(c.startswith("naive") for c in which) else sizes  # the sizes the counts depend on
    with all_faults() as faults:
        got = reported(submission, sizes, h, w, which, faults)
        wrong = []
        for count in which:
            if count not in got:
                continue
            number = got[count][0]
            if number != want[count]:
                off = f" (off by {number - want[count]:+,})" if isinstance(number, int) else ""
                wrong.append(f"  {_said(count)}: expected {want[count]:,}, got {number:,}{off}.{_hint(count, number, sizes, h, w)}")
        faults.that(not wrong, f"With {describe(shown, h, w)} ({why}):\n" + "\n".join(wrong)
                    + "\n(counted on the template's NaiveInception and BottleneckInception)",
                    answer={count: got[count][0] for count in which if count in got})  # (kept: a known mistake's counts name it)


def _homework(model: str, quantity: str) -> Callable[[Submission, ModuleType], None]:
    """One test: one quantity of one of the homework's two models."""
    count = f"{model}_{quantity}"

    def test(submission: Submission, given: ModuleType) -> None:
        matches(submission, given, MODEL_II, *HOMEWORK_HW, (count,), f"the homework's {MODELS[model]} on 256 x 32 x 32")

    test.__name__ = f"test_{'model_i' if model == 'naive' else 'model_ii'}_{quantity}"
    test.__doc__ = f"The homework's {MODELS[model]}: {quantity}."
    return test


test_model_i_params = _homework("naive", "params")
test_model_i_additions = _homework("naive", "additions")
test_model_i_multiplications = _homework("naive", "multiplications")
test_model_i_activations = _homework("naive", "activations")
test_model_ii_params = _homework("bottleneck", "params")
test_model_ii_additions = _homework("bottleneck", "additions")
test_model_ii_multiplications = _homework("bottleneck", "multiplications")
test_model_ii_activations = _homework("bottleneck", "activations")


def sizes_from(gen: torch.Generator, low: int = 1, high: int = 65) -> dict[str, int]:
    return {k: int(torch.randint(low, high, (), generator=gen)) for k in INCEPTION_3A}


def test_random_sizes(submission: Submission, given: ModuleType, generator: Generator) -> None:
    gen = generator()
    matches(submission, given, INCEPTION_3A, 28, 28, EVERY, "GoogLeNet's inception (3a) on 192 x 28 x 28")
    for h, w in ((8, 8), (5, 11)):
        matches(submission, given, sizes_from(gen), h, w, EVERY, "random sizes, H and W may differ")


def test_exact_ints(submission: Submission, given: ModuleType) -> None:
    with all_faults() as faults:
        got = reported(submission, MODEL_II, *HOMEWORK_HW, EVERY, faults)
        odd = [f"  {_said(c)} is {form}" for c, (number, form) in got.items() if form is not None]
        faults.that(not odd, "Every count should be an exact Python int (a float loses digits beyond 2**53; a tensor or "
                    "a numpy number is not what the template asks for). With the homework's sizes:\n" + "\n".join(odd)
                    + "\nThe values themselves are graded in the other tests: only this test's points depend on the form.")
