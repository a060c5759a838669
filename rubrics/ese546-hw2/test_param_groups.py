"""Public checks for `param_groups` (ESE 546, Homework 2), released to students. The expected
split of resnet18 is read off its naming here; the hidden checks work the split out from the
module types of the same models the worker builds (drivers/param_groups.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from torch import nn

from grader import load_driver
from grader.checks import all_faults, that
from grader.fixtures import Submission

_driver = load_driver(Path(__file__).parent / "drivers" / "param_groups.py")
GROUPS = _driver.GROUPS

# The homework's figures for torchvision's resnet18 (its table has typos; these are right:
# see student_template/ese546-hw2/README.md).
RESNET18 = {"batchnorm": 9600, "bias": 1000, "rest": 11678912}


@cache
def model_named(name: str) -> nn.Module:
    """The driver's model ``name``, built once per batch (only its structure is used)."""
    return _driver.build(name)


def resnet18_split(model: nn.Module) -> dict[str, list[str]]:
    """The right split of torchvision's resnet18, read off its naming: its BatchNorm layers
    are the bn1, bn2 and downsample.1 of each block, and its only other bias is fc.bias.
    Right for this model only (the homework asks for a split by module type, whatever the
    names say): the hidden checks work the split out from the module types, on models whose
    names say nothing, and the grader's own tests show both agree on resnet18. (A general
    oracle here would hand students the solution: this module is released to them.)"""
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for name, _ in model.named_parameters():
        layer = name.rsplit(".", 1)[0]
        if layer.rsplit(".", 1)[-1].startswith("bn") or layer.endswith("downsample.1"):
            out["batchnorm"].append(name)
        elif name.endswith(".bias"):
            out["bias"].append(name)
        else:
            out["rest"].append(name)
    return out


def groups_of(submission: Submission, model: str) -> dict[str, list[str]]:
    got = submission.call("split", model=model, context=f"on the model {model!r}")["groups"]
    that(set(got) == set(GROUPS), f"On the model {model!r}: split_params returned the keys {sorted(got)}; expected exactly {list(GROUPS)}.")
    return got


def once_each(got: dict[str, list[str]], model: nn.Module, label: str) -> None:
    """Every parameter in exactly one group: names twice, unknown and missing, all said."""
    names = [n for n, _ in model.named_parameters()]
    placed = [n for g in GROUPS for n in got[g]]
    twice = sorted({n for n in placed if placed.count(n) > 1})
    unknown = sorted(set(placed) - set(names))
    missing = [n for n in names if n not in set(placed)]
    with all_faults() as faults:
        faults.that(not twice, f"On {label}: {len(twice)} names are in more than one group (or twice in one), e.g. {twice[:3]}.")
        faults.that(not unknown, f"On {label}: {len(unknown)} names are not parameters of the model, e.g. {unknown[:3]}.")
        faults.that(not missing, f"On {label}: {len(missing)} of its {len(names)} parameters are in no group, e.g. {missing[:3]}.")


def same_split(got: dict[str, list[str]], want: dict[str, list[str]], label: str) -> None:
    """Each group holds exactly the names it should: every group that is off is said."""
    where = {n: h for h in GROUPS for n in want[h]}
    wrong: list[str] = []
    for g in GROUPS:
        extra, lacking = sorted(set(got[g]) - set(want[g])), sorted(set(want[g]) - set(got[g]))
        if extra or lacking:
            lines = [f"On {label}, the group {g!r} is not right:"]
            lines += [f"  {n} is there, but belongs in {where.get(n, 'no group (not a parameter)')!r}" for n in extra[:4]]
            lines += [f"  {n} is missing (it is in {next((h for h in GROUPS if n in got[h]), 'no group')!r})" for n in lacking[:4]]
            more = len(extra) + len(lacking) - min(len(extra), 4) - min(len(lacking), 4)
            wrong += lines + ([f"  ... and {more} more"] if more > 0 else [])
    that(not wrong, "\n".join(wrong + ["A parameter of a BatchNorm layer is 'batchnorm' whatever the layer is named; "
                                       "another layer's bias is 'bias'; the rest is 'rest'."]),
         answer={g: sorted(got[g]) for g in GROUPS})  # (the split kept: a known mistake's split names it)


def test_resnet18_counts(submission: Submission) -> None:
    got = groups_of(submission, "resnet18")
    sizes = {n: p.numel() for n, p in model_named("resnet18").named_parameters()}
    counts = {g: sum(sizes.get(n, 0) for n in got[g]) for g in GROUPS}
    that(counts == RESNET18, f"On torchvision's resnet18 the groups hold {counts} numbers; expected {RESNET18} "
                             f"(11,689,512 in all).", answer=counts)


def test_resnet18_split(submission: Submission) -> None:
    got = groups_of(submission, "resnet18")
    same_split(got, resnet18_split(model_named("resnet18")), "torchvision's resnet18")


def test_every_parameter_once(submission: Submission) -> None:
    with all_faults() as faults:  # both models' faults said
        for name in ("resnet18", "sequential"):
            with faults.part():
                once_each(groups_of(submission, name), model_named(name), f"the model {name!r}")
