"""The per-student HTML feedback page: one self-contained file rendered from a `Result`.

Why one module of about 500 lines: the page's every decision (what a student may see of
each test, the hidden totals, how numbers are written) is made in one view built in one
place; split, the rule of what a student sees would live in two files that must agree.

The page is built in two steps: `_build_page` turns a `Result` into plain view objects (what
is shown to whom, numbers already formatted), and `templates/feedback.html` lays them out.
All the deciding (what a student may see, which totals to show) happens here, so the
template only displays.

Student output is untrusted text: the template environment autoescapes everything, and the
page also carries a Content-Security-Policy that forbids scripts and any network access.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from .._course.display import finalize
from .._course.models import Outcome, ProblemResult, Result, TestResult
from .shown import later_sentence, shown_time

__all__ = ["Audience", "render_feedback", "write_feedback"]

Audience = Literal["student", "instructor"]

# An output longer than this is cut in the middle: its head (what was compared) and its tail
# (the last frames of a traceback) are what a reader needs.
MAX_OUTPUT_CHARS = 20_000
_HEAD_CHARS = 12_000

OUTCOME_LABELS: dict[Outcome, str] = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "timeout": "timeout",
    "missing": "missing",
    "skipped": "skipped",
}

# What each outcome means, in the order the legend lists them.
OUTCOME_MEANINGS: list[tuple[Outcome, str]] = [
    ("passed", "your code ran and the answer was right."),
    ("failed", "your code ran, but the answer was wrong; the message says what was compared and by how much."),
    ("error", "your code raised an exception or crashed (the message shows where)."),
    ("timeout", "your code ran out of time before it finished."),
    ("missing", "the file this test needs was not submitted."),
    ("skipped", "the test was not run here, for example a GPU-only check on a machine without a GPU."),
]

VISIBILITY_LABELS = {
    "hidden": "hidden",
    "after_due_date": "hidden until due date",
    "after_published": "hidden until published",
}

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


# ------------------------------------------------------------ view model ----


@dataclass(frozen=True)
class TestView:
    name: str  # as displayed (the "<problem>: " prefix dropped under its problem's heading)
    full_name: str
    outcome: Outcome
    label: str
    score: str
    max_score: str
    output: str
    cut_chars: int  # characters of output left out in the middle (0: shown whole)
    hidden_label: str  # "" for visible tests; shown only to instructors
    function: str  # the rubric's test function; shown only to instructors
    duration: str
    cause: int = 0  # its message is its problem's cause number ``cause`` (1-based), shown once above the tests
    cause_note: str = ""  # what the test says instead of repeating that message


@dataclass(frozen=True)
class CauseView:
    """A message several tests of a problem share (a file that failed to import, a stub not
    written yet, a file not submitted): shown once, in the problem's header block."""

    number: int
    outcome: Outcome
    label: str
    heading: str
    output: str
    cut_chars: int


@dataclass(frozen=True)
class ProblemView:
    id: str
    anchor: str
    title: str
    score: str
    max_score: str
    percent: float  # 0..100, for the bar
    full: bool
    tests: list[TestView]
    passed: int
    counted: int  # tests listed on the page
    hidden_count: int  # tests not listed (student page only): counted, never described
    hidden_sentence: str
    causes: list[CauseView] = field(default_factory=list)
    notebook: str = ""  # the notebook the problem was graded from, if any
    notebook_notes: list[str] = field(default_factory=list)
    cells: list[CellView] = field(default_factory=list)
    hints: list[HintView] = field(default_factory=list)  # the diagnosis' hints this audience may read


@dataclass(frozen=True)
class HintView:
    """A known mistake's hint under a problem: its text, and (instructor page) which mistake and who may read it."""

    text: str
    label: str = ""


def _hint_views(pr: ProblemResult | None, student_view: bool) -> list[HintView]:
    """The hints of ``pr``'s diagnosis: on a student's page only those marked for students
    (an instructors-only hint never reaches it), on the instructor's every one, labelled."""
    if pr is None:
        return []
    if student_view:
        return [HintView(h.text) for h in pr.hints if h.shown == "students"]
    return [HintView(h.text, f"{h.mistake}; shown to {h.shown}") for h in pr.hints]


@dataclass(frozen=True)
class CellView:
    """A notebook cell a message names, as the page shows it: its label and numbered lines."""

    label: str
    lines: list[tuple[int, str, bool]]  # (number, text, named by a message)


def _cell_view(index: int, count: int | None, source: str, named: list[int]) -> CellView:
    label = f"Cell {index}" + (f" (In [{count}])" if count is not None else "")
    if named:
        label += f", line{'s' if len(named) > 1 else ''} " + ", ".join(map(str, named[:6]))
    rows = [(n, text, n in named) for n, text in enumerate(source.split("\n"), start=1)]
    if named and len(rows) > 30:  # a long cell: the lines around the named ones, the rest elided ("...")
        near = {n for line in named for n in range(line - 5, line + 6)}
        cut: list[tuple[int, str, bool]] = []
        for row in rows:
            if row[0] in near:
                cut.append(row)
            elif not cut or cut[-1][0] != 0:
                cut.append((0, "...", False))
        rows = cut
    return CellView(label, rows)


@dataclass(frozen=True)
class MetaItem:
    label: str
    value: str
    mono: bool = False


@dataclass(frozen=True)
class PageView:
    audience: Audience
    assignment: str
    student: str
    score: str
    max_score: str
    percent: float
    percent_text: str
    full: bool
    scope_note: str  # why the totals are what they are ("" when nothing to say)
    mode: str
    meta: list[MetaItem]
    problems: list[ProblemView]
    legend: list[tuple[str, str, str]] = field(default_factory=list)  # (outcome, label, meaning)
    instructor_note: str = ""
    intake_notes: list[str] = field(default_factory=list)  # what intake said of the upload


# ------------------------------------------------------------ formatting ----


def points_text(x: float) -> str:
    """37.5 -> "37.5", 20.0 -> "20", 2.3333 -> "2.33"."""
    if not math.isfinite(x):
        return str(x)
    r = round(x, 2)
    if r == int(r):
        return str(int(r))
    return f"{r:.2f}".rstrip("0").rstrip(".")


def _plural(n: float, one: str, many: str) -> str:
    return one if n == 1 else many


def _percent(score: float, max_score: float) -> float:
    if max_score <= 0 or not math.isfinite(score) or not math.isfinite(max_score):
        return 0.0
    return max(0.0, min(100.0, 100.0 * score / max_score))


_ISOLATION = {
    "root": "namespaces of its own (as root)",
    "rootless": "namespaces of its own (rootless)",
    "container": "a container",
    "none": "none: run uncontained (--unsandboxed)",
}


def seconds_text(t: float) -> str:
    if not math.isfinite(t) or t < 0:
        return str(t)
    if t < 10:
        return f"{t:.2g} s" if t < 1 else f"{t:.1f} s"
    if t < 60:
        return f"{t:.0f} s"
    minutes, secs = divmod(round(t), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _when(stamp: str) -> str:
    try:
        dt = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    text = f"{dt.day} {dt:%B %Y}, {dt:%H:%M}"
    if dt.tzinfo is not None:
        text += " " + (dt.tzname() or dt.strftime("%z"))
    return text


def _device(device: str) -> str:
    return "CPU" if device.lower() == "cpu" else device


def clean_output(text: str) -> tuple[str, int]:
    """Printable text with newlines kept: no terminal colour codes or stray control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    text = text.rstrip()
    if len(text) <= MAX_OUTPUT_CHARS:
        return text, 0
    tail = MAX_OUTPUT_CHARS - _HEAD_CHARS
    cut = len(text) - MAX_OUTPUT_CHARS
    return text[:_HEAD_CHARS] + f"\n\n[… {cut:,} characters left out here …]\n\n" + text[-tail:], cut


def _anchor(problem_id: str, used: set[str]) -> str:
    base = "p-" + (_NOT_ID.sub("-", problem_id).strip("-") or "problem")
    anchor, n = base, 2
    while anchor in used:
        anchor, n = f"{base}-{n}", n + 1
    used.add(anchor)
    return anchor


def _test_view(t: TestResult) -> TestView:
    prefix = f"{t.problem}: "
    name = t.name[len(prefix) :] if t.name.startswith(prefix) and len(t.name) > len(prefix) else t.name
    output, cut = clean_output(t.output)
    return TestView(
        name=name,
        full_name=t.name,
        outcome=t.outcome,
        label=OUTCOME_LABELS[t.outcome],
        score=points_text(t.score),
        max_score=points_text(t.max_score),
        output=output,
        cut_chars=cut,
        hidden_label=VISIBILITY_LABELS.get(t.visibility, ""),
        function=t.test,
        duration=seconds_text(t.duration) if t.duration > 0 else "",
    )


def _one_message_per_cause(tests: list[TestView]) -> tuple[list[TestView], list[CauseView]]:
    """One message per cause: an output that two or more of a problem's listed tests share
    (not passed; the same outcome and text) becomes one of the problem's causes, shown once
    in the problem's header block, and those tests say "Same message as at the top of this
    problem" instead of repeating it. ``grader check`` does the same in the terminal
    ("(the same as above)")."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(tests):
        if t.outcome != "passed" and t.output:
            groups.setdefault((t.outcome, t.output), []).append(i)
    shared = [(key, idx) for key, idx in groups.items() if len(idx) > 1]
    if not shared:
        return tests, []
    tests = list(tests)
    causes: list[CauseView] = []
    numbered = len(shared) > 1
    for n, ((outcome, output), idx) in enumerate(shared, start=1):
        which = f"all {len(idx)} tests" if len(idx) == len(tests) else f"{len(idx)} of the {len(tests)} tests"
        heading = (f"Message {n}, the same for {which} below" if numbered else f"The same message for {which} below") + ":"
        causes.append(CauseView(n, outcome, OUTCOME_LABELS[outcome], heading, output, tests[idx[0]].cut_chars))  # type: ignore[index, arg-type]
        note = f"Same message as message {n} at the top of this problem." if numbered else "Same message as at the top of this problem."
        for i in idx:
            tests[i] = replace(tests[i], output="", cut_chars=0, cause=n, cause_note=note)
    return tests, causes


# ------------------------------------------------------------ building ----


def _build_page(result: Result, problem_titles: dict[str, str], audience: Audience) -> PageView:
    student_view = audience == "student"

    # Tests grouped by problem, in the result's problem order; a test naming a problem the
    # result does not list still gets a section (nothing a grader wrote is silently dropped).
    order = [p.id for p in result.problems]
    by_problem: dict[str, list[TestResult]] = {pid: [] for pid in order}
    for t in result.tests:
        if t.problem not in by_problem:
            by_problem[t.problem] = []
            order.append(t.problem)
        by_problem[t.problem].append(t)
    problem_results = {p.id: p for p in result.problems}

    used_anchors: set[str] = set()
    problems: list[ProblemView] = []
    total_score = total_max = 0.0
    hidden_total_count, hidden_total_points = 0, 0.0
    visible_score = visible_max = 0.0
    for pid in order:
        tests = by_problem[pid]
        visible = [t for t in tests if t.visibility == "visible"]
        hidden = [t for t in tests if t.visibility != "visible"]
        shown = visible if student_view else tests
        pr = problem_results.get(pid)
        visible_score += sum(t.score for t in visible)
        visible_max += sum(t.max_score for t in visible)

        if student_view:
            score = sum(t.score for t in visible)
            max_score = sum(t.max_score for t in visible)
            if not tests and pr is not None:  # a problem with no test lines: its own totals
                score, max_score = pr.score, pr.max_score
            hidden_count = len(hidden)
        else:
            score = pr.score if pr is not None else sum(t.score for t in tests)
            max_score = pr.max_score if pr is not None else sum(t.max_score for t in tests)
            hidden_count = 0
        total_score += score
        total_max += max_score
        hidden_total_count += len(hidden)
        hidden_total_points += sum(t.max_score for t in hidden)

        title = problem_titles.get(pid) or (pr.title if pr is not None else "") or pid
        tests_shown, causes = _one_message_per_cause([_test_view(t) for t in shown])
        problems.append(
            ProblemView(
                id=pid,
                anchor=_anchor(pid, used_anchors),
                title=title,
                score=points_text(score),
                max_score=points_text(max_score),
                percent=_percent(score, max_score),
                full=max_score > 0 and score >= max_score,
                tests=tests_shown,
                causes=causes,
                passed=sum(t.outcome == "passed" for t in shown),
                counted=len(shown),
                hidden_count=hidden_count,
                hidden_sentence=later_sentence(hidden_count),
                notebook=pr.notebook or "" if pr is not None else "",
                notebook_notes=list(pr.notes) if pr is not None else [],
                cells=[_cell_view(c.index, c.execution_count, c.source, c.lines) for c in pr.cells] if pr is not None else [],
                hints=_hint_views(pr, student_view),
            )
        )

    if not student_view:
        total_score, total_max = result.score, result.max_score

    scope_note = ""
    instructor_note = ""
    if student_view and hidden_total_count:
        scope_note = "These totals count only the tests you can see on this page. " + later_sentence(hidden_total_count)
    elif not student_view and hidden_total_count:
        instructor_note = (
            f"The student's page shows {points_text(visible_score)} / {points_text(visible_max)}: "
            f"the visible tests only ({hidden_total_count} hidden "
            f"{_plural(hidden_total_count, 'test', 'tests')} worth {points_text(hidden_total_points)} "
            f"{_plural(hidden_total_points, 'point', 'points')} not listed there)."
        )
    if result.mode == "check":
        check = "This is a self-check: only the public tests were run; your final grade may include more tests."
        scope_note = f"{scope_note} {check}".strip() if student_view else scope_note

    mode = "Self-check (public tests)" if result.mode == "check" else ("Not graded yet" if result.not_graded else "Graded")
    meta = [
        MetaItem("Run", mode),
        MetaItem("Device", _device(result.device)),
        MetaItem("Seed", str(result.seed), mono=True),
        # A student's page with tests not shown says the time of the tests it lists: the run's
        # whole time would count the others (a hidden test that ran out of time shows in it).
        MetaItem("Time of the tests shown", seconds_text(shown_time(result))) if student_view and hidden_total_count
        else MetaItem("Time", seconds_text(result.execution_time)),
        # The same inputs again (every test's inputs come from the seed), for the problems graded
        # here when they are fewer than the assignment's (``grader check --problem``).
        MetaItem("Run these tests again", f"grader check {result.assignment} {_checked(result)} --seed {result.seed}"
                 + _only_problems(result, problem_titles), mono=True),
    ]
    if result.graded_at:
        meta.append(MetaItem("Graded at", _when(result.graded_at)))
    if result.grader_version:
        meta.append(MetaItem("Grader", result.grader_version, mono=True))
    if result.isolation:
        meta.append(MetaItem("Sandbox", _ISOLATION.get(result.isolation, result.isolation)))

    return PageView(
        audience=audience,
        assignment=result.assignment,
        student=result.student,
        score=points_text(total_score),
        max_score=points_text(total_max),
        percent=_percent(total_score, total_max),
        percent_text=f"{_percent(total_score, total_max):.0f}%" if total_max > 0 else "",
        full=total_max > 0 and total_score >= total_max,
        scope_note=scope_note,
        mode=result.mode,
        meta=meta,
        problems=problems,
        legend=[(o, OUTCOME_LABELS[o], meaning) for o, meaning in OUTCOME_MEANINGS],
        instructor_note=instructor_note,
        intake_notes=list(result.intake_notes),
    )


# ------------------------------------------------------------ rendering ----


@lru_cache(maxsize=1)
def template_env() -> Environment:
    return Environment(
        loader=PackageLoader("grader", "templates"),
        autoescape=select_autoescape(["html"]),
        finalize=finalize,  # controls and bidi overrides in names and messages show as escapes
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _only_problems(result: Result, problem_titles: dict[str, str]) -> str:
    graded = [p.id for p in result.problems]
    if problem_titles and set(graded) < set(problem_titles):
        return "".join(f" --problem {pid}" for pid in graded)
    return ""


def _template() -> Template:
    return template_env().get_template("feedback.html")


def render_feedback(
    result: Result,
    *,
    problem_titles: dict[str, str] | None = None,
    audience: Audience = "student",
) -> str:
    """The feedback page for one student's result, as one self-contained HTML document.

    audience="student": only visible tests are listed and totalled (``grader._reports.shown``); the
    others appear as a count per problem, never their names, messages, points or times. audience="instructor": everything, hidden tests marked.
    problem_titles (problem id -> title, e.g. from the rubric) wins over the result's titles.
    """
    if audience not in ("student", "instructor"):
        raise ValueError(f"audience must be 'student' or 'instructor', not {audience!r}")
    page = _build_page(result, dict(problem_titles or {}), audience)
    return _template().render(page=page)


def _checked(result: Result) -> str:
    """What the self-check was run on: its folder (``.``), or the notebook every problem came from."""
    notebooks = {p.notebook for p in result.problems}
    only = notebooks.pop() if len(notebooks) == 1 else None
    return only if only and re.fullmatch(r"[\w.+-]+\.ipynb", only) else "."


def write_feedback(
    result: Result,
    path: Path,
    *,
    problem_titles: dict[str, str] | None = None,
    audience: Audience = "student",
) -> None:
    """Render the page and write it to `path` atomically: a reader sees the old file or the
    whole new one, never a part (temporary file in the same folder, then os.replace)."""
    html = render_feedback(result, problem_titles=problem_titles, audience=audience)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(html.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
