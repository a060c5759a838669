"""A grading harness for PyTorch homework.

The public API: ``grade`` (a class), ``grade_on_slurm`` (a class across a Slurm cluster, asked
for with ``SlurmOptions``), ``check`` (a student's self-check), ``validate`` (an assignment's
references and templates), and the models of what they return.
Rubric tests use ``grader.checks``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ConfigError", "Course", "Result", "Rubric", "SlurmOptions", "check", "grade", "grade_on_slurm", "load_driver",
           "public_checks", "validate"]

if TYPE_CHECKING:
    from ._course.layout import Course
    from ._exceptions import ConfigError
    from ._grading.api import check, grade, validate
    from ._platforms.options import SlurmOptions
    from ._platforms.slurm import grade_on_slurm
    from ._course.models import Result, Rubric


def public_checks(hidden_module_file: str) -> Any:
    """The public checks' module of the problem whose hidden checks are in ``hidden_module_file``
    (``rubrics/<a>/hidden/test_<p>.py`` gets ``rubrics/<a>/test_<p>.py``), for the helpers they share::

        from grader import public_checks
        public = public_checks(__file__)

        def test_more_inputs(submission, generator):
            public.matches(submission, generator, MORE_INPUTS)

    Take helpers from it by attribute, not with ``from ... import test_*``: a test function
    imported into the hidden module would be collected there a second time."""
    import sys
    from pathlib import Path

    hidden = Path(hidden_module_file).resolve()
    path = hidden.parent.parent / hidden.name
    for module in list(sys.modules.values()):  # pytest's copy, or ours: one per process (lnin's holds a 1.35 GB net)
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == path:
            return module
    if not path.is_file():
        from ._exceptions import ConfigError

        raise ConfigError(f"{hidden}: no public checks' module {path} beside its hidden/ folder")
    from ._worker import load_driver  # (an import by path, which is all a driver's loading is)

    return load_driver(str(path), f"_grader_public_{abs(hash(str(path))):x}", register=True)


def _version() -> str:
    """The grader's version, one source of truth: pyproject.toml's ``version``. Read from the
    pyproject.toml beside this package when it runs from a checkout (so an editable install
    whose metadata is older, or none, still says the checkout's), else from the installed
    distribution's metadata (which pip wrote from that same pyproject.toml)."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "dl-grader":
            return str(project["version"])
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dl-grader")
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name: str) -> Any:
    # Lazy: `import grader` must stay cheap (the CLI's --help, the worker's copy of the _worker package).
    if name == "__version__":
        return _version()
    if name in ("grade", "check", "validate"):
        from ._grading import api as _grade

        return getattr(_grade, name)
    if name == "grade_on_slurm":
        from ._platforms.slurm import grade_on_slurm

        return grade_on_slurm
    if name == "SlurmOptions":
        from ._platforms.options import SlurmOptions

        return SlurmOptions
    if name == "load_driver":
        from ._worker import load_driver

        return load_driver
    if name == "public_checks":
        return public_checks
    if name == "ConfigError":  # a rubric raises it when the grader was set up wrong (e.g. --data): the batch stops
        from ._exceptions import ConfigError

        return ConfigError
    if name == "Course":
        from ._course.layout import Course

        return Course
    if name in ("Result", "Rubric"):
        from ._course import models as _models

        return getattr(_models, name)
    raise AttributeError(name)
