"""The published reference of ``rubric.toml`` (docs/rubric.md, docs/rubric.schema.json),
made from the models themselves: ``python -m grader._authoring.docs`` rewrites both, and a test of
the grader fails when they differ from what the models say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .mistakes import Edit, Mistake
from .._course.models import ByHand, ProblemSpec, Rubric, TestSpec

DOCS = Path(__file__).resolve().parents[2] / "docs"


def schema() -> str:
    return json.dumps(Rubric.model_json_schema(), indent=2) + "\n"


def _table(model: Any) -> list[str]:
    rows = ["| field | type | default | what it is |", "|---|---|---|---|"]
    for name, f in model.model_fields.items():
        ann = f.annotation
        kind = ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "").replace("grader._course.models.", "").replace("grader._authoring.mistakes.", "").replace(" | ", " or ")
        default = "required" if f.is_required() else ("[]" if f.default_factory is not None else repr(f.default))
        rows.append(f"| `{name}` | `{kind}` | {default} | {(f.description or '').replace('|', '/')} |")
    return rows


def markdown() -> str:
    lines = ["# rubric.toml, field by field", "",
             "Made from the grader's models by `python -m grader._authoring.docs` (a test keeps it true); the same as a JSON schema:",
             "[rubric.schema.json](rubric.schema.json). Unknown fields are refused, with the file and the field named.", "",
             "## The assignment (top level)", "", *_table(Rubric), "",
             "## `[[problems]]`", "", *_table(ProblemSpec), "",
             "The tests' points must add up to the problem's points; test names are unique in a problem.", "",
             "## `[problems.by_hand]`", "",
             "A problem that forbids a tool (\"by hand, without autograd\") says what its solution may use: every name",
             "the student's file uses must be in the allow-list (the vocabulary, plus `allow`, less `exclude`), read from",
             "the whole file except the bodies of its top-level `if __name__ == \"__main__\":` blocks, which the grader never",
             "runs. Its test calls `grader.checks.without(submission, run=...)`.", "", *_table(ByHand), "",
             "## `[[problems.tests]]`", "", *_table(TestSpec), "",
             "A test with any visibility but `visible` is defined in `hidden/test_<problem>.py`, a visible one in",
             "`test_<problem>.py`: the rubric does not load otherwise (that is what keeps hidden checks out of a release).", "",
             "## mistakes.toml: `[[mistake]]`", "",
             "Known mistakes, beside the rubric (never released): `grader validate` grades each one.", "",
             *_table(Mistake), "", "### `[[mistake.edit]]`", "", *_table(Edit), "",
             "## course.toml", "",
             "| field | type | what it is |", "|---|---|---|",
             "| `title` | `str` | the course's title |",
             "| `install` | `str` | the command a release tells students to run to install the grader (default: the wheel shipped in the release) |",
             "| `released` | `bool` | written by `grader release`: a student's copy (public checks only) |", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    (DOCS / "rubric.schema.json").write_text(schema(), encoding="utf-8")
    (DOCS / "rubric.md").write_text(markdown(), encoding="utf-8")
