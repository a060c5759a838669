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

from grader._display import cell, visible
from grader._exceptions import ConfigError
from grader._intake import take_in

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
    assert any("taken by another submission" in n for s in intake.submissions for n in s.notes)


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
