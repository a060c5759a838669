"""Worker-side driver for `bn_remove` (runs in the student's process; reports, never judges)."""

from __future__ import annotations

from typing import Any, Callable

import torch

from grader.driver import WrongAnswer, keep, plain

_type_name = type.__dict__["__name__"].__get__  # a class's own name (a metaclass cannot pose another)


def _train_net(module: Any, state: dict[str, torch.Tensor], dtype: str, device: str) -> torch.nn.Module:
    net = module.smallNetTrain()
    net.load_state_dict(state, strict=True)
    return net.to(device=device, dtype=getattr(torch, dtype))


def _folded(student: Any, net: torch.nn.Module) -> torch.nn.Module:
    out = student.remove_bn(net)
    if not isinstance(out, torch.nn.Module):
        raise WrongAnswer(f"remove_bn should return a smallNetTest (an nn.Module), got {type(out).__name__}")
    return out


def fold(student: Any, state: dict[str, torch.Tensor], x: torch.Tensor, dtype: str, device: str) -> dict[str, Any]:
    """Fold a network; report the result's outputs on x, what it is made of, and what changed in the input."""
    net = _train_net(student, state, dtype, device)
    kept = keep(train_net=net)  # its parameters and buffers, held before the call (what changed is read from here)
    folded = _folded(student, net)
    folded.eval()
    with torch.no_grad():
        out = folded(x.to(device=device, dtype=getattr(torch, dtype)))
    if not isinstance(out, torch.Tensor):
        raise WrongAnswer(f"the network returned by remove_bn returned a {type(out).__name__}, not a tensor")
    out = plain(out, "what the network returned by remove_bn returned")
    # Everything below comes from the student's classes (smallNetTrain, smallNetTest and what
    # remove_bn built): names made strings, the state read once (refused as theirs if it
    # cannot be checked), so that the reply is always plain data (see grader/_worker.py).
    bn = [str(name) if name else "(the network itself)" for name, m in folded.named_modules()
          if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    state = plain(folded.state_dict(), "the state_dict of the network returned by remove_bn")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise WrongAnswer("the state_dict of the network returned by remove_bn should map names to tensors")
    return {
        "out": out,
        "is_small_net_test": isinstance(folded, student.smallNetTest),
        "type": _type_name(type(folded)),
        "batchnorm": bn,
        "state": state,
        "inputs": kept.after(),  # train_net as the call left it: judged on the trusted side
    }


def _forward(net: torch.nn.Module) -> Callable[[torch.Tensor], Any]:
    def run(x: torch.Tensor) -> Any:
        with torch.no_grad():
            return net(x)

    return run


def folded_forward(student: Any, state: dict[str, torch.Tensor], device: str) -> Callable[[torch.Tensor], Any]:
    """For timing: the network remove_bn returns, in eval mode, built as ``fold`` builds it;
    each timed call gets a fresh input, and each answer is checked on the trusted side."""
    folded = _folded(student, _train_net(student, state, "float32", device))
    return _forward(folded.eval())


def train_forward(student: Any, state: dict[str, torch.Tensor], device: str) -> Callable[[torch.Tensor], Any]:
    """For timing, in the baseline worker (``student`` is the template): train_net.eval()."""
    return _forward(_train_net(student, state, "float32", device).eval())
