"""Checks for `count_ops` (mfdnn-hw7). The expected counts are worked out here, on the
trusted side, from the same models the worker builds (drivers/count_ops.py): forward hooks
see every Conv2d and Linear layer's actual output in one forward pass, and the template's
convention prices each output number (K multiplications, K - 1 additions, 1 for a bias)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from grader import load_driver
from grader.checks import all_faults, input_changes, that
from grader.fixtures import Submission

_driver = load_driver(Path(__file__).parent / "drivers" / "count_ops.py")
KINDS = _driver.KINDS

# The homework's AlexNet on one 3 x 227 x 227 image, as a reader can check by hand:
#   conv1  96 x 55 x 55 outputs x (2 *   3*11*11 - 1 + 1) = 290,400 x   726 =   210,830,400
#   conv2 256 x 27 x 27 outputs x (2 *   96*5*5  - 1 + 1) = 186,624 x 4,800 =   895,795,200
#   conv3 384 x 13 x 13 outputs x (2 *  256*3*3  - 1 + 1) =  64,896 x 4,608 =   299,040,768
#   conv4 384 x 13 x 13 outputs x (2 *  384*3*3  - 1 + 1) =  64,896 x 6,912 =   448,561,152
#   conv5 256 x 13 x 13 outputs x (2 *  384*3*3  - 1 + 1) =  43,264 x 6,912 =   299,040,768
#   fc6 4096 x (2 * 9216 - 1 + 1) = 75,497,472;  fc7 4096 x 8192 = 33,554,432;  fc8 1000 x 8192 = 8,192,000
# test_alexnet compares the student's counts with the oracle below, and the oracle with these.
ALEXNET = {"conv": 2_153_268_288, "linear": 117_243_904}
ALEXNET_INPUT = (3, 227, 227)


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # "conv" or "linear"
    outputs: int  # output numbers for one input
    out_shape: tuple[int, ...]
    k: int  # products per output number: (C_in / groups) k_h k_w, or n_in
    k_no_groups: int  # what k would be with groups ignored
    bias: bool

    def cost(self, k: int | None = None, mults_only: bool = False, bias: bool | None = None) -> int:
        k = self.k if k is None else k
        b = self.bias if bias is None else bias
        return self.outputs * (k if mults_only else 2 * k - 1 + int(b))


@cache
def layers_of(model: str, input_shape: tuple[int, ...]) -> tuple[Layer, ...]:
    """Every Conv2d and Linear call of one forward pass of one input, as hooks see it."""
    net = _driver.build(model, input_shape)
    seen: list[Layer] = []

    def hook(name: str) -> Any:
        def record(layer: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            if isinstance(layer, nn.Conv2d):
                per = layer.kernel_size[0] * layer.kernel_size[1]
                seen.append(Layer(name, "conv", output[0].numel(), tuple(output.shape[1:]),
                                  int(layer.in_channels) // int(layer.groups) * per, int(layer.in_channels) * per, layer.bias is not None))
            else:
                seen.append(Layer(name, "linear", output[0].numel(), tuple(output.shape[1:]),
                                  layer.in_features, layer.in_features, layer.bias is not None))  # type: ignore[arg-type]
        return record

    for name, m in net.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook(name))
    with torch.no_grad():
        net(torch.zeros(1, *input_shape))
    return tuple(seen)


def totals(layers: tuple[Layer, ...], **variant: Any) -> dict[str, int]:
    return {kind: sum(l.cost(**variant) for l in layers if l.kind == kind) for kind in KINDS}


def counts_of(submission: Submission, model: str, input_shape: tuple[int, ...], check_model: bool = False,
              state: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    got = submission.call("count", model=model, input_shape=list(input_shape), check_model=check_model, state=state,
                          context=f"on the model {model!r} with input_shape {input_shape}")
    keys = set(got["counts"])
    that(keys == set(KINDS), f"On the model {model!r}: count_ops returned the keys {sorted(keys)}; expected exactly {list(KINDS)}.")
    return got


def _hints(got: dict[str, Any], layers: tuple[Layer, ...], kind: str) -> list[str]:
    """What the student's number is, when it is a known other convention's."""
    mine = [l for l in layers if l.kind == kind]
    variants = [
        ("multiplications only (the K - 1 additions of each dot product are operations too)", {"mults_only": True}),
        ("without the bias additions (1 per output number of a layer with a bias)", {"bias": False}),
        ("a bias addition in every layer, also those built with bias=False", {"bias": True}),
    ]
    out = [f"Your number is what counting {what} gives." for what, v in variants if sum(l.cost(**v) for l in mine) == got[kind]]
    if any(l.k != l.k_no_groups for l in mine) and sum(l.cost(k=l.k_no_groups) for l in mine) == got[kind]:
        out.append("Your number is what ignoring groups gives: a grouped convolution's output number sees only "
                   "C_in / groups input channels.")
    return out


def same_counts(got: dict[str, Any], model: str, input_shape: tuple[int, ...], label: str,
                kinds: tuple[str, ...] = KINDS) -> None:
    """The counts of ``kinds`` equal the oracle's. Each kind is its own test where the homework
    asks for it (rubrics/README.md: a wrong conv count costs only the conv tests' points)."""
    layers = layers_of(model, input_shape)
    want = totals(layers)
    counts = got["counts"]
    for kind in kinds:
        lines: list[str] = []
        if counts[kind] != want[kind]:
            lines = [f"On {label} with input_shape {input_shape}: count_ops()[{kind!r}] = {counts[kind]:,}, "
                     f"expected {want[kind]:,} (off by {counts[kind] - want[kind]:+,}; ratio {counts[kind] / want[kind]:.4g})."
                     if want[kind] else f"On {label} with input_shape {input_shape}: count_ops()[{kind!r}] = {counts[kind]:,}, "
                     f"expected 0 (it has no {'Conv2d' if kind == 'conv' else 'Linear'} layer)."]
            lines += _hints(counts, layers, kind)
            lines.append(f"Expected, layer by layer ({'Conv2d' if kind == 'conv' else 'Linear'} layers in the order the forward pass runs them):")
            for l in (l for l in layers if l.kind == kind):
                lines.append(f"  {l.name}: output {'x'.join(map(str, l.out_shape))} = {l.outputs:,} numbers, each "
                             f"{l.k} multiplications + {l.k - 1} additions{' + 1 bias' if l.bias else ''} -> {l.cost():,}")
        that(not lines, "\n".join(lines), answer=counts[kind])  # (the count kept: a known mistake's count names it)


def _alexnet(submission: Submission, kind: str) -> None:
    want = totals(layers_of("alexnet", ALEXNET_INPUT))
    if want != ALEXNET:  # the grader's own figures disagree with its oracle: a grader bug, not a verdict
        raise RuntimeError(f"the oracle counts {want} for AlexNet but test_count_ops.py states {ALEXNET}")
    same_counts(counts_of(submission, "alexnet", ALEXNET_INPUT), "alexnet", ALEXNET_INPUT, "the homework's AlexNet", (kind,))


def test_alexnet_conv(submission: Submission) -> None:
    _alexnet(submission, "conv")


def test_alexnet_linear(submission: Submission) -> None:
    _alexnet(submission, "linear")


SMALL = (("lenet5", (1, 32, 32)), ("strided_no_bias", (3, 64, 64)))


def test_small_networks_conv(submission: Submission) -> None:
    for model, shape in SMALL:
        same_counts(counts_of(submission, model, shape), model, shape, f"the model {model!r}", ("conv",))


def test_small_networks_linear(submission: Submission) -> None:
    for model, shape in SMALL:
        same_counts(counts_of(submission, model, shape), model, shape, f"the model {model!r}", ("linear",))


def test_ints_and_model_untouched(submission: Submission) -> None:
    """The form test: ints, no hooks left, the model as it was; every fault said at once."""
    shape = (1, 28, 28)
    state = _driver.build("lenet5", shape).state_dict()  # sent: what the model holds is what this side made
    got = submission.call("count", model="lenet5", input_shape=list(shape), check_model=True, state=state,
                          context=f"on the model 'lenet5' with input_shape {shape}")
    with all_faults() as faults:
        keys = set(got["counts"])
        faults.that(keys == set(KINDS), f"On the model 'lenet5': count_ops returned the keys {sorted(keys)}; expected "
                    f"exactly {list(KINDS)}.")
        for kind in KINDS:
            faults.that(got["types"].get(kind, "int") == "int", f"count_ops()[{kind!r}] is a {got['types'].get(kind)}; return Python ints "
                        "(an operation count is a whole number; a float or a tensor is not what the contract asks for).")
        faults.that(not got["hooks"], f"count_ops left hooks registered on {got['hooks'][:4]}: remove every hook it registers "
                    "(handle.remove()), or the model counts again on every later forward pass.")
        # decided here, from the model's tensors as the worker held them from before the call (its own references)
        changed = input_changes({"model": state}, got["inputs"])
        faults.that(not changed, "count_ops changed the model:\n  " + "\n  ".join(changed[:6])
                    + "\nLeave its parameters and buffers as they were.")
