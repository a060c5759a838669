"""The package's shape as pyproject.toml's import contracts state it (`make lint` runs
lint-imports on them: no cycles, the layers, the worker side apart). The worker side's
contract must name every trusted-side module and subpackage, or one added later would be
outside the boundary's check; each contract is shown to break on a copy that breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT

LINT = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()", "--no-cache"]


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["name"]: c for c in config["contracts"]}


def test_the_worker_contract_names_every_trusted_module() -> None:
    trusted = {f"grader.{p.stem}" for p in (ROOT / "grader").glob("*.py") if not p.stem.startswith("__")}
    trusted |= {f"grader.{p.name}" for p in (ROOT / "grader").iterdir()
                if p.is_dir() and (p / "__init__.py").exists() and p.name != "_worker"}
    contract = _contracts()["The worker side imports nothing of the trusted side"]
    assert contract["source_modules"] == ["grader._worker"]
    assert set(contract["forbidden_modules"]) == trusted  # type: ignore[arg-type]


def test_the_contracts_fail_on_a_cycle_and_on_a_worker_import(tmp_path: Path) -> None:
    # The contracts are shown to fail before they are trusted: a copy of the package with a
    # lazy import that closes a cycle, and one with the worker importing a trusted module.
    for name, edit in (("cycle", ("_course/models.py", "\n\ndef _later() -> None:\n    from .layout import Course  # noqa: F401\n")),
                       ("layer", ("_course/layout.py", "\n\ndef _later() -> None:\n    from .._authoring.release import released_rubric  # noqa: F401\n")),
                       ("worker", ("_worker/faults.py", "\nfrom grader._course import models  # noqa: F401,E402\n"))):
        copy = tmp_path / name
        shutil.copytree(ROOT / "grader", copy / "grader", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
        with open(copy / "grader" / edit[0], "a") as f:
            f.write(edit[1])
        proc = subprocess.run(LINT, cwd=copy, capture_output=True, text=True, env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "BROKEN" in proc.stdout and "0 broken" not in proc.stdout, proc.stdout
    proc = subprocess.run(LINT, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "3 kept, 0 broken" in proc.stdout, proc.stdout + proc.stderr


def private_imports(package: Path) -> list[str]:
    """Every ``from <a grader module> import _name`` in ``package``: a private name used across
    modules (a subpackage such as ``_worker`` is a folder, not a name)."""
    import ast

    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "grader"):
                for alias in node.names:
                    name = alias.name
                    if name.startswith("_") and not name.startswith("__") and not (path.parent / name).is_dir() \
                            and not (package / name).is_dir():
                        found.append(f"{path.relative_to(package.parent)}: {'.' * node.level}{node.module or ''} import {name}")
    return found


def test_no_private_name_is_imported_across_modules(tmp_path: Path) -> None:
    assert private_imports(ROOT / "grader") == []
    copy = tmp_path / "grader"
    shutil.copytree(ROOT / "grader", copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "_reports" / "summary.py").open("a") as f:
        f.write("\nfrom .feedback import _helper_of_its_own  # noqa\n")
    assert private_imports(copy) == ["grader/_reports/summary.py: .feedback import _helper_of_its_own"]


def long_modules_without_a_reason(package: Path, most: int = 400) -> list[str]:
    """Modules over ``most`` lines whose docstring does not say why they are one module."""
    import ast

    out = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > most and "Why one module" not in (ast.get_docstring(ast.parse(text)) or ""):
            out.append(str(path.relative_to(package.parent)))
    return out


def test_a_long_module_says_why_it_is_one(tmp_path: Path) -> None:
    assert long_modules_without_a_reason(ROOT / "grader") == []
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "long.py").write_text('"""A module."""\n' + "x = 1\n" * 401)
    assert long_modules_without_a_reason(tmp_path / "grader") == ["grader/long.py"]


def unmirrored(unit: Path, package: Path, besides: frozenset[str] = frozenset({"reference"})) -> list[str]:
    """Folders of the unit tier that name no module or subpackage of ``package`` (``sandbox``
    for ``_sandbox/``, ``checks`` for ``checks.py``): the unit tier is laid out as the package
    is, so a reader finds a module's tests by its name. ``besides``: folders for what is not
    the package (``reference``: the reference solutions against the homework texts)."""
    names = {p.stem.lstrip("_") for p in package.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    return sorted(d.name for d in unit.iterdir() if d.is_dir() and d.name != "__pycache__"
                  and d.name not in names and d.name not in besides)  # fmt: skip


def test_the_unit_tier_is_laid_out_as_the_package(tmp_path: Path) -> None:
    unit = ROOT / "tests" / "unit"
    assert unmirrored(unit, ROOT / "grader") == []
    assert not [p.name for p in unit.glob("test_*.py") if p.name != "test_package_shape.py"], "a unit test outside its module's folder"
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "helpers").mkdir()
    assert unmirrored(tmp_path, ROOT / "grader") == ["helpers"]
