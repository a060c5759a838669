"""Every number the homework texts print that a reference solution (or a rubric's oracle)
can reproduce: the literal is the homework's, the value compared with it is computed here
from the code. Where the homework's number is a typo, the real figure is asserted, the
homework's is shown to differ from it, and the template README is shown to explain it.

(The figures of mfdnn-hw5's bottleneck problem are checked in tests/unit/course/test_rubric.py.)"""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import cache
from types import ModuleType

import pytest
import torch
from torch import nn

from conftest import ROOT

TEMPLATES = ROOT / "student_template"


def readme(assignment: str, flat: bool = True) -> str:
    """A template README, by default with its line breaks and indentation as single spaces."""
    text = (TEMPLATES / assignment / "README.md").read_text()
    return " ".join(text.split()) if flat else text


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@cache
def module(path: str) -> ModuleType:
    """A reference, template or rubric file, imported by path (and put in sys.modules, which
    the dataclasses of a rubric's test module need)."""
    name = "_seed_numbers_" + re.sub(r"\W", "_", path)
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# --- ESE 546, Homework 2, Solution 1: ResNet-18 (seed 001) ---------------------------------

@cache
def resnet18() -> nn.Module:
    import torchvision

    return torchvision.models.resnet18(weights=None)


# Solution 1 (c), Table 1 "Parameters in each block", as the homework prints it.
HOMEWORK_TABLE_1 = {"7x7": 9408, "Basic Block 1": 147968, "Basic Block 2": 525568, "Basic Block 3": 2099712,
                    "Basic Block 4": 8393688, "FC": 513000, "Total": 11698512}
# Solution 1 (c), "The number of parameters in each of the 18 layers are: (conv1': 9536) ...".
HOMEWORK_LAYERS = {
    "conv1": 9536,
    "layer1-0-conv1": 36992, "layer1-0-conv2": 36992, "layer1-1-conv1": 36992, "layer1-1-conv2": 36992,
    "layer2-0-conv1": 73984, "layer2-0-conv2": 147712, "layer2-0-downsample": 8448,
    "layer2-1-conv1": 147712, "layer2-1-conv2": 147712,
    "layer3-0-conv1": 295424, "layer3-0-conv2": 590336, "layer3-0-downsample": 33280,
    "layer3-1-conv1": 590336, "layer3-1-conv2": 590336,
    "layer4-0-conv1": 1180672, "layer4-0-conv2": 2360320, "layer4-0-downsample": 132096,
    "layer4-1-conv1": 2360320, "layer4-1-conv2": 236032,
    "fc": 513000,
}  # fmt: skip
# Solution 1 (e), the table after the code: "BatchNorm 9600, Biases params 1000, Rest params
# 11678912, Total params 11689512".
HOMEWORK_SPLIT = {"batchnorm": 9600, "bias": 1000, "rest": 11678912}
HOMEWORK_SPLIT_TOTAL = 11689512

# The homework's typos: its number -> what torchvision's resnet18 really has (the expectation
# for the computed count; the README explains each).
TABLE_1_TYPOS = {"Basic Block 4": (8393688, 8393728), "Total": (11698512, 11689512)}
LAYER_TYPOS = {"layer4-1-conv2": (236032, 2360320)}


def table_1_of(model: nn.Module) -> dict[str, int]:
    """Table 1's columns, counted: "7x7" is conv1's weights alone (bn1 is in no column)."""
    cols = {"7x7": numel(model.conv1)}
    cols |= {f"Basic Block {k}": numel(getattr(model, f"layer{k}")) for k in range(1, 5)}
    return cols | {"FC": numel(model.fc), "Total": numel(model)}


def layers_of(model: nn.Module) -> dict[str, int]:
    """The homework's list: each convolution with its BatchNorm, each downsample whole."""
    out = {"conv1": numel(model.conv1) + numel(model.bn1)}
    for k in range(1, 5):
        for i, block in enumerate(getattr(model, f"layer{k}")):
            for c in (1, 2):
                out[f"layer{k}-{i}-conv{c}"] = numel(getattr(block, f"conv{c}")) + numel(getattr(block, f"bn{c}"))
            if block.downsample is not None:
                out[f"layer{k}-{i}-downsample"] = numel(block.downsample)
    return out | {"fc": numel(model.fc)}


def assert_figures(homework: dict[str, int], typos: dict[str, tuple[int, int]], counted: dict[str, int]) -> None:
    assert counted.keys() == homework.keys()
    for name, (printed, real) in typos.items():
        assert homework[name] == printed and counted[name] == real != printed, name
    right = {n: v for n, v in homework.items() if n not in typos}
    assert {n: counted[n] for n in right} == right


def test_resnet18_table_1_is_torchvisions_but_for_its_typos() -> None:
    assert_figures(HOMEWORK_TABLE_1, TABLE_1_TYPOS, table_1_of(resnet18()))


def test_resnet18_layer_list_is_torchvisions_but_for_its_typo() -> None:
    counted = layers_of(resnet18())
    assert_figures(HOMEWORK_LAYERS, LAYER_TYPOS, counted)
    assert sum(counted.values()) == numel(resnet18())  # the list covers every parameter once


def test_the_ese546_readme_explains_each_resnet18_typo() -> None:
    text = readme("ese546-hw2")
    for printed, real in [*TABLE_1_TYPOS.values(), *LAYER_TYPOS.values()]:
        assert f"says {printed:,}" in text and f"real count is {real:,}" in text, (printed, real)
    # and why the table's columns do not add up to its total: bn1 is in none of them
    model = resnet18()
    columns = sum(v for k, v in table_1_of(model).items() if k != "Total")
    assert columns + numel(model.bn1) == numel(model)
    assert f"{columns:,}" in text and f"{numel(model.bn1):,} (`bn1`)" in text


def test_resnet18_split_of_the_reference_is_the_homeworks() -> None:
    ref = module("reference/ese546-hw2/param_groups.py")
    model = resnet18()
    sizes = {n: p.numel() for n, p in model.named_parameters()}
    counts = {g: sum(sizes[n] for n in names) for g, names in ref.split_params(model).items()}
    assert counts == HOMEWORK_SPLIT
    assert sum(counts.values()) == numel(model) == HOMEWORK_SPLIT_TOTAL


def test_resnet18_split_of_the_rubric_is_the_homeworks() -> None:
    """test_resnet18_counts grades against RESNET18; test_resnet18_split against the split read
    off resnet18's names, and the hidden checks against the oracle `expected`, on the driver's
    model: all must be the homework's figures."""
    rubric = module("rubrics/ese546-hw2/test_param_groups.py")
    hidden = module("rubrics/ese546-hw2/hidden/test_param_groups.py")
    model = rubric.model_named("resnet18")
    sizes = {n: p.numel() for n, p in model.named_parameters()}
    for split in (rubric.resnet18_split(model), hidden.expected(model)):
        counts = {g: sum(sizes[n] for n in names) for g, names in split.items()}
        assert counts == HOMEWORK_SPLIT
    assert rubric.RESNET18 == HOMEWORK_SPLIT
    text = readme("ese546-hw2")
    assert all(f"{n:,}" in text for n in (*HOMEWORK_SPLIT.values(), HOMEWORK_SPLIT_TOTAL))


# --- MFDNN Homework 5, Problem 1: the backprop example (seed 003) -------------------------

# Cells [1] and [2]: seed 0, L = 6; print(A_list[0].grad) after autograd and print(dA_list[0])
# after the hand-written backprop both show this tensor.
HOMEWORK_DA0 = [
    ["2.3943e-05", "3.7064e-05", "4.2687e-06", "6.3700e-06"],
    ["3.4104e-05", "5.2794e-05", "6.0804e-06", "9.0735e-06"],
    ["2.4438e-05", "3.7831e-05", "4.3571e-06", "6.5019e-06"],
    ["2.0187e-05", "3.1250e-05", "3.5991e-06", "5.3707e-06"],
]


def printed(t: torch.Tensor) -> list[list[str]]:
    """A 2-D tensor's entries as torch prints them here (4 decimals, scientific)."""
    assert t.dim() == 2 and "e-05" in str(t)  # the print is in scientific notation, as the homework's
    return [[f"{v:.4e}" for v in row] for row in t.tolist()]


@pytest.mark.parametrize("source", ["reference", "student_template"])
def test_backprop_reproduces_the_homeworks_example(source: str) -> None:
    """The reference's backprop on the homework_example (the template's, as the student runs
    `python backprop.py`, and the reference's) prints the homework's dA_list[0]."""
    ref = module("reference/mfdnn-hw5/backprop.py")
    example = module(f"{source}/mfdnn-hw5/backprop.py").homework_example
    A, b, X, Y = example()
    assert [tuple(a.shape) for a in A] == [(4, 4)] * 5 + [(1, 4)]  # L = 6
    dA, _ = ref.backprop(A, b, X, Y)
    assert printed(dA[0]) == HOMEWORK_DA0


def test_backprop_rubric_example_and_oracle_reproduce_the_homeworks() -> None:
    """test_homework_example_weights and _biases grade on the rubric's copy of the example against autograd."""
    rubric = module("rubrics/mfdnn-hw5/test_backprop.py")
    A, b, X, Y = rubric.homework_example()
    ref_data = module("reference/mfdnn-hw5/backprop.py").homework_example()
    assert all(torch.equal(p, q) for p, q in zip(A + b + [X, Y], ref_data[0] + ref_data[1] + list(ref_data[2:]), strict=True))
    dA, _ = rubric.autograd_gradients(A, b, X, Y)
    assert printed(dA[0]) == HOMEWORK_DA0


def test_the_hw5_readme_prints_the_homeworks_tensor() -> None:
    text = readme("mfdnn-hw5", flat=False)
    section = text[text.index("## Problem 1"):text.index("## Problem 3")]
    body = re.search(r"tensor\(\[(.*?)\]\)", section, flags=re.S)
    assert body is not None
    rows = [re.findall(r"-?\d\.\d{4}e[-+]\d\d", r) for r in body.group(1).split("],")]
    assert rows == HOMEWORK_DA0


# --- MFDNN Homework 7 (seed 002) ---------------------------------------------------------

# Problem 2: "In AlexNet, 96% of trainable parameters are in the final linear layers, and only
# 4% are in the convolutional layers." ... "Assume the input image has size 3 x 227 x 227."
HOMEWORK_LINEAR_SHARE, HOMEWORK_CONV_SHARE = 96, 4
HOMEWORK_ALEXNET_INPUT = (3, 227, 227)
# The given AlexNet (no two-GPU split): the real shares, which the README explains.
ALEXNET_SHARES = (94, 6)


def kind_params(model: nn.Module) -> tuple[int, int]:
    conv = sum(numel(m) for m in model.modules() if isinstance(m, nn.Conv2d))
    linear = sum(numel(m) for m in model.modules() if isinstance(m, nn.Linear))
    assert conv + linear == numel(model)
    return conv, linear


def shares(conv: int, linear: int) -> tuple[int, int]:
    return round(100 * linear / (conv + linear)), round(100 * conv / (conv + linear))


def split_over_two_gpus(model: nn.Module) -> nn.Module:
    """The original AlexNet's conv2, conv4 and conv5 see half the channels (groups=2)."""
    convs = [i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]
    for i in (convs[1], convs[3], convs[4]):
        c = model.features[i]
        model.features[i] = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, groups=2,
                                      device="meta")  # fmt: skip
    return model


def test_alexnet_parameter_shares() -> None:
    """The given AlexNet is 94% / 6%; with the paper's two-GPU split it is the homework's 96% / 4%."""
    alexnet = module("student_template/mfdnn-hw7/count_ops.py").AlexNet
    with torch.device("meta"):
        given = alexnet()
    conv, linear = kind_params(given)
    assert shares(conv, linear) == ALEXNET_SHARES != (HOMEWORK_LINEAR_SHARE, HOMEWORK_CONV_SHARE)
    conv2, linear2 = kind_params(split_over_two_gpus(given))
    assert linear2 == linear and shares(conv2, linear2) == (HOMEWORK_LINEAR_SHARE, HOMEWORK_CONV_SHARE)
    text = readme("mfdnn-hw7")
    assert f"{HOMEWORK_LINEAR_SHARE}% of AlexNet's trainable parameters" in text
    assert f"shares are {ALEXNET_SHARES[0]}% and {ALEXNET_SHARES[1]}%" in text
    assert all(f"{n:,}" in text for n in (linear, conv + linear, conv, conv2))


def test_alexnet_operation_counts() -> None:
    """The reference, the rubric's oracle and its ALEXNET (which test_alexnet grades against)
    agree on the homework's input. The README does not print them: they are the answer
    to the homework's own question (a failing check shows them, layer by layer)."""
    ref = module("reference/mfdnn-hw7/count_ops.py")
    rubric = module("rubrics/mfdnn-hw7/test_count_ops.py")
    assert rubric.ALEXNET_INPUT == HOMEWORK_ALEXNET_INPUT
    oracle = rubric.totals(rubric.layers_of("alexnet", HOMEWORK_ALEXNET_INPUT))
    assert ref.count_ops(ref.AlexNet(), HOMEWORK_ALEXNET_INPUT) == oracle == rubric.ALEXNET
    text = readme("mfdnn-hw7")
    assert f"{oracle['conv']:,}" not in text and f"{oracle['linear']:,}" not in text
    # the hand derivation in test_count_ops.py's comment sums to the same figures
    source = (ROOT / "rubrics" / "mfdnn-hw7" / "test_count_ops.py").read_text()
    conv_lines = re.findall(r"#   conv\d .* = +([\d,]+)$", source, flags=re.M)
    fc_line = re.search(r"#   fc6 .*", source)
    assert len(conv_lines) == 5 and fc_line is not None
    assert sum(int(n.replace(",", "")) for n in conv_lines) == oracle["conv"]
    fcs = [int(n.replace(",", "")) for n in re.findall(r"= ([\d,]+)", fc_line.group(0))]
    assert sum(fcs) == oracle["linear"]


# Problem 5: Net1's first Linear reads "256 * 18 * 18" features of a 32x32 CIFAR10 image; for
# images resized to (36, 38), "out1 = torch.empty((b, 10, h - 31, w - 31))" holds Net2's output.
HOMEWORK_NET1_FEATURES = (256, 18, 18)
HOMEWORK_RESIZE = (36, 38)


def homework_out1(b: int, h: int, w: int) -> tuple[int, int, int, int]:
    return (b, 10, h - 31, w - 31)


def test_lnin_shapes_and_size() -> None:
    ref = module("reference/mfdnn-hw7/LNiN.py")
    given = module("student_template/mfdnn-hw7/LNiN.py")
    with torch.device("meta"):
        net1, net2 = given.Net1(), ref.Net2()
        feats = net1.features(torch.zeros(10, 3, 32, 32))
        out2 = net2(torch.zeros(10, 3, *HOMEWORK_RESIZE))
    assert tuple(feats.shape[1:]) == HOMEWORK_NET1_FEATURES
    assert tuple(out2.shape) == homework_out1(10, *HOMEWORK_RESIZE)
    # the README's size of Net1 (and Net2, the same weights rearranged)
    assert numel(net2) == numel(net1)
    text = readme("mfdnn-hw7")
    assert f"`Net1` has {numel(net1):,} parameters ({numel(net1) * 4 / 1e9:.1f} GB in float32)" in text
