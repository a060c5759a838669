"""Taking submissions in: a folder of per-student folders or .zip files.

Only the files an assignment names are taken (allow-list); everything else, and any
symlink, is ignored with a note. Archives are unpacked safely: absolute paths, ``..``,
links and oversized members are refused for that student alone.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ._exceptions import ConfigError, SubmissionError

MAX_FILE_BYTES = 50 << 20
MAX_ARCHIVE_BYTES = 200 << 20


@dataclass
class Submission:
    student: str
    files: dict[str, Path]  # allowed file name -> where it is on disk
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # set when the submission could not be taken in at all


def _collect(root: Path, allowed: list[str], notes: list[str], recursive: bool = True) -> dict[str, Path]:
    found: dict[str, list[Path]] = {name: [] for name in allowed}
    for path in sorted(root.rglob("*") if recursive else root.iterdir()):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue
        if path.is_symlink():
            notes.append(f"{rel}: a symbolic link, ignored")
            continue
        if path.is_file() and path.name in found:
            if path.stat().st_size > MAX_FILE_BYTES:
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
    return files


def _unzip(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            total = 0
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                    raise SubmissionError(f"{archive.name}: unsafe path {info.filename!r} in the archive")
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise SubmissionError(f"{archive.name}: {info.filename!r} is a symbolic link")
                total += info.file_size
                if info.file_size > MAX_FILE_BYTES or total > MAX_ARCHIVE_BYTES:
                    raise SubmissionError(f"{archive.name}: unpacks to more than {MAX_ARCHIVE_BYTES >> 20} MB")
            for info in zf.infolist():
                if info.is_dir():
                    continue
                target = dest / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{archive.name}: not a readable zip file ({exc})") from None


def discover(submissions_dir: Path, allowed: list[str], scratch: Path | None = None) -> list[Submission]:
    """One ``Submission`` per sub-folder or .zip of ``submissions_dir``, sorted by student."""
    if not submissions_dir.is_dir():
        raise ConfigError(f"{submissions_dir}: no such folder of submissions")
    scratch = scratch or Path(tempfile.mkdtemp(prefix="grader-intake-"))
    subs: list[Submission] = []
    for entry in sorted(submissions_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            subs.append(Submission(entry.name, {}, problem=f"{entry.name} is a symbolic link; not followed"))
        elif entry.is_dir():
            notes: list[str] = []
            subs.append(Submission(entry.name, _collect(entry, allowed, notes), notes))
        elif entry.suffix == ".zip":
            student = entry.stem
            dest = scratch / student
            dest.mkdir(parents=True, exist_ok=True)
            try:
                _unzip(entry, dest)
            except SubmissionError as exc:
                subs.append(Submission(student, {}, problem=str(exc)))
                continue
            notes = []
            subs.append(Submission(student, _collect(dest, allowed, notes), notes))
    if not subs:
        own = sorted(e.name for e in submissions_dir.iterdir() if e.name in allowed)
        hint = (f" It holds {', '.join(own)} itself: give the folder that holds one folder (or .zip) per student"
                if own else " Give the folder that holds one folder (or .zip) per student.")
        raise ConfigError(f"{submissions_dir}: no student folders or .zip files in it.{hint}")
    names = [s.student for s in subs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{submissions_dir}: two submissions for the same student name: {sorted(n for n in names if names.count(n) > 1)}")
    return subs


def single(folder: Path, allowed: list[str], student: str) -> Submission:
    """The student's own folder, for a self-check."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    notes: list[str] = []
    return Submission(student, _collect(folder, allowed, notes, recursive=False), notes)
