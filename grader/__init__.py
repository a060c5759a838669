"""A grading harness for PyTorch homework.

The public API: ``grade`` (a class), ``check`` (a student's self-check), ``validate``
(an assignment's references and templates), and the models of what they return.
Rubric tests use ``grader.checks``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ConfigError", "Course", "Result", "Rubric", "check", "grade", "load_driver", "validate"]

if TYPE_CHECKING:
    from ._course import Course
    from ._exceptions import ConfigError
    from ._grade import check, grade, validate
    from ._models import Result, Rubric


def __getattr__(name: str) -> Any:
    # Lazy: `import grader` must stay cheap (the CLI's --help, the worker's copy of _worker.py).
    if name in ("grade", "check", "validate"):
        from . import _grade

        return getattr(_grade, name)
    if name == "load_driver":
        from ._worker import load_driver

        return load_driver
    if name == "ConfigError":  # a rubric raises it when the grader was set up wrong (e.g. --data): the batch stops
        from ._exceptions import ConfigError

        return ConfigError
    if name == "Course":
        from ._course import Course

        return Course
    if name in ("Result", "Rubric"):
        from . import _models

        return getattr(_models, name)
    raise AttributeError(name)
