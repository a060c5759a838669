"""Where a course's material lives: rubrics/, reference/, student_template/ under one root."""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def locate(cls, root: Path | str | None = None) -> Course:
        """The course folder: ``root``, else $GRADER_COURSE, else the checkout this package sits in."""
        candidates = [Path(root)] if root else []
        if not candidates and os.environ.get("GRADER_COURSE"):
            candidates.append(Path(os.environ["GRADER_COURSE"]))
        if not candidates:
            candidates.append(Path(__file__).resolve().parent.parent)
        for c in candidates:
            if (c / "rubrics").is_dir():
                return cls(c.resolve())
        raise ConfigError(
            f"no course folder found at {candidates[0]} (it needs a rubrics/ folder); "
            "pass --course DIR or set GRADER_COURSE"
        )

    def assignment_ids(self) -> list[str]:
        return sorted(p.parent.name for p in (self.root / "rubrics").glob("*/rubric.toml"))

    def assignment(self, assignment_id: str) -> Assignment:
        if not (self.root / "rubrics" / assignment_id / "rubric.toml").is_file():
            known = ", ".join(self.assignment_ids()) or "none"
            raise ConfigError(f"no assignment {assignment_id!r} in {self.root / 'rubrics'} (known: {known})")
        a = Assignment(assignment_id, self.root)
        a.rubric  # validate now, with messages that name the file
        return a
