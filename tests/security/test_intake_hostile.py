"""One bad upload never stops the batch, never speaks for another student (issue 14, points 1, 2, 6).

Broken archives of every kind are that student's note; the layout is decided from the top
of the submissions folder only; names never collide with each other or with the grader's
own files; what a name holds reaches no spreadsheet formula and no terminal escape. A fuzz
test (Hypothesis) feeds intake thousands of generated archives and layouts.
"""

from __future__ import annotations

import csv
import io
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader._course.display import cell, visible
from grader._exceptions import ConfigError
from grader._course.intake import take_in

ALLOWED = ["backprop.py", "momentum.py"]
GOOD = b"def backprop(A, b, X, Y):\n    return [], []\n"


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _patch_flags(path: Path, flag: int = 0, method: int | None = None) -> None:
    """Set general-purpose flag bits (and the method) in every local and central header."""
    data = bytearray(path.read_bytes())
    for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        i = data.find(sig)
        while i >= 0:
            old = struct.unpack_from("<H", data, i + flag_at)[0]
            struct.pack_into("<H", data, i + flag_at, old | flag)
            if method is not None:
                struct.pack_into("<H", data, i + method_at, method)
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))


def _honest(folder: Path, name: str = "honest") -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / "backprop.py").write_bytes(GOOD)


def _broken_archives(folder: Path) -> dict[str, str]:
    """Each broken upload, and a phrase its note must hold."""
    _patch_flags(_zip(folder / "encrypted.zip", {"backprop.py": GOOD}), flag=0x1)
    corrupt = _zip(folder / "corrupt.zip", {"backprop.py": GOOD * 200})
    data = bytearray(corrupt.read_bytes())
    start = data.find(b"backprop.py") + len("backprop.py")
    data[start + 5:start + 40] = b"\xff" * 35  # the deflate stream, past the local header
    corrupt.write_bytes(bytes(data))
    _patch_flags(_zip(folder / "method.zip", {"backprop.py": GOOD}, zipfile.ZIP_STORED), method=97)
    _zip(folder / "file_and_folder.zip", {"x": b"a file", "x/backprop.py": GOOD})
    names = _zip(folder / "bad_names.zip", {"backprop.py": GOOD})
    raw = bytearray(names.read_bytes())
    i = raw.find(b"backprop.py")
    while i >= 0:
        raw[i:i + 2] = b"\xff\xfe"
        i = raw.find(b"backprop.py", i + 1)
    names.write_bytes(bytes(raw))
    _patch_flags(names, flag=0x800)  # says UTF-8, is not
    (folder / "not_a_zip.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    return {"encrypted": "password-protected", "corrupt": "cannot", "method": "compression method",
            "file_and_folder": "both a file and a folder", "bad_names": "", "not_a_zip": "zip"}


def test_every_broken_archive_is_that_students_note_and_the_batch_goes_on(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    classroom.mkdir()
    expected = _broken_archives(classroom)
    _honest(classroom)
    intake = take_in(classroom, ALLOWED, tmp_path / "scratch")
    by = {s.student: s for s in intake.submissions}
    assert set(by) == {*expected, "honest"}
    assert by["honest"].files and not by["honest"].problem
    for name, phrase in expected.items():
        assert by[name].problem, f"{name}: {by[name]}"
        assert phrase in by[name].problem, f"{name}: {by[name].problem}"
        assert not by[name].files


def test_one_canvas_named_zip_does_not_make_the_class_a_canvas_download(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    classroom.mkdir()
    for who in ("ann", "ben", "cal"):
        _zip(classroom / f"{who}.zip", {"backprop.py": GOOD})
    _zip(classroom / "mallory_123_456_backprop.zip", {"backprop.py": GOOD})
    intake = take_in(classroom, ALLOWED, tmp_path / "scratch")
    assert intake.layout.startswith("one folder or .zip per student")
    assert {s.student for s in intake.submissions} == {"ann", "ben", "cal", "mallory_123_456_backprop"}


def test_metadata_inside_a_students_folder_decides_nothing(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    _honest(classroom, "ann")
    _honest(classroom, "mallory")
    (classroom / "mallory" / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :email: ann@example.edu\n")
    (classroom / "mallory" / "submission_1").mkdir()
    (classroom / "mallory" / "submission_1" / "backprop.py").write_bytes(b"# mallory's, as ann\n")
    intake = take_in(classroom, ALLOWED, tmp_path / "scratch")
    assert intake.layout.startswith("one folder or .zip per student")
    assert {s.student for s in intake.submissions} == {"ann", "mallory"}
    ann = next(s for s in intake.submissions if s.student == "ann")
    assert ann.files["backprop.py"].read_bytes() == GOOD  # ann's own file, not the one mallory named for her
    # A lone student folder holding a metadata file among others is not an export either.
    solo = tmp_path / "solo"
    _honest(solo, "mallory")
    (solo / "mallory" / "submission_metadata.yml").write_text("submission_1:\n  :submitters:\n  - :email: x@y\n")
    (solo / "readme.txt").write_text("the instructor's note")
    assert take_in(solo, ALLOWED, tmp_path / "scratch2").layout.startswith("one folder")


def test_names_never_collide_with_each_other_or_with_the_graders_files(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    for who in ("gradebook.csv", "intake.txt", "summary.html", "Gradebook-Canvas.CSV", "bob", "bob-2"):
        _honest(classroom, who)
    intake = take_in(classroom, ALLOWED, tmp_path / "scratch")
    names = [s.student for s in intake.submissions]
    assert len(names) == len(set(names)) == 6
    assert not {n.lower() for n in names} & {"gradebook.csv", "intake.txt", "summary.html", "gradebook-canvas.csv"}
    renamed = [s for s in intake.submissions if s.student.endswith("-student")]
    assert len(renamed) == 4 and all(any("one of the grader's own files" in n for n in s.notes) for s in renamed)


def test_two_emails_that_make_the_same_folder_name_are_both_graded(tmp_path: Path) -> None:
    export = tmp_path / "export"
    for sid in ("1", "2"):
        (export / f"submission_{sid}").mkdir(parents=True)
        (export / f"submission_{sid}" / "backprop.py").write_bytes(GOOD + f"# {sid}\n".encode())
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :email: o'brien@example.edu\n"
        "submission_2:\n  :submitters:\n  - :email: o_brien@example.edu\n")
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    names = sorted(s.student for s in intake.submissions)
    assert len(names) == 2 and len(set(names)) == 2, names
    assert all(any("told apart by Gradescope submission id" in n for n in s.notes) for s in intake.submissions)


def test_a_layout_can_be_named_and_is_then_the_only_one_tried(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    classroom.mkdir()
    for who in ("ann_1_10_backprop.py", "ben_2_11_backprop.py"):
        (classroom / who).write_bytes(GOOD)
    assert take_in(classroom, ALLOWED, tmp_path / "s1").layout.startswith("Canvas")
    with pytest.raises(ConfigError, match="no student folders"):
        take_in(classroom, ALLOWED, tmp_path / "s2", layout="folders")
    with pytest.raises(ConfigError, match="no submission_metadata.yml"):
        take_in(classroom, ALLOWED, tmp_path / "s3", layout="gradescope")


def test_names_in_outputs_for_people_are_inert() -> None:
    assert cell("=HYPERLINK(\"http://x\",\"y\")").startswith("'=")
    for start in ("+", "-", "@", "\t", "\r", "\uff1d"):
        assert cell(start + "1+1").startswith("'"), start
    assert cell("ann") == "ann" and cell(3.5) == 3.5
    assert visible("a\x1b[2Jb\nc\u202ed") == "a\\x1b[2Jb\\x0ac\\u202ed"
    assert visible("line 1\nline 2\x07", newlines=True) == "line 1\nline 2\\x07"
    buf = io.StringIO()
    csv.writer(buf).writerow([cell("=1+1"), cell("bob")])
    assert buf.getvalue().strip() == "'=1+1,bob"


# ----------------------------------------------------------------------------- fuzz --

_names = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40)
_members = st.dictionaries(
    st.one_of(_names, st.sampled_from(["backprop.py", "momentum.py", "a/backprop.py", "a", "a/", "../x.py", "/abs.py",
                                       "__MACOSX/backprop.py", ".hidden/backprop.py", "x" * 300])),
    st.binary(max_size=2000), max_size=6)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(uploads=st.lists(st.tuples(st.sampled_from(["zip", "folder", "file", "garbage"]), _names, _members,
                                  st.integers(0, 3), st.binary(max_size=64)), min_size=1, max_size=5))
def test_fuzz_no_upload_escapes_as_an_exception(tmp_path_factory: pytest.TempPathFactory, uploads: list) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    classroom = root / "class"
    classroom.mkdir()
    _honest(classroom, "zz-honest")
    for kind, name, members, damage, noise in uploads:
        safe = "".join(c for c in name if c not in "/") or "x"
        try:
            if kind == "zip":
                path = classroom / f"{safe[:60]}.zip"
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                    for m, data in members.items():
                        try:
                            zf.writestr(m, data)
                        except (ValueError, OSError):
                            pass
                raw = bytearray(path.read_bytes())
                for k in range(damage):  # flip bytes, flags, methods
                    if raw:
                        raw[(k * 7919 + len(noise)) % len(raw)] ^= 0xFF
                path.write_bytes(bytes(raw) + noise)
            elif kind == "folder":
                d = classroom / safe[:60]
                d.mkdir(exist_ok=True)
                for m, data in members.items():
                    target = d / "".join(c for c in m if c not in "/")[:100]
                    if target != d and not target.exists():
                        target.write_bytes(data)
            elif kind == "file":
                (classroom / f"{safe[:60]}").write_bytes(noise)
            else:
                (classroom / f"{safe[:60]}.zip").write_bytes(b"PK\x03\x04" + noise)
        except OSError:
            continue  # a name this file system refuses: nothing to feed
    try:
        intake = take_in(classroom, ALLOWED, root / "scratch")
    except ConfigError as exc:  # only about the class as a whole, never about one upload
        raise AssertionError(f"intake refused the class: {exc}") from None
    by = {s.student: s for s in intake.submissions}
    honest = [s for s in intake.submissions if s.files.get("backprop.py") and s.files["backprop.py"].read_bytes() == GOOD
              and s.student.startswith("zz-honest")]
    assert honest, "the honest student was not taken in"
    assert len(by) == len(intake.submissions)
    for line in intake.summary():
        assert "\x1b" not in line and "\n" not in line and "\u202e" not in line


def test_other_archives_and_archives_of_too_many_files_are_that_students_note(tmp_path: Path) -> None:
    classroom = tmp_path / "class"
    classroom.mkdir()
    (classroom / "tara.tar.gz").write_bytes(b"\x1f\x8b" + b"\0" * 50)
    (classroom / "rasmus.rar").write_bytes(b"Rar!\x1a\x07\x00")
    with zipfile.ZipFile(classroom / "many.zip", "w") as zf:
        for k in range(10_001):
            zf.writestr(f"f{k}.txt", b"")
    _honest(classroom)
    by = {s.student: s for s in take_in(classroom, ALLOWED, tmp_path / "scratch").submissions}
    assert "does not unpack" in by["tara"].problem and "does not unpack" in by["rasmus"].problem
    assert "10001 entries" in by["many"].problem
    assert by["honest"].files and not by["honest"].problem


# ------------------------------------------------------------- identity from the LMS --
# A student is who the LMS's ids say (Canvas's user id, Gradescope's submission and its
# submitters' e-mails); a name only labels them. No name, however chosen, makes two people one.


def _flat(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _export(folder: Path, submitters: dict[str, list[dict[str, str]]]) -> Path:
    """A Gradescope export: each submission_<id>/ holds a backprop.py that says whose it is."""
    lines = []
    for sub_id, people in submitters.items():
        (folder / sub_id).mkdir(parents=True)
        (folder / sub_id / "backprop.py").write_bytes(GOOD + f"# {sub_id}\n".encode())
        lines += [f"{sub_id}:", "  :submitters:"]
        for p in people:
            lines += [f"  - :{k}: {v!r}" if i == 0 else f"    :{k}: {v!r}" for i, (k, v) in enumerate(p.items())]
    (folder / "submission_metadata.yml").write_text("\n".join(lines) + "\n")
    return folder


def test_two_canvas_users_with_one_login_are_two_students_each_on_their_own_upload(tmp_path: Path) -> None:
    flat = _flat(tmp_path / "class", {
        "ann_500_9001_backprop.py": GOOD + b"# ann\n",
        "ann_500_9002_momentum.py": b"# ann's momentum\n",
        # another Canvas user whose name gives the login "ann": late, a resubmission, the newest file id
        "ann_LATE_600_9010_backprop-1.py": GOOD + b"# mallory\n",
        "ben_700_9003_backprop.py": GOOD + b"# ben\n",
    })
    intake = take_in(flat, ALLOWED, tmp_path / "scratch")
    by_id = {s.canvas_id: s for s in intake.submissions}
    assert sorted(by_id) == ["500", "600", "700"], [(s.student, s.canvas_id) for s in intake.submissions]
    assert len({s.student.casefold() for s in intake.submissions}) == 3
    assert by_id["500"].files["backprop.py"].read_bytes().endswith(b"# ann\n")  # not the other user's newer upload
    assert by_id["500"].files["momentum.py"].read_bytes() == b"# ann's momentum\n"
    assert by_id["600"].files["backprop.py"].read_bytes().endswith(b"# mallory\n")
    assert "momentum.py" not in by_id["600"].files  # nothing of ann's graded as theirs
    assert by_id["700"].student == "ben" and not by_id["700"].notes
    for uid in ("500", "600"):
        sub = by_id[uid]
        assert sub.student != "ann" and uid in sub.student, sub.student
        said = [n for n in sub.notes if "another Canvas user" in n]
        assert said and f"user {uid}" in said[0] and sub.student in said[0], sub.notes
    text = "\n".join(intake.summary())
    assert "3 students" in text and text.count("another Canvas user") == 2


def test_one_canvas_user_under_two_logins_is_one_student_on_the_newest_upload(tmp_path: Path) -> None:
    # Ann changed her name in Canvas between two uploads: one person, one row, one Canvas id.
    flat = _flat(tmp_path / "class", {
        "smithann_500_9001_backprop.py": GOOD + b"# first\n",
        "jonesann_500_9005_backprop-1.py": GOOD + b"# second\n",
        "ben_700_9003_backprop.py": GOOD + b"# ben\n",
    })
    intake = take_in(flat, ALLOWED, tmp_path / "scratch")
    assert sorted((s.student, s.canvas_id) for s in intake.submissions) == [("ben", "700"), ("jonesann", "500")]
    ann = next(s for s in intake.submissions if s.canvas_id == "500")
    assert ann.files["backprop.py"].read_bytes().endswith(b"# second\n")
    assert any("smithann" in n and "jonesann" in n and "500" in n for n in ann.notes), ann.notes


def test_gradescope_submitters_that_make_one_name_are_told_apart_by_submission_id(tmp_path: Path) -> None:
    export = _export(tmp_path / "export", {
        "submission_11": [{"name": "Pat O'Brien", "email": "o'brien@example.edu"}],
        "submission_12": [{"name": "Pat O Brien", "email": "o_brien@example.edu"}],
        "submission_13": [{"name": "Alex Kim", "sid": "7"}],  # no e-mail: the submission is who they are
        "submission_14": [{"name": "Sam Lee", "sid": "7"}, {"name": "Alex Kim", "email": "alex@example.edu"}],
        "submission_15": [{"name": "Kim Alex"}],  # nothing but a name
        "submission_16": [{"name": "Kim Alex"}],
    })
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    by_upload = {s.upload.removeprefix("Gradescope submission "): s for s in intake.submissions}
    # six submissions, seven people (14 is a group of two)
    assert sorted(by_upload) == ["11", "12", "13", "14, submitter 1", "14, submitter 2", "15", "16"], sorted(by_upload)
    assert len({s.student.casefold() for s in intake.submissions}) == 7
    for upload, sub in by_upload.items():
        number = upload.split(",")[0]
        assert sub.files["backprop.py"].read_bytes().endswith(f"# submission_{number}\n".encode())
        if sub.login in ("", None):  # no e-mail: named after the submission, whatever the name; a name is no login
            said = [n for n in sub.notes if "no e-mail" in n]
            assert sub.student.endswith(f"_{number}") and said and f"submission {number}" in said[0], (sub.student, sub.notes)
    for number in ("11", "12"):  # e-mails that make one name: told apart by the submission id
        said = [n for n in by_upload[number].notes if "told apart" in n]
        assert number in by_upload[number].student and said and f"submission {number}" in said[0], by_upload[number].notes
    # The e-mails are the people: o'brien is never written down as o_brien, who is someone else.
    assert by_upload["11"].login == "o'brien@example.edu"
    assert by_upload["12"].login == "o_brien@example.edu"
    assert by_upload["14, submitter 2"].login == "alex@example.edu" and by_upload["14, submitter 2"].leader is not None
    # Names are no logins; a sid two submitters give is no one's SIS id.
    assert by_upload["15"].login == by_upload["16"].login == by_upload["13"].login == ""
    assert by_upload["13"].sis_id is None and by_upload["14, submitter 1"].sis_id is None


def test_one_person_in_two_gradescope_submissions_is_one_student(tmp_path: Path) -> None:
    export = _export(tmp_path / "export", {
        "submission_21": [{"name": "Ann", "email": "ann@example.edu"}],
        "submission_25": [{"name": "Ann", "email": "Ann@Example.edu"}],  # the same account, newer
        "submission_22": [{"name": "Ben", "email": "ben@example.edu"}],
    })
    intake = take_in(export, ALLOWED, tmp_path / "scratch")
    assert sorted(s.student for s in intake.submissions) == ["Ann@Example.edu", "ben@example.edu"]
    ann = next(s for s in intake.submissions if s.student.startswith("Ann"))
    assert ann.files["backprop.py"].read_bytes().endswith(b"# submission_25\n")
    assert any("submission_21" in n and "submission 25" in n for n in ann.notes), ann.notes
    assert any(i.startswith("submission_21:") and "submission 25" in i for i in intake.ignored), intake.ignored


def test_names_that_differ_only_in_case_are_two_students_with_two_folders(tmp_path: Path) -> None:
    # "Ann/" and "ann/" would be one folder of results on a case-insensitive disk (macOS, Windows).
    classroom = tmp_path / "class"
    _honest(classroom, "Ann")
    _honest(classroom, "ann")
    _zip(classroom / "ANN.zip", {"backprop.py": GOOD})
    intake = take_in(classroom, ALLOWED, tmp_path / "scratch")
    names = [s.student for s in intake.submissions]
    assert len(names) == 3 and len({n.casefold() for n in names}) == 3, names
    assert sum(any("makes the name" in n and "this upload" in n for n in s.notes) for s in intake.submissions) == 3
    # the one of them that keeps the name is no more its owner than the others: none is written down as a login
    assert all(s.login == "" for s in intake.submissions)


def test_nothing_inside_one_canvas_upload_speaks_for_another_student(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("ann_500_9999_momentum.py", b"# mallory's, named as ann's\n")
        zf.writestr("submission_metadata.yml", "submission_1:\n  :submitters:\n  - :email: ann@example.edu\n")
        zf.writestr("backprop.py", GOOD + b"# mallory\n")
    flat = _flat(tmp_path / "class", {
        "ann_500_9001_backprop.py": GOOD + b"# ann\n",
        "mallory_600_9050_ann_500_9998_momentum.py": b"# mallory's, uploaded under ann's Canvas name\n",
        "mallory_600_9051_work.zip": inner.getvalue(),
    })
    intake = take_in(flat, ALLOWED, tmp_path / "scratch")
    by_id = {s.canvas_id: s for s in intake.submissions}
    assert sorted((s.student, s.canvas_id) for s in intake.submissions) == [("ann", "500"), ("mallory", "600")]
    assert sorted(by_id["500"].files) == ["backprop.py"] and not by_id["500"].notes
    assert by_id["600"].files["backprop.py"].read_bytes().endswith(b"# mallory\n")
    assert "momentum.py" not in by_id["600"].files
