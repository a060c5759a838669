"""The fixtures a check (a test function of ``rubrics/<assignment>/test_<problem>.py``) can take,
and the public names of their types, for annotations::

    from grader.fixtures import Generator, Submission

    def test_small(submission: Submission, generator: Generator) -> None:
        x = torch.randn(4, 3, generator=generator())
        got = submission.function("softmax", context="on a 4x3 input")(x, dim=1)
        close(got, torch.softmax(x, dim=1), what="softmax(x, dim=1)", tol=Tolerance.default(x.dtype))

The grader provides them (no conftest.py: a rubric folder has none):

``submission`` (:class:`Submission`)
    One student's file for this test's problem, behind its worker (a process of its own,
    isolated, with the problem's memory limit and the test's time limit). The check runs on
    the trusted side and reaches the student's code only through it:
    ``submission.function(name, context=...)(*args, **kwargs)`` calls the student's own
    function with plain arguments (no driver); ``submission.call(fn, context=..., **values)``
    runs the driver's ``fn`` (``drivers/<problem>.py``); ``submission.source()`` is the file as
    written, for source checks (``grader.checks.without``). Hidden tests get a worker of
    their own, started after every visible test of the student.
``baseline`` (:class:`Submission`)
    The reference implementation of the problem's driver for timing checks
    (``grader.checks.speed_ratio``): the template's given code, run in a worker too.
``generator`` (:data:`Generator`)
    ``generator(tag="")``: a CPU ``torch.Generator`` seeded from the run's seed, the test's
    name and ``tag``: the same inputs for every student of a batch, new ones each run
    (``grader check --seed N`` repeats a run).
``given`` (module) and ``template`` (:data:`Template`)
    The problem's template file imported on the trusted side (the given code: classes and
    helpers the homework hands out); ``template(problem_id)`` for any problem.
``device`` (str)
    Where student code runs: ``"cpu"`` or ``"cuda"``/``"cuda:N"``.
``data_dir`` (``Path | None``)
    The instructor's ``--data DIR`` (real data sets), or None: such checks make their own
    data or use ``torchvision.datasets.FakeData``.
``seed`` (int) and ``assignment`` (:class:`Assignment`)
    The run's seed; the assignment's folders (``rubric_dir``, ``template_dir``...).

A check passes by returning and fails by raising ``grader.checks.CheckFailed`` (or with
the helpers of ``grader.checks``); what it raises is the student's feedback.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ._course.layout import Assignment, Course
from ._grading.runs import Called

if TYPE_CHECKING:
    import torch


class Submission(Protocol):
    """One student's file for one problem, behind its worker (the ``submission`` fixture), or
    the reference's (``baseline``). A check reaches the student's code only through these
    three methods; every value crossing is plain data (tensors, numbers, strings, None, and
    lists, tuples and dicts of them), copied on the way."""

    def function(self, name: str, /, context: str | None = None, inputs: bool = False) -> Callable[..., Any]:
        """The student's own function ``name``, to call with plain arguments; it returns plain
        values (tensors come back on the CPU). A file without that function, or a value that is
        not plain data, is the student's wrong answer, said in those words. ``context`` says
        which inputs the calls use (it prefixes an error, a timeout or a crash of the call).
        With ``inputs=True`` a call returns a :class:`Called`: the value, and what the call did
        to its arguments (``called.changes(["X", "r"])``)."""
        ...

    def call(self, fn: str, /, context: str | None = None, **values: Any) -> dict[str, Any]:
        """Run the driver's ``fn`` (``rubrics/<assignment>/drivers/<problem>.py``) on the student's
        module with ``values``; return what it reported (a dict of plain values)."""
        ...

    def source(self) -> str:
        """The student's file as written (a notebook: the code the grader kept of it), read on
        the trusted side: for checks of what the code says (``grader.checks.without``)."""
        ...

Generator = Callable[..., "torch.Generator"]
"""The ``generator`` fixture: ``generator(tag: str = "") -> torch.Generator``."""

Template = Callable[[str], ModuleType]
"""The ``template`` fixture: ``template(problem_id) -> module``."""

__all__ = ["Assignment", "Called", "Course", "Generator", "Submission", "Template"]
