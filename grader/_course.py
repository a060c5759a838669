"""Where a course's material lives: rubrics/, reference/, student_template/ under one root."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ._exceptions import ConfigError
from ._models import ProblemSpec, Rubric


@dataclass(frozen=True)
class Assignment:
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

    @cached_property
    def rubric(self) -> Rubric:
        rubric = Rubric.load(self.rubric_dir / "rubric.toml")
        if rubric.assignment != self.id:
            raise ConfigError(f"{self.rubric_dir / 'rubric.toml'}: assignment: says {rubric.assignment!r}, but the folder is {self.id!r}")
        for problem in rubric.problems:
            for path, what in [
                (self.test_module(problem), "test module"),
                (self.driver(problem), "driver"),
                (self.template_dir / problem.file, "template file"),
            ]:
                if not path.is_file():
                    raise ConfigError(f"{self.rubric_dir / 'rubric.toml'}: problem {problem.id!r}: its {what} {path} is missing")
        for name in rubric.data_files:
            if not (self.template_dir / name).is_file():
                raise ConfigError(f"{self.rubric_dir / 'rubric.toml'}: data_files: {self.template_dir / name} is missing")
        return rubric

    def test_module(self, problem: ProblemSpec) -> Path:
        return self.rubric_dir / f"test_{problem.id}.py"

    def driver(self, problem: ProblemSpec) -> Path:
        return self.rubric_dir / "drivers" / f"{problem.id}.py"

    @property
    def student_files(self) -> list[str]:
        return [p.file for p in self.rubric.problems]


COURSE_FIELDS = {"title"}
MARKER = "course.toml"  # the file that makes a folder a course; `grader` finds it from below


@dataclass(frozen=True)
class Course:
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
        checkout = Path(__file__).resolve().parent.parent
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
            if "title" in data and not isinstance(data["title"], str):
                raise ConfigError(f"{marker}: title: should be a string")
        if not (root / "rubrics").is_dir():
            raise ConfigError(f"{root}: this course has no rubrics/ folder yet (one rubrics/<assignment>/rubric.toml "
                              "per assignment)")
        return cls(root)

    @property
    def title(self) -> str:
        marker = self.root / MARKER
        if marker.is_file():
            return str(tomllib.loads(marker.read_text(encoding="utf-8")).get("title", self.root.name))
        return self.root.name

    def assignment_ids(self) -> list[str]:
        return sorted(p.parent.name for p in (self.root / "rubrics").glob("*/rubric.toml"))

    def assignment(self, assignment_id: str) -> Assignment:
        if not (self.root / "rubrics" / assignment_id / "rubric.toml").is_file():
            known = ", ".join(self.assignment_ids()) or "none"
            raise ConfigError(f"no assignment {assignment_id!r} in {self.root / 'rubrics'} (known: {known})")
        a = Assignment(assignment_id, self.root)
        a.rubric  # validate now, with messages that name the file
        return a
