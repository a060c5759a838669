"""The grader's own wheel (PEP 427, pure Python), made from the package's files as they run
here: what ``grader release`` ships to students and ``grader new course`` puts in a course
for its CI. No build tool, no network: it can be made from an installed grader too."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path


def _metadata() -> tuple[str, str, list[str], str]:
    """(name, version, Requires-Dist lines, Requires-Python) of this grader, from its
    pyproject.toml when it runs from a checkout, else from its installed distribution."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "dl-grader":
            return project["name"], project["version"], list(project.get("dependencies", [])), project.get("requires-python", "")
    from importlib import metadata

    dist = metadata.distribution("dl-grader")
    return dist.metadata["Name"], dist.version, list(dist.requires or []), (dist.metadata.get_all("Requires-Python") or [""])[0]


def grader_wheel() -> tuple[str, list[tuple[str, bytes]]]:
    """The grader's own wheel (PEP 427; pure Python): its file name and its members, in order:
    the ``grader`` package as it runs here (every file of it), then its dist-info (its
    dependencies and its ``grader`` command). Made from the files themselves, so a release
    can be made offline and from an installed grader; the same bytes for every course."""
    name, version, requires, python = _metadata()
    dist = name.replace("-", "_")
    package = Path(__file__).resolve().parents[1]  # grader/
    info = f"{dist}-{version}.dist-info"
    files: list[tuple[str, bytes]] = []
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            files.append((f"grader/{path.relative_to(package).as_posix()}", path.read_bytes()))
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
            "Summary: A grading harness for PyTorch homework (the grader only: a course is a folder of its own)."]
    if python:
        meta.append(f"Requires-Python: {python}")
    meta += [f"Requires-Dist: {r}" for r in requires]
    files += [
        (f"{info}/METADATA", ("\n".join(meta) + "\n").encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: grader release\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", b"[console_scripts]\ngrader = grader.cli:main\n"),
        (f"{info}/top_level.txt", b"grader\n"),
    ]
    record = []
    for arc, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arc},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    return f"{dist}-{version}-py3-none-any.whl", files


def build_wheel(dest: Path) -> Path:
    """Write the grader's own wheel (``grader_wheel``) into ``dest``."""
    name, files = grader_wheel()
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / name
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            z.writestr(zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return wheel


def installed_from_git() -> str | None:
    """The pip requirement that installs this very grader from git (``dl-grader @
    git+URL@COMMIT``) when it was installed so (pip's direct_url.json, PEP 610), else None (a
    checkout, an editable install, a wheel)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("dl-grader")
        here = Path(__file__).resolve().parents[1] / "__init__.py"  # grader/__init__.py
        if Path(str(dist.locate_file("grader/__init__.py"))).resolve() != here:
            return None  # the metadata of another install than the grader that runs
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except (metadata.PackageNotFoundError, ValueError, OSError):
        return None
    vcs = direct.get("vcs_info") if isinstance(direct, dict) else None
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git" or not direct.get("url") or not vcs.get("commit_id"):
        return None
    url = str(direct["url"])
    return f"dl-grader @ {url if url.startswith('git+') else 'git+' + url}@{vcs['commit_id']}"
