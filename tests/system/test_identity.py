"""A student is who the LMS's ids say, never a name (a tester's findings, who had not read the code).

Each test is built from one of the tester's classes: a Gradescope submitter whose display
name is another's e-mail, submitters without an e-mail, a submission listed twice in the
metadata, group submissions, Canvas names with empty logins or digits, names too long for a
folder, a student's folder posing as an export, a stored result reused for another person.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, progress_students, run_cli
from grader._course.intake import Submission, take_in

ALLOWED = ["backprop.py", "momentum.py"]
EXAMPLES = ROOT / "examples" / "mfdnn-hw5"


def _export(folder: Path, metadata: str, uploads: dict[str, bytes]) -> Path:
    """A Gradescope export: submission_metadata.yml as written, and each folder's backprop.py."""
    for name, data in uploads.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "backprop.py").write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "submission_metadata.yml").write_text(metadata)
    return folder


def _flat(folder: Path, names: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in names.items():
        (folder / name).write_bytes(data)
    return folder


def _submitter(name: str, email: str | None = None, sid: str | None = None) -> str:
    lines = [f"  - :name: {name!r}"]
    lines += [f"    :email: {email!r}"] if email is not None else []
    lines += [f"    :sid: '{sid}'"] if sid is not None else []
    return "\n".join(lines)


def _meta(*entries: tuple[str, list[str]]) -> str:
    return "".join(f"{folder}:\n  :submitters:\n" + "\n".join(people) + "\n  :created_at: 2024-01-01 10:00:00.000000000 -08:00\n"
                   for folder, people in entries)


def _canvas_rows(subs: list[Submission]) -> list[list[str]]:
    """gradebook-canvas.csv's rows for these students (each as a result saying they were not graded)."""
    from grader._course.layout import Course
    from grader._grading.api import canvas_gradebook
    from grader._platforms.slurm import not_graded_result

    a = Course.locate(ROOT).assignment("mfdnn-hw5")
    results = [not_graded_result(a, s.student, "a test", None, 1, s) for s in subs]
    return list(csv.reader(canvas_gradebook(results).splitlines()))[2:]


# ------------------------------------------------------------------ Gradescope --


def test_a_display_name_is_never_an_identity_or_a_login(tmp_path: Path) -> None:
    # g16_nameaslogin: a submitter with no e-mail whose name is carol's e-mail, beside carol's own submission;
    # g17_cjkname: a name with no letter a folder name keeps.
    export = _export(tmp_path / "export", _meta(
        ("submission_101", [_submitter("Carol", "carol@uni.edu")]),
        ("submission_102", [_submitter("carol@uni.edu")]),
        ("submission_103", [_submitter("dave@uni.edu")]),
        ("submission_104", [_submitter("erin")]),
        ("submission_105", [_submitter("张" * 60)]),
    ), {f"submission_{i}": f"# {i}\n".encode() for i in range(101, 106)})
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    assert len(intake.submissions) == 5 and not intake.ignored, (intake.summary())
    carol = [s for s in intake.submissions if s.login == "carol@uni.edu"]
    assert len(carol) == 1 and carol[0].files["backprop.py"].read_bytes() == b"# 101\n"  # her own work
    assert carol[0].student == "carol@uni.edu"
    others = [s for s in intake.submissions if s is not carol[0]]
    for sub in others:
        number = sub.files["backprop.py"].read_bytes().decode().strip("# \n")
        assert sub.login == "" and "@" not in sub.student and sub.student.endswith(f"_{number}"), (sub.student, sub.login)
        assert any("no e-mail" in n and f"submission {number}" in n for n in sub.notes), sub.notes
    # Only carol's own e-mail is written as a login: no name imports into another person's row.
    rows = _canvas_rows(intake.submissions)
    assert sorted(r[3] for r in rows) == ["", "", "", "", "carol@uni.edu"]
    assert [r[0] for r in rows if r[3]] == ["carol@uni.edu"]


def test_a_gradescope_sid_is_the_sis_user_id_and_only_where_it_is_one_persons(tmp_path: Path) -> None:
    # g06_noemail: the sid was written as SIS Login ID; g06c_samesid: two people give one sid.
    export = _export(tmp_path / "export", _meta(
        ("submission_101", [_submitter("Alex Kim", sid="1")]),
        ("submission_102", [_submitter("Alex Kim", sid="2")]),
        ("submission_103", [_submitter("Zed Poe", sid="777")]),
        ("submission_104", [_submitter("Amy Poe", sid="777")]),
        ("submission_105", [_submitter("Bea", "bea@uni.edu", sid="5")]),
    ), {f"submission_{i}": b"# x\n" for i in range(101, 106)})
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    rows = {r[0]: r for r in _canvas_rows(intake.submissions)}
    assert len(rows) == 5
    by_sis = sorted((r[2], r[3]) for r in rows.values())
    # SIS User ID for the sids that are one person's; no sid anywhere as a login; bea by her e-mail
    assert by_sis == [("", ""), ("", ""), ("", "bea@uni.edu"), ("1", ""), ("2", "")], by_sis
    shared = [s for s in intake.submissions if "Poe" in s.student]
    assert len(shared) == 2 and all(s.sis_id is None and any("777" in n for n in s.notes) for s in shared)


def test_a_submission_listed_twice_in_the_metadata_is_no_ones_until_checked(tmp_path: Path) -> None:
    # g03_dupkey: submission_101 listed for alice, then for mal (PyYAML keeps the last silently).
    metadata = _meta(
        ("submission_101", [_submitter("Alice", "alice@uni.edu", "1")]),
        ("submission_102", [_submitter("Bob", "bob@uni.edu", "2")]),
        ("submission_101", [_submitter("Mal", "mal@uni.edu", "9")]),
    )
    export = _export(tmp_path / "export", metadata, {"submission_101": b"# alice's\n", "submission_102": b"# bob's\n"})
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    by = {s.student: s for s in intake.submissions}
    assert sorted(by) == ["bob@uni.edu", "submission_101"], sorted(by)
    sub = by["submission_101"]
    assert sub.files["backprop.py"].read_bytes() == b"# alice's\n" and sub.login == "" and sub.sis_id is None
    assert any("listed 2 times" in n for n in sub.notes), sub.notes
    text = "\n".join(intake.summary())
    assert "submission_101" in text and "alice@uni.edu" in text and "mal@uni.edu" in text and "2 times" in text
    # The same for a submitter listed with two e-mails.
    doubled = _export(tmp_path / "doubled", "submission_7:\n  :submitters:\n  - :name: A\n    :email: a@x.edu\n"
                      "    :email: b@x.edu\n", {"submission_7": b"# a\n"})
    only = take_in(doubled, ALLOWED, tmp_path / "scratch2").submissions
    assert [(s.student, s.login) for s in only] == [("submission_7", "")]


def test_every_member_of_a_group_gets_a_row_of_their_own(tmp_path: Path) -> None:
    # g01_group: only the first submitter got a row; the others were only noted.
    export = _export(tmp_path / "export", _meta(
        ("submission_101", [_submitter("Alice", "alice@uni.edu", "1"), _submitter("Carol", "carol@uni.edu", "3"),
                            _submitter("Dan", sid="4")]),
        ("submission_102", [_submitter("Bob", "bob@uni.edu", "2")]),
    ), {"submission_101": b"# group\n", "submission_102": b"# bob\n"})
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    by = {s.student: s for s in intake.submissions}
    assert sorted(by) == ["Dan_101", "alice@uni.edu", "bob@uni.edu", "carol@uni.edu"], sorted(by)
    alice, carol, dan = by["alice@uni.edu"], by["carol@uni.edu"], by["Dan_101"]
    assert alice.leader is None and carol.leader is alice and dan.leader is alice
    assert [m.student for m in alice.group] == ["carol@uni.edu", "Dan_101"]
    assert carol.files["backprop.py"].read_bytes() == b"# group\n"
    for sub in (alice, carol, dan):
        assert any("group submission" in n and "submission 101" in n for n in sub.notes), sub.notes
    assert any("alice@uni.edu's upload" in n for n in carol.notes), carol.notes
    rows = {r[0]: r for r in _canvas_rows(intake.submissions)}
    assert (rows["carol@uni.edu"][3], rows["Dan_101"][2], rows["Dan_101"][3]) == ("carol@uni.edu", "4", "")


def test_one_email_in_two_submissions_says_the_rule_used(tmp_path: Path) -> None:
    # g09b_idorder: the older submission id was created later; the rule is the highest submission id.
    export = _export(tmp_path / "export", _meta(
        ("submission_101", [_submitter("A", "alice@uni.edu")]),
        ("submission_102", [_submitter("A", "alice@uni.edu")]),
        ("submission_103", [_submitter("C", "carl@uni.edu"), _submitter("A", "alice@uni.edu")]),
        ("submission_99", [_submitter("C", "carl@uni.edu")]),
    ), {f"submission_{i}": f"# {i}\n".encode() for i in (99, 101, 102, 103)})
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    by = {s.student: s for s in intake.submissions}
    assert sorted(by) == ["alice@uni.edu", "carl@uni.edu"]
    assert by["alice@uni.edu"].files["backprop.py"].read_bytes() == b"# 103\n"  # 103 > 102 > 101 (not 99 > 103 as text)
    assert any("highest submission id" in n for n in by["alice@uni.edu"].notes), by["alice@uni.edu"].notes
    assert sorted(i.split(":")[0] for i in intake.ignored) == ["submission_101", "submission_102", "submission_99"]


def test_a_lone_students_folder_is_not_an_export_but_the_exports_zip_is(tmp_path: Path) -> None:
    # f03_lonefake: the class folder holds only eve/, with a metadata file naming ann.
    lone = tmp_path / "lone"
    _export(lone / "eve", _meta(("submission_1", [_submitter("Ann", "ann@uni.edu")])), {"submission_1": b"# eve\n"})
    intake = take_in(lone, ALLOWED, tmp_path / "s1")
    assert intake.layout.startswith("one folder") and [s.student for s in intake.submissions] == ["eve"]
    text = "\n".join(intake.summary())
    assert "eve/" in text and "--layout gradescope" in text, text
    # An unpacked export, as Gradescope names it, is still read as one.
    real = tmp_path / "real"
    _export(real / "assignment_55_export", _meta(("submission_1", [_submitter("Ann", "ann@uni.edu")])),
            {"submission_1": b"# ann\n"})
    assert [s.student for s in take_in(real, ALLOWED, tmp_path / "s2").submissions] == ["ann@uni.edu"]
    # g12_zip: the class folder holds only the export's .zip.
    zipped = tmp_path / "zipped"
    zipped.mkdir()
    with zipfile.ZipFile(zipped / "assignment_55_export.zip", "w") as zf:
        for p in sorted((real / "assignment_55_export").rglob("*")):
            zf.write(p, p.relative_to(real))
    intake = take_in(zipped, ALLOWED, tmp_path / "s3")
    assert intake.layout.startswith("Gradescope") and [s.student for s in intake.submissions] == ["ann@uni.edu"]


def test_a_stray_metadata_file_in_a_canvas_download_is_said_to_be_ambiguous(tmp_path: Path) -> None:
    # c07_stray: a submission_metadata.yml at the top of a Canvas download; its Canvas files dropped without a line.
    flat = _flat(tmp_path / "class", {"ann_500_1001_backprop.py": b"# ann\n", "carol_x_1003_backprop.py": b"# c\n",
                                      "notes.txt": b"x"})
    (flat / "submission_metadata.yml").write_text(_meta(("submission_1", [_submitter("Ann", "ann@uni.edu", "1")])))
    (flat / "bob").mkdir()
    (flat / "bob" / "backprop.py").write_bytes(b"# bob\n")
    text = "\n".join(take_in(flat, ALLOWED, tmp_path / "s").summary())
    assert "ann_500_1001_backprop.py" in text and "--layout canvas" in text, text


# ---------------------------------------------------------------------- Canvas --


def test_an_empty_canvas_login_is_just_empty(tmp_path: Path) -> None:
    # c11_emptylogin, c11b, c11c: Canvas makes "_600_1002_backprop.py" of a name with no letters.
    for case, names in {
        "all": ["_500_1001_backprop.py", "_600_1002_backprop.py", "_LATE_700_1003_backprop.py"],
        "mixed": ["ann_500_1001_backprop.py", "_600_1002_backprop.py", "_700_1003_backprop.py"],
        "one": ["ann_500_1001_backprop.py", "bob_600_1002_backprop.py", "_late_700_1003_backprop.py",
                "carl_800_1004_backprop.py"],
    }.items():
        flat = _flat(tmp_path / case, {n: f"# {n}\n".encode() for n in names})
        intake = take_in(flat, ALLOWED, tmp_path / f"s-{case}")
        assert intake.layout.startswith("Canvas"), (case, intake.layout)
        ids = {s.canvas_id: s for s in intake.submissions}
        assert sorted(ids) == sorted(n.split("_")[-3] for n in names), (case, intake.summary())
        for name in names:
            sub = ids[name.split("_")[-3]]
            assert sub.files["backprop.py"].name == name and sub.student and sub.login == ""
        assert not intake.ignored


def test_canvas_ids_are_the_two_numbers_before_the_file_name(tmp_path: Path) -> None:
    # c16_nameedit, c14: a name that ends in _<digits> ("Eve_500") is not user 500.
    flat = _flat(tmp_path / "class", {
        "ann_500_1001_backprop.py": b"# ann\n",
        "bob_600_1002_backprop.py": b"# bob\n",
        "smitheve_500_700_1005_backprop.py": b"# eve\n",
        "bob_600_800_1006_backprop-1.py": b"# bob_600, another user\n",
    })
    intake = take_in(flat, ALLOWED, tmp_path / "s")
    ids = {s.canvas_id: s for s in intake.submissions}
    assert sorted(ids) == ["500", "600", "700", "800"], intake.summary()
    assert ids["700"].files["backprop.py"].read_bytes() == b"# eve\n" and ids["700"].student == "smitheve_500"
    assert ids["500"].files["backprop.py"].read_bytes() == b"# ann\n" and not ids["500"].notes
    assert ids["800"].files["backprop.py"].read_bytes() == b"# bob_600, another user\n"


def test_hidden_entries_are_listed_as_ignored(tmp_path: Path) -> None:
    # f02_collide, c13_mixed: .slurm/, .hidden/ and .dave_700_1004_backprop.py were silently absent.
    classroom = tmp_path / "class"
    for who in (".slurm", ".hidden", "ann"):
        (classroom / who).mkdir(parents=True)
        (classroom / who / "backprop.py").write_bytes(b"# x\n")
    intake = take_in(classroom, ALLOWED, tmp_path / "s1")
    assert [s.student for s in intake.submissions] == ["ann"]
    assert sorted(i.split(":")[0] for i in intake.ignored) == [".hidden", ".slurm"], intake.ignored
    assert all("starts with a dot" in i for i in intake.ignored)
    flat = _flat(tmp_path / "canvas", {"ann_500_1001_backprop.py": b"# a\n", ".dave_700_1004_backprop.py": b"# d\n"})
    intake = take_in(flat, ALLOWED, tmp_path / "s2")
    assert [i.split(":")[0] for i in intake.ignored] == [".dave_700_1004_backprop.py"]


# ------------------------------------------------------------------ long names --


def test_names_too_long_for_a_folder_are_shortened_with_a_note(tmp_path: Path) -> None:
    # g07b_pathy (a 400-character name), g18b_maxemail (252-character e-mails + _<id>), f05_longcase (254 + -2).
    long_email = "o'b" + "x" * 61 + "@" + ".".join(["d" * 60] * 3) + ".eduu"
    export = _export(tmp_path / "export", _meta(
        ("submission_101", [_submitter("A", "alice@uni.edu")]),
        ("submission_102", [_submitter("B", long_email)]),
        ("submission_103", [_submitter("C", long_email.replace("'", "_"))]),
        ("submission_104", [_submitter("x" * 400)]),
    ), {f"submission_{i}": b"# x\n" for i in range(101, 105)})
    classroom = tmp_path / "class"
    for name in ("A" * 254, "a" * 254, "bob"):
        (classroom / name).mkdir(parents=True)
        (classroom / name / "backprop.py").write_bytes(b"# x\n")
    for source, count in ((export, 4), (classroom, 3)):
        intake = take_in(source, ALLOWED, tmp_path / f"s-{source.name}")
        names = [s.student for s in intake.submissions]
        assert len(names) == count and len({n.casefold() for n in names}) == count, names
        assert all(len(n.encode()) <= 255 for n in names), [len(n.encode()) for n in names]
        shortened = [s for s in intake.submissions if len(s.student) < 200 and s.student not in ("alice@uni.edu", "bob")]
        assert shortened and all(any("shortened" in n for n in s.notes) for s in shortened), [s.notes for s in shortened]
    # the e-mails are still the logins, whole
    logins = sorted(s.login or "" for s in take_in(export, ALLOWED, tmp_path / "s-again").submissions)
    assert logins == sorted(["", "alice@uni.edu", long_email, long_email.replace("'", "_")])


# ---------------------------------------------------------- resume and report --


def _stored(out: Path, sub: Submission, score: float, when: str = "2026-11-01T10:00:00+00:00") -> None:
    from grader._course.intake import identity
    from grader._course.models import ProblemResult, Result

    r = Result(assignment="mfdnn-hw5", student=sub.student, score=score, max_score=25.0, execution_time=0.1,
               problems=[ProblemResult(id="backprop", title="B", score=score, max_score=25.0)], tests=[],
               graded_at=when, **identity(sub))
    (out / sub.student).mkdir(parents=True, exist_ok=True)
    (out / sub.student / "result.json").write_text(r.model_dump_json())


def test_a_stored_result_is_reused_only_for_the_same_person_and_upload(tmp_path: Path) -> None:
    from grader._grading.api import finished_results

    out = tmp_path / "out"

    def batch(name: str, metadata: str, uploads: dict[str, bytes]) -> list[Submission]:
        return take_in(_export(tmp_path / name, metadata, uploads), ALLOWED, tmp_path / f"s-{name}").submissions

    def done(subs: list[Submission]) -> list[str]:
        return sorted(finished_results(out, "mfdnn-hw5", {"backprop"}, subs))

    # r4: batch 1 has submission 101 "Alex Kim", batch 2 another person's submission 102, also "Alex Kim".
    first = batch("r4a", _meta(("submission_101", [_submitter("Alex Kim")])), {"submission_101": b"# alex 1\n"})
    for sub in first:
        _stored(out, sub, 25)
    assert done(first) == [first[0].student]  # the same person and upload: reused
    second = batch("r4b", _meta(("submission_102", [_submitter("Alex Kim")])), {"submission_102": b"# alex 2\n"})
    assert done(second) == []
    # r6: alice's newer submission (a new id) is graded again, not given the old result.
    _stored(out, batch("r6a", _meta(("submission_101", [_submitter("A", "alice@uni.edu")])), {"submission_101": b"# 1\n"})[0], 25)
    newer = batch("r6b", _meta(("submission_105", [_submitter("A", "alice@uni.edu")])), {"submission_105": b"# 5\n"})
    assert newer[0].student == "alice@uni.edu" and done(newer) == []
    # r10: a folder alice@uni.edu/ graded first, then a Gradescope submission of alice@uni.edu.
    folder = tmp_path / "r10a"
    (folder / "alice@uni.edu").mkdir(parents=True)
    (folder / "alice@uni.edu" / "backprop.py").write_bytes(b"# 1\n")
    _stored(out, take_in(folder, ALLOWED, tmp_path / "s-r10a").submissions[0], 25)
    export = batch("r10b", _meta(("submission_102", [_submitter("Mal", "alice@uni.edu")])), {"submission_102": b"# 1\n"})
    assert done(export) == []
    # Canvas: the same user's new upload (a new file id) is graded again; the same files are not.
    canvas = _flat(tmp_path / "c1", {"ann_500_1001_backprop.py": b"# 1\n"})
    _stored(out, take_in(canvas, ALLOWED, tmp_path / "s-c1").submissions[0], 25)
    assert done(take_in(canvas, ALLOWED, tmp_path / "s-c1b").submissions) == ["ann"]
    again = _flat(tmp_path / "c2", {"ann_500_1001_backprop.py": b"# 1\n", "ann_500_1009_backprop-1.py": b"# 2\n"})
    assert done(take_in(again, ALLOWED, tmp_path / "s-c2").submissions) == []


def test_report_writes_one_row_per_lms_identity(tmp_path: Path) -> None:
    # r11: the same submission 101 under two names ("Alex Kim", renamed "Alexander Kim" in Gradescope).
    from grader._grading.api import report

    out = tmp_path / "out"
    old = take_in(_export(tmp_path / "a", _meta(("submission_101", [_submitter("Alex Kim")])), {"submission_101": b"# 1\n"}),
                  ALLOWED, tmp_path / "sa").submissions
    new = take_in(_export(tmp_path / "b", _meta(("submission_101", [_submitter("Alexander Kim")]),
                                                 ("submission_102", [_submitter("Alex Kim")])),
                          {"submission_101": b"# 1\n", "submission_102": b"# 2\n"}), ALLOWED, tmp_path / "sb").submissions
    _stored(out, old[0], 10)
    for sub in new:
        _stored(out, sub, 20 if "101" in sub.student else 5, when="2026-11-08T10:00:00+00:00")
    assert len(list(out.glob("*/result.json"))) == 3
    report(out)
    plain = list(csv.DictReader((out / "gradebook.csv").read_text().splitlines()))
    assert sorted((r["student"], float(r["score"])) for r in plain) == [("Alex_Kim_102", 5.0), ("Alexander_Kim_101", 20.0)]


def test_an_email_canvas_must_match_is_written_as_it_is(tmp_path: Path) -> None:
    # finding 14: "-ann@uni.edu" got the apostrophe that keeps a formula from running, so Canvas could not match it.
    export = _export(tmp_path / "export", _meta(
        ("submission_1", [_submitter("A", "-ann@uni.edu")]),
        ("submission_2", [_submitter("B", "=bob@uni.edu")]),
        ("submission_3", [_submitter("C", "=cmd|' /C calc'!A0@x.edu")]),
    ), {f"submission_{i}": b"# x\n" for i in (1, 2, 3)})
    rows = _canvas_rows(take_in(export, ALLOWED, tmp_path / "s").submissions)
    assert sorted(r[3] for r in rows) == ["'=cmd|' /C calc'!A0@x.edu", "-ann@uni.edu", "=bob@uni.edu"]
    assert "'-ann@uni.edu" in [r[0] for r in rows]  # the Student column is a label: still guarded


# ---------------------------------------------------------------- end to end --


def _grade(src: Path, out: Path) -> tuple[dict[str, dict], str]:
    proc = run_cli("grade", "mfdnn-hw5", src, "--out", out, "--seed", "3", "--problem", "momentum", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/result.json")}, proc.stderr


def test_a_class_with_a_group_an_impostor_and_a_long_email_is_graded_one_row_per_person(tmp_path: Path) -> None:
    right, wrong = (EXAMPLES / "erin" / "momentum.py").read_bytes(), (EXAMPLES / "heidi" / "momentum.py").read_bytes()
    long_email = "o'b" + "x" * 61 + "@" + ".".join(["d" * 60] * 3) + ".eduu"
    carol, impostor = _submitter("Carol", "carol@uni.edu"), _submitter("carol@uni.edu")
    group = [_submitter("Alice", "alice@uni.edu", "1"), _submitter("Dan", "dan@uni.edu", "4")]

    def export(name: str, *entries: tuple[str, list[str], bytes]) -> Path:
        folder = tmp_path / name
        for sub_id, _, data in entries:
            (folder / sub_id).mkdir(parents=True)
            (folder / sub_id / "momentum.py").write_bytes(data)
        (folder / "submission_metadata.yml").write_text(_meta(*((s, p) for s, p, _ in entries)))
        return folder

    out = tmp_path / "out"
    results, stderr = _grade(export(
        "first",
        ("submission_101", [carol], right),
        ("submission_102", [impostor], wrong),  # g16: a name that is carol's e-mail
        ("submission_103", group, right),  # g01
        ("submission_104", [_submitter("B", long_email)], right),  # g18b: two e-mails that make one long name
        ("submission_105", [_submitter("C", long_email.replace("'", "_"))], wrong),
    ), out)
    by_login = {r["login"]: r for r in results.values()}
    assert sorted(by_login) == sorted(["", "alice@uni.edu", "carol@uni.edu", "dan@uni.edu", long_email,
                                       long_email.replace("'", "_")])
    assert by_login["carol@uni.edu"]["score"] == 25 and by_login[""]["score"] == 0  # carol on her own work
    assert by_login["alice@uni.edu"]["score"] == by_login["dan@uni.edu"]["score"] == 25
    assert by_login["dan@uni.edu"]["tests"] == by_login["alice@uni.edu"]["tests"]  # graded once: the group's result
    assert sorted(progress_students(stderr)) == sorted(results)  # each person reported once
    rows = list(csv.reader((out / "gradebook-canvas.csv").read_text().splitlines()))[2:]
    assert sorted((r[3], float(r[5])) for r in rows) == sorted([("", 0.0), ("alice@uni.edu", 25.0), ("carol@uni.edu", 25.0),
                                                              ("dan@uni.edu", 25.0), (long_email, 25.0),
                                                              (long_email.replace("'", "_"), 0.0)])
    # r4/r6: the next export; carol's newer submission, and another person with the impostor's name, are graded anew.
    again, stderr = _grade(export(
        "second",
        ("submission_107", [carol], wrong),
        ("submission_108", [impostor], right),
        ("submission_103", group, right),
        ("submission_104", [_submitter("B", long_email)], right),
        ("submission_105", [_submitter("C", long_email.replace("'", "_"))], wrong),
    ), out)
    assert "Resuming: 4 of 6" in stderr, stderr[-2000:]
    graded = sorted(progress_students(stderr))
    assert len(graded) == 2 and "carol@uni.edu" in graded and any(s.endswith("_108") for s in graded), graded
    assert again["carol@uni.edu"]["score"] == 0 and again[next(s for s in graded if s.endswith("_108"))]["score"] == 25
    assert again["carol@uni.edu"]["upload"] == "Gradescope submission 107"


def test_digest_of_what_intake_took_changes_with_the_files(tmp_path: Path) -> None:
    one = _flat(tmp_path / "one", {"ann_500_1001_backprop.py": b"# 1\n"})
    sub = take_in(one, ALLOWED, tmp_path / "s1").submissions[0]
    assert sub.digest and sub.digest != hashlib.sha256(b"").hexdigest()
    (one / "ann_500_1001_backprop.py").write_bytes(b"# 2\n")
    assert take_in(one, ALLOWED, tmp_path / "s2").submissions[0].digest != sub.digest


@pytest.mark.parametrize("layout", ["folders", "gradescope", "canvas"])
def test_every_submission_says_what_upload_it_is(tmp_path: Path, layout: str) -> None:
    if layout == "folders":
        src = tmp_path / "c"
        (src / "ann").mkdir(parents=True)
        (src / "ann" / "backprop.py").write_bytes(b"# x\n")
        want = "the folder ann/"
    elif layout == "gradescope":
        src = _export(tmp_path / "e", _meta(("submission_9", [_submitter("A", "a@x.edu")])), {"submission_9": b"# x\n"})
        want = "Gradescope submission 9"
    else:
        src = _flat(tmp_path / "c", {"ann_500_1001_backprop.py": b"# x\n", "ann_500_1002_momentum.py": b"# y\n"})
        want = "Canvas user 500, files 1001 1002"
    assert [s.upload for s in take_in(src, ALLOWED, tmp_path / "s").submissions] == [want]
