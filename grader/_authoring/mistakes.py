"""Known mistakes of an assignment: wrong (and right-but-different) submissions that show each
check able to fail before any student is graded by it.

They live beside the rubric, in ``rubrics/<assignment>/mistakes.toml``:

    [[mistake]]
    id = "bottleneck_no_bias"              # unique in the file
    problem = "bottleneck"                 # a problem of the rubric
    file = "bottleneck.py"                 # that problem's file (default: the problem's)
    what = "counts the weights but not the biases"
    fails = ["test_model_i_params", ...]   # exactly the checks of `problem` it must not pass
    extended = false                       # true: its checks are failed by another mistake too
    says = { test_model_i_params = ["expected 1,088,924"] }   # optional: what a failing check must say
    hint = "Count what each convolution adds besides its weights."  # optional: what to look at, not the fix
    shown = "students"                     # who reads the hint: "students", or "instructors" (the default)
    [[mistake.edit]]                       # an exact edit of reference/<assignment>/<file> ...
    old = "    return k * k * c_in * c_out + c_out\n"
    new = "    return k * k * c_in * c_out\n"

or, instead of edits, ``source = "<folder>/<file>"``: a whole file under
``rubrics/<assignment>/mistakes/`` (a student's wrong file, or with ``fails = []`` a right one
written differently, which must score full marks). ``grader validate`` grades every mistake
and says, in a table, which did not fail exactly its checks and which checks no mistake
fails. Neither file is ever shipped to students or to Gradescope.

A mistake with a ``hint`` (and a non-empty ``fails``) is also a diagnosis: ``grader grade`` runs
it once per batch, on the batch's inputs, and names it in the result of every student whose
answers match its answers (grader/_grading/diagnosis.py); the hint is shown on the feedback page
when ``shown = "students"``, and always on the instructor's summary.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._exceptions import ConfigError

if TYPE_CHECKING:
    from .._course.layout import Assignment

FILE = "mistakes.toml"
FOLDER = "mistakes"


class Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    old: str = Field(min_length=1, description="text that occurs exactly once in the reference file")
    new: str = Field(description="what replaces it")


class Mistake(BaseModel):
    """One known mistake: edits of the reference's file, or a whole file of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="unique in the file")
    problem: str = Field(description="a problem of the rubric")
    file: str = Field(default="", description="that problem's file (default: the problem's)")
    what: str = Field(min_length=1, description="the mistake, in a sentence (shown in validate's table)")
    fails: list[str] = Field(description="exactly the checks of `problem` it must not pass ([]: a right answer, full marks)")
    edit: list[Edit] = Field(default_factory=list, description="exact edits of reference/<assignment>/<file>: [[mistake.edit]] old, new")
    source: str | None = Field(default=None, description="instead of edits: a whole file, <folder>/<file> under mistakes/")
    extended: bool = Field(default=False, description="its checks are failed by another mistake too: graded with --extended only")
    says: dict[str, list[str]] = Field(default_factory=dict, description="phrases a failing check's output must hold, "
                                       "{check = [phrase, ...]}: each fault said, none hidden by another's")
    hint: str = Field(default="", description="what to tell a student whose answers match this mistake's: what to look "
                      "at, not the fix (a mistake with a hint is diagnosed by `grader grade`)")
    shown: Literal["students", "instructors"] = Field(default="instructors", description="who reads the hint: students "
                                                      "(the feedback page too) or instructors only (the summary page)")

    @model_validator(mode="after")
    def _one_kind(self) -> Mistake:
        if bool(self.edit) == bool(self.source):
            raise ValueError(f"mistake {self.id!r}: give either [[mistake.edit]] entries or a source file, not "
                             + ("both" if self.edit else "neither"))
        unsaid = sorted(set(self.says) - set(self.fails))
        if unsaid:
            raise ValueError(f"mistake {self.id!r}: says names checks it does not fail: {', '.join(unsaid)}")
        if not self.source and not self.fails:
            raise ValueError(f"mistake {self.id!r}: an edit of the reference that fails nothing is not a mistake "
                             "(a right-but-different file is a source file with fails = [])")
        if self.shown == "students" and not self.hint:
            raise ValueError(f"mistake {self.id!r}: shown = \"students\" but it has no hint to show")
        return self

    @property
    def diagnoses(self) -> bool:
        """Whether students are diagnosed with it: a wrong answer (``fails`` not empty) with a hint."""
        return bool(self.hint.strip()) and bool(self.fails)

    def text(self, assignment: Assignment) -> str:
        """The mistaken file's text."""
        if self.source:
            return (assignment.rubric_dir / FOLDER / self.source).read_text(encoding="utf-8")
        text = (assignment.reference_dir / self.file).read_text(encoding="utf-8")
        for e in self.edit:
            count = text.count(e.old)
            if count != 1:
                raise ConfigError(f"{assignment.rubric_dir / FILE}: mistake {self.id!r}: its edit's `old` text occurs "
                                  f"{count} times in reference/{assignment.id}/{self.file}, not once: "
                                  f"{e.old[:80]!r}")
            text = text.replace(e.old, e.new)
        return text


def load(assignment: Assignment) -> list[Mistake]:
    """The assignment's known mistakes (none when it has no mistakes.toml), checked against
    its rubric: ids unique, problems and checks that exist, source files that are there."""
    path = assignment.rubric_dir / FILE
    if not path.is_file():
        return []
    try:
        raw: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - {"mistake"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; the file holds [[mistake]] tables")
    rubric = assignment.rubric
    out: list[Mistake] = []
    for i, entry in enumerate(raw.get("mistake", [])):
        if isinstance(entry, dict) and "file" not in entry and isinstance(entry.get("problem"), str):
            try:
                entry = {**entry, "file": rubric.problem(entry["problem"]).file}
            except KeyError:
                pass
        try:
            m = Mistake.model_validate(entry)
        except ValidationError as exc:
            lines = "\n".join(f"  {'.'.join(map(str, e['loc'])) or '(the entry)'}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"{path}: mistake [{i}] ({entry.get('id', '?') if isinstance(entry, dict) else '?'}):\n{lines}") from None
        where = f"{path}: mistake {m.id!r}"
        try:
            problem = rubric.problem(m.problem)
        except KeyError:
            raise ConfigError(f"{where}: no problem {m.problem!r} in the rubric (its problems: "
                              f"{', '.join(p.id for p in rubric.problems)})") from None
        if m.file != problem.file:
            raise ConfigError(f"{where}: file {m.file!r} is not {m.problem}'s file ({problem.file})")
        names = {t.name for t in problem.tests}
        wrong = sorted(set(m.fails) - names)
        if wrong:
            raise ConfigError(f"{where}: fails names checks that {m.problem} does not have: {', '.join(wrong)}")
        if m.source and not (assignment.rubric_dir / FOLDER / m.source).is_file():
            raise ConfigError(f"{where}: its source {assignment.rubric_dir / FOLDER / m.source} is missing")
        out.append(m)
    ids = [m.id for m in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{path}: mistake ids used more than once: {', '.join(dup)}")
    return out
