"""Worker-side driver for `param_groups`; also imported on the trusted side, which builds
the same models to work out the expected split (the models' code is the same on both sides)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from grader.driver import WrongAnswer, plain

GROUPS = ("batchnorm", "bias", "rest")


class _Named(nn.Module):
    """An MLP whose norm layer is called `norm`, with a bias-free head and a bare parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(12, 32)
        self.norm = nn.BatchNorm1d(32)
        self.head = nn.Linear(32, 4, bias=False)
        self.temperature = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.norm(self.fc1(x)))) / self.temperature


def build(name: str) -> nn.Module:
    """The models the checks split: torchvision's resnet18 and small ones whose BatchNorm
    layers are named anything but `bn`."""
    if name == "resnet18":
        import torchvision

        return torchvision.models.resnet18(weights=None)
    if name == "sequential":
        return nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 16, 3),
                             nn.BatchNorm2d(16), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    if name == "named":
        return _Named()
    if name == "nested":
        return nn.ModuleDict({
            "stem": nn.Sequential(nn.Conv3d(1, 4, 3), nn.BatchNorm3d(4)),
            "blocks": nn.ModuleList([nn.Sequential(nn.Conv1d(4, 4, 1, bias=i % 2 == 0), nn.BatchNorm1d(4)) for i in range(3)]),
            "classifier": nn.Linear(4, 2),
        })  # fmt: skip
    raise ValueError(f"unknown model {name!r}")


def split(student: Any, model: str, device: str) -> dict[str, Any]:
    m = build(model)
    out = student.split_params(m)
    if not isinstance(out, dict):
        raise WrongAnswer(f"split_params should return a dict with keys {list(GROUPS)}, got {type(out).__name__}")
    out = plain(out, "what split_params returned")
    groups: dict[str, list[str]] = {}
    for key, names in out.items():
        if not isinstance(key, str):
            raise WrongAnswer(f"split_params returned a dict with a key of type {type(key).__name__}; the keys are {list(GROUPS)}")
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise WrongAnswer(f"split_params()[{key!r}] should be a list of parameter names (strings)")
        groups[key] = [str(n) for n in names]
    return {"groups": groups}
