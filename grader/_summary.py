"""The class summary page (summary.html) and ``grader report``: everything re-made from the
stored result.json files, without grading anything again."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ._exceptions import ConfigError
from ._feedback import _points, _seconds, _template_env
from ._models import Result

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
    message: str
    count: int
    students: list[str]


@dataclass
class Incident:
    student: str
    test: str
    outcome: str
    message: str


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
    return [Bin(f"{_points(i * width)}–{_points((i + 1) * width)}", c, 100 * c / top) for i, c in enumerate(counts)]


def _first_line(text: str) -> str:
    """The gist of a test's output, with numbers masked so that the same mistake groups together."""
    line = next((l.strip() for l in text.splitlines() if l.strip()), "(no message)")
    line = re.sub(r"(?<![A-Za-z_\d])-?\d+(\.\d+)?(e[-+]?\d+)?", "#", line)
    return line[:200]


def build_summary(results: list[Result]) -> SummaryView:
    totals = [r.score for r in results]
    first = results[0]
    view = SummaryView(
        assignment=first.assignment,
        count=len(results),
        mean=_points(statistics.fmean(totals)),
        median=_points(statistics.median(totals)),
        max_score=_points(first.max_score),
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
            pid, title, _points(max_score), _points(statistics.fmean(scores)), _points(statistics.median(scores)),
            sum(s >= max_score for s in scores), sum(s <= 0 for s in scores), missing[pid], _bins(scores, max_score),
        ))  # fmt: skip
    groups: Counter[tuple[str, str, str]] = Counter()
    who: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for r in results:
        for t in r.tests:
            if t.outcome in STOP_OUTCOMES:
                key = (t.name, t.outcome, _first_line(t.output))
                groups[key] += 1
                who[key].append(r.student)
            if t.outcome in ("error", "timeout"):
                view.incidents.append(Incident(r.student, t.name, t.outcome, (t.output.strip().splitlines() or [""])[0][:300]))
    view.failures = [Failure(n, o, m, c, who[(n, o, m)][:8]) for (n, o, m), c in groups.most_common(15)]
    view.slowest = [Slow(r.student, _seconds(r.execution_time), _points(r.score))
                    for r in sorted(results, key=lambda r: -r.execution_time)[:10]]  # fmt: skip
    return view


def render_summary(results: list[Result]) -> str:
    return _template_env().get_template("summary.html").render(page=build_summary(results))
