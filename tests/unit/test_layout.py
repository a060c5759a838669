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
