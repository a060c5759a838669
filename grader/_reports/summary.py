"""The class summary page (summary.html) and ``grader report``: everything re-made from the
stored result.json files, without grading anything again."""

from __future__ import annotations

import json

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .._exceptions import ConfigError
from .._course.display import visible
from .feedback import VISIBILITY_LABELS, clean_output, points_text, seconds_text, template_env
from .._course.models import Result

STOP_OUTCOMES = ("failed", "error", "timeout")  # "missing" is counted per problem instead


@dataclass
class Bin:
    label: str
    count: int
    height: float  # percent of the tallest bin


@dataclass
class ProblemStats:
    id: str
    title: str
    max_score: str
    mean: str
    median: str
    full: int
    zero: int
    missing: int
    bins: list[Bin]


@dataclass
class Failure:
    test: str
    outcome: str
    message: str  # the first line of one student's real message (not the masked key), cut at a word
    count: int
    students: list[str]
    example: str = ""  # that student's whole message, for the page to fold
    example_student: str = ""
    key: str = ""  # what grouped them: the first line with values masked


@dataclass
class TestRate:
    """How one test of the assignment went across the class."""

    name: str
    problem: str
    hidden_label: str  # "" for a visible test
    passed: int
    graded: int  # passed, failed, error or timeout: the students graded on it
    missing: int  # file not submitted: not counted in graded
    skipped: int  # not run where they were graded (a GPU check on the CPU): not counted either
    failed: int = 0
    error: int = 0
    timeout: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.passed / self.graded if self.graded else 0.0

    @property
    def rate(self) -> str:
        return f"{self.percent:.0f}%" if self.graded else "–"


@dataclass
class Incident:
    student: str
    test: str
    outcome: str
    message: str


@dataclass
class Diagnosed:
    """The students whose answers on a problem match one known mistake's (their result's diagnosis)."""

    problem: str
    mistake: str
    hint: str
    shown: str
    count: int
    students: list[str]


@dataclass
class Slow:
    student: str
    seconds: str
    score: str


@dataclass
class SummaryView:
    assignment: str
    count: int
    mean: str
    median: str
    max_score: str
    problems: list[ProblemStats] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    slowest: list[Slow] = field(default_factory=list)
    total_bins: list[Bin] = field(default_factory=list)
    tests: list[TestRate] = field(default_factory=list)
    diagnosed: list[Diagnosed] = field(default_factory=list)
    similar: list[Similar] = field(default_factory=list)
    similar_page: str | None = None  # the class's similarity page, from summary.html; None: not computed


@dataclass
class Similar:
    """A pair of students whose code looks alike (``grader similarity``): evidence to look at."""

    a: str
    b: str
    score: str
    page: str  # its side-by-side page, from summary.html
    files: str


SIMILAR_SHOWN = 10  # pairs in the summary; the similarity page has every pair above its floor


def similar_pairs(similarity_json: Path) -> tuple[list[Similar], str] | None:
    """The most similar pairs of a class's similarity.json (``similarity/`` beside summary.html),
    and its page; None where it cannot be read (the summary is made without it)."""
    try:
        data = json.loads(similarity_json.read_text(encoding="utf-8"))
        pairs = sorted(data["pairs"], key=lambda p: -float(p["score"]))[:SIMILAR_SHOWN]
        folder = similarity_json.parent.name
        shown = [Similar(str(p["a"]), str(p["b"]), f"{float(p['score']):.2f}", f"{folder}/{p['page']}" if p.get("page") else "",
                         ", ".join(sorted(p.get("files", {})))) for p in pairs]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return shown, f"{folder}/similarity.html"


def diagnosed(results: list[Result]) -> list[Diagnosed]:
    """The class grouped by diagnosed mistake, the largest group first: who, and the hint."""
    groups: dict[tuple[str, str], Diagnosed] = {}
    for r in results:
        for p in r.problems:
            hints = {h.mistake: h for h in p.hints}
            for m in p.diagnosis:
                h = hints.get(m)
                g = groups.setdefault((p.id, m), Diagnosed(p.id, m, h.text if h else "", h.shown if h else "", 0, []))
                g.count += 1
                g.students.append(r.student)
    return sorted(groups.values(), key=lambda g: (-g.count, g.problem, g.mistake))


def load_results(out_dir: Path) -> list[Result]:
    """Every ``<student>/result.json`` under ``out_dir``, sorted by student."""
    if not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: no such output folder")
    results = []
    for path in sorted(out_dir.glob("*/result.json")):
        try:
            results.append(Result.model_validate_json(path.read_text(encoding="utf-8")))
        except ValueError as exc:
            raise ConfigError(f"{path}: not a result the grader wrote ({exc.__class__.__name__})") from None
    if not results:
        raise ConfigError(f"{out_dir}: no <student>/result.json in it; grade first (grader grade ... --out {out_dir})")
    assignments = {r.assignment for r in results}
    if len(assignments) > 1:
        raise ConfigError(f"{out_dir}: results of several assignments {sorted(assignments)}; one output folder per assignment")
    return sorted(results, key=lambda r: r.student)


def _bins(scores: list[float], max_score: float, n: int = 10) -> list[Bin]:
    """Counts of scores in n equal ranges of [0, max], the last one closed (full marks)."""
    if max_score <= 0:
        return []
    counts = [0] * n
    for s in scores:
        counts[min(n - 1, int(n * max(s, 0) / max_score))] += 1
    top = max(counts) or 1
    width = max_score / n
    return [Bin(f"{points_text(i * width)}–{points_text((i + 1) * width)}", c, 100 * c / top) for i, c in enumerate(counts)]


# A number that is a value: not part of a word or a name (x2, conv5x5, float32, A_1, s_5), an
# exponent (theta^2, theta^{k-1}) or a dotted name (features.0.weight). Signs, decimals,
# exponents (1e-05) and thousands separators (1,088,924) belong to the value; a hex address
# (0x7f3a) and sizes written AxB (a 3x4 matrix) are values too.
_VALUE = re.compile(
    r"(?<![\w.^+\-])(?<!\^\{)"
    r"(?:0[xX][0-9a-fA-F]+|\d+(?:x\d+)+"
    r"|[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"|[-+]?\.\d+(?:[eE][-+]?\d+)?)"
    r"(?!\w)(?!\.[A-Za-z_])"
)
_VALUES = re.compile(r"#(?:,\s*#)+")  # a list or shape of values, (4, 3) or [5, 6, 6, 1]: one mask, whatever its length
KEY_CHARS = 200  # of a first line: the gist that groups a mistake
SHOWN_CHARS = 200  # of the first line a group shows
EXAMPLE_CHARS = 4000  # of the whole message a group shows, folded
INCIDENT_CHARS = 300


def _line(text: str) -> str:
    """The first non-blank line of a test's output."""
    return next((l.strip() for l in text.splitlines() if l.strip()), "")


def _cut(text: str, limit: int) -> str:
    """``text`` of at most ``limit`` characters, cut at a word boundary and marked with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space < limit // 2:  # one long token: cut in it
        return head + "…"
    return head[:space].rstrip(" ,;:") + " …"  # at the last word boundary


def group_key(text: str) -> str:
    """What groups the same mistake of different students: the output's first line with the
    numbers that are values masked as "#" (the inputs and errors differ between students, the
    words do not). Digits that are part of a name or a formula are kept."""
    line = _VALUES.sub("#", _VALUE.sub("#", _line(text)))
    return _cut(line, KEY_CHARS) if line else "(no message)"


def build_summary(results: list[Result], similarity_json: Path | None = None) -> SummaryView:
    totals = [r.score for r in results]
    first = results[0]
    view = SummaryView(
        assignment=first.assignment,
        count=len(results),
        mean=points_text(statistics.fmean(totals)),
        median=points_text(statistics.median(totals)),
        max_score=points_text(first.max_score),
        total_bins=_bins(totals, first.max_score),
    )
    by_problem: dict[str, list[float]] = defaultdict(list)
    missing: Counter[str] = Counter(p for r in results for p in {t.problem for t in r.tests if t.outcome == "missing"})
    titles: dict[str, tuple[str, float]] = {}
    for r in results:
        for p in r.problems:
            by_problem[p.id].append(p.score)
            titles.setdefault(p.id, (p.title or p.id, p.max_score))
    for pid, scores in by_problem.items():
        title, max_score = titles[pid]
        view.problems.append(ProblemStats(
            pid, title, points_text(max_score), points_text(statistics.fmean(scores)), points_text(statistics.median(scores)),
            sum(s >= max_score for s in scores), sum(s <= 0 for s in scores), missing[pid], _bins(scores, max_score),
        ))  # fmt: skip
    groups: Counter[tuple[str, str, str]] = Counter()
    who: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    example: dict[tuple[str, str, str], str] = {}
    for r in results:
        for t in r.tests:
            if t.outcome in STOP_OUTCOMES:
                key = (t.name, t.outcome, group_key(t.output))
                groups[key] += 1
                who[key].append(r.student)
                example.setdefault(key, t.output)  # the first student's (by name), as they read it
            if t.outcome in ("error", "timeout"):
                view.incidents.append(Incident(r.student, t.name, t.outcome, _cut(_line(t.output), INCIDENT_CHARS)))
    for (n, o, m), c in groups.most_common(15):
        text, _ = clean_output(example[(n, o, m)])
        view.failures.append(Failure(
            n, o, _cut(_line(text), SHOWN_CHARS) or "(no message)", c, who[(n, o, m)][:8],
            example=_cut(text, EXAMPLE_CHARS), example_student=who[(n, o, m)][0], key=m,
        ))  # fmt: skip
    view.tests = pass_rates(results)
    view.diagnosed = diagnosed(results)
    if similarity_json is not None and (found := similar_pairs(similarity_json)) is not None:
        view.similar, view.similar_page = found
    view.slowest = [Slow(r.student, seconds_text(r.execution_time), points_text(r.score))
                    for r in sorted(results, key=lambda r: -r.execution_time)[:10]]  # fmt: skip
    return view


def _test_order(results: list[Result]) -> list[str]:
    """Every test name of the results, in rubric order: each result lists its tests in rubric
    order, and one that graded fewer problems (or tests) leaves gaps the others fill."""
    order: list[str] = []
    for r in results:
        names = [t.name for t in r.tests]
        for i, name in enumerate(names):
            if name not in order:  # before the next of this result's tests already placed, else last
                after = next((order.index(n) for n in names[i + 1 :] if n in order), len(order))
                order.insert(after, name)
    return order


def pass_rates(results: list[Result]) -> list[TestRate]:
    """For every test (hidden ones too), in rubric order: how many students passed it out of
    how many were graded on it; a student whose file was missing is counted apart."""
    rows: dict[str, TestRate] = {}
    for name in _test_order(results):
        rows[name] = TestRate(name, "", "", 0, 0, 0, 0)
    for r in results:
        for t in r.tests:
            row = rows[t.name]
            row.problem = row.problem or t.problem
            row.hidden_label = row.hidden_label or VISIBILITY_LABELS.get(t.visibility, "")
            if t.outcome == "missing":
                row.missing += 1
            elif t.outcome == "skipped":
                row.skipped += 1
            else:
                row.graded += 1
                row.passed += t.outcome == "passed"
                if t.outcome != "passed":
                    setattr(row, t.outcome, getattr(row, t.outcome) + 1)
    return list(rows.values())


def pass_rate_lines(rates: list[TestRate]) -> list[str]:
    """``pass_rates`` as text, for ``grader report``: one line a test."""
    width = len(str(max((r.graded for r in rates), default=0)))
    lines = []
    for r in rates:
        apart = [f"{n} {what}" for n, what in ((r.missing, "missing"), (r.skipped, "skipped")) if n]
        hidden = f" [{r.hidden_label}]" if r.hidden_label else ""
        lines.append(f"  {r.rate:>4}  {r.passed:>{width}}/{r.graded:<{width}}  {visible(r.name)}{hidden}"
                     + (f"  ({', '.join(apart)})" if apart else ""))
    return lines


def render_summary(results: list[Result], similarity_json: Path | None = None) -> str:
    return template_env().get_template("summary.html").render(page=build_summary(results, similarity_json))
