"""Where a course's material lives: rubrics/, reference/, student_template/ under one root."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .driver_calls import driver_call_problems
from .._exceptions import ConfigError
from .models import ProblemSpec, Rubric
from .solutions import derived_template

NO_DRIVER = Path(__file__).resolve().parents[1] / "_grading" / "no_driver.py"


@dataclass(frozen=True)
class Assignment:
    """One assignment of a course: its id and the course's root, with where its rubric
    (``rubrics/<id>/``), template (``student_template/<id>/``) and reference
    (``reference/<id>/``) live, and its rubric, read and validated once."""

    id: str
    root: Path

    @property
    def rubric_dir(self) -> Path:
        return self.root / "rubrics" / self.id

    @property
    def template_dir(self) -> Path:
        return self.root / "student_template" / self.id

    @property
    def reference_dir(self) -> Path:
        return self.root / "reference" / self.id

    def template_file(self, file: str) -> Path:
        """The file students start ``file`` from: ``student_template/<id>/<file>`` where it
        exists (it wins), else the template derived from ``reference/<id>/<file>``'s solution
        markers (grader._course.solutions; written to a folder of this process's own), else the
        missing ``student_template/<id>/<file>``. A ConfigError where the markers are wrong."""
        own = self.template_dir / file
        reference = self.reference_dir / file
        if own.is_file() or not reference.is_file():
            return own
        return derived_template(reference, file, str(reference.relative_to(self.root))) or own

    def derived_templates(self) -> dict[str, Path]:
        """The student files whose template is derived from the reference's markers (no
        template file of their own): file name -> the derived file."""
        return {f: path for f in dict.fromkeys(self.student_files)
                if (path := self.template_file(f)) != self.template_dir / f}

    def describe_template(self, file: str) -> str:
        """How a message names the template of ``file``: "the template <its path in the course>",
        or where it is derived from."""
        if self.template_file(file) == self.template_dir / file:
            return f"the template {(self.template_dir / file).relative_to(self.root)}"
        return f"the template derived from {(self.reference_dir / file).relative_to(self.root)}"

    @cached_property
    def rubric(self) -> Rubric:
        rubric = Rubric.load(self.rubric_dir / "rubric.toml")
        if rubric.assignment != self.id:
            raise ConfigError(f"{self.rubric_dir / 'rubric.toml'}: assignment: says {rubric.assignment!r}, but the folder is {self.id!r}")
        for problem in rubric.problems:
            if not self.test_module(problem).is_file():
                raise ConfigError(f"{self.rubric_dir / 'rubric.toml'}: problem {problem.id!r}: its test module "
                                  f"{self.test_module(problem)} is missing")
            if not self.template_file(problem.file).is_file():
                raise ConfigError(f"{self.rubric_dir / 'rubric.toml'}: problem {problem.id!r}: its template file "
                                  f"{self.template_dir / problem.file} is missing (and {self.reference_dir / problem.file} "
                                  "has no solution markers to derive it from: docs/authoring.md, \"One file\")")
        self._check_split(rubric)
        for name in rubric.data_files:
            if not (self.template_dir / name).is_file():
                raise ConfigError(f"{self.rubric_dir / 'rubric.toml'}: data_files: {self.template_dir / name} is missing")
        return rubric

    def test_module(self, problem: ProblemSpec) -> Path:
        """The problem's public checks: rubrics/<assignment>/test_<problem>.py (released to students)."""
        return self.rubric_dir / f"test_{problem.id}.py"

    def hidden_module(self, problem: ProblemSpec) -> Path:
        """The problem's hidden checks: rubrics/<assignment>/hidden/test_<problem>.py (never released)."""
        return self.rubric_dir / "hidden" / f"test_{problem.id}.py"

    def test_modules(self, problem: ProblemSpec, *, hidden: bool = True) -> list[Path]:
        """The modules that hold the problem's checks: the public one, and the hidden one when
        there is one (and ``hidden``)."""
        modules = [self.test_module(problem)]
        if hidden and self.hidden_module(problem).is_file():
            modules.append(self.hidden_module(problem))
        return modules

    def _check_split(self, rubric: Rubric) -> None:
        """Hidden checks and the inputs they use live apart from the public ones, so that what
        is released to students (the public modules) cannot hold them by accident: a test the
        rubric marks hidden must be defined in hidden/test_<problem>.py, and a visible one in
        test_<problem>.py. Read from the files (no import), so a release is checked too."""
        import ast

        where = self.rubric_dir / "rubric.toml"
        for problem in rubric.problems:
            hidden = {t.name for t in problem.tests if t.visibility != "visible"}
            for module, wrong, there in [(self.test_module(problem), hidden, "hidden"),
                                         (self.hidden_module(problem), {t.name for t in problem.tests} - hidden, "visible")]:
                if not module.is_file():
                    continue
                try:
                    tree = ast.parse(module.read_bytes(), filename=str(module))
                except SyntaxError as exc:
                    raise ConfigError(f"{module}:{exc.lineno}: does not parse: {exc.msg}") from None
                defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
                if misplaced := sorted(defined & wrong):
                    home = self.hidden_module(problem) if there == "hidden" else self.test_module(problem)
                    raise ConfigError(
                        f"{module.relative_to(self.root)} defines {', '.join(misplaced)}, which {where.relative_to(self.root)} "
                        f"marks {there}: {'hidden checks live in' if there == 'hidden' else 'visible checks live in'} "
                        f"{home.relative_to(self.root)}, so that `grader release` "
                        f"{'leaves them out' if there == 'hidden' else 'gives them to students'}")

    def driver(self, problem: ProblemSpec) -> Path:
        """The problem's worker-side driver: rubrics/<assignment>/drivers/<problem>.py, or, for a
        problem whose checks only call the student's functions (``submission.function``), the
        grader's empty one."""
        own = self.rubric_dir / "drivers" / f"{problem.id}.py"
        return own if own.is_file() else NO_DRIVER

    def has_driver(self, problem: ProblemSpec) -> bool:
        return self.driver(problem) != NO_DRIVER

    @property
    def student_files(self) -> list[str]:
        return [p.file for p in self.rubric.problems]


COURSE_FIELDS = {"title", "install", "released"}
MARKER = "course.toml"  # the file that makes a folder a course; `grader` finds it from below
RELEASED_DIR = ".grader"  # in a student's release (`grader release`), the course is this folder of it


@dataclass(frozen=True)
class Course:
    """A course on disk: the folder holding ``course.toml``, ``rubrics/``, ``reference/`` and
    ``student_template/``; ``Course.locate()`` finds it as every command does."""

    root: Path

    @classmethod
    def locate(cls, root: Path | str | None = None, *, start: Path | None = None) -> Course:
        """The course folder: ``root`` (``--course``), else $GRADER_COURSE, else the nearest
        folder holding course.toml from ``start`` (the current folder) up, else the
        checkout this package sits in when it is one (an editable install of a course's
        repository). A folder given by name must hold course.toml or rubrics/."""
        given = Path(root) if root else Path(os.environ["GRADER_COURSE"]) if os.environ.get("GRADER_COURSE") else None
        if given is not None:
            how = "--course" if root else "$GRADER_COURSE"
            if not given.is_dir():
                raise ConfigError(f"{how} {given}: no such folder")
            if not ((given / MARKER).is_file() or (given / "rubrics").is_dir()):
                raise ConfigError(f"{how} {given}: not a course folder (it has neither {MARKER} nor rubrics/)")
            return cls._checked(given.resolve())
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / MARKER).is_file():
                return cls._checked(folder)
            if (folder / RELEASED_DIR / MARKER).is_file():  # a student's release folder
                return cls._checked(folder / RELEASED_DIR)
        checkout = Path(__file__).resolve().parents[2]
        if (checkout / MARKER).is_file():
            return cls._checked(checkout)
        raise ConfigError(
            f"no course found: no {MARKER} in {here} or any folder above it. Run the grader inside a course "
            f"folder (one with {MARKER}, rubrics/, reference/, student_template/), pass --course DIR or set "
            "GRADER_COURSE; `grader new course DIR` makes one")

    @classmethod
    def _checked(cls, root: Path) -> Course:
        marker = root / MARKER
        if marker.is_file():
            try:
                data = tomllib.loads(marker.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{marker}: not valid TOML ({exc})") from None
            unknown = sorted(set(data) - COURSE_FIELDS)
            if unknown:
                raise ConfigError(f"{marker}: unknown field(s) {', '.join(unknown)}; a course.toml may hold "
                                  f"{', '.join(sorted(COURSE_FIELDS))}")
            for key, kind, what in [("title", str, "a string"), ("install", str, "a string (the command students run)"),
                                    ("released", bool, "true or false")]:
                if key in data and not isinstance(data[key], kind):
                    raise ConfigError(f"{marker}: {key}: should be {what}")
        if not (root / "rubrics").is_dir():
            raise ConfigError(f"{root}: this course has no rubrics/ folder yet (one rubrics/<assignment>/rubric.toml "
                              "per assignment)")
        return cls(root)

    def _fields(self) -> dict[str, object]:
        marker = self.root / MARKER
        return tomllib.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}

    @property
    def install(self) -> str | None:
        """The command a release tells students to run to install the grader (course.toml's
        ``install``); None: ship the grader's wheel in the release."""
        value = self._fields().get("install")
        return value if isinstance(value, str) else None

    @property
    def released(self) -> bool:
        """A student's copy made by ``grader release``: public checks only, no references."""
        return self._fields().get("released") is True

    @property
    def title(self) -> str:
        return str(self._fields().get("title", self.root.name))

    def assignment_ids(self) -> list[str]:
        return sorted(p.parent.name for p in (self.root / "rubrics").glob("*/rubric.toml"))

    def assignment(self, assignment_id: str) -> Assignment:
        if not (self.root / "rubrics" / assignment_id / "rubric.toml").is_file():
            known = ", ".join(self.assignment_ids()) or "none"
            raise ConfigError(f"no assignment {assignment_id!r} in {self.root / 'rubrics'} (known: {known})")
        a = Assignment(assignment_id, self.root)
        _ = a.rubric  # validate now, with messages that name the file
        if errors := driver_call_problems(a):  # a check that names what its driver lacks: never a student's error
            raise ConfigError(f"rubrics/{a.id}: authoring error{'s' if len(errors) > 1 else ''} in its checks "
                              "(found by reading them, before any student's code runs):\n  " + "\n  ".join(errors))
        return a


def toml_value(v: Any) -> str:
    """``v`` as a TOML value (a string, number, bool or list), written by tomli-w: any string,
    control characters and quotes included, is valid TOML."""
    import tomli_w

    return tomli_w.dumps({"v": v}).removeprefix("v = ").rstrip("\n")
