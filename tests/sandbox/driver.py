"""A driver for the sandbox tests: calls whatever the student module offers."""

from typing import Any, Callable

from grader.driver import AutogradWatch, WrongAnswer, keep, plain

_watch = AutogradWatch()  # armed before the student's module is imported, as backprop's driver does


# The rule every driver keeps (see ``driver_reply`` in grader/_worker.py): what it hands back
# is plain data, what the student's code gave having been read with ``plain``, which raises
# WrongAnswer (the student's) for what cannot be sent; a reply that cannot be sent is the
# driver's bug.


def call(student: Any, name: str, device: str, **kwargs: Any) -> dict[str, Any]:
    return {"value": plain(getattr(student, name)(**kwargs), f"what {name} returned")}


def returns(student: Any, name: str, device: str) -> dict[str, Any]:
    """Hand back what the function returned (tensors, lists of tensors, plain values), as ``plain`` reads it."""
    return plain(getattr(student, name)(), f"what {name} returned")


def unsendable(student: Any, name: str, device: str, what: str) -> Any:
    """A broken driver function (for the tests of driver bugs): hands back something that
    cannot be sent, whatever the student's code does (it is called first, as usual)."""
    getattr(student, name)()
    return {
        "a set": {"value": {1, 2}},
        "an object": {"value": object()},
        "a module": {"value": __import__("torch").nn.Linear(2, 2)},
        "a generator": {"value": (i for i in range(3))},
        "a tuple key": {"value": {(1, 2): 3}},
        "a complex128 tensor": {"value": __import__("torch").zeros(2, dtype=__import__("torch").complex128)},
        "not a dict": {1, 2},
    }[what]


def passes_through(student: Any, name: str, device: str) -> dict[str, Any]:
    """A driver function that breaks the rule: hands back what the student's code returned unread."""
    return {"value": getattr(student, name)()}


def not_timed(student: Any, name: str, device: str) -> Any:
    """A broken ``prepare`` function: returns no callable."""
    return 42


def watched(student: Any, name: str, device: str) -> dict[str, Any]:
    """Call the function under the autograd watch (what it sees reaches the trusted side as it happens)."""
    out, used = _watch.run(getattr(student, name))
    return {"value": out, "used": used}


def views(student: Any, name: str, device: str) -> dict[str, Any]:
    """One read of what the function returned: the copy, and the storage of each tensor in it."""
    out, ptrs = plain(getattr(student, name)(), "what it returned", storages=True)
    return {"value": out, "ptrs": ptrs, "distinct": len(set(ptrs))}


def timed(student: Any, name: str, device: str) -> Callable[[Any], Any]:
    """For ``run``: the function, called once per input (what it returns is the student's answer,
    which the worker reads as the student's: see ``driver_reply``)."""
    fn = getattr(student, name)
    if not callable(fn):
        raise WrongAnswer(f"{name} should be a function, got {type(fn).__name__}")
    return fn


def kept(student: Any, name: str, device: str, **inputs: Any) -> dict[str, Any]:
    """Call the function on ``inputs`` (by keyword), held with ``keep`` from before the call:
    what it returned, which of its tensors are inputs, and what it did to them."""
    hold = keep(**inputs)
    out = getattr(student, name)(**inputs)
    value, _, shared = hold.returned(out, f"what {name} returned")
    return {"value": value, "shared": shared, "inputs": hold.after()}


def kept_module(student: Any, name: str, device: str) -> dict[str, Any]:
    """Call the function on a Linear(3, 2) whose weight is arange(6) / 10 (shaped 2 x 3) and
    bias (1, 2), held with ``keep`` from before the call: what it did to the module."""
    import torch

    net = torch.nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.copy_(torch.arange(6.0).reshape(2, 3) / 10)
        net.bias.copy_(torch.tensor([1.0, 2.0]))
    hold = keep(net=net)
    getattr(student, name)(net)
    return {"inputs": hold.after()}
