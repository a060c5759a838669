"""Pydantic models for everything that crosses a boundary: rubric files, result files, wire messages."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._exceptions import ConfigError
from .limits import Limits  # a module of its own: _sandbox imports these models

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
Outcome = Literal["passed", "failed", "error", "timeout", "missing", "skipped"]
Status = Literal["passed", "failed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- rubric ----


class TestSpec(_Strict):
    """One check: a test function in rubrics/<assignment>/test_<problem>.py."""

    __test__ = False  # not a pytest test class

    name: str = Field(pattern=r"^test_[a-z0-9_]+$", description="the test function's name in the problem's check module")
    title: str = Field(min_length=3, description="what it checks, as the student reads it on the feedback page")
    points: float = Field(ge=0, description="what passing it is worth")
    visibility: Visibility = Field(default="visible", description=(
        "visible: run by `grader check` and released; any other value (hidden, after_due_date, after_published): "
        "defined in hidden/test_<problem>.py, never released, graded by `grader grade` (Gradescope keeps the value)"))
    timeout: float = Field(default=60.0, gt=0, description="seconds of the student's code this test may use")


class ByHand(_Strict):
    """A problem that forbids a tool ("computed by hand, without autograd"): its solution may use
    only the names of an allow-list, read from the whole file on the trusted side (``grader.checks.without``)."""

    without: str = Field(min_length=1, description="what the problem forbids, as a student reads it (\"autograd\")")
    rule: str = Field(min_length=1, description="what the problem asks instead: told to a student whose file uses a name outside the allow-list")
    vocabulary: Literal["tensor-math"] = Field(default="tensor-math", description=(
        "the grader's named allow-list: tensor-math is torch's and numpy's numerical functions, the tensor methods "
        "that compute with data, Python's own values and a few pure modules (math, typing, dataclasses, functools, "
        "itertools...); nothing that reaches an autograd graph or looks a name up at run time"))
    allow: list[str] = Field(default_factory=list, description="names allowed besides the vocabulary's (attributes, builtins or dotted modules)")
    exclude: list[str] = Field(default_factory=list, description=(
        "names of the vocabulary this problem does not allow (e.g. logsumexp, where the problem is to write one)"))


class ProblemSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$", description="the problem's id: its checks are test_<id>.py, its driver drivers/<id>.py")
    title: str = Field(description="the problem's title on the feedback page")
    file: str = Field(description="the student's file (in student_template/ and reference/ too)")
    points: float = Field(ge=0, description="the sum of its tests' points")
    memory_mb: int = Field(default=Limits().memory_mb, ge=256, description="memory the student's worker may use")
    import_timeout: float = Field(default=60.0, gt=0, description="seconds importing the student's file may take")
    needs: Literal["any", "cuda"] = Field(
        default="any", description="cuda: graded only where student code runs on a CUDA GPU; elsewhere its tests are skipped, with the reason")
    notebook: Literal["definitions", "cells"] = Field(default="definitions", description=(
        "how a notebook handed in for this problem's file runs: definitions (only the imports, definitions and "
        "constants the problem's code uses, and the settings calls with constant arguments in their cells; top-level "
        "work, magics and shell commands do not run) or cells (every "
        "code cell as it is, in order, under the same limits)"))
    by_hand: ByHand | None = Field(default=None, description=(
        "for a problem that forbids a tool: the names its solution may use ([problems.by_hand]); its test calls "
        "grader.checks.without"))
    tests: list[TestSpec] = Field(min_length=1, description="its checks, in the order they run and are shown")

    @property
    def module(self) -> str:
        return Path(self.file).stem

    @model_validator(mode="after")
    def _points_add_up(self) -> ProblemSpec:
        total = sum(t.points for t in self.tests)
        if abs(total - self.points) > 1e-9:
            raise ValueError(f"problem {self.id!r} is worth {self.points} points but its tests add up to {total}")
        names = [t.name for t in self.tests]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"problem {self.id!r} lists tests more than once: {sorted(dup)}")
        return self


class Rubric(_Strict):
    assignment: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="the assignment's id: the name of its folders")
    title: str = Field(description="the assignment's title")
    data_files: list[str] = Field(default_factory=list, description="files of student_template/<assignment>/ every worker gets")
    problems: list[ProblemSpec] = Field(min_length=1, description="its problems, in order")

    @model_validator(mode="after")
    def _unique(self) -> Rubric:
        ids = [p.id for p in self.problems]
        if len(set(ids)) != len(ids):
            raise ValueError(f"problem ids are not unique: {ids}")
        return self

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.problems)

    def problem(self, problem_id: str) -> ProblemSpec:
        for p in self.problems:
            if p.id == problem_id:
                return p
        raise KeyError(problem_id)

    @classmethod
    def load(cls, path: Path) -> Rubric:
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: no rubric file here") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(f"{path}: invalid rubric:\n{_describe(exc, raw)}") from None


def _describe(exc: ValidationError, raw: Any) -> str:
    """Turn a pydantic error into lines naming the field the way a person finds it in the file."""
    lines = []
    for err in exc.errors():
        parts: list[str] = []
        node: Any = raw
        for key in err["loc"]:
            if isinstance(key, int):
                label = f"[{key}]"
                node = node[key] if isinstance(node, list) and key < len(node) else None
                if isinstance(node, dict) and ("id" in node or "name" in node):
                    label += f" ({node.get('id') or node.get('name')})"
                parts.append(label)
            else:
                parts.append(("." if parts else "") + str(key))
                node = node.get(key) if isinstance(node, dict) else None
        where = "".join(parts) or "(top level)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


# ---------------------------------------------------------------- results ---


class TestResult(BaseModel):
    __test__ = False  # not a pytest test class

    name: str
    problem: str
    status: Status
    outcome: Outcome
    score: float
    max_score: float
    visibility: Visibility
    output: str = ""
    test: str = Field(description="the rubric's test function name")
    duration: float = 0.0  # seconds charged to the student's code in this test (not the worker's start)


class NotebookCell(BaseModel):
    """A cell of a notebook handed in, as the feedback page shows it."""

    index: int = Field(description="the cell's place among all the notebook's cells, from 1")
    execution_count: int | None = None
    source: str = ""
    lines: list[int] = Field(default_factory=list, description="the lines of it that messages name")


class Hint(BaseModel):
    """What the author of a known mistake tells a student whose answers match it."""

    mistake: str = Field(description="the mistake's id in mistakes.toml")
    text: str = Field(description="the hint: what to look at, not the fix")
    shown: Literal["students", "instructors"] = Field(description="who may read it: students (the feedback page), or "
                                                      "instructors only (the summary page)")


class ProblemResult(BaseModel):
    id: str
    title: str = ""
    score: float
    max_score: float
    notebook: str | None = Field(default=None, description="the notebook this problem was graded from, if any")
    notes: list[str] = Field(default_factory=list, description="what of the notebook ran, and what was left out and why")
    cells: list[NotebookCell] = Field(default_factory=list, description="the notebook's cells that messages name")
    diagnosis: list[str] = Field(default_factory=list, description="the known mistakes (ids in mistakes.toml) whose "
                                 "answers this problem's answers match on every comparison where they are wrong; "
                                 "empty for a right answer and where no known mistake matches")
    hints: list[Hint] = Field(default_factory=list, description="the hints of the mistakes in diagnosis, and who may "
                              "read each")


class Result(BaseModel):
    """result.json: a superset of Gradescope's results.json (upload as is)."""

    assignment: str
    student: str
    score: float
    max_score: float
    execution_time: float
    problems: list[ProblemResult]
    tests: list[TestResult]
    # Beyond Gradescope's fields: how this result was obtained.
    mode: Literal["grade", "check"] = "grade"
    seed: int = 0
    device: str = "cpu"
    canvas_id: str | None = Field(default=None, description="the student's Canvas user id, where intake knew it")
    login: str | None = Field(default=None, description="what Canvas's gradebook import may match the student by (SIS "
                              "Login ID): a Gradescope submitter's e-mail, a folder's name; empty where there is none "
                              "(a Canvas user, matched by canvas_id; a submitter without an e-mail, whose name is never a "
                              "login; a name several uploads make); null in older results")
    sis_id: str | None = Field(default=None, description="Canvas's SIS User ID for the student: the Gradescope sid of a "
                               "submitter without an e-mail, where no other submitter gives it")
    upload: str = Field(default="", description="what identifies the upload graded, by the LMS's ids: \"Gradescope submission "
                        "101\" (\", submitter 2\" in a group), \"Canvas user 500, files 1001 1005\", \"the folder ann/\"; "
                        "a resumed batch reuses this result only for the same upload (empty in older results)")
    files_sha256: str = Field(default="", description="the sha256 of the files graded (their names and bytes)")
    intake_notes: list[str] = Field(default_factory=list, description="what intake said of this student's upload: "
                                    "files ignored and why, the name they were graded under and why")
    student_time: float = Field(default=0.0, description="seconds the worker spent running the submission's calls")
    grader_version: str = ""
    isolation: str = Field(default="", description="what contained the student's code: root (namespaces and a uid of "
                           "its own), rootless (a user namespace, and the same in it), container (Docker), none (--unsandboxed)")
    graded_at: str = ""
    not_graded: str = Field(default="", description="why this student could not be graded (their Slurm task failed "
                            "every try); a rerun of the same command grades them again")

    @classmethod
    def load(cls, path: Path) -> Result:
        try:
            return cls.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            raise ConfigError(f"{path}: not a valid result file:\n{_describe(exc, None)}") from None


# ------------------------------------------------------------- gradescope ---


class GradescopeTest(BaseModel):
    """One entry of Gradescope's ``tests`` (its documented fields only)."""

    model_config = ConfigDict(extra="forbid")
    score: float
    max_score: float
    status: Status
    name: str
    name_format: Literal["text", "html", "simple_format", "md", "ansi"] = "text"
    number: str | None = None
    output: str = ""
    output_format: Literal["text", "html", "simple_format", "md", "ansi"] = "text"
    tags: list[str] = Field(default_factory=list)
    visibility: Visibility = "visible"
    extra_data: dict[str, Any] = Field(default_factory=dict)


class GradescopeResults(BaseModel):
    """Gradescope's ``/autograder/results/results.json``, with only the fields its
    autograder specification documents (so Gradescope reads every one of them)."""

    model_config = ConfigDict(extra="forbid")
    score: float | None = None
    execution_time: float | None = None
    output: str = ""
    output_format: Literal["text", "html", "simple_format", "md", "ansi"] = "text"
    test_output_format: Literal["text", "html", "simple_format", "md", "ansi"] = "text"
    test_name_format: Literal["text", "html", "simple_format", "md", "ansi"] = "text"
    visibility: Visibility = "visible"
    stdout_visibility: Literal["hidden", "visible"] = "hidden"
    extra_data: dict[str, Any] = Field(default_factory=dict)
    tests: list[GradescopeTest] = Field(default_factory=list)
    leaderboard: list[dict[str, Any]] = Field(default_factory=list)


# ---------------------------------------------------------------- wire ------


class WorkerFault(BaseModel):
    """What went wrong inside the worker, described for the student."""

    model_config = ConfigDict(extra="ignore")
    kind: Literal["wrong", "student", "not_implemented", "import", "unknown", "driver"]  # driver: the grader's own bug
    type: str = Field(max_length=200)
    message: str = Field(max_length=20_000)
    traceback: str = Field(default="", max_length=20_000)
    frames: str = Field(default="", max_length=20_000, description="the student's own frames, without the exception line")


class WorkerReply(BaseModel):
    """The JSON header of every reply frame; tensors travel beside it as safetensors."""

    model_config = ConfigDict(extra="ignore")
    ok: bool = False
    ended: int | None = None  # a container's box: its worker exited with this status (no reply will come)
    witness: str | None = Field(default=None, max_length=500)  # a watch saw this while the call ran (not the reply)
    fault: WorkerFault | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    info: dict[str, Any] = Field(default_factory=dict)
