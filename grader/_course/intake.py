"""Taking submissions in, from the layouts instructors have:

- a folder holding one folder or one .zip per student (the name is the student's);
- Gradescope's "Export Submissions" (the .zip or the folder it unpacks to):
  ``submission_metadata.yml`` names the submitters of each ``submission_<id>/`` folder;
- Canvas's bulk download: one flat folder of files renamed
  ``login[_late]_userid_fileid_original.py``, with ``-1``, ``-2`` ... before the extension
  on resubmission (the file with the highest file id wins).

A student is who the LMS's ids say: a Canvas user id; a Gradescope submitter's e-mail, or,
for a submitter without one, the submission's id. A name only labels them: it is never a
login, never merges two people, and names that two students make alike are told apart by
those ids (or, in a folder per student, by the upload), with a note to each. Every member
of a Gradescope group submission is a student of their own, graded once on the group's
upload (``Submission.leader``/``group``).

Only the files an assignment names are taken (allow-list); everything else, and any
symlink, is ignored with a note. Archives are unpacked safely: absolute paths, ``..``,
links and oversized members are refused for that student alone.

Why one module of about 1,000 lines: the three layouts share what must not differ between
them: the safe unpacking, the allow-list, and the identity rules (ids, never names, decide
who a student is; a note to both students whose names collide).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .display import visible
from .._exceptions import ConfigError, SubmissionError

MAX_FILE_BYTES = 50 << 20
MAX_ARCHIVE_BYTES = 200 << 20
MAX_EXPORT_BYTES = 8 << 30  # a whole class's Gradescope export
MAX_MEMBERS = 10_000  # entries of one student's archive (a whole class's export may hold 200 per student)
OTHER_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".gz", ".bz2", ".xz", ".rar", ".7z")
CANVAS_IDS = re.compile(r"_(\d+)_(\d+)_")  # _userid_fileid_ before the file's own name
RESUBMITTED = re.compile(r"^(?P<stem>.+?)-\d+(?P<ext>\.[^.]+)$")  # backprop-1.py -> backprop.py


@dataclass
class Submission:
    student: str
    files: dict[str, Path]  # allowed file name -> where it is on disk
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # set when the submission could not be taken in at all
    canvas_id: str | None = None  # the Canvas user id, from a Canvas bulk download's file names
    # The login Canvas's gradebook import may match the student by (SIS Login ID): a Gradescope
    # submitter's e-mail as written, a folder's name; "" where there is none (Canvas, whose user
    # id is used; a submitter without an e-mail; a name that several uploads make). Never a
    # display name. None: not known (the student's name is used).
    login: str | None = None
    # The LMS's id that tells this student from others of the same name (Canvas user id,
    # Gradescope submission id), and where the upload came from, for notes.
    uid: str | None = None
    source: str = ""
    # allowed file name -> the notebook it is made from, as the student named it ("hw5.ipynb"),
    # for a file taken from a notebook (files[name] is then that notebook's path)
    origin: dict[str, str] = field(default_factory=dict)
    # Gradescope's sid of a submitter without an e-mail, where no one else gives it: Canvas's SIS User ID.
    sis_id: str | None = None
    # What identifies the upload, by the LMS's ids ("Gradescope submission 101", "Canvas user
    # 500, files 1001 1005", "the folder ann/"), and the sha256 of the files taken from it: a
    # stored result is reused only for the same of both.
    upload: str = ""
    digest: str = ""
    # A Gradescope group submission is graded once, as its first member (the leader); the
    # other members (``group``) each get a result of their own, a copy of the leader's.
    group: list[Submission] = field(default_factory=list, repr=False, compare=False)
    leader: Submission | None = field(default=None, repr=False, compare=False)

    def shown(self, name: str) -> str:
        """``name`` as the intake summary and messages show it: ``backprop.py (from hw5.ipynb)``."""
        return f"{name} (from {self.origin[name]})" if name in self.origin else name


def identity(sub: Submission | None) -> dict[str, Any]:
    """The fields of a student's result that say who they are, which upload was graded, and
    what intake noted."""
    if sub is None:
        return {}
    return {"canvas_id": sub.canvas_id, "login": sub.login, "sis_id": sub.sis_id, "upload": sub.upload,
            "files_sha256": sub.digest, "intake_notes": list(sub.notes)}


def digest(files: dict[str, Path]) -> str:
    """The sha256 of the files taken (their names and bytes); "" where one cannot be read."""
    h = hashlib.sha256()
    try:
        for name in sorted(files):
            data = files[name].read_bytes()
            h.update(f"{name}\0{len(data)}\0".encode())
            h.update(data)
    except OSError:
        return ""
    return h.hexdigest()


def _collect(root: Path, allowed: list[str], notes: list[str], recursive: bool = True,
             origin: dict[str, str] | None = None) -> dict[str, Path]:
    """The assignment's files under ``root`` (allowed name -> path); a file handed in as a
    notebook is taken from it (see ``_from_notebooks``), and ``origin`` says which."""
    found: dict[str, list[Path]] = {name: [] for name in allowed}
    notebooks: list[Path] = []
    try:
        entries = sorted(root.rglob("*") if recursive else root.iterdir())
    except OSError as exc:  # an unreadable folder inside the upload
        raise SubmissionError(f"the folder cannot be read ({exc.strerror or exc})") from None
    for path in entries:
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue
        if path.is_symlink():
            notes.append(f"{rel}: a symbolic link, ignored")
            continue
        try:
            wanted = path.is_file() and path.name in found
            big = wanted and path.stat().st_size > MAX_FILE_BYTES
            if not wanted and path.suffix.lower() == ".ipynb" and path.is_file():
                notebooks.append(path)  # (its size is the notebook reader's to refuse, with what to do)
        except OSError:
            notes.append(f"{rel}: cannot be read, ignored")
            continue
        if wanted:
            if big:
                notes.append(f"{rel}: larger than {MAX_FILE_BYTES >> 20} MB, ignored")
                continue
            found[path.name].append(path)
    files = {}
    for name, paths in found.items():
        if paths:
            paths.sort(key=lambda p: len(p.relative_to(root).parts))
            files[name] = paths[0]
            if len(paths) > 1:
                notes.append(f"{name}: found {len(paths)} copies, used {paths[0].relative_to(root)}")
    notebooks.sort(key=lambda p: (len(p.relative_to(root).parts), str(p)))
    taken = _from_notebooks(files, [(str(p.relative_to(root)), p) for p in notebooks], allowed, notes)
    for name, (shown, path) in taken.items():
        files[name] = path
        if origin is not None:
            origin[name] = shown
    for name in allowed:
        if name not in files:
            near = _near(name, entries, root, recursive)
            if near:
                notes.append(f"{name}: not found; did you mean {near}? (rename it to {name})")
    return files


def _from_notebooks(files: dict[str, Path], notebooks: list[tuple[str, Path]], allowed: list[str],
                    notes: list[str]) -> dict[str, tuple[str, Path]]:
    """Which notebooks stand for which of the assignment's files (name -> (shown name, path)).

    ``NAME.ipynb`` stands for ``NAME.py``; one notebook left over stands for every file
    still missing (a notebook for the whole assignment; so does the only notebook handed in,
    whatever its name). A ``.py`` handed in wins over a notebook for the same file, and the
    notes say so; so do notebooks that could not be matched."""
    taken: dict[str, tuple[str, Path]] = {}
    by_stem = {Path(n).stem: n for n in allowed if n.endswith(".py")}
    if not notebooks:
        return taken
    used: set[str] = set()
    for shown, path in notebooks:
        name = by_stem.get(Path(path.name).stem)
        if name is None or name in taken:
            continue
        used.add(shown)
        if name in files:
            notes.append(f"{name}: graded from {name}; {shown} was handed in too and is not used (a .py wins over a notebook)")
        else:
            taken[name] = (Path(shown).name, path)
    rest = [(shown, path) for shown, path in notebooks if shown not in used]
    missing = [n for n in allowed if n.endswith(".py") and n not in files and n not in taken]
    # One notebook left over stands for the rest; so does the only notebook, whatever it is named for.
    pool = rest or (notebooks if len(notebooks) == 1 else [])
    if missing and len(pool) == 1:
        shown, path = pool[0]
        for name in missing:
            taken[name] = (Path(shown).name, path)
    elif missing and len(pool) > 1:
        names = ", ".join(s for s, _ in pool[:5]) + (", ..." if len(pool) > 5 else "")
        notes.append(f"{len(pool)} notebooks ({names}), and none named for {', '.join(missing)}: hand in one notebook "
                     f"for the whole assignment, or name each for its file ({Path(missing[0]).stem}.ipynb)")
    elif rest:
        names = ", ".join(s for s, _ in rest[:5]) + (", ..." if len(rest) > 5 else "")
        notes.append(f"{names}: not used (every file of this assignment was handed in already)")
    return taken


def _near(name: str, entries: list[Path], root: Path, recursive: bool) -> str | None:
    """A file that is probably ``name`` misnamed: another case (``Momentum.py``), a browser's
    copy suffix (``momentum (1).py``, ``momentum-2.py``), a notebook or text file of the same
    stem, or (for a top-level search) the file in a sub-folder."""
    stem = Path(name).stem.lower()
    pattern = re.compile(rf"^{re.escape(stem)}\s*(\(\d+\)|-\d+|_\d+|\s*copy)?\.(py|ipynb|txt|py\.txt)$")
    for path in entries:
        rel = path.relative_to(root)
        if path.name != name and pattern.match(path.name.lower()) and not path.is_dir():
            return str(rel)
    if not recursive:
        try:
            deeper = sorted(p for p in root.rglob(name) if p.is_file() and not p.is_symlink())
        except OSError:
            deeper = []
        if deeper:
            return f"{deeper[0].relative_to(root)} (in a sub-folder: the grader reads the folder's top level)"
    return None


@dataclass
class Intake:
    """What was taken in: the layout recognised, a submission per student, what was not
    matched to any student (with why), and what a person should know of the layout itself
    (a layout that could be read another way, a metadata file that is not believed)."""

    layout: str
    submissions: list[Submission]
    ignored: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Lines for a person: the layout, who got which files, what was ignored and why."""
        ok = [s for s in self.submissions if not s.problem]
        lines = [f"Intake: {self.layout}; {len(self.submissions)} students ({len(self.submissions) - len(ok)} refused)."]
        lines += [f"  warning: {visible(w)}" for w in self.warnings]
        for sub in self.submissions:  # names and notes come from uploads: shown with visible escapes, one line each
            what = f"refused: {sub.problem}" if sub.problem else (
                ", ".join(sub.shown(n) for n in sorted(sub.files)) or "none of this assignment's files")
            lines.append(f"  {visible(sub.student):<28} {visible(what)}")
            lines += [f"  {'':<28}   note: {visible(n)}" for n in sub.notes]
        lines += [f"  ignored: {visible(i)}" for i in self.ignored]
        return lines


def _copy_capped(src: object, out: object, cap: int, what: str) -> int:
    """Copy at most ``cap`` bytes (a zip's sizes are only what its headers claim)."""
    n = 0
    while chunk := src.read(1 << 20):  # type: ignore[attr-defined]
        n += len(chunk)
        if n > cap:
            raise SubmissionError(f"{what}: unpacks to more than {cap >> 20} MB")
        out.write(chunk)  # type: ignore[attr-defined]
    return n


def _unzip(archive: Path, dest: Path, limit: int = MAX_ARCHIVE_BYTES) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            total = 0
            members = zf.infolist()
            if len(members) > (MAX_MEMBERS if limit == MAX_ARCHIVE_BYTES else 200 * MAX_MEMBERS):
                raise SubmissionError(f"{archive.name}: holds {len(members)} entries (at most {MAX_MEMBERS} are unpacked)")
            for info in members:
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                    raise SubmissionError(f"{archive.name}: unsafe path {info.filename!r} in the archive")
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise SubmissionError(f"{archive.name}: {info.filename!r} is a symbolic link")
                total += info.file_size
                if limit == MAX_ARCHIVE_BYTES and info.file_size > MAX_FILE_BYTES and name.suffix.lower() == ".ipynb":
                    raise SubmissionError(f"{archive.name}: {name.name} in it is {info.file_size >> 20} MB, more than the "
                                          f"{MAX_FILE_BYTES >> 20} MB the grader reads (outputs, such as plots, make a notebook "
                                          "big): clear its outputs, save it, and hand it in again")
                if total > limit or (limit == MAX_ARCHIVE_BYTES and info.file_size > MAX_FILE_BYTES):
                    raise SubmissionError(f"{archive.name}: unpacks to more than {limit >> 20} MB")
            left = limit
            for info in zf.infolist():
                if info.is_dir():
                    continue
                target = dest / info.filename
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    out = open(target, "wb")
                except (FileExistsError, NotADirectoryError, IsADirectoryError):
                    raise SubmissionError(f"{archive.name}: {info.filename!r} is both a file and a folder in the archive") from None
                except OSError as exc:
                    raise SubmissionError(f"{archive.name}: {info.filename!r} cannot be unpacked here ({exc.strerror})") from None
                with zf.open(info) as src, out:
                    left -= _copy_capped(src, out, left, archive.name)
    except SubmissionError:
        raise
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{archive.name}: not a readable zip file ({exc})") from None
    except RuntimeError as exc:
        if "encrypted" in str(exc) or "password" in str(exc):
            raise SubmissionError(f"{archive.name}: the archive is password-protected; upload it without a password") from None
        raise SubmissionError(f"{archive.name}: cannot be unpacked ({exc})") from None
    except NotImplementedError as exc:
        raise SubmissionError(f"{archive.name}: made with a compression method this grader cannot read ({exc}); "
                              "zip it again with the default (deflate)") from None
    except (UnicodeError, ValueError) as exc:
        raise SubmissionError(f"{archive.name}: a file name in the archive cannot be read ({type(exc).__name__})") from None
    except (OSError, EOFError, Exception) as exc:  # zlib.error, a name that is both a file and a folder, ...
        raise SubmissionError(f"{archive.name}: cannot be unpacked ({type(exc).__name__}: {exc})") from None


def discover(submissions_dir: Path, allowed: list[str], scratch: Path | None = None) -> list[Submission]:
    """One ``Submission`` per student, sorted by student (see ``take_in``)."""
    return take_in(submissions_dir, allowed, scratch).submissions


LAYOUTS = ("auto", "folders", "gradescope", "canvas")
# Names of the grader's own files in an output folder: no student's folder may take one.
RESERVED = frozenset({"gradebook.csv", "gradebook-canvas.csv", "intake.txt", "summary.html"})
# A student's name is the name of their folder of results: at most 255 bytes on every common
# file system. Longer names are shortened to this many bytes (room left for a -2).
MAX_NAME_BYTES = 200
META = "submission_metadata.yml"
EXPORT_DIR = re.compile(r"^assignment_\d+_export$")  # as Gradescope names its export (and the .zip of it)
SUBMISSION_DIR = re.compile(r"^submission_\d+$")
HIDDEN = "its name starts with a dot (a hidden file or folder): not taken"


def take_in(path: Path, allowed: list[str], scratch: Path | None = None, layout: str = "auto") -> Intake:
    """Recognise the layout of ``path`` (a folder, or a Gradescope export .zip) and take in
    one submission per student.

    The layout is decided once, from the top of ``path`` (or named by ``layout``), never
    from inside one student's upload: a Gradescope export is a folder whose own
    ``submission_metadata.yml`` lists the submissions, or a folder holding nothing but the
    export unpacked (``assignment_<id>_export/``, with ``submission_<id>/`` folders) or its
    .zip; a Canvas download is a flat folder of files most of whose names are Canvas's. A
    layout that could be read another way is said in the intake's warnings, with the
    ``--layout`` that reads it so. Every error reading one student's upload is that
    student's note and outcome. Names are made unique and short enough for a folder: one
    that is taken by another student or by a file of the grader's own gets a suffix, one too
    long is shortened, each with a note."""
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    scratch = scratch or Path(tempfile.mkdtemp(prefix="grader-intake-"))
    warnings: list[str] = []
    if path.is_dir() and layout in ("auto", "gradescope") and (alone := _lone_export_zip(path)) is not None:
        warnings.append(f"{path.name}/ holds nothing but {alone.name}, Gradescope's export: read as that export")
        path = alone
    if path.is_file() and path.suffix == ".zip":
        export = scratch / "_export"
        export.mkdir(parents=True, exist_ok=True)
        try:
            _unzip(path, export, MAX_EXPORT_BYTES)
        except SubmissionError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        root = _zip_export_root(export)
        if root is None:
            raise ConfigError(f"{path}: a .zip without submission_metadata.yml is not a Gradescope export; "
                              "give a folder holding one folder or .zip per student")
        intake = _gradescope(root, allowed)
    elif not path.is_dir():
        raise ConfigError(f"{path}: no such folder of submissions")
    elif layout in ("auto", "gradescope") and (root := _export_root(path, layout == "gradescope", warnings)) is not None:
        intake = _gradescope(root, allowed)
        warnings += _other_readings(root, allowed, "gradescope") if layout == "auto" else []
    elif layout == "gradescope":
        raise ConfigError(f"{path}: --layout gradescope, but there is no submission_metadata.yml at its top")
    elif layout == "canvas" or layout == "auto" and _is_canvas(path, allowed):
        intake = _canvas(path, allowed, scratch)
    else:
        intake = _per_student(path, allowed, scratch)
        warnings += _other_readings(path, allowed, "folders") if layout == "auto" else []
    intake.warnings = warnings + intake.warnings
    if not intake.submissions:
        own = sorted(e.name for e in path.iterdir() if e.name in allowed) if path.is_dir() else []
        hint = (f" It holds {', '.join(own)} itself: give the folder that holds one folder (or .zip) per student"
                if own else " Give the folder that holds one folder (or .zip) per student.")
        raise ConfigError(f"{path}: no student folders or .zip files in it.{hint}")
    for sub in intake.submissions:
        sub.digest = digest(sub.files)
    _unique(intake.submissions)
    intake.submissions.sort(key=lambda s: s.student)
    return intake


def _entries(path: Path) -> list[Path]:
    """The entries of ``path`` that may be submissions: not hidden, not macOS's archive metadata."""
    return [p for p in path.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]


def _hidden(entry: Path) -> str | None:
    """Why an entry of the class's folder is no one's submission, if it is hidden (said, not silently left out)."""
    if entry.name.startswith("."):
        return f"{entry.name}: {HIDDEN}"
    if entry.name == "__MACOSX":
        return f"{entry.name}: macOS's archive metadata, not a submission"
    return None


def _export_root(path: Path, forced: bool, warnings: list[str]) -> Path | None:
    """The folder holding the export's submission_metadata.yml: ``path`` itself; or, where
    ``path`` holds nothing else, its only folder, if it is shaped like Gradescope's export
    (or ``forced``: --layout gradescope). Never a student's folder among others, nor a lone
    student's folder that holds a metadata file: an upload cannot make the class an export,
    or decide who is who."""
    if (path / META).is_file():
        return path
    entries = _entries(path)
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() and (entries[0] / META).is_file():
        folder = entries[0]
        if forced or _export_shaped(folder):
            return folder
        warnings.append(f"{folder.name}/, the only folder here, holds a {META} but is not shaped like Gradescope's export "
                        "(a folder named assignment_<id>_export holding submission_<id>/ folders beside it): read as one "
                        "student's folder, and its metadata decides nothing. If it is the export, pass --layout gradescope")
    return None


def _export_shaped(folder: Path) -> bool:
    return bool(EXPORT_DIR.match(folder.name)) and any(
        SUBMISSION_DIR.match(p.name) and p.is_dir() and not p.is_symlink() for p in folder.iterdir())


def _zip_export_root(export: Path) -> Path | None:
    """Where the metadata is in an unpacked export .zip: at its top, or in its only folder."""
    if (export / META).is_file():
        return export
    subdirs = [p for p in _entries(export) if p.is_dir() and not p.is_symlink()]
    if len(subdirs) == 1 and len(_entries(export)) == 1 and (subdirs[0] / META).is_file():
        return subdirs[0]
    return None


def _lone_export_zip(path: Path) -> Path | None:
    """The export's .zip, where it is all the folder holds (``assignment_<id>_export.zip``,
    with the metadata at its top or in its only folder): the class, not one student's upload."""
    entries = _entries(path)
    if len(entries) != 1 or not entries[0].is_file() or entries[0].is_symlink():
        return None
    archive = entries[0]
    if not archive.name.lower().endswith(".zip") or not EXPORT_DIR.match(archive.name[:-4]):
        return None
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return archive if any(PurePosixPath(n).name == META and len(PurePosixPath(n).parts) <= 2 for n in names) else None


def _other_readings(path: Path, allowed: list[str], chosen: str) -> list[str]:
    """What says the layout chosen from the top of ``path`` may not be the one meant, and the
    --layout that reads it otherwise."""
    entries = _entries(path)
    canvas = [e.name for e in entries if e.is_file() and canvas_name(e.name, allowed) is not None]
    named = ", ".join(canvas[:3]) + (", ..." if len(canvas) > 3 else "")
    said = []
    if chosen == "gradescope":
        if canvas:
            said.append(f"{path.name}/ holds {META}, so it is read as a Gradescope export, but also {_files(len(canvas))} "
                        f"named as Canvas names them ({named}), which an export does not hold: if it is a Canvas "
                        "download, pass --layout canvas (or --layout folders, for one folder per student)")
        folders = [e for e in entries if e.is_dir()]
        if folders and not any(SUBMISSION_DIR.match(e.name) for e in folders):
            said.append(f"{path.name}/ holds {META}, so it is read as a Gradescope export, but none of its folders is a "
                        "submission_<id>/ folder: if it is one folder per student, pass --layout folders")
    elif canvas:
        said.append(f"{_files(len(canvas))} here named as Canvas names them ({named}), and most entries not: read as "
                    "one folder or .zip per student. If it is a Canvas download, pass --layout canvas")
    return said


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def _key(name: str) -> str:
    """What makes two names one folder on some disk: case (macOS, Windows) and Unicode normal form."""
    return unicodedata.normalize("NFKC", name).casefold()


def _unique(subs: list[Submission]) -> None:
    """Give every submission a name of its own. A name of one of the grader's own files gets
    ``-student``. Names that several submissions make alike (equal but for case) are told
    apart by the LMS's ids where they have them: every one of them becomes ``name_<id>``
    (Canvas user id, Gradescope submission id), none keeps the bare name; in a folder per
    student, the upload sorted first keeps it and the others get ``-2``, ``-3``... A name too
    long for a folder is shortened. Each gets a note saying so, and a login that several
    submissions share is no one's."""
    for sub in subs:
        if sub.student.lower() in RESERVED or not sub.student or sub.student.startswith("."):
            name = f"{sub.student or 'unnamed'}-student"
            sub.notes.append(f"graded as {name!r}: the name {sub.student!r} is one of the grader's own files")
            sub.student = name
    groups: dict[str, list[Submission]] = {}
    for sub in subs:
        groups.setdefault(_key(sub.student), []).append(sub)
    taken = {k for k, group in groups.items() if len(group) == 1}
    for _, group in sorted(groups.items()):
        if len(group) == 1:
            continue
        by_id = all(s.uid for s in group)
        group.sort(key=lambda s: (_number(s.uid or ""), s.source))
        for i, sub in enumerate(group):
            base = f"{sub.student}_{sub.uid}" if by_id else sub.student
            name, n = base, 1
            while _key(name) in taken or (not by_id and i > 0 and name == base):
                n += 1
                name = f"{base}-{n}"
            taken.add(_key(name))
            sub.notes.insert(0, _told_apart(sub, group, name, by_id))
            sub.student = name
    _shorten(subs)
    logins: dict[str, int] = {}
    for sub in subs:
        if sub.login:
            logins[_key(sub.login)] = logins.get(_key(sub.login), 0) + 1
    for sub in subs:
        if sub.login and logins[_key(sub.login)] > 1:
            sub.login = ""  # (its note says why: the name it was the login of is shared)


def _shorten(subs: list[Submission]) -> None:
    """Names longer than MAX_NAME_BYTES (UTF-8) cut to it, ending in a digest of the whole
    name (so two long names that start alike stay two), with a note."""
    taken = {_key(s.student) for s in subs}
    for sub in subs:
        full = sub.student
        if len(full.encode()) <= MAX_NAME_BYTES:
            continue
        tag = hashlib.sha256(full.encode()).hexdigest()[:10]
        head = full.encode()[: MAX_NAME_BYTES - len(tag) - 3].decode("utf-8", "ignore")
        name, n = f"{head}~{tag}", 1
        while _key(name) in taken:
            n += 1
            name = f"{head}~{tag}-{n}"
        taken.add(_key(name))
        shown = full if len(full) <= 60 else full[:60] + "..."
        sub.notes.append(f"graded as {name!r}: the name {shown!r} is {len(full.encode())} bytes, more than a folder's name "
                         f"may hold; shortened to {MAX_NAME_BYTES} bytes, ending in a digest of the whole name")
        sub.student = name


def _number(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (-1, text)


def _told_apart(sub: Submission, group: list[Submission], name: str, by_id: bool) -> str:
    """The note of one of several submissions that make the same name, saying which is which."""
    others = len(group) - 1
    if sub.canvas_id is not None:
        who = "another Canvas user has" if others == 1 else f"{others} other Canvas users have"
        return f"{who} the login {sub.student!r} too: told apart by Canvas user id, this is user {sub.uid}, graded as {name!r}"
    if by_id:
        who = "another submission's submitter makes" if others == 1 else f"the submitters of {others} other submissions make"
        return f"{who} the name {sub.student!r} too: told apart by Gradescope submission id, this is {sub.source}, graded as {name!r}"
    rest = ", ".join(s.source for s in group if s is not sub)
    kept = "keeps it" if name == sub.student else f"is graded as {name!r}"
    return (f"another upload ({rest}) makes the name {sub.student!r} too (letter case aside): "
            f"this upload ({sub.source}) {kept}")


def _per_student(submissions_dir: Path, allowed: list[str], scratch: Path) -> Intake:
    subs: list[Submission] = []
    ignored: list[str] = []
    for entry in sorted(submissions_dir.iterdir()):
        if (hidden := _hidden(entry)) is not None:
            ignored.append(hidden)
            continue
        if entry.is_symlink():
            sub = Submission(entry.name, {}, problem=f"{entry.name} is a symbolic link; not followed")
        elif entry.is_dir():
            notes: list[str] = []
            origin: dict[str, str] = {}
            try:
                sub = Submission(entry.name, _collect(entry, allowed, notes, origin=origin), notes, origin=origin)
            except SubmissionError as exc:
                sub = Submission(entry.name, {}, notes, problem=str(exc))
        elif entry.suffix == ".zip":
            sub = _from_zip(entry, entry.stem, allowed, scratch)
        elif (kind := next((k for k in OTHER_ARCHIVES if entry.name.lower().endswith(k)), None)) is not None:
            # Students upload these too: the student is named and told, never silently left out.
            sub = Submission(entry.name[: -len(kind)] or entry.name, {},
                             problem=f"{entry.name}: a {kind} archive, which the grader does not unpack; upload a .zip or the files themselves")
        else:
            ignored.append(f"{entry.name}: not a folder or a .zip")
            continue
        sub.login = sub.student  # the instructor named the upload: that name is all there is to match by
        sub.source = f"the folder {entry.name}/" if entry.is_dir() and not entry.is_symlink() else entry.name
        sub.upload = sub.source
        subs.append(sub)
    return Intake("one folder or .zip per student", subs, ignored)


def _from_zip(archive: Path, student: str, allowed: list[str], scratch: Path) -> Submission:
    scratch.mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix="zip-", dir=scratch))  # never a path the upload's name decides
    try:
        _unzip(archive, dest)
        notes: list[str] = []
        origin: dict[str, str] = {}
        return Submission(student, _collect(dest, allowed, notes, origin=origin), notes, origin=origin)
    except SubmissionError as exc:
        shutil.rmtree(dest, ignore_errors=True)  # nothing half-unpacked is graded
        return Submission(student, {}, problem=str(exc))


# ---------------------------------------------------------------- Gradescope --


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+-]+", "_", text).strip("._") or "unnamed"


def _label(name: str) -> str:
    """A display name as part of a folder's name: ASCII letters, digits and ``._+-`` (no
    ``@``: a name never passes for an e-mail); "" where nothing is left."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._-")


@dataclass
class _Unclear:
    """A metadata entry that cannot be read as one: a key given twice inside it."""

    why: str


@dataclass
class _Person:
    email: str
    name: str
    sid: str
    slot: int  # where in the submission's list of submitters (0: the first)

    @property
    def label(self) -> str:
        return self.email or self.name or f"submitter {self.slot + 1}"


def _read_metadata(path: Path) -> list[tuple[str, Any, int]]:
    """The entries of submission_metadata.yml, in the file's order: (folder, what it says,
    line). A key given twice inside an entry makes it ``_Unclear`` (PyYAML would keep the
    last silently); a folder given twice is returned twice, for the caller to refuse."""
    import yaml

    class Duplicate(yaml.constructor.ConstructorError):
        pass

    class Strict(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                self.flatten_mapping(node)
                seen: set[Any] = set()
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=True)
                    try:
                        twice = key in seen
                        seen.add(key)
                    except TypeError:  # an unhashable key: SafeLoader says so
                        continue
                    if twice:
                        raise Duplicate(None, None, f"{key!r} given twice (line {key_node.start_mark.line + 1})",
                                        key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

    loader = Strict(path.read_text(encoding="utf-8"))
    try:
        root = loader.get_single_node()
        if root is None:
            return []
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(f"{path}: expected a mapping of submission folders")
        entries: list[tuple[str, Any, int]] = []
        for key_node, value_node in root.value:
            folder = str(loader.construct_object(key_node, deep=True))
            try:
                value: Any = loader.construct_object(value_node, deep=True)
            except Duplicate as exc:
                value = _Unclear(str(exc.problem))
            entries.append((folder, value, key_node.start_mark.line + 1))
        return entries
    finally:
        loader.dispose()


def _get(d: object, key: str) -> object:
    """A field of the metadata: Gradescope writes Ruby symbols (":submitters")."""
    return d.get(":" + key, d.get(key)) if isinstance(d, dict) else None


def _people(info: object) -> list[_Person]:
    submitters = _get(info, "submitters")
    people = [p for p in submitters if isinstance(p, dict)] if isinstance(submitters, list) else []
    return [_Person(str(_get(p, "email") or "").strip(), str(_get(p, "name") or "").strip(), str(_get(p, "sid") or "").strip(), i)
            for i, p in enumerate(people)]


def _claims(value: object) -> str:
    return value.why if isinstance(value, _Unclear) else ", ".join(p.label for p in _people(value)) or "no submitters"


def _gradescope(root: Path, allowed: list[str]) -> Intake:
    """A student per Gradescope person: a submitter's e-mail (whatever its case), graded on
    the newest submission (the highest id) that lists them; a submitter without an e-mail is
    the submission they are listed in (a name only labels them). A submission of several
    submitters is graded once, as its first; each of the others gets the same result in a row
    of their own. A submission the metadata lists twice, or whose entry gives a key twice,
    is believed of no one: graded under its submission id, with a warning."""
    import yaml

    try:
        entries = _read_metadata(root / META)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{root / META}: not readable YAML ({exc})") from None
    believed, unclear, warnings = _sort_out(entries)
    # One person, one row: an e-mail is graded on the newest submission that lists it.
    listing: dict[str, list[str]] = {}
    sids: dict[str, int] = {}
    for folder_name, people in believed.items():
        for p in people:
            if p.email and folder_name not in listing.get(_key(p.email), []):
                listing.setdefault(_key(p.email), []).append(folder_name)
            if p.sid:
                sids[p.sid] = sids.get(p.sid, 0) + 1
    newest = {k: max(folders, key=lambda f: _number(f.removeprefix("submission_"))) for k, folders in listing.items()}
    subs: list[Submission] = []
    ignored: list[str] = []
    for folder_name in sorted({*believed, *unclear}, key=lambda f: (_number(f.removeprefix("submission_")), f)):
        uid = _safe_name(folder_name.removeprefix("submission_") or folder_name)  # (it may end up in a folder's name)
        upload = f"Gradescope submission {uid}"
        if folder_name in unclear:
            sub = Submission(f"submission_{uid}", {}, [f"{folder_name} {unclear[folder_name]}: graded under its submission "
                                                       "id, matched to no one until the course staff check it"],
                             login="", uid=uid, source=upload, upload=upload)
            _with_files(sub, root, folder_name, allowed)
            subs.append(sub)
            continue
        people = believed[folder_name]
        members = [p for i, p in enumerate(people) if not p.email or (  # (one e-mail twice in a submission: one person)
            newest[_key(p.email)] == folder_name and _key(p.email) not in {_key(q.email) for q in people[:i]})]
        moved = [p for p in people if p.email and newest[_key(p.email)] != folder_name]
        if not people:
            ignored.append(f"{folder_name}: no submitters in {META}")
        elif not members:
            ignored.append(f"{folder_name}: its submitters are graded on their newer submissions (the highest submission id): "
                           + ", ".join(f"{p.email} on submission {newest[_key(p.email)].removeprefix('submission_')}"
                                       for p in moved))
        else:
            group = [_member(p, people, members, moved, uid, listing, newest, sids, folder_name) for p in members]
            said = _with_files(group[0], root, folder_name, allowed)
            for sub in group[1:]:  # the same upload: its files, and what intake said of them
                sub.files, sub.origin, sub.problem, sub.leader = group[0].files, dict(group[0].origin), group[0].problem, group[0]
                sub.notes += said
            group[0].group = group[1:]
            subs += group
    for entry in sorted(root.iterdir()):
        if entry.name == META or entry.name in believed or entry.name in unclear:
            continue
        if (hidden := _hidden(entry)) is not None:
            ignored.append(hidden)
        elif entry.is_dir():
            ignored.append(f"{entry.name}: not listed in {META}")
        else:
            ignored.append(f"{entry.name}: a file beside {META}, not a submission's folder")
    return Intake("Gradescope export (submission_metadata.yml)", subs, ignored, warnings)


def _sort_out(entries: list[tuple[str, Any, int]]) -> tuple[dict[str, list[_Person]], dict[str, str], list[str]]:
    """The metadata's entries believed (folder -> its submitters), the folders believed of no
    one (folder -> why: listed twice, or an entry giving a key twice) and the warnings saying
    so, with what each entry claimed."""
    by_folder: dict[str, list[tuple[Any, int]]] = {}
    for folder_name, value, line in entries:  # (keys 1001 and '1001' of the YAML are one folder)
        by_folder.setdefault(folder_name, []).append((value, line))
    believed: dict[str, list[_Person]] = {}
    unclear: dict[str, str] = {}
    warnings: list[str] = []
    for folder_name, found in by_folder.items():
        if len(found) == 1 and not isinstance(found[0][0], _Unclear):
            believed[folder_name] = _people(found[0][0])
            continue
        if len(found) > 1:
            unclear[folder_name] = f"is listed {len(found)} times in {META}"
            said = "; ".join(f"line {line}: {_claims(value)}" for value, line in found)
        else:
            unclear[folder_name] = f"has an entry in {META} that cannot be read as one ({found[0][0].why})"
            said = f"line {found[0][1]}"
        warnings.append(f"{folder_name} {unclear[folder_name]} ({said}): none of it is believed; graded under its "
                        "submission id and matched to no one. Check in Gradescope whose it is")
    return believed, unclear, warnings


def _with_files(sub: Submission, root: Path, folder_name: str, allowed: list[str]) -> list[str]:
    """Give ``sub`` the files of the export's folder ``folder_name`` (or the problem that it
    is not there); return the notes this added."""
    folder = root / folder_name
    notes: list[str] = []
    if folder_name.startswith(("/", ".")) or "/" in folder_name or not folder.is_dir() or folder.is_symlink():
        sub.problem = f"{folder_name}: listed in {META} but not in the export"
    else:
        sub.files = _collect(folder, allowed, notes, origin=sub.origin)
    sub.notes += notes
    return notes


def _member(p: _Person, people: list[_Person], members: list[_Person], moved: list[_Person], uid: str,
            listing: dict[str, list[str]], newest: dict[str, str], sids: dict[str, int], folder_name: str) -> Submission:
    """The student that one submitter of a submission is (see ``_gradescope``), with notes."""
    notes: list[str] = []
    group = len(people) > 1
    where = f"Gradescope submission {uid}" + (f", submitter {p.slot + 1}" if group else "")
    sis_id = None
    if p.email:
        student, login = _safe_name(p.email), p.email
        others = [f for f in listing[_key(p.email)] if f != folder_name]
        if others:
            notes.append(f"{p.email} is a submitter of {', '.join(sorted(others))} too: graded on submission {uid}, the newest "
                         "by the highest submission id (Gradescope numbers submissions as they are made; created_at is not "
                         "compared)")
    else:
        student, login = f"{_label(p.name) or 'submitter'}_{uid}", ""
        told = f"no e-mail for this submitter in {META}: they are {where}"
        told += f"; the name {p.name!r} only labels them" if p.name else ""
        if p.sid and sids[p.sid] == 1:
            sis_id = p.sid
            told += f"; Canvas may match them by SIS User ID {p.sid} (their sid)"
        elif p.sid:
            told += f"; their sid {p.sid} is given by {sids[p.sid]} submitters in the export, so it is no one's SIS User ID"
        notes.append(told + ("" if sis_id else "; Canvas cannot match them by login: enter their score by hand"))
    if group:
        who = ", ".join(q.label for q in people)
        if p is members[0]:
            notes.append(f"group submission {uid} ({who}): graded once, on this upload; each member gets this result in "
                         "a row of their own")
        else:
            notes.append(f"group submission {uid} ({who}): graded once, on {members[0].label}'s upload; this is the "
                         f"group's result, as {p.label}'s own row")
        notes += [f"{q.email} is graded on their newer submission {newest[_key(q.email)].removeprefix('submission_')}, "
                  "not with this group" for q in moved]
    return Submission(student, {}, notes, login=login, uid=uid if p is members[0] else f"{uid}-{p.slot + 1}",
                      source=f"Gradescope submission {uid}" + (f" ({p.email})" if p.email else ""), sis_id=sis_id,
                      upload=where)


# -------------------------------------------------------------------- Canvas --


@dataclass(frozen=True)
class CanvasName:
    """What Canvas's name of an uploaded file says: ``login[_late]_userid_fileid_original``."""

    login: str  # Canvas's sortable name, less what is not a letter, digit or _ (may be empty)
    late: bool
    user: str
    file_id: int
    original: str  # the file's name as uploaded, less Canvas's -1, -2 ... of a resubmission


def canvas_name(name: str, allowed: list[str]) -> CanvasName | None:
    """Read a Canvas file name: the user id and file id are the two numbers just before the
    uploaded file's own name, which may hold ``_<digits>_`` itself, as may the end of a login
    (a name "Eve_500"). Of the readings, the one whose file is one the assignment expects;
    else the leftmost. A login never holds ``_<digits>_`` (Canvas joins such digits to the
    name), so an upload named ``ann_500_9_momentum.py`` never reads as user 500's file."""
    readings = []
    for i, c in enumerate(name):
        if c != "_" or (m := CANVAS_IDS.match(name, i)) is None or m.end() == len(name):
            continue
        head = name[:i]
        late = head.lower().endswith("_late")
        login = head[: -len("_late")] if late else head
        if re.search(r"_\d+_", login):
            continue
        original = name[m.end():]
        if r := RESUBMITTED.match(original):
            original = r["stem"] + r["ext"]
        readings.append(CanvasName(login, late, m[1], int(m[2]), original))
    return next((r for r in readings if r.original in allowed), readings[0] if readings else None)


def _is_canvas(path: Path, allowed: list[str]) -> bool:
    """A flat folder of files, most of them named as Canvas names them (one student's
    upload named like a Canvas file does not make a class of .zip files a Canvas download)."""
    entries = _entries(path)
    canvas = [e for e in entries if canvas_name(e.name, allowed) is not None]
    return bool(entries) and not any(e.is_dir() for e in entries) and len(canvas) * 2 > len(entries)


def _canvas(path: Path, allowed: list[str], scratch: Path) -> Intake:
    """A student per Canvas user id; the login in the file names only names them (the newest
    upload's login, where the user's name changed between uploads)."""
    ignored: list[str] = []
    # user id -> original name -> [(file id, path)]
    by_user: dict[str, dict[str, list[tuple[int, Path]]]] = {}
    logins: dict[str, dict[str, int]] = {}  # user id -> login -> its newest file id
    for entry in sorted(path.iterdir()):
        if (hidden := _hidden(entry)) is not None:
            ignored.append(hidden)
            continue
        c = canvas_name(entry.name, allowed)
        if c is None:
            ignored.append(f"{entry.name}: not a Canvas submission file name (login_userid_fileid_name)")
            continue
        if entry.is_dir() and not entry.is_symlink():
            ignored.append(f"{entry.name}: a folder; a Canvas download holds files only")
            continue
        by_user.setdefault(c.user, {}).setdefault(c.original, []).append((c.file_id, entry))
        seen = logins.setdefault(c.user, {})
        seen[c.login] = max(seen.get(c.login, c.file_id), c.file_id)
    subs = [_canvas_user(user, files, logins[user], allowed, scratch)
            for user, files in sorted(by_user.items(), key=lambda kv: _number(kv[0]))]
    return Intake("Canvas bulk download (login_userid_fileid_name)", subs, ignored)


def _canvas_user(user: str, files: dict[str, list[tuple[int, Path]]], logins: dict[str, int], allowed: list[str],
                 scratch: Path) -> Submission:
    """One Canvas user's submission: of each file, the upload with the highest file id."""
    login = max(logins, key=lambda name: (logins[name], name))
    label = login or f"user_{user}"
    notes: list[str] = []
    if len(logins) > 1:
        notes.append(f"Canvas named this user's files with {len(logins)} logins ({', '.join(repr(n) for n in sorted(logins))}): "
                     f"one student, Canvas user {user}, named {label} after the newest upload")
    elif not login:
        notes.append(f"Canvas named this user's files with no name (a name without a letter or digit): Canvas user {user}, "
                     f"graded as {label}")
    chosen: dict[str, Path] = {}
    notebooks: list[tuple[str, Path]] = []
    origin: dict[str, str] = {}
    used: list[int] = []
    problem = None
    for original, versions in sorted(files.items()):
        versions.sort()
        newest = versions[-1][1]
        used.append(versions[-1][0])
        if len(versions) > 1:
            notes.append(f"{original}: {len(versions)} uploads, used the newest ({newest.name})")
        if newest.is_symlink():
            notes.append(f"{newest.name}: a symbolic link, ignored")
        elif original.endswith(".zip"):
            inner = _from_zip(newest, label, allowed, scratch)
            problem = problem or inner.problem
            notes += inner.notes
            for name, p in inner.files.items():
                if name not in chosen:
                    chosen[name] = p
                    if name in inner.origin:
                        origin[name] = inner.origin[name]
        elif original in allowed:
            chosen[original] = newest
        elif original.lower().endswith(".ipynb"):
            notebooks.append((original, newest))
        else:
            notes.append(f"{newest.name}: {original} is not a file of this assignment, ignored")
    for name, (shown, p) in _from_notebooks({n: q for n, q in chosen.items() if n not in origin}, notebooks,
                                            allowed, notes).items():
        if name not in chosen or name in origin:  # a notebook uploaded as it is, over one inside a .zip
            chosen[name], origin[name] = p, shown
    return Submission(label, {} if problem else chosen, notes, problem=problem, canvas_id=user, login="", uid=user,
                      source=f"Canvas user {user}", origin={} if problem else origin,
                      upload=f"Canvas user {user}, files {' '.join(map(str, sorted(used)))}")


def single(folder: Path, allowed: list[str], student: str, recursive: bool = False) -> Submission:
    """One student's folder: a self-check (its top level only), or a Gradescope submission
    (``recursive``: the files wherever they sit in it). ``folder`` may be a notebook itself
    (``grader check hw5 hw5.ipynb``): it then stands for every file of the assignment."""
    if folder.is_file() and folder.suffix.lower() == ".ipynb" and not recursive:
        notes: list[str] = []
        taken = _from_notebooks({}, [(folder.name, folder)], allowed, notes)
        return Submission(student, {n: p for n, (_, p) in taken.items()}, notes,
                          origin={n: shown for n, (shown, _) in taken.items()})
    if folder.is_file():
        raise ConfigError(f"{folder} is a file; give the folder that holds {', '.join(allowed)} (or a notebook, .ipynb)")
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    notes = []
    origin: dict[str, str] = {}
    files = _collect(folder, allowed, notes, recursive=recursive, origin=origin)
    if not files and not recursive:
        hints = "".join(f"\n  {n}" for n in notes if "did you mean" in n)
        raise ConfigError(f"{folder} holds none of this assignment's files ({', '.join(allowed)}): "
                          f"run the check in the folder that holds them.{hints}")
    return Submission(student, files, notes, origin=origin)
