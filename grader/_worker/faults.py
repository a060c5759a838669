"""Whose fault a failure is: ``WrongAnswer`` (the student's, raised by a driver),
``DriverBug`` (the course's), and the fault report of anything the student's code raised
(its frames only, by file)."""

from __future__ import annotations

import os
import traceback
from types import ModuleType
from typing import Any

from .source import import_student


class WrongAnswer(Exception):
    """Raised by a driver when the student's code returned something unusable.

    Drivers get this class as a global (see ``load_driver``): they need no import.
    """


class DriverBug(Exception):
    """The problem's driver cannot serve a request (no such function, a call that does not fit
    its signature, a reply that cannot be sent back, a timed callable that is not one): an
    authoring error of the course, reported as the grader's, never the student's."""


def import_in_folder(sub_dir: str, module_name: str, names: dict[str, str] | None = None,
                    loader: bool = False) -> ModuleType:
    """The student's module, its top-level ``if __name__ == "__main__":`` bodies left out and
    ``names`` renamed (``source``: what runs is what the trusted side reads)."""
    return import_student(os.path.join(sub_dir, module_name + ".py"), module_name, names, loader)


def _their_frames(exc: BaseException, sub_dir: str) -> list[traceback.FrameSummary]:
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not f.filename.startswith("<") and os.path.abspath(f.filename).startswith(sub_dir + os.sep)]


def raised_by_student(exc: BaseException, sub_dir: str) -> bool:
    """Whether the student's code is on ``exc``'s traceback (it ran, and raised or let it through)."""
    return bool(_their_frames(exc, sub_dir))


def fault_report(exc: BaseException, sub_dir: str) -> dict[str, Any]:
    """Describe an exception for the student: their own frames only."""
    theirs = _their_frames(exc, sub_dir)
    for f in theirs:
        f.filename = os.path.relpath(f.filename, sub_dir)
    if isinstance(exc, SyntaxError) and exc.filename and os.path.abspath(exc.filename).startswith(sub_dir):
        exc.filename = os.path.relpath(exc.filename, sub_dir)
    frames = "".join(traceback.format_list(theirs)) if theirs else ""
    text = frames + "".join(traceback.format_exception_only(type(exc), exc))
    if isinstance(exc, WrongAnswer):
        kind = "wrong"
    elif isinstance(exc, NotImplementedError) and theirs:
        kind = "not_implemented"
    elif theirs or isinstance(exc, SyntaxError):
        kind = "student"
    else:
        kind = "unknown"
    message = str(exc)
    if isinstance(exc, MemoryError) or "can't allocate memory" in message or "not enough memory" in message:
        message += " (the grader limits how much memory your code may use)"
    return {"kind": kind, "type": type(exc).__name__, "message": message[:10_000], "traceback": text[-10_000:],
            "frames": frames[-10_000:]}
