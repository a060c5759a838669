"""What a problem's driver gets in the worker: ``grader.driver`` as this process's own
(``WrongAnswer``, ``plain``, ``tensor_list``, ``keep``, ``AutogradWatch``), the driver's loading, and
the watch that reports any use of autograd to the trusted side as it happens."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any, Callable

from .faults import DriverBug, WrongAnswer
from .kept import keep
from .values import plain, tensor_list


class AutogradWatch:
    """Runs the student's code with autograd's recording off and reports any use of autograd
    (a driver's tool, for a problem whose rubric declares ``[problems.by_hand]``).

    What decides such a problem is the trusted side's reading of the whole file against the
    problem's allow-list (``grader.checks.without``): nothing in the allow-list can build, read
    or run a graph, start a thread or look a name up at run time. This watch is the second
    witness, from inside the student's process:
    - ``run`` calls the student's code with grad mode off in its thread (through torch's own
      switch, bound when the driver is loaded, before the student's module is imported): no
      operation records a graph, so there is none to differentiate, call or read; turning it
      back on takes a name outside the allow-list;
    - the spies that replace torch's autograd entry points (``Tensor.backward``,
      ``torch.autograd.grad``, ``torch.func``...) from the first line of student code on,
      and a hook on tensors saved for backward, report any use to the trusted side at once,
      as a ``witness`` frame on the reply channel, before the call itself runs (a frame sent
      cannot be taken back).
    Code that runs in this process can in principle undo any of this; it would have to name
    what the allow-list refuses, and the reading on the trusted side, which no code of theirs
    can change, refuses it.
    """

    def __init__(self) -> None:
        import torch
        import torch.autograd.functional
        import torch.func

        self._armed = False
        self._saved_tensors_hooks = torch.autograd.graph.saved_tensors_hooks
        self._grad_enabled, self._set_grad_enabled = torch._C.is_grad_enabled, torch._C._set_grad_enabled
        self._report = WITNESS  # bound now: the reply channel's writer
        targets = [
            (torch.Tensor, "backward", "Tensor.backward"), (torch.autograd, "backward", "torch.autograd.backward"),
            (torch.autograd, "grad", "torch.autograd.grad"), (torch.autograd.functional, "jacobian", "torch.autograd.functional.jacobian"),
            (torch.autograd.functional, "vjp", "torch.autograd.functional.vjp"), (torch.func, "grad", "torch.func.grad"),
            (torch.func, "grad_and_value", "torch.func.grad_and_value"), (torch.func, "vjp", "torch.func.vjp"),
            (torch.func, "jacrev", "torch.func.jacrev"), (torch.func, "jacfwd", "torch.func.jacfwd"),
        ]  # fmt: skip
        for owner, attr, name in targets:
            setattr(owner, attr, self._spy(getattr(owner, attr), name))

    def _spy(self, original: Any, name: str) -> Any:
        report = self._report

        def spy(*args: Any, **kw: Any) -> Any:
            if self._armed:
                report(name)
            return original(*args, **kw)

        spy.__name__ = getattr(original, "__name__", name)
        spy.__doc__ = getattr(original, "__doc__", None)
        return spy

    def _pack(self, t: Any) -> Any:
        self._report("an autograd graph (a tensor saved for backward)")
        return t

    def run(self, fn: Callable[[], Any]) -> tuple[Any, list[str]]:
        """``(fn(), [])``, every use of autograd having been reported to the trusted side as it
        happened; ``(None, ["..."])`` when fn raised after a use (torch.func refuses to run
        under the graph watch: what it was asked to do is the answer)."""
        used = WITNESS.count()
        self._armed = True
        was = self._grad_enabled()
        self._set_grad_enabled(False)  # nothing the call computes is recorded: no graph to use
        try:
            with self._saved_tensors_hooks(self._pack, lambda t: t):
                return fn(), []  # (a function that returns None returned None: the driver says what that is)
        except Exception:
            if WITNESS.count() == used:
                raise
            return None, ["autograd (reported as it was used)"]
        finally:
            self._set_grad_enabled(was)
            self._armed = False


class _Witness:
    """Sends what a watch saw to the trusted side as it happens (``{"witness": ...}`` frames
    on the reply channel, read there before the call's reply). Bound to its channel by the
    request loop before the student's module is imported."""

    def __init__(self) -> None:
        self._send: Callable[[str], None] | None = None
        self._sent = 0
        self._seen: set[str] = set()

    def bind(self, send: Callable[[str], None]) -> None:
        self._send = send

    def count(self) -> int:
        return self._sent

    def __call__(self, what: str) -> None:
        self._sent += 1
        if self._send is not None and what not in self._seen:
            self._seen.add(what)
            self._send(what)

    def reset(self) -> None:
        self._seen.clear()


WITNESS = _Witness()


def driver_call_check(driver: Any, name: str, fn: Any, student: Any, kwargs: dict[str, Any]) -> None:
    import inspect

    if not callable(fn):  # (the trusted side names the driver's file: here it is a copy, driver.py)
        raise DriverBug(f"the driver has no function {name!r} that a check calls")
    try:
        inspect.signature(fn).bind(student, **kwargs)
    except TypeError as exc:
        raise DriverBug(f"the driver's {name}() cannot take the arguments a check gives it ({exc})") from None
    except ValueError:
        pass  # no signature to read (a builtin): let the call say




def load_driver(path: str, name: str = "_grader_driver", register: bool = False) -> ModuleType:
    """Import a driver file by path. It imports what it uses from ``grader.driver``
    (``WrongAnswer``, ``plain``, ``tensor_list``, ``keep``, ``AutogradWatch``): in the worker, the
    worker's own (see ``register_driver_api``); on the trusted side, the real module."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if register:  # in sys.modules while it runs, as an import does (a dataclass in it needs that)
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def register_driver_api() -> None:
    """In the worker, before any driver or student code is imported: ``grader.driver`` is
    this process's own ``WrongAnswer``, ``plain``, ``tensor_list``, ``keep`` and ``AutogradWatch``
    (the classes the request loop recognises), whatever else is installed, and a student's
    file named grader.py cannot stand in for it."""
    import types

    api = types.ModuleType("grader.driver", "What a worker-side driver imports (the worker's own).")
    api.WrongAnswer, api.AutogradWatch, api.tensor_list, api.plain = WrongAnswer, AutogradWatch, tensor_list, plain  # type: ignore[attr-defined]
    api.keep = keep  # type: ignore[attr-defined]
    api.__all__ = ["AutogradWatch", "WrongAnswer", "keep", "plain", "tensor_list"]  # type: ignore[attr-defined]
    package = types.ModuleType("grader", "The grader, as a worker sees it: only grader.driver.")
    package.__path__ = []  # nothing else of it is importable here
    package.driver = api  # type: ignore[attr-defined]
    # Specs of their own (no file behind them), as any imported module has: importlib's
    # find_spec() on a module without one raises ValueError.
    package.__spec__ = importlib.machinery.ModuleSpec("grader", None, is_package=True)
    api.__spec__ = importlib.machinery.ModuleSpec("grader.driver", None)
    sys.modules["grader"], sys.modules["grader.driver"] = package, api
