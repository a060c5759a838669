"""The class summary's "Similar code" section: the most similar pairs of the class's
similarity.json (computed with the grades for a class of MIN_CLASS or more), linked to their
side-by-side pages; no section where it was not computed, and a class too small gets none."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader._course.layout import Course
from grader._grading import similarity as similarity_module
from grader._course.models import ProblemResult, Result
from grader._grading.similarity import MIN_CLASS, class_similarity
from grader._reports.summary import SIMILAR_SHOWN, render_summary

ROOT = Path(__file__).resolve().parents[3]


def results(n: int) -> list[Result]:
    return [Result(assignment="mfdnn-hw5", student=f"s{i:02d}", score=1.0, max_score=2.0, execution_time=1.0,
                   problems=[ProblemResult(id="momentum", score=1.0, max_score=2.0)], tests=[], mode="grade", seed=1,
                   device="cpu") for i in range(n)]


def similarity_json(tmp_path: Path, pairs: list[tuple[str, str, float]]) -> Path:
    path = tmp_path / "similarity" / "similarity.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pairs": [{"a": a, "b": b, "score": s, "page": f"similarity/pair-{i:04d}.html",
                                           "files": {"momentum.py": {}}} for i, (a, b, s) in enumerate(pairs, 1)]}))
    return path


def test_the_summary_lists_the_most_similar_pairs_with_their_pages(tmp_path: Path) -> None:
    pairs = [(f"s{i:02d}", f"s{i + 1:02d}", 0.2 + i / 100) for i in range(SIMILAR_SHOWN + 3)]
    page = render_summary(results(20), similarity_json(tmp_path, pairs))
    assert "Similar code" in page and "never a verdict" in page and 'href="similarity/similarity.html"' in page
    top = pairs[-1]
    assert f"{top[0]} and {top[1]}" in page and f"{top[2]:.2f}" in page
    assert page.index(f"{top[0]} and {top[1]}") < page.index(f"{pairs[-2][0]} and {pairs[-2][1]}")  # highest first
    assert f"{pairs[0][0]} and {pairs[0][1]}" not in page  # beyond the first SIMILAR_SHOWN: on the similarity page only
    assert 'href="similarity/similarity/pair-' in page


def test_no_section_without_a_similarity_and_none_from_an_unreadable_one(tmp_path: Path) -> None:
    assert "Similar code" not in render_summary(results(3))
    broken = tmp_path / "similarity.json"
    broken.write_text("{not json")
    assert "Similar code" not in render_summary(results(3), broken)


def test_a_class_under_the_minimum_gets_no_similarity_and_a_class_at_it_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = Course(ROOT)
    reads: list[Path] = []
    real = similarity_module.read_class

    def counted(assignment: str, submissions_dir: Path, **kw: object) -> object:
        reads.append(submissions_dir)
        return real(assignment, submissions_dir, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(similarity_module, "read_class", counted)
    small, big = tmp_path / "small", tmp_path / "big"
    people = ["erin", "frank", "grace", "heidi"]
    for i in range(MIN_CLASS):
        who = people[i % len(people)]
        for folder, n in ((small, MIN_CLASS - 1), (big, MIN_CLASS)):
            if i < n:
                shutil.copytree(ROOT / "examples" / "mfdnn-hw5" / who, folder / f"{who}{i}")
    assert class_similarity("mfdnn-hw5", small, tmp_path / "out-small", course=course) is None
    assert not (tmp_path / "out-small").exists()
    found = class_similarity("mfdnn-hw5", big, tmp_path / "out-big", course=course)
    assert found == tmp_path / "out-big" / "similarity" / "similarity.json"
    data = json.loads(found.read_text())
    assert data["students"] == MIN_CLASS and data["pairs"]
    assert reads == [small, big]  # each class read once (intake, notebooks), counted then compared
    top = data["pairs"][0]
    assert top["a"].rstrip("0123456789") == top["b"].rstrip("0123456789")  # copies of one example student
