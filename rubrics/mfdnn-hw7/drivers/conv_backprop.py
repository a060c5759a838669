"""Worker-side driver for `conv_backprop` (runs in the student's process; reports, never judges).

The driver is loaded before the student's module is imported, so the autograd watch
(``AutogradWatch``, from grader.driver, the same as mfdnn-hw5's backprop uses) is armed
from the first line of their code.
"""

from __future__ import annotations

from typing import Any

import torch

from grader.driver import AutogradWatch, WrongAnswer, keep, plain, tensor_list

_watch = AutogradWatch()

import torch.nn.functional as F  # noqa: E402


def _softplus_prime(z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(z)


def _sigmoid_prime(z: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


def _tanh_prime(z: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(z) ** 2


# The trusted side passes a name; sigma and sigma_prime are made here (callables cannot cross).
ACTIVATIONS = {"tanh": (torch.tanh, _tanh_prime), "sigmoid": (torch.sigmoid, _sigmoid_prime), "softplus": (F.softplus, _softplus_prime)}


def gradients(student: Any, x: torch.Tensor, ws: list[torch.Tensor], bs: list[torch.Tensor], activation: str,
              device: str, watch_autograd: bool = False) -> dict[str, Any]:
    """The student's (dws, dbs), and the inputs as the call left them (judged on the trusted side)."""
    sigma, sigma_prime = ACTIVATIONS[activation]
    x = x.to(device)
    ws = [w.to(device) for w in ws]
    bs = [b.to(device) for b in bs]
    n_ws, n_bs = len(ws), len(bs)  # now: the student's code gets the lists
    kept = keep(x=x, ws=ws, bs=bs)  # held before the call: what it did to its inputs is read from here
    used: list[str] = []
    if watch_autograd:
        out, used = _watch.run(lambda: student.conv_net_grads(x, ws, bs, sigma, sigma_prime))
        if used:  # it raised after a use of autograd, which was reported as it happened
            return {"dws": [], "dbs": [], "autograd": used}
    else:
        out = student.conv_net_grads(x, ws, bs, sigma, sigma_prime)
    if isinstance(out, (tuple, list)):
        out = plain(out, "what conv_net_grads returned")  # one read: a list subclass shows nothing else later
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise WrongAnswer(f"conv_net_grads should return (dws, dbs); got {type(out).__name__}")
    dws = tensor_list(out[0], "dws", n_ws)
    dbs = tensor_list(out[1], "dbs", n_bs)
    return {"dws": dws, "dbs": dbs, "autograd": used, "inputs": kept.after()}  # the inputs: judged on the trusted side

