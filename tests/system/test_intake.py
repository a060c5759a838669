"""Intake of the layouts instructors have: per-student folders/zips, Gradescope's export, Canvas's bulk download."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import PROGRESS, ROOT, run_cli
from grader._exceptions import ConfigError
from grader._course.intake import take_in

ALLOWED = ["backprop.py", "momentum.py"]
EXAMPLES = ROOT / "examples" / "mfdnn-hw5"

METADATA = """\
submission_1001:
  :submitters:
  - :name: Erin Example
    :sid: '501'
    :email: erin@uni.edu
  :created_at: 2026-11-20 10:00:00.000000000 -08:00
  :score: 0.0
submission_1002:
  :submitters:
  - :name: Frank Example
    :sid: '502'
    :email: frank@uni.edu
  - :name: Grace Partner
    :sid: '503'
    :email: grace@uni.edu
  :created_at: 2026-11-20 11:00:00.000000000 -08:00
submission_1003:
  :submitters:
  - :name: Gone Student
    :sid: '504'
    :email: gone@uni.edu
"""


def gradescope_export(root: Path) -> Path:
    export = root / "assignment_123_export"
    (export / "submission_1001").mkdir(parents=True)
    (export / "submission_1002" / "hw5").mkdir(parents=True)
    (export / "submission_9999").mkdir(parents=True)  # not in the metadata
    for f in ALLOWED:
        shutil.copyfile(EXAMPLES / "erin" / f, export / "submission_1001" / f)
        shutil.copyfile(EXAMPLES / "frank" / f, export / "submission_1002" / "hw5" / f)
    (export / "submission_1002" / "hw5" / "notes.txt").write_text("not graded")
    (export / "submission_metadata.yml").write_text(METADATA)
    return export


def canvas_download(root: Path) -> Path:
    flat = root / "submissions"
    flat.mkdir()
    for f in ALLOWED:
        shutil.copyfile(EXAMPLES / "erin" / f, flat / f"exampleerin_501_9001_{f}")
        shutil.copyfile(EXAMPLES / "heidi" / f, flat / f"examplefrank_LATE_502_9002_{f}")  # first upload: the template
        stem = f.removesuffix(".py")
        shutil.copyfile(EXAMPLES / "frank" / f, flat / f"examplefrank_LATE_502_9010_{stem}-1.py")  # the resubmission
    (flat / "exampleerin_501_9003_report.pdf").write_bytes(b"%PDF")
    (flat / "README.txt").write_text("downloaded from Canvas")
    return flat


def test_a_gradescope_export_folder_is_matched_by_its_metadata(tmp_path: Path) -> None:
    intake = take_in(gradescope_export(tmp_path), ALLOWED, tmp_path / "scratch")
    assert intake.layout.startswith("Gradescope")
    by = {s.student: s for s in intake.submissions}
    assert sorted(by) == ["erin@uni.edu", "frank@uni.edu", "gone@uni.edu", "grace@uni.edu"]
    assert sorted(by["erin@uni.edu"].files) == ALLOWED
    assert by["frank@uni.edu"].files["backprop.py"].read_text() == (EXAMPLES / "frank" / "backprop.py").read_text()
    # a group's members are each a student, graded once on the group's upload
    assert by["grace@uni.edu"].leader is by["frank@uni.edu"] and by["grace@uni.edu"].files == by["frank@uni.edu"].files
    assert all(any("group submission 1002 (frank@uni.edu, grace@uni.edu)" in n for n in by[s].notes)
               for s in ("frank@uni.edu", "grace@uni.edu"))
    assert "not in the export" in (by["gone@uni.edu"].problem or "")
    assert any("submission_9999: not listed" in i for i in intake.ignored)


def test_a_gradescope_export_zip_is_taken_in_whole(tmp_path: Path) -> None:
    export = gradescope_export(tmp_path / "src")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(export.rglob("*")):
            zf.write(p, p.relative_to(export.parent))
    intake = take_in(archive, ALLOWED, tmp_path / "scratch")
    assert [s.student for s in intake.submissions] == ["erin@uni.edu", "frank@uni.edu", "gone@uni.edu", "grace@uni.edu"]


def test_a_canvas_download_is_split_by_login_and_the_newest_upload_wins(tmp_path: Path) -> None:
    intake = take_in(canvas_download(tmp_path), ALLOWED, tmp_path / "scratch")
    assert intake.layout.startswith("Canvas")
    by = {s.student: s for s in intake.submissions}
    assert sorted(by) == ["exampleerin", "examplefrank"]
    assert sorted(by["exampleerin"].files) == ALLOWED
    assert by["examplefrank"].files["momentum.py"].name == "examplefrank_LATE_502_9010_momentum-1.py"
    assert any("2 uploads, used the newest" in n for n in by["examplefrank"].notes)
    assert any("report.pdf is not a file of this assignment" in n for n in by["exampleerin"].notes)
    assert any("README.txt: not a Canvas submission file name" in i for i in intake.ignored)
    text = "\n".join(intake.summary())
    assert "Canvas bulk download (login_userid_fileid_name); 2 students (0 refused)" in text and "exampleerin" in text


def test_an_unsafe_zip_is_refused_for_that_student_alone(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    (classroom / "ok").mkdir(parents=True)
    shutil.copyfile(EXAMPLES / "erin" / "backprop.py", classroom / "ok" / "backprop.py")
    with zipfile.ZipFile(classroom / "sly.zip", "w") as zf:
        zf.writestr("../../escape.py", "x = 1")
    with zipfile.ZipFile(classroom / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("backprop.py", b"0" * (300 << 20))
    intake = take_in(classroom, ALLOWED, tmp_path / "scratch")
    by = {s.student: s for s in intake.submissions}
    assert "unsafe path" in (by["sly"].problem or "") and "more than 200 MB" in (by["bomb"].problem or "")
    assert by["ok"].problem is None and not (tmp_path / "escape.py").exists()


def test_a_zip_that_is_no_gradescope_export_says_what_to_give(tmp_path: Path) -> None:
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("alice/backprop.py", "x = 1")
    with pytest.raises(ConfigError, match="not a Gradescope export"):
        take_in(archive, ALLOWED, tmp_path / "scratch")


@pytest.mark.parametrize("layout", ["gradescope", "canvas"])
def test_one_command_grades_each_layout_and_shows_the_intake_first(tmp_path: Path, layout: str) -> None:
    src = gradescope_export(tmp_path) if layout == "gradescope" else canvas_download(tmp_path)
    out = tmp_path / "out"
    proc = run_cli("grade", "mfdnn-hw5", src, "--out", out, "--seed", "3", "--problem", "momentum")
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = PROGRESS.search(proc.stderr)
    assert first and proc.stderr.index("Intake: ") < first.start()  # the summary comes before any grading
    assert (out / "intake.txt").read_text().startswith("Intake: ")
    erin = "erin@uni.edu" if layout == "gradescope" else "exampleerin"
    frank = "frank@uni.edu" if layout == "gradescope" else "examplefrank"
    scores = {d.name: json.loads((d / "result.json").read_text())["problems"] for d in out.iterdir() if d.is_dir()}
    assert scores[erin][0]["score"] == 25  # erin's momentum is right
    assert scores[frank][0]["score"] > 0  # frank's (newest) upload, not the template, which scores 0
    rows = list(csv.reader((out / "gradebook-canvas.csv").read_text().splitlines()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mfdnn-hw5"]
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) == 25
    by = {r[0]: r for r in rows[2:]}
    assert sorted(by) == sorted(scores)  # every student graded, once
    # Canvas matches by its user id where the download named it, else by login
    canvas = layout == "canvas"
    assert (by[erin][1], by[frank][1]) == (("501", "502") if canvas else ("", ""))
    assert (by[erin][3], by[frank][3]) == (("", "") if canvas else (erin, frank))
    assert float(by[erin][5]) == 25 and float(by[frank][5]) == scores[frank][0]["score"]


def _grade(src: Path, out: Path) -> dict[str, dict]:
    proc = run_cli("grade", "mfdnn-hw5", src, "--out", out, "--seed", "3", "--problem", "momentum")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {d.name: json.loads((d / "result.json").read_text()) for d in out.iterdir() if (d / "result.json").is_file()}


def _canvas_rows(out: Path) -> list[list[str]]:
    return list(csv.reader((out / "gradebook-canvas.csv").read_text().splitlines()))[2:]


def test_two_canvas_users_with_one_login_are_graded_apart_and_matched_by_their_ids(tmp_path: Path) -> None:
    flat = tmp_path / "submissions"
    flat.mkdir()
    shutil.copyfile(EXAMPLES / "erin" / "momentum.py", flat / "exampleerin_501_9001_momentum.py")
    # Another Canvas user whose name gives the same login hands in the template (0 points), later.
    shutil.copyfile(EXAMPLES / "heidi" / "momentum.py", flat / "exampleerin_LATE_503_9020_momentum-1.py")
    out = tmp_path / "out"
    results = _grade(flat, out)
    by_id = {r["canvas_id"]: r for r in results.values()}
    assert sorted(by_id) == ["501", "503"], sorted(results)
    assert by_id["501"]["score"] == 25 and by_id["503"]["score"] == 0  # each on their own upload
    rows = _canvas_rows(out)
    assert sorted((r[1], float(r[5])) for r in rows) == [("501", 25.0), ("503", 0.0)]  # Canvas matches by ID
    assert len(list(csv.reader((out / "gradebook.csv").read_text().splitlines()))) == 3  # a row per person
    intake = (out / "intake.txt").read_text()
    for uid, r in by_id.items():
        note = next(n for n in r["intake_notes"] if "another Canvas user" in n)
        assert f"user {uid}" in note and note in intake
        assert "another Canvas user" in (out / r["student"] / "feedback.html").read_text()


def test_a_stored_result_counts_only_for_the_canvas_user_it_was_graded_for(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = tmp_path / "first"
    first.mkdir()
    shutil.copyfile(EXAMPLES / "erin" / "momentum.py", first / "ann_500_9001_momentum.py")
    assert _grade(first, out)["ann"]["score"] == 25
    # Next time, Ann's name in Canvas has changed and another user's name gives "ann".
    second = tmp_path / "second"
    second.mkdir()
    shutil.copyfile(EXAMPLES / "erin" / "momentum.py", second / "annsmith_500_9001_momentum.py")
    shutil.copyfile(EXAMPLES / "heidi" / "momentum.py", second / "ann_600_9030_momentum.py")
    results = _grade(second, out)
    assert (results["ann"]["canvas_id"], results["ann"]["score"]) == ("600", 0)  # graded, not given Ann's result
    assert (results["annsmith"]["canvas_id"], results["annsmith"]["score"]) == ("500", 25)
    assert sorted((r[1], float(r[5])) for r in _canvas_rows(out)) == [("500", 25.0), ("600", 0.0)]


def test_gradescope_submitters_whose_emails_make_one_name_keep_their_own_logins(tmp_path: Path) -> None:
    export = tmp_path / "export"
    for sub_id, who in (("submission_1", "erin"), ("submission_2", "heidi")):
        (export / sub_id).mkdir(parents=True)
        shutil.copyfile(EXAMPLES / who / "momentum.py", export / sub_id / "momentum.py")
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :email: o'brien@example.edu\n"
        "submission_2:\n  :submitters:\n  - :email: o_brien@example.edu\n")
    out = tmp_path / "out"
    results = _grade(export, out)
    assert sorted(r["score"] for r in results.values()) == [0, 25]
    # Canvas matches these rows by SIS Login ID: each the submitter's own e-mail, never the other's
    assert sorted((r[3], float(r[5])) for r in _canvas_rows(out)) == [("o'brien@example.edu", 25.0),
                                                                       ("o_brien@example.edu", 0.0)]


def test_a_student_slurm_could_not_grade_keeps_their_canvas_id(tmp_path: Path) -> None:
    from grader._course.layout import Course
    from grader._grading.api import canvas_gradebook
    from grader._platforms.slurm import not_graded_result

    flat = tmp_path / "submissions"
    flat.mkdir()
    for uid in ("500", "600"):
        (flat / f"ann_{uid}_9{uid}_momentum.py").write_text("x = 1\n")
    subs = take_in(flat, ALLOWED, tmp_path / "scratch").submissions
    a = Course.locate(ROOT).assignment("mfdnn-hw5")
    results = [not_graded_result(a, s.student, "its Slurm task failed", None, 1, s) for s in subs]
    assert sorted((r.student, r.canvas_id) for r in results) == [("ann_500", "500"), ("ann_600", "600")]
    assert all(any("another Canvas user" in n for n in r.intake_notes) for r in results)
    rows = list(csv.reader(canvas_gradebook(results).splitlines()))[2:]
    assert sorted((r[0], r[1], r[3]) for r in rows) == [("ann_500", "500", ""), ("ann_600", "600", "")]


def test_report_writes_a_person_once_when_an_earlier_batch_left_them_under_another_name(tmp_path: Path) -> None:
    from grader._grading.api import report
    from grader._course.models import ProblemResult, Result

    def stored(student: str, score: float, when: str, **who: str) -> None:
        r = Result(assignment="mfdnn-hw5", student=student, score=score, max_score=25.0, execution_time=0.1,
                   problems=[ProblemResult(id="momentum", title="M", score=score, max_score=25.0)], tests=[],
                   graded_at=when, **who)
        (out / student).mkdir(parents=True)
        (out / student / "result.json").write_text(r.model_dump_json())

    out = tmp_path / "out"
    stored("ann", 10, "2026-11-01T10:00:00+00:00", canvas_id="500")  # before another user's name gave "ann" too
    stored("ann_500", 25, "2026-11-08T10:00:00+00:00", canvas_id="500", login="")
    stored("ann_600", 0, "2026-11-08T10:00:00+00:00", canvas_id="600", login="")
    stored("o_brien@x.edu", 5, "2026-11-01T10:00:00+00:00")  # an older grader's result: no login stored
    stored("o_brien@x.edu_12", 7, "2026-11-08T10:00:00+00:00", login="o_brien@x.edu")
    stored("o_brien@x.edu_11", 9, "2026-11-08T10:00:00+00:00", login="o'brien@x.edu")
    report(out)
    rows = _canvas_rows(out)
    assert sorted((r[0], r[1], r[3], float(r[5])) for r in rows) == [
        ("ann_500", "500", "", 25.0), ("ann_600", "600", "", 0.0),
        ("o_brien@x.edu_11", "", "o'brien@x.edu", 9.0), ("o_brien@x.edu_12", "", "o_brien@x.edu", 7.0)]
    plain = list(csv.reader((out / "gradebook.csv").read_text().splitlines()))[1:]
    assert sorted(r[0] for r in plain) == ["ann_500", "ann_600", "o_brien@x.edu_11", "o_brien@x.edu_12"]
