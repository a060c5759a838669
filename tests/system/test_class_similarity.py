"""``grader similarity`` end to end: a class in a folder per student, one of them handing in a
notebook that disguises the reference's code; the command ranks that pair first and writes
the report, and says what a score is and is not."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat

from conftest import ROOT, run_cli


def _disguised_notebook(path: Path) -> None:
    """The reference's momentum.py with its names changed, its two functions in the other
    order, comments instead of docstrings, and a cell of top-level trial code (which grading
    leaves out, so the comparison does too)."""
    code = (ROOT / "reference" / "mfdnn-hw5" / "momentum.py").read_text()
    for old, new in (("theta", "params"), ("traj", "history"), ("prev", "last_one"), ("velocity", "vel_state")):
        code = re.sub(rf"\b{old}\b", new, code)
    code = re.sub(r'"""[\s\S]*?"""', "# my notes", code)
    head, first, second = re.split(r"\n(?=def )", code, maxsplit=2)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# HW5 momentum"), nbformat.v4.new_code_cell(head),
                nbformat.v4.new_code_cell(second), nbformat.v4.new_code_cell(first),
                nbformat.v4.new_code_cell("import torch\nprint(heavy_ball(torch.zeros(2), lambda t: t, 0.1, 0.9, 3))")]
    nbformat.write(nb, str(path))


def test_similarity_ranks_a_disguised_notebook_copy_first(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    for who in ("erin", "frank", "grace", "heidi"):
        shutil.copytree(ROOT / "examples" / "mfdnn-hw5" / who, subs / who)
    shutil.copytree(ROOT / "reference" / "mfdnn-hw5", subs / "rita")
    (subs / "nora").mkdir()
    _disguised_notebook(subs / "nora" / "momentum.ipynb")
    out = tmp_path / "report"
    proc = run_cli("similarity", "mfdnn-hw5", subs, "--out", out, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "similarity.json").read_text())
    assert report["students"] == 6
    top = report["pairs"][0]
    assert {top["a"], top["b"]} == {"nora", "rita"}, report["pairs"]
    assert top["score"] >= 0.5 and set(top["files"]) == {"momentum.py"}
    assert all(p["score"] < top["score"] / 2 for p in report["pairs"][1:]), report["pairs"]
    page = (out / "similarity.html").read_text()
    assert "never a verdict" in page and "nora" in page
    pair = (out / top["page"]).read_text()
    assert 'class="shared"' in pair and "print(heavy_ball" not in pair  # the trial cell is not code graded
    assert "nora" in proc.stdout and "never a verdict" in proc.stdout
