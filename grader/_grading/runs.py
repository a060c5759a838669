"""What a rubric test holds: one submission's file for one problem, behind a worker.

A ``ProblemRun`` starts its worker lazily, imports the student's file once, restarts
the worker after a crash or a timeout (so one bad call costs only the test that made
it), and charges each test only for the time the student's code used.

Why one module of about 400 lines: the run's budget (CPU time, the test's wall-time
allowance) and the worker it charges are one state, read together on every call; split,
each half would reach into the other's.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .._exceptions import MissingFile, NotWritten, StudentFault, WorkerCrashed, WorkerTimeout, WrongAnswer
from .._notebooks.module import load_failures
from .._sandbox.runner import WALL_BACKSTOP, Runner, Worker, WorkerSpec, wall_backstop
from ..checks import input_changes

if TYPE_CHECKING:
    from .._course.models import ByHand
    from .._notebooks.module import NotebookModule


@dataclass(frozen=True)
class Called:
    """What ``submission.function(name, inputs=True)(...)`` returns: the student's function's
    value, and what the call did to its arguments, read in the worker after the call from
    references held from before it (``grader.driver.keep``), never from anything the
    function was given: ``args`` and ``kwargs`` are the arguments as the caller holds them
    now, ``changes(...)`` every way the call changed them (judged here, against what was
    sent), ``shared`` the positions of the returned tensors (in the order ``plain`` reads
    them) that are arguments or share their memory."""

    value: Any
    args: list[Any]
    kwargs: dict[str, Any]
    shared: list[int] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    sent_args: list[Any] = field(default_factory=list)
    sent_kwargs: dict[str, Any] = field(default_factory=dict)

    def changes(self, names: Sequence[str] = (), tol: Any = None) -> list[str]:
        """What the call did to its arguments, one sentence each ([] when nothing), the
        positional ones called ``names`` (else "argument 1", ...), the keyword ones by their
        keyword (see ``grader.checks.input_changes``)."""
        label = [names[i] if i < len(names) else f"argument {i + 1}" for i in range(len(self.sent_args))]
        memory, held = self.report.get("memory", {}), self.report.get("held", {})

        def by_name(mirror: dict[str, Any]) -> dict[str, Any]:
            args, kwargs = mirror.get("args") or [], mirror.get("kwargs") or {}
            return {**{label[i]: a for i, a in enumerate(args) if i < len(label)}, **kwargs}

        moved = []
        for m in self.report.get("moved", []):
            path = list(m.get("path", []))
            if path[:1] == ["args"] and len(path) > 1 and isinstance(path[1], int) and path[1] < len(label):
                path = [label[path[1]], *path[2:]]
            elif path[:1] == ["kwargs"] and len(path) > 1:
                path = path[1:]
            else:
                continue  # the worker's own lists of the arguments: the student's code never had them
            moved.append({**m, "path": path})
        sent = {**dict(zip(label, self.sent_args)), **self.sent_kwargs}
        return input_changes(sent, {"memory": by_name(memory), "held": by_name(held), "moved": moved}, tol)


@dataclass(frozen=True)
class RanOut:
    """A call of the student's code that ran out of time as the first call of a fresh worker
    (its module just imported): the same call (the same function, the same inputs) as the
    first call of another fresh worker, with no more of the time it ran out of, is not run
    again: it would run out again, and a submission that loops forever would cost one limit
    per test that makes it (issue 29, point 4). It is charged what it was charged then."""

    timeout: float  # the student time it had
    wall: float | None  # the wall-clock time it had
    by_wall: bool  # it ran out of wall-clock time (it slept or blocked), not of student time
    charged: float  # the student time it was charged
    test: str  # where it ran out, as the student may read it
    said: str  # what that test was told

    def again(self, timeout: float, wall: float | None) -> bool:
        """Would the call run out again with ``timeout`` of student time and ``wall`` of wall time?"""
        if self.by_wall:
            return self.wall is not None and wall is not None and wall <= self.wall + 0.01
        return timeout <= self.timeout + 0.01


class ProblemRun:
    def __init__(
        self,
        runner: Runner,
        spec: WorkerSpec,
        *,
        import_timeout: float,
        missing: str | None = None,
        notebook: NotebookModule | None = None,
        by_hand: ByHand | None = None,
        ran_out: dict[str, RanOut] | None = None,
    ) -> None:
        self.runner = runner
        self.by_hand = by_hand  # the problem's by-hand rule ([problems.by_hand]), read by checks.without
        self.notebook = notebook  # the student's file made from a notebook (``_notebook``), if it was
        self.spec = spec
        self.import_timeout = import_timeout
        self.missing = missing
        self._worker: Worker | None = None
        self._prepared: dict[str, str] = {}  # fn -> digest of the values it was prepared with
        self._import_failure: StudentFault | None = None
        self.budget = 60.0  # seconds of student time the current test may still use; set per test
        self.used = 0.0
        self.walled = 0.0  # wall-clock seconds the current test's calls took (``_wall_left``)
        self.compute = 0.0  # seconds the worker spent in calls (the student's code and the driver), all tests
        self._whole: float | None = None
        self.test_label = "an earlier test"  # the current test, as the student may read it (set per test)
        # calls that ran out of time, by what they asked (``_asked``): shared with the problem's
        # other runs of this student (its hidden tests' worker)
        self.ran_out: dict[str, RanOut] = {} if ran_out is None else ran_out
        self._calls = 0  # requests of the student's code the current worker has served (0: just imported)

    def inherit_import_failure(self, other: "ProblemRun") -> None:
        """Fail to import as ``other`` did (the same file: the hidden tests' worker is not made
        to time out or crash on an import the visible tests' worker already reported)."""
        self._import_failure = other._import_failure

    # --------------------------------------------------------------- budget --

    def start_test(self, budget: float, whole: float | None = None) -> None:
        """Allow ``budget`` seconds of student time from now; ``whole`` is the submission's
        total when that, not the test's own timeout, is what limits this test."""
        self.budget, self.used, self.walled, self._whole = budget, 0.0, 0.0, whole

    def spent(self) -> float:
        """The student time the current test's calls have been charged so far: for ``refund``."""
        return self.used

    def refund(self, spent: float) -> None:
        """Charge the student's limit no more than it had been at ``spent``: for calls whose
        work another student spoiled (a timing check's attempt that another job's worker
        broke, timed again from the start). Their wall time still counts toward the test's
        wall-clock bound (``_wall_left``): refunded too, two students working together (a slow
        one, a spoiler beside it) held a batch twice that bound (found by attack)."""
        self.used = min(self.used, spent)

    def _wall_left(self) -> float:
        """Wall-clock seconds the current test's calls may still take, whatever their CPU
        time: the backstop of one call (``WALL_BACKSTOP`` times the test's budget) for all
        of them together. Else code that sleeps (no CPU time charged) through the many calls
        of a test holds what the test holds for as long as it likes: a timing check holds the
        whole batch (``Runner.alone``), and every other job waits."""
        return wall_backstop(self.budget) - self.walled

    def _whole_note(self) -> str:
        if self._whole is None:
            return ""
        return (f" All tests of a submission together may use {self._whole:.3g} s of your code's time, "
                f"and only {max(self.budget, 0):.3g} s of it were left for this test.")

    def _left(self) -> float:
        left = self.budget - self.used
        if left <= 0.01:  # (what is left of a CPU-time budget can be a few microseconds: that is spent)
            if self._whole is not None and self.budget <= 0.01:
                raise WorkerTimeout(f"Not run: your code had already used all {self._whole:.3g} s that the tests "
                                    "of a submission may use together.")
            raise WorkerTimeout(f"Your code used up this test's {self.budget:.3g} s, so it was stopped.{self._whole_note()}")
        return left

    # --------------------------------------------------------------- worker --

    def _ready(self) -> Worker:
        if self.missing:
            raise MissingFile(self.missing)
        if self._import_failure is not None:
            raise self._import_failure
        if self._worker is None:
            # A worker started during a test (its first call, or after a crash) counts toward
            # the test's wall time: else an import that sleeps, in a worker made to crash before
            # each timing check, holds the batch on top of the test's own allowance.
            wall = self._wall_left()
            if wall <= 0.01:
                raise WorkerTimeout(self._walled_out())
            before = self.ran_out.get(_IMPORT)
            if before is not None and before.again(0.0, wall):
                # (else an import that never ends costs every test its wall-clock bound: found by attack)
                raise WorkerTimeout(f"Not run again: importing {self.spec.module}.py had not finished after "
                                    f"{before.wall:.3g} s of wall-clock time in {before.test}, and this test has no more "
                                    f"time for it ({wall:.3g} s).")
            with self.runner.request():  # (a wait for another job's timing check is not this test's time)
                started = time.monotonic()
                try:
                    return self._start_worker(wall)
                finally:
                    self.walled += time.monotonic() - started
        return self._worker

    def _walled_out(self) -> str:
        return (f"Not run: this test's calls had already taken all the wall-clock time a test may take "
                f"({WALL_BACKSTOP:g} times its limit, computing or not: {self.walled:.3g} s), "
                "mostly without computing (sleeping, waiting, blocked).")

    def _start_worker(self, wall: float | None = None) -> Worker:
        worker = self.runner.start(self.spec)
        started = time.monotonic()
        try:
            loaded = worker.request({"op": "load", "rename": self._renames(), "notebook": self.notebook is not None},
                                    None, self.import_timeout, wall)
            if self.notebook is not None:
                self.notebook.load_failures = load_failures(loaded.get("failures"))
        except WorkerTimeout:
            said = worker.output()
            worker.close()
            own = wall_backstop(self.import_timeout)  # the import's own backstop
            if wall is not None and wall < own and time.monotonic() - started >= wall - 0.1:  # the test's wall time ran out, not the import's
                stopped = (f"Your code did not finish: a fresh worker was still importing {self.spec.module}.py when this "
                           f"test's calls had taken all the wall-clock time a test may take ({self._wall_left() + self.walled:.3g} s, "
                           "computing or not), so it was stopped.")
                self.ran_out[_IMPORT] = RanOut(0.0, wall, True, 0.0, self.test_label, stopped)
                raise WorkerTimeout(stopped) from None
            if self.notebook is not None:
                self._import_failure = WorkerTimeout(self.notebook.import_timeout(said, self.import_timeout))
                raise self._import_failure from None
            self._import_failure = WorkerTimeout(
                f"Importing {self.spec.module}.py did not finish within {self.import_timeout:.3g} s "
                "(code at the top level of your file runs on import: put demos under "
                "`if __name__ == \"__main__\":`)."
            )
            raise self._import_failure from None
        except StudentFault as exc:
            worker.close()
            self._import_failure = exc
            raise
        self._worker = worker
        self._calls = 0
        self._prepared.clear()
        return worker

    def _renames(self) -> dict[str, str]:
        """For a by-hand problem: the file's own attribute names that torch or Python also use,
        which the worker renames so that they reach only the student's own objects
        (``grader._byhand.reading.renames``)."""
        if self.by_hand is None:
            return {}
        from .._byhand.reading import Allowed, renames

        return renames(self.source_run(), Allowed.of(self.by_hand))

    def _request(self, header: dict[str, Any], values: dict[str, Any] | None, timeout: float | None = None) -> dict[str, Any]:
        with self.runner.request():  # waits (uncharged) while another job's timing check runs alone
            return self._timed_request(header, values, timeout)

    def _timed_request(self, header: dict[str, Any], values: dict[str, Any] | None, timeout: float | None) -> dict[str, Any]:
        worker = self._ready()
        wall: float | None = None
        explicit = timeout
        if timeout is None:  # the student's own budget (an explicit timeout is the grader's, for a baseline)
            timeout = self._left()
            wall = self._wall_left()
            if wall <= 0.01:
                raise WorkerTimeout(self._walled_out())
        # A call that ran out of time as a fresh worker's first is not run again as another's
        # first with no more time (``RanOut``): the same code on the same inputs from the same
        # state. (After other calls the worker's state is another: a cache warmed, a thread
        # left running.) What a call asked is hashed only once one has run out.
        cold = explicit is None and self._calls == 0
        asked = _asked(header, values) if cold and self.ran_out else ""
        before = self.ran_out.get(asked) if asked else None
        if before is not None and before.again(timeout, wall):
            self.used += min(before.charged, timeout)  # (as when it was waited out: the submission's total counts it)
            raise WorkerTimeout(f"Not run again: the same call, on the same inputs, ran out of time in {before.test} "
                                f"with {before.timeout:.3g} s ({before.said.rstrip('.')}), and this test has no more "
                                f"time for it ({timeout:.3g} s).")
        if explicit is None:
            self._calls += 1
        started = time.monotonic()
        reply: dict[str, Any] | None = None
        try:
            reply = worker.request(header, values, timeout, wall)
        except WorkerTimeout as exc:
            self._worker = None  # dead: the next call gets a fresh worker
            walled = ""
            if wall is not None and time.monotonic() - started >= wall - 0.1:
                walled = (f" All of a test's calls together may take {self._wall_left() + self.walled:.3g} s of wall "
                          f"time, computing or not ({WALL_BACKSTOP:g} times the test's limit, at least the limit and 30 s).")
            said = f"{exc}{walled}{self._whole_note()}"
            if cold:  # (a baseline's timeout is the grader's own: never cold)
                took = time.monotonic() - started
                self.ran_out[asked or _asked(header, values)] = RanOut(
                    timeout, wall, bool(walled), min(took, getattr(worker, "charged", took)), self.test_label, str(exc))
            raise WorkerTimeout(said) from None
        except WorkerCrashed:
            self._worker = None
            raise
        finally:
            if worker.dead and self._worker is worker:  # an interrupted request kills it too (its reply unread)
                self._worker = None
            took = time.monotonic() - started
            if wall is not None:
                self.walled += took
            # The student's limits count CPU time where the worker can tell (never more than
            # the wall time): a loaded machine does not use up a slow-but-correct call's time.
            self.used += min(took, getattr(worker, "charged", took))
            # the student's own time: as the worker timed the call; all of it for a hang, crash or raise
            self.compute += took if reply is None else reply.get("__elapsed__", 0.0)
        return reply

    # ------------------------------------------------------------------ api --

    def call(self, fn: str, /, context: str | None = None, **values: Any) -> dict[str, Any]:
        """Run the driver's ``fn`` on the student's module; return what it reported.

        ``context`` says which inputs this call used ("on random network 2 of 5 ..."): an
        error, a timeout or a crash of this call is reported with it.
        """
        return self._call({"op": "call", "fn": fn}, values, context)

    def _call(self, header: dict[str, Any], values: dict[str, Any], context: str | None) -> dict[str, Any]:
        """One call of the student's code, its errors reported with ``context``."""
        self._ready()  # import failures and a missing file are about the file, not this call
        self._left()  # so is a budget already spent
        try:
            return self._request(header, values)
        except StudentFault as exc:
            if context and not isinstance(exc, NotWritten):
                raise type(exc)(f"{_sentence(context)}: {exc}") from None
            raise

    def function(self, name: str, /, context: str | None = None, inputs: bool = False) -> Callable[..., Any]:
        """The student's own function ``name``, to call with plain arguments (tensors, numbers,
        strings, None, and lists, tuples and dicts of them) and get plain values back: no
        driver needed. Each call runs in the worker like ``call`` (the same limits, timeouts
        and error reports); tensors are moved to the grading device there, and what the
        function returns comes back on the CPU. A file without that function, or a value
        that is not plain data, is the student's wrong answer, said in those words.

        ``context`` says which inputs the calls use, as for ``call``::

            softmax = submission.function("softmax", context="on a 4x10 batch")
            got = softmax(x, dim=1)

        With ``inputs=True`` a call returns a :class:`Called`: the value, and what the call did
        to its arguments, read in the worker from references held from before the call (to
        check that it did not change its input in place: ``called.changes(["X", "r"])``; each
        call gets its own copy of every argument).
        """

        def call(*args: Any, **kwargs: Any) -> Any:
            reply = self._call({"op": "function", "name": name, "inputs": inputs},
                               {"args": list(args), "kwargs": dict(kwargs)}, context)
            if inputs:
                given = reply.get("inputs")
                report: dict[str, Any] = given if isinstance(given, dict) else {}
                held, memory = report.get("held") or {}, report.get("memory") or {}
                # the arguments as the caller holds them: where a tensor still views its memory, what that memory holds
                now = _held_now(held, memory)
                return Called(reply.get("value"), list(now.get("args") or []), dict(now.get("kwargs") or {}),
                              shared=list(reply.get("shared") or []), report=report, sent_args=list(args),
                              sent_kwargs=dict(kwargs))
            return reply.get("value")

        call.__name__ = name
        return call

    def prepare(self, fn: str, /, **values: Any) -> bool:
        """Have the driver's ``fn`` build a callable to time later with ``run``.

        Returns False when this worker already holds it, built from the same values
        (a baseline worker serves a whole batch and builds its callable once).
        """
        digest = _digest(values)
        if self._worker is not None and self._prepared.get(fn) == digest:
            return False
        self._request({"op": "prepare", "fn": fn}, values)
        self._prepared[fn] = digest
        return True

    def run(self, fn: str, xs: list[Any], timeout: float | None = None, threads: int | None = None) -> tuple[float, list[Any]]:
        """Run a prepared callable once on each input of ``xs`` (tensors); return the wall
        time measured here, outside the worker, and what each call returned (plain data, for
        the caller to check: a timed call's answer counts as much as a checked one's)."""
        reply = self._request({"op": "run", "fn": fn, "threads": threads}, {"xs": list(xs)}, timeout)
        assert self._worker is not None
        seconds = self._worker.last_wall  # measured here, from the request's first byte sent to the reply's last read
        outs = reply.get("outs")
        if not isinstance(outs, list) or len(outs) != len(xs):
            raise WrongAnswer(f"the timed calls returned {type(outs).__name__} instead of one answer per input")
        return seconds, outs

    def source_bytes(self) -> bytes:
        """The student's file as it is, read here on the trusted side (for checks of what the
        code says rather than what it does: nothing the student's code runs can change it).
        All of it: a check that read only the start could be hidden from by padding."""
        if self.notebook is not None:  # the code the worker imported, made from the notebook here
            return self.notebook.kept.encode("utf-8")
        path = self.spec.files.get(self.spec.module + ".py")
        if path is None:
            raise MissingFile(self.missing or f"{self.spec.module}.py was not submitted.")
        with open(path, "rb") as f:
            return f.read()

    def source_run(self) -> bytes | str:
        """What the worker parses: the file's bytes (decoded there as the import decodes them), or
        a notebook's kept code as text (its loader parses the text as it is)."""
        return self.notebook.kept if self.notebook is not None else self.source_bytes()

    def source(self) -> str:
        """``source_bytes`` as text, decoded as Python's import decodes it (a UTF-8 BOM, a
        coding line); undecodable bytes are replaced."""
        import importlib.util

        data = self.source_bytes()
        try:
            return importlib.util.decode_source(data).removeprefix("\ufeff")
        except (SyntaxError, UnicodeDecodeError, LookupError):
            return data.decode("utf-8", errors="replace").removeprefix("\ufeff")

    def alone(self) -> Any:
        """A context in which this run's timing check has the batch to itself (see ``Quiet``)."""
        return self.runner.alone()

    def freeze(self) -> None:
        if self._worker is not None:
            self._worker.freeze()

    def thaw(self) -> str | None:
        """Continue the worker; None, or what of it ran while it was frozen."""
        return self._worker.thaw() if self._worker is not None else None

    def output(self) -> str:
        return self._worker.output() if self._worker is not None else ""

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _held_now(held: Any, memory: Any) -> Any:
    """The ``held`` mirror of a ``keep`` report with each None (a tensor that still views the
    memory it had) replaced by what that memory holds now."""
    if held is None:
        return memory
    if isinstance(held, list):
        return [_held_now(h, memory[i] if isinstance(memory, list) and i < len(memory) else None) for i, h in enumerate(held)]
    if isinstance(held, dict):
        return {k: _held_now(h, memory.get(k) if isinstance(memory, dict) else None) for k, h in held.items()}
    return held


def _sentence(context: str) -> str:
    """``context`` as the start of a sentence: an English first word is capitalised, a name
    (``heavy_ball``, ``Net2``, ``nu(x, beta)``) is left as it is written."""
    first = context.split(" ", 1)[0]
    return context[0].upper() + context[1:] if first.isalpha() and first.islower() else context


_IMPORT = "import"  # ProblemRun.ran_out's key for an import stopped by a test's wall-clock bound (``_asked`` keys are JSON)


def _asked(header: dict[str, Any], values: dict[str, Any] | None) -> str:
    """What a request asks of the student's code: its operation and function, and its inputs."""
    import json

    return json.dumps(header, sort_keys=True, default=repr) + _digest(values or {})


def _digest(values: dict[str, Any]) -> str:
    import torch

    h = hashlib.sha256()

    def feed(v: Any) -> None:
        # (each value's type, and a tensor's layout: a call on a transposed view or a tuple is
        # not the call on a contiguous tensor or a list, for ``_asked``)
        if isinstance(v, torch.Tensor):
            h.update(f"T{type(v).__name__}{v.dtype}{tuple(v.shape)}{v.stride()}{v.requires_grad}{v.device.type}|".encode())
            h.update(v.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(v, dict):
            h.update(f"D{type(v).__name__}{len(v)}|".encode())
            for k in sorted(v, key=repr):
                h.update(f"{type(k).__name__}{k!r}|".encode())
                feed(v[k])
        elif isinstance(v, (list, tuple)):
            h.update(f"L{type(v).__name__}{len(v)}|".encode())
            for x in v:
                feed(x)
        else:
            h.update(f"V{type(v).__name__}{v!r}|".encode())

    feed(values)
    return h.hexdigest()
