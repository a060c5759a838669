"""Worker-side driver for `count_ops`; also imported on the trusted side, which builds the
same models to count their operations itself (the models' code is the same on both sides).

The models are built here, never taken from the student's file: `alexnet` is this file's
copy of the template's given `AlexNet` (tests/system/test_course_material.py checks they agree).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from grader.driver import WrongAnswer, keep

_type_name = type.__dict__["__name__"].__get__  # a class's own name (a metaclass cannot pose another)

KINDS = ("conv", "linear")


class AlexNet(nn.Module):
    """The homework's AlexNet (student_template/mfdnn-hw7/count_ops.py), for (B, 3, 227, 227)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(kernel_size=3, stride=2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


class _Custom(nn.Module):
    """Not a Sequential: a class with its own forward."""

    def __init__(self, in_channels: int, flat: int) -> None:
        super().__init__()
        self.body = nn.Conv2d(in_channels, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(flat, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(torch.relu(self.body(x))), 1))


class _MLP(nn.Module):
    def __init__(self, n_in: int) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(n_in, 256), nn.Linear(256, 64, bias=False), nn.Linear(64, 10)
        self.drop = nn.Dropout(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(self.drop(torch.relu(self.fc1(x))))))


def _flat(features: nn.Module, input_shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *input_shape)).numel())


def build(name: str, input_shape: tuple[int, ...]) -> nn.Module:
    """The model ``name`` for inputs of shape ``input_shape`` (no batch dimension)."""
    torch.manual_seed(0)  # the weights do not matter; fixed anyway
    c = input_shape[0]
    if name == "alexnet":
        return AlexNet()
    if name == "lenet5":
        feats = nn.Sequential(nn.Conv2d(c, 6, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten())
        return nn.Sequential(*feats, nn.Linear(_flat(feats, input_shape), 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    if name == "strided_no_bias":
        return nn.Sequential(nn.Conv2d(c, 16, 3, stride=2, padding=1, bias=False), nn.ReLU(),
                             nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10, bias=False))
    if name == "nonsquare":
        feats = nn.Sequential(nn.Conv2d(c, 12, (5, 3), stride=(2, 1), padding=(1, 2)), nn.ReLU(), nn.MaxPool2d((2, 3)),
                              nn.Conv2d(12, 24, 4, stride=3, padding=2, bias=False), nn.ReLU(), nn.Flatten())
        return nn.Sequential(*feats, nn.Linear(_flat(feats, input_shape), 50), nn.ReLU(), nn.Dropout(), nn.Linear(50, 7))
    if name == "grouped":
        return nn.Sequential(nn.Conv2d(c, 16, 3, padding=1, groups=4), nn.ReLU(),
                             nn.Conv2d(16, 16, 3, groups=16, bias=False), nn.Conv2d(16, 32, 1), nn.ReLU(),
                             nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(128, 10))
    if name == "custom":
        probe = nn.Sequential(nn.Conv2d(c, 6, 3, padding=1), nn.MaxPool2d(2))
        return _Custom(c, _flat(probe, input_shape))
    if name == "nested":
        feats = nn.Sequential(nn.Sequential(nn.Conv2d(c, 4, 3), nn.ReLU(), nn.Sequential(nn.Conv2d(4, 8, 3, stride=2), nn.ReLU())),
                              nn.MaxPool2d(2), nn.Flatten())
        return nn.Sequential(*feats, nn.Sequential(nn.Sequential(nn.Linear(_flat(feats, input_shape), 64), nn.ReLU()),
                                                   nn.Linear(64, 32, bias=False), nn.ReLU(), nn.Linear(32, 10), nn.Softmax(dim=1)))
    if name == "mlp":
        n_in = 1
        for s in input_shape:
            n_in *= s
        return _MLP(n_in)
    raise ValueError(f"unknown model {name!r}")


def _hooks(model: nn.Module) -> list[str]:
    """Modules that still hold forward (pre-)hooks."""
    return [name or "(the model)" for name, m in model.named_modules() if m._forward_hooks or m._forward_pre_hooks]


def count(student: Any, model: str, input_shape: list[int], device: str, check_model: bool = False,
          state: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """The student's counts for the model ``model`` (holding ``state`` where the check gives
    one), kept as they came when they are numbers (whether they are ints is judged on the
    trusted side). With ``check_model``, also what the call left on the model: hooks, and its
    parameters and buffers as the call left them (``keep``: judged on the trusted side)."""
    shape = tuple(int(s) for s in input_shape)
    m = build(model, shape)  # on the CPU whatever the device: counting is the same everywhere
    if state is not None:
        m.load_state_dict(state, strict=True)
    kept = keep(model=m) if check_model else None  # held before the call
    out = student.count_ops(m, shape)
    if not isinstance(out, dict):
        raise WrongAnswer(f"count_ops should return a dict {{'conv': int, 'linear': int}}, got {type(out).__name__}")
    counts: dict[str, Any] = {}
    types: dict[str, str] = {}
    for key, value in list(dict.items(out)):  # one read of the dict, through dict's own items
        if not isinstance(key, str):
            raise WrongAnswer(f"count_ops returned a dict with a key of type {type(key).__name__}; the keys are {list(KINDS)}")
        types[key] = _type_name(type(value))
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        elif hasattr(value, "item") and callable(value.item) and type(value).__module__ == "numpy":
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise WrongAnswer(f"count_ops()[{key!r}] should be an int, got {types[key]}")
        counts[key] = int(value) if isinstance(value, int) else float(value)
    report: dict[str, Any] = {"counts": counts, "types": types}
    if kept is not None:
        report["hooks"] = [str(name) for name in _hooks(m)]  # plain strings, whatever the student's code added
        report["inputs"] = kept.after()
    return report
