"""Taking submissions in, from the layouts instructors have:

- a folder holding one folder or one .zip per student (the name is the student's);
- Gradescope's "Export Submissions" (the .zip or the folder it unpacks to):
  ``submission_metadata.yml`` names the submitters of each ``submission_<id>/`` folder;
- Canvas's bulk download: one flat folder of files renamed
  ``login[_LATE]_userid_fileid_original.py``, with ``-1``, ``-2`` ... before the extension
  on resubmission (the file with the highest file id wins).

A student is who the LMS's ids say: a Canvas user id, a Gradescope submission (and its
first submitter's e-mail). A name only labels them: names that two students make alike are
told apart by those ids (or, in a folder per student, by the upload), with a note to each.

Only the files an assignment names are taken (allow-list); everything else, and any
symlink, is ignored with a note. Archives are unpacked safely: absolute paths, ``..``,
links and oversized members are refused for that student alone.
"""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ._display import visible
from ._exceptions import ConfigError, SubmissionError

MAX_FILE_BYTES = 50 << 20
MAX_ARCHIVE_BYTES = 200 << 20
MAX_EXPORT_BYTES = 8 << 30  # a whole class's Gradescope export
MAX_MEMBERS = 10_000  # entries of one student's archive (a whole class's export may hold 200 per student)
OTHER_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".gz", ".bz2", ".xz", ".rar", ".7z")
CANVAS_NAME = re.compile(r"^(?P<login>[^_]+)(?:_LATE)?_(?P<userid>\d+)_(?P<fileid>\d+)_(?P<original>.+)$")
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
    # id is used; a name that several uploads make); None: not known (the student's name is used).
    login: str | None = None
    # The LMS's id that tells this student from others of the same name (Canvas user id,
    # Gradescope submission id), and where the upload came from, for notes.
    uid: str | None = None
    source: str = ""
    # allowed file name -> the notebook it is made from, as the student named it ("hw5.ipynb"),
    # for a file taken from a notebook (files[name] is then that notebook's path)
    origin: dict[str, str] = field(default_factory=dict)

    def shown(self, name: str) -> str:
        """``name`` as the intake summary and messages show it: ``backprop.py (from hw5.ipynb)``."""
        return f"{name} (from {self.origin[name]})" if name in self.origin else name


def identity(sub: Submission | None) -> dict[str, Any]:
    """The fields of a student's result that say who they are and what intake noted."""
    if sub is None:
        return {}
    return {"canvas_id": sub.canvas_id, "login": sub.login, "intake_notes": list(sub.notes)}


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
    """What was taken in: the layout recognised, a submission per student, and what was
    not matched to any student (with why)."""

    layout: str
    submissions: list[Submission]
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        """Lines for a person: the layout, who got which files, what was ignored and why."""
        ok = [s for s in self.submissions if not s.problem]
        lines = [f"Intake: {self.layout}; {len(self.submissions)} students ({len(self.submissions) - len(ok)} refused)."]
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


def take_in(path: Path, allowed: list[str], scratch: Path | None = None, layout: str = "auto") -> Intake:
    """Recognise the layout of ``path`` (a folder, or a Gradescope export .zip) and take in
    one submission per student.

    The layout is decided once, from the top of ``path`` (or named by ``layout``), never
    from inside one student's upload: a Gradescope export is a folder whose own
    ``submission_metadata.yml`` (or, for the unpacked .zip or a folder that holds nothing
    else, its only sub-folder's) lists the submissions; a Canvas download is a flat folder
    of files most of whose names are Canvas's. Every error reading one student's upload is
    that student's note and outcome. Names are made unique: one that is taken by another
    student or by a file of the grader's own gets a suffix, with a note."""
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    scratch = scratch or Path(tempfile.mkdtemp(prefix="grader-intake-"))
    if path.is_file() and path.suffix == ".zip":
        export = scratch / "_export"
        export.mkdir(parents=True, exist_ok=True)
        try:
            _unzip(path, export, MAX_EXPORT_BYTES)
        except SubmissionError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        root = _metadata_root(export, nested=True)
        if root is None:
            raise ConfigError(f"{path}: a .zip without submission_metadata.yml is not a Gradescope export; "
                              "give a folder holding one folder or .zip per student")
        intake = _gradescope(root, allowed)
    elif not path.is_dir():
        raise ConfigError(f"{path}: no such folder of submissions")
    elif layout == "gradescope" or layout == "auto" and _metadata_root(path) is not None:
        root = _metadata_root(path)
        if root is None:
            raise ConfigError(f"{path}: --layout gradescope, but there is no submission_metadata.yml at its top")
        intake = _gradescope(root, allowed)
    elif layout == "canvas" or layout == "auto" and _is_canvas(path):
        intake = _canvas(path, allowed, scratch)
    else:
        intake = _per_student(path, allowed, scratch)
    if not intake.submissions:
        own = sorted(e.name for e in path.iterdir() if e.name in allowed) if path.is_dir() else []
        hint = (f" It holds {', '.join(own)} itself: give the folder that holds one folder (or .zip) per student"
                if own else " Give the folder that holds one folder (or .zip) per student.")
        raise ConfigError(f"{path}: no student folders or .zip files in it.{hint}")
    _unique(intake.submissions)
    intake.submissions.sort(key=lambda s: s.student)
    return intake


def _key(name: str) -> str:
    """What makes two names one folder on some disk: case (macOS, Windows) and Unicode normal form."""
    return unicodedata.normalize("NFKC", name).casefold()


def _unique(subs: list[Submission]) -> None:
    """Give every submission a name of its own. A name of one of the grader's own files gets
    ``-student``. Names that several submissions make alike (equal but for case) are told
    apart by the LMS's ids where they have them: every one of them becomes ``name_<id>``
    (Canvas user id, Gradescope submission id), none keeps the bare name; in a folder per
    student, the upload sorted first keeps it and the others get ``-2``, ``-3``... Each gets
    a note saying so, and a login that several submissions share is no one's."""
    for sub in subs:
        if sub.student.lower() in RESERVED or not sub.student or sub.student.startswith("."):
            name = f"{sub.student or 'unnamed'}-student"
            sub.notes.append(f"graded as {name!r}: the name {sub.student!r} is one of the grader's own files")
            sub.student = name
    groups: dict[str, list[Submission]] = {}
    for sub in subs:
        groups.setdefault(_key(sub.student), []).append(sub)
    taken = {k for k, group in groups.items() if len(group) == 1}
    for k, group in sorted(groups.items()):
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
    logins: dict[str, int] = {}
    for sub in subs:
        if sub.login:
            logins[_key(sub.login)] = logins.get(_key(sub.login), 0) + 1
    for sub in subs:
        if sub.login and logins[_key(sub.login)] > 1:
            sub.login = ""  # (its note says why: the name it was the login of is shared)


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
        if entry.name.startswith("."):
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


def _metadata_root(path: Path, nested: bool = False) -> Path | None:
    """The folder holding submission_metadata.yml: ``path`` itself; or its only sub-folder,
    where ``path`` holds nothing else (an export unpacked into a folder of its own) or is
    the unpacked export .zip (``nested``). Never a student's folder among others: one
    upload cannot make the class a Gradescope export, or decide who is who."""
    if (path / "submission_metadata.yml").is_file():
        return path
    entries = [p for p in path.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    subdirs = [p for p in entries if p.is_dir() and not p.is_symlink()]
    if len(subdirs) == 1 and (nested or len(entries) == 1) and (subdirs[0] / "submission_metadata.yml").is_file():
        return subdirs[0]
    return None


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+-]+", "_", text).strip("._") or "unnamed"


def _gradescope(root: Path, allowed: list[str]) -> Intake:
    import yaml

    try:
        meta = yaml.safe_load((root / "submission_metadata.yml").read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{root / 'submission_metadata.yml'}: not readable YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{root / 'submission_metadata.yml'}: expected a mapping of submission folders")

    def get(d: object, key: str) -> object:  # Gradescope writes Ruby symbols: ":submitters"
        return d.get(":" + key, d.get(key)) if isinstance(d, dict) else None

    subs: list[Submission] = []
    ignored: list[str] = []
    listed: set[str] = set()
    folders: dict[int, str] = {}  # id(submission) -> its folder
    for folder_name, info in sorted(meta.items(), key=lambda kv: str(kv[0])):
        folder_name = str(folder_name)
        if folder_name in listed:  # (keys 1001 and '1001' of the YAML): one folder is one submission
            ignored.append(f"{folder_name}: listed twice in submission_metadata.yml; taken once")
            continue
        listed.add(folder_name)
        submitters = get(info, "submitters") or []
        people = [p for p in submitters if isinstance(p, dict)] if isinstance(submitters, list) else []
        if not people:
            ignored.append(f"{folder_name}: no submitters in submission_metadata.yml")
            continue
        first = people[0]
        email = str(get(first, "email") or "")
        student = _safe_name(email or str(get(first, "sid") or get(first, "name") or folder_name))
        uid = _safe_name(folder_name.removeprefix("submission_") or folder_name)  # (it may end up in a folder's name)
        notes = []
        if len(people) > 1:
            others = ", ".join(str(get(p, "email") or get(p, "name")) for p in people[1:])
            notes.append(f"group submission with {others}: graded once, as {student}")
        sub = Submission(student, {}, notes, login=email or student, uid=uid,
                         source=f"Gradescope submission {uid}" + (f" ({email})" if email else ""))
        folder = root / folder_name
        if folder_name.startswith(("/", ".")) or "/" in folder_name or not folder.is_dir() or folder.is_symlink():
            sub.problem = f"{folder_name}: listed in submission_metadata.yml but not in the export"
        else:
            sub.files = _collect(folder, allowed, notes, origin=sub.origin)
        subs.append(sub)
        folders[id(sub)] = folder_name
    subs = _one_per_person(subs, folders, ignored)
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and entry.name not in listed and not entry.name.startswith((".", "__MACOSX")):
            ignored.append(f"{entry.name}: not listed in submission_metadata.yml")
    return Intake("Gradescope export (submission_metadata.yml)", subs, ignored)


def _one_per_person(subs: list[Submission], folders: dict[int, str], ignored: list[str]) -> list[Submission]:
    """One submission per Gradescope account (its e-mail, whatever its case): where one is
    the first submitter of several submissions, the newest (the highest submission id) is
    graded and the others are ignored, with a note to the one graded."""
    by_email: dict[str, list[Submission]] = {}
    for sub in subs:
        if "@" in (sub.login or ""):
            by_email.setdefault(_key(sub.login or ""), []).append(sub)
    dropped: set[int] = set()
    for group in by_email.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda s: _number(s.uid or ""))
        kept = group[-1]
        older = ", ".join(folders[id(s)] for s in group[:-1])
        kept.notes.insert(0, f"{kept.login} is the first submitter of {older} too: graded on the newest, {kept.source}")
        for s in group[:-1]:
            ignored.append(f"{folders[id(s)]}: {s.login}'s too; graded on the newest, {kept.source}")
            dropped.add(id(s))
    return [s for s in subs if id(s) not in dropped]


# -------------------------------------------------------------------- Canvas --


def _is_canvas(path: Path) -> bool:
    """A flat folder of files, most of them named as Canvas names them (one student's
    upload named like a Canvas file does not make a class of .zip files a Canvas download)."""
    entries = [e for e in path.iterdir() if not e.name.startswith(".")]
    canvas = [e for e in entries if CANVAS_NAME.match(e.name)]
    return bool(entries) and not any(e.is_dir() for e in entries) and len(canvas) * 2 > len(entries)


def _canvas(path: Path, allowed: list[str], scratch: Path) -> Intake:
    """A student per Canvas user id; the login in the file names only names them (the newest
    upload's login, where the user's name changed between uploads)."""
    ignored: list[str] = []
    # user id -> original name -> [(file id, path)]
    by_user: dict[str, dict[str, list[tuple[int, Path]]]] = {}
    logins: dict[str, dict[str, int]] = {}  # user id -> login -> its newest file id
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        m = CANVAS_NAME.match(entry.name)
        if not m:
            ignored.append(f"{entry.name}: not a Canvas submission file name (login_userid_fileid_name)")
            continue
        original = m["original"]
        if r := RESUBMITTED.match(original):
            original = r["stem"] + r["ext"]
        user, file_id = m["userid"], int(m["fileid"])
        by_user.setdefault(user, {}).setdefault(original, []).append((file_id, entry))
        seen = logins.setdefault(user, {})
        seen[m["login"]] = max(seen.get(m["login"], file_id), file_id)
    subs = [_canvas_user(user, files, logins[user], allowed, scratch)
            for user, files in sorted(by_user.items(), key=lambda kv: _number(kv[0]))]
    return Intake("Canvas bulk download (login_userid_fileid_name)", subs, ignored)


def _canvas_user(user: str, files: dict[str, list[tuple[int, Path]]], logins: dict[str, int], allowed: list[str],
                 scratch: Path) -> Submission:
    """One Canvas user's submission: of each file, the upload with the highest file id."""
    login = max(logins, key=lambda name: (logins[name], name))
    notes: list[str] = []
    if len(logins) > 1:
        notes.append(f"Canvas named this user's files with {len(logins)} logins ({', '.join(sorted(logins))}): "
                     f"one student, Canvas user {user}, named {login} after the newest upload")
    chosen: dict[str, Path] = {}
    notebooks: list[tuple[str, Path]] = []
    origin: dict[str, str] = {}
    problem = None
    for original, versions in sorted(files.items()):
        versions.sort()
        newest = versions[-1][1]
        if len(versions) > 1:
            notes.append(f"{original}: {len(versions)} uploads, used the newest ({newest.name})")
        if newest.is_symlink():
            notes.append(f"{newest.name}: a symbolic link, ignored")
        elif original.endswith(".zip"):
            inner = _from_zip(newest, login, allowed, scratch)
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
    return Submission(login, {} if problem else chosen, notes, problem=problem, canvas_id=user, login="", uid=user,
                      source=f"Canvas user {user}", origin={} if problem else origin)


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
