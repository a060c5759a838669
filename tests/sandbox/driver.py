"""A driver for the sandbox tests: calls whatever the student module offers."""

from typing import Any, Callable

WrongAnswer: type[Exception]  # provided by the worker
AutogradWatch: Any  # provided by the worker
plain: Callable[..., Any]  # provided by the worker

_watch = AutogradWatch()  # armed before the student's module is imported, as backprop's driver does


def call(student: Any, name: str, device: str, **kwargs: Any) -> dict[str, Any]:
    return {"value": getattr(student, name)(**kwargs)}


def returns(student: Any, name: str, device: str) -> dict[str, Any]:
    """Hand back whatever the function returned, as it is (tensors, lists of tensors, plain values)."""
    return getattr(student, name)()


def watched(student: Any, name: str, device: str) -> dict[str, Any]:
    """Call the function under the autograd watch (what it sees reaches the trusted side as it happens)."""
    out, used = _watch.run(getattr(student, name))
    return {"value": out, "used": used}


def views(student: Any, name: str, device: str) -> dict[str, Any]:
    """One read of what the function returned: the copy, and the storage of each tensor in it."""
    out, ptrs = plain(getattr(student, name)(), "what it returned", storages=True)
    return {"value": out, "ptrs": ptrs, "distinct": len(set(ptrs))}


def timed(student: Any, name: str, device: str) -> Callable[[Any], Any]:
    """For ``run``: the function, called once per input."""
    return getattr(student, name)
