"""Worker-side driver for `convnets`; also imported on the trusted side, which builds the
grader's own networks from it (``build``) and traces them the same way (``trace``), so
that the expected shapes and parameter counts come from one definition of the homework's
architecture. Nothing here decides a grade: it reports what the student's code did.

The data (images and labels) always come from the trusted side as tensors; nothing is
read from disk here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from grader.driver import WrongAnswer, keep, plain

# The kinds of layer a trace names: the first torch.nn class in a module's MRO.
_NN = "torch.nn"


# ------------------------------------------------------- the grader's own networks --


# The homework's numbers: two 5x5 convolutions (padding 2) with 16, then 32 filters, each
# followed by ReLU and MaxPool2d(2) (28 -> 14 -> 7), then Linear(32 * 7 * 7, 10).
CHANNELS = (16, 32)
KERNEL, PADDING = 5, 2
SIDE = 28 // 2 // 2  # the side of the last feature map: the convolutions keep the size, each pool halves it


def _block(cin: int, cout: int, batch_norm: bool, strided: bool) -> list[nn.Module]:
    """One conv block: Conv2d -> ReLU -> MaxPool2d(2) [-> BatchNorm2d, where the homework puts
    it]; strided (the bonus): the convolution of stride 2 -> ReLU, no max-pool."""
    if strided:
        return [nn.Conv2d(cin, cout, kernel_size=KERNEL, padding=PADDING, stride=2), nn.ReLU()]
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel_size=KERNEL, padding=PADDING), nn.ReLU(), nn.MaxPool2d(2)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(cout))
    return layers


def build(name: str) -> nn.Module:
    """The grader's own networks, as the template's README defines them:
    "convnet" = ConvNet(), "convnet_bn" = ConvNet(batch_norm=True) (a BatchNorm2d after each
    MaxPool2d, the homework's placement), "strided" = StridedConvNet()."""
    if name not in ("convnet", "convnet_bn", "strided"):
        raise ValueError(f"unknown network {name!r}")
    bn, strided = name == "convnet_bn", name == "strided"
    (c1, c2) = CHANNELS
    return nn.Sequential(*_block(1, c1, bn, strided), *_block(c1, c2, bn, strided), nn.Flatten(), nn.Linear(c2 * SIDE * SIDE, 10))


def kind(module: nn.Module) -> str:
    """The torch.nn class a module is (a subclass of nn.Conv2d is a "Conv2d")."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith(_NN):
            return cls.__name__
    return type(module).__name__


def trace(model: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """Run ``model(x)`` in eval mode with a forward hook on every leaf module; report each
    call in order: the layer's kind, the shape of its (first) input, the shape of its output,
    and for a BatchNorm layer its num_features (else None)."""
    calls: list[list[Any]] = []

    def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        shape = list(output.shape) if isinstance(output, torch.Tensor) else None
        features = int(getattr(module, "num_features", 0) or 0) if isinstance(module, nn.modules.batchnorm._BatchNorm) else None
        calls.append([kind(module), list(first.shape) if first is not None else None, shape, features])

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return {"calls": calls, "out": out}


def describe(model: nn.Module) -> dict[str, Any]:
    """What the checks compare about a network's structure, besides its trace."""
    return {
        "param_shapes": [list(p.shape) for p in model.parameters()],
        "param_count": int(sum(p.numel() for p in model.parameters())),
        "batchnorms": [[kind(m), int(getattr(m, "num_features", 0) or 0)] for m in model.modules()
                       if isinstance(m, nn.modules.batchnorm._BatchNorm)],
    }  # fmt: skip


# ------------------------------------------------------------------- the calls --


_MAKERS = {"convnet": ("ConvNet", {}), "convnet_bn": ("ConvNet", {"batch_norm": True}), "strided": ("StridedConvNet", {})}


def _make(student: Any, net: str) -> nn.Module:
    cls, kwargs = _MAKERS[net]
    model = getattr(student, cls)(**kwargs)
    if not isinstance(model, nn.Module):
        raise WrongAnswer(f"{cls}({', '.join(f'{k}={v}' for k, v in kwargs.items())}) is a {type(model).__name__}, not an nn.Module")
    return model


def structure(student: Any, net: str, device: str) -> dict[str, Any]:
    """Build the student's network ``net`` and report what it holds, without running it (a
    BatchNorm of the wrong size fails in the forward pass: this says what the network has)."""
    return plain(describe(_make(student, net)), f"what {_MAKERS[net][0]} holds")


def architecture(student: Any, net: str, images: torch.Tensor, device: str) -> dict[str, Any]:
    """Build the student's network ``net`` and report its structure and its trace on ``images``."""
    cls = _MAKERS[net][0]
    model = _make(student, net).to(device)
    seen = trace(model, images.to(device))
    if not isinstance(seen["out"], torch.Tensor):
        raise WrongAnswer(f"{cls}'s forward returned a {type(seen['out']).__name__}, not a tensor")
    # read once, as the worker's own copy: what the student's network reports is the student's to get right
    return plain({**describe(model), "calls": seen["calls"], "out_shape": list(seen["out"].shape)}, f"what {cls} reports")


def norm(student: Any, tensors: list[torch.Tensor], as_tuple: bool, device: str) -> dict[str, Any]:
    given = [t.to(device) for t in tensors]
    out = student.flat_norm(tuple(given) if as_tuple else given)
    return {"value": _number(out, "flat_norm")}


def smoothness(student: Any, net: str, state: dict[str, torch.Tensor], images: torch.Tensor, labels: torch.Tensor,
               batch_size: int, batch_images: torch.Tensor, batch_labels: torch.Tensor, lr: float, training: bool,
               label_smoothing: float, device: str) -> dict[str, Any]:
    """Call effective_smoothness on the grader's network ``net`` holding ``state`` (in train
    mode if ``training``), a DataLoader over (images, labels) and one batch; report the value,
    what the call did to the model (its parameters and buffers, held from before it) and its
    mode after it."""
    dtype = images.dtype
    model = build(net).to(device=device, dtype=dtype)
    model.load_state_dict(state, strict=True)
    model.train(training)
    data = torch.utils.data.TensorDataset(images.to(device), labels.to(device))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    kept = keep(model=model)  # its parameters and buffers, held before the call: what it did to them is read from here
    out = student.effective_smoothness(model, loss_fn, loader, (batch_images.to(device), batch_labels.to(device)), lr)
    value = _number(out, "effective_smoothness")
    return {"value": value, "inputs": kept.after(), "training_after": bool(model.training)}


def _number(out: Any, fn: str) -> float:
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            raise WrongAnswer(f"{fn} should return a number, got a tensor of shape {tuple(out.shape)}")
        return float(out.detach().reshape(()))
    if isinstance(out, bool) or not isinstance(out, (int, float)):
        raise WrongAnswer(f"{fn} should return a float, got {type(out).__name__}")
    return float(out)
