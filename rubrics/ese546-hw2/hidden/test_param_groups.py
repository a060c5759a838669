"""Hidden checks for `param_groups` (ESE 546, Homework 2): never released to students (`grader
release` leaves hidden/ out). Helpers come from the public checks' module."""

from __future__ import annotations

from torch import nn

from grader import public_checks
from grader.checks import all_faults
from grader.fixtures import Submission

public = public_checks(__file__)
GROUPS = public.GROUPS


def expected(model: nn.Module) -> dict[str, list[str]]:
    """The split by module type, as the homework defines it (the oracle of every model)."""
    out: dict[str, list[str]] = {g: [] for g in GROUPS}
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(prefix=module_name, recurse=False):
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                out["batchnorm"].append(name)
            elif name.rsplit(".", 1)[-1] == "bias":
                out["bias"].append(name)
            else:
                out["rest"].append(name)
    return out


def test_hidden_models(submission: Submission) -> None:
    with all_faults() as faults:  # every model's faults said, each of its checks whatever the other's
        for name in ("sequential", "named", "nested"):
            model = public.model_named(name)
            with faults.part():
                got = public.groups_of(submission, name)
                said = f"the model {name!r}"
                for check in (lambda: public.once_each(got, model, said),  # noqa: B023 (called in this pass)
                              lambda: public.same_split(got, expected(model), said)):  # noqa: B023
                    with faults.part():
                        check()
