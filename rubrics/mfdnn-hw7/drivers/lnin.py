"""Worker-side driver for `lnin`; also imported on the trusted side for ``seeded_net1``,
so both sides build the very same Net1 from the run's seed."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

from grader.driver import WrongAnswer, plain

_STATES: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
_dim, _no_tf = torch.Tensor.dim, torch._C.DisableTorchFunctionSubclass  # bound before the student's module is imported


def _class_attr(cls: type, name: str) -> str:
    """``cls.__module__`` or ``cls.__qualname__`` as the class itself holds it (a metaclass cannot pose another)."""
    own = type.__dict__
    value = own[name].__get__(cls) if name == "__qualname__" else own["__dict__"].__get__(cls).get(name, "?")
    return value if isinstance(value, str) else "?"


def _ndim(p: torch.Tensor) -> int:
    with _no_tf():  # a subclass's __torch_function__ does not answer for it
        return int(_dim(p))


def seeded_net1_state(net1_cls: Any, seed: int, num_classes: int) -> dict[str, torch.Tensor]:
    """Net1's parameters drawn from ``seed`` (He-scaled normals, small biases), in float32.

    Built on the meta device and filled in a fixed order, so it is cheap and the same on
    both sides of the boundary whatever torch's default initialisation does.
    """
    key = (seed, num_classes)
    if key not in _STATES:
        with torch.device("meta"):
            net = net1_cls(num_classes)
        gen = torch.Generator().manual_seed(seed)
        state = {}
        for name, p in net.state_dict().items():
            fan_in = p[0].numel() if p.dim() > 1 else 1
            t = torch.randn(p.shape, generator=gen)
            state[name] = t * (2.0 / fan_in) ** 0.5 if p.dim() > 1 else t * 0.05
        _STATES.clear()
        _STATES[key] = state
    return _STATES[key]


def seeded_net1(module: Any, seed: int, num_classes: int, dtype: torch.dtype, device: str) -> torch.nn.Module:
    """``module.Net1`` holding the seeded parameters, in eval mode (the trusted side builds its own the same way)."""
    with torch.device("meta"):
        net = module.Net1(num_classes).to(dtype)
    net = net.to_empty(device=device)  # allocated once, in the final dtype, on the final device
    net.load_state_dict(seeded_net1_state(module.Net1, seed, num_classes), strict=True)
    return net.eval()


@contextmanager
def _no_default_init() -> Iterator[None]:
    """Skip torch's random initialisation of Conv2d and Linear layers while Net2 is built.

    copy_weights_from overwrites every weight before any output is compared, and drawing
    340M random numbers costs seconds each time a test builds a Net2. The student's
    __init__ runs as written; only torch's own reset_parameters is skipped.
    """
    classes = (torch.nn.modules.conv._ConvNd, torch.nn.Linear)
    saved = [(cls, cls.reset_parameters) for cls in classes]
    for cls in classes:
        cls.reset_parameters = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        for cls, original in saved:
            cls.reset_parameters = original  # type: ignore[method-assign]


def _net2(student: Any, num_classes: int, dtype: torch.dtype, device: str) -> torch.nn.Module:
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # built in the dtype it is tested in: no 340M-parameter conversion
    try:
        with _no_default_init():
            net = student.Net2(num_classes=num_classes)
    finally:
        torch.set_default_dtype(default)
    if not isinstance(net, torch.nn.Module):
        raise WrongAnswer(f"Net2(...) should make an nn.Module, got {type(net).__name__}")
    return net.to(device=device, dtype=dtype).eval()


def _copied(student: Any, seed: int, num_classes: int, dtype: torch.dtype, device: str) -> torch.nn.Module:
    net1 = seeded_net1(student, seed, num_classes, dtype, device)
    net2 = _net2(student, num_classes, dtype, device)
    with torch.no_grad():
        net2.copy_weights_from(net1)  # type: ignore[operator]  # (the student's method: unknown to a type checker)
    del net1
    return net2.eval()


def _out(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = net(x)
    if not isinstance(out, torch.Tensor):
        raise WrongAnswer(f"Net2.forward returned a {type(out).__name__}, not a tensor")
    return plain(out, "what Net2.forward returned")  # one read: a plain tensor, whose shape is its own


def shapes(student: Any, num_classes: int, sizes: list[list[int]], device: str) -> dict[str, Any]:
    net2 = _net2(student, num_classes, torch.float32, device)
    return {"shapes": [list(_out(net2, torch.randn(*s, device=device)).shape) for s in sizes]}


def structure(student: Any, device: str) -> dict[str, Any]:
    net2 = _net2(student, 10, torch.float32, device)
    _out(net2, torch.randn(1, 3, 32, 32, device=device))  # a Net2 that cannot run has no structure to judge
    classifier = getattr(net2, "classifier", None)
    return {  # names made strings, and only torch's own reading of a class and a tensor: plain data, whatever Net2 is
        "linear": [str(name) for name, m in net2.named_modules() if isinstance(m, torch.nn.Linear)],
        "classifier": None if not isinstance(classifier, torch.nn.Module) else [
            [str(name), f"{_class_attr(type(m), '__module__')}.{_class_attr(type(m), '__qualname__')}"]
            for name, m in classifier.named_modules() if name
        ],
        "classifier_param_dims": [] if not isinstance(classifier, torch.nn.Module) else [
            [str(name), _ndim(p) if isinstance(p, torch.Tensor) else -1] for name, p in classifier.named_parameters()
        ],
    }  # fmt: skip


def equal(student: Any, seed: int, x: torch.Tensor, dtype: str, device: str) -> dict[str, Any]:
    """Net2 after copy_weights_from(seeded Net1), on x."""
    dt = getattr(torch, dtype)
    return {"out": _out(_copied(student, seed, 10, dt, device), x.to(device=device, dtype=dt))}


def patches(student: Any, images: torch.Tensor, device: str) -> dict[str, Any]:
    images = images.to(device)
    h, w = images.shape[-2:]
    out = []
    for i in range(h - 31):
        for j in range(w - 31):
            p = student.net1_patch(images, i, j)
            if not isinstance(p, torch.Tensor):
                raise WrongAnswer(f"net1_patch(images, {i}, {j}) returned a {type(p).__name__}, not a tensor")
            p = plain(p, f"what net1_patch(images, {i}, {j}) returned")  # one read: its shape is its own, stack is torch's
            if tuple(p.shape) != (images.shape[0], 3, 32, 32):
                raise WrongAnswer(
                    f"net1_patch(images, {i}, {j}) returned shape {tuple(p.shape)} for images of shape "
                    f"{tuple(images.shape)}; expected {(images.shape[0], 3, 32, 32)}"
                )
            out.append(p)
    return {"patches": torch.stack(out)}


def net2_forward(student: Any, seed: int, device: str) -> Callable[[torch.Tensor], Any]:
    """For timing: Net2 (weights copied from Net1, as ``equal`` builds it) on each image it is given."""
    net2 = _copied(student, seed, 10, torch.float32, device)
    return lambda images: _out(net2, images)


def sliding_net1(student: Any, seed: int, count: int, device: str) -> Callable[[torch.Tensor], Any]:
    """For timing, in the baseline worker: Net1 on ``count`` of each image's 32x32 windows, in batches."""
    net1 = seeded_net1(student, seed, 10, torch.float32, device)

    def run(images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2:]
        where = [(i, j) for i in range(h - 31) for j in range(w - 31)][:count]
        windows = torch.cat([images[:, :, i:i + 32, j:j + 32] for i, j in where])
        with torch.no_grad():
            return torch.cat([net1(windows[k:k + 64]) for k in range(0, windows.shape[0], 64)])

    return run
