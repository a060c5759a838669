"""``grader similarity``: a class's submissions taken in as ``grade`` takes them in (the same
layouts; a notebook read by the code grading keeps of it), scored pair by pair
(``grader._reports.similarity``), and written for the instructor: similarity.json,
similarity.html and a side-by-side page per pair. No student code runs: it is only read."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._course.files import atomic_write
from .._course.intake import take_in
from .._course.layout import Course
from .._reports.similarity import FLOOR, MAX_CHARS, Similarity, as_json, compare, write_pages

PAGES = 100  # side-by-side pages written, highest pairs first
MIN_CLASS = 10  # a graded class smaller than this gets no similarity in its summary: every piece is rare


@dataclass
class SimilarityRun:
    similarity: Similarity
    json_path: Path
    page: Path


ClassRead = tuple[dict[str, dict[str, str]], dict[str, str], list[str]]  # read_class's: sources, templates, notes


def read_class(assignment: str, submissions_dir: Path, *, course: Course | None = None,
               layout: str = "auto") -> ClassRead:
    """Each student's code per file (student -> file -> code), the template's code per file,
    and notes on what could not be read. A group's upload counts once (its leader's)."""
    from .._notebooks.module import convert, template_names

    course = course or Course.locate()
    a = course.assignment(assignment)
    problems = [p for p in a.rubric.problems if p.file.endswith(".py")]
    templates = {p.file: t.read_text(encoding="utf-8", errors="replace") if (t := a.template_file(p.file)).is_file() else ""
                 for p in problems}  # (a template derived from the reference's solution markers too)
    sources: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="grader-similarity-"))
    try:
        intake = take_in(submissions_dir, a.student_files, scratch, layout=layout)
        for sub in intake.submissions:
            if sub.leader is not None or sub.problem:
                continue
            files: dict[str, str] = {}
            for p in problems:
                path = sub.files.get(p.file)
                if path is None:
                    continue
                if path.suffix.lower() == ".ipynb":
                    shown = sub.origin.get(p.file, path.name)
                    try:
                        nb = convert(path, p.module, mode=p.notebook, notebook_name=shown,
                                     wanted=template_names(a.template_dir / p.file))
                    except Exception as exc:  # noqa: BLE001 - one upload never stops the class
                        notes.append(f"{sub.student}: {p.file}: its notebook {shown} could not be read ({type(exc).__name__}); left out")
                        continue
                    files[p.file] = nb.kept
                else:
                    with path.open("rb") as f:
                        files[p.file] = f.read(MAX_CHARS).decode("utf-8", errors="replace")
            sources[sub.student] = files
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sources, templates, notes


def similarity(assignment: str, submissions_dir: Path, out_dir: Path, *, course: Course | None = None,
               layout: str = "auto", floor: float = FLOOR, pages: int = PAGES,
               read: ClassRead | None = None) -> SimilarityRun:
    """Score every pair of the class and write similarity.json, similarity.html and the
    side-by-side pages of the ``pages`` highest pairs into ``out_dir``. ``read``: what
    ``read_class`` gave for this class already (it is not read again)."""
    sources, templates, notes = read or read_class(assignment, submissions_dir, course=course, layout=layout)
    sim = compare(assignment, sources, templates, floor=floor)
    sim.notes = notes
    out_dir.mkdir(parents=True, exist_ok=True)
    page = write_pages(sim, sources, templates, out_dir, pages)
    path = out_dir / "similarity.json"
    atomic_write(path, json.dumps(as_json(sim), indent=2) + "\n")
    return SimilarityRun(sim, path, page)


log = logging.getLogger("grader")


def class_similarity(assignment: str, submissions_dir: Path, out_dir: Path, *, course: Course | None = None,
                     layout: str = "auto") -> Path | None:
    """The similarity of a graded class, for its summary page: written into
    ``out_dir/similarity/`` (similarity.json, its page and the side-by-side pages), its json's
    path returned; None for a class under ``MIN_CLASS`` students (its scores would say more
    about its size than its code). A failure here is logged, never the batch's: the grades
    are written already."""
    try:
        read = read_class(assignment, submissions_dir, course=course, layout=layout)  # once: similarity() takes it
        if len(read[0]) < MIN_CLASS:
            return None
        if "similarity" in read[0]:  # that student's folder is out_dir/similarity: the report is not written over it
            log.warning("a student is named 'similarity': the class's similarity is left out of its summary "
                        "(`grader similarity` writes it elsewhere)")
            return None
        return similarity(assignment, submissions_dir, out_dir / "similarity", course=course, layout=layout,
                          read=read).json_path
    except Exception as exc:  # noqa: BLE001 - the grades stand whatever happens here
        log.warning("the class's similarity could not be computed (%s: %s); `grader similarity` computes it alone",
                    type(exc).__name__, exc)
        return None
