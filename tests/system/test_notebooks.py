"""Notebooks handed in: taken for NAME.py (or for the whole assignment), graded from the
imports, definitions and constants each problem uses, with messages that name cells; and
notebooks that are broken or hostile refused for that student alone."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader._course.layout import Course
from grader._exceptions import SubmissionError
from grader._grading.api import check
from grader._course.intake import single, take_in
from grader._notebooks.module import convert, read, template_names

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course.locate(ROOT)
HW5 = COURSE.assignment("mfdnn-hw5")
REF = ROOT / "reference" / "mfdnn-hw5"


def notebook(path: Path, *sources: str) -> Path:
    """A notebook of these code cells (a markdown cell first, outputs and counts as Jupyter leaves them)."""
    nb = new_notebook(cells=[new_markdown_cell("# Homework 5")] + [new_code_cell(s) for s in sources])
    for i, c in enumerate(nb.cells[1:], start=1):
        c.execution_count = i
        c.outputs = [nbformat.v4.new_output("stream", text="print('from an output')\n")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


COLAB = ["!pip install -q torchinfo\n%matplotlib inline",
         "from google.colab import drive\ndrive.mount('/content/drive')",
         "import torch\nimport matplotlib.pyplot as plt\ndevice = 'cuda' if torch.cuda.is_available() else 'cpu'"]
TRAINING = ["traj = heavy_ball(torch.zeros(2), lambda t: 2 * t - 1, 0.1, 0.9, 150)\nplt.plot([t[0] for t in traj])\nplt.show()",
            "for epoch in range(150):\n    print(epoch)\ninput('continue?')"]


def whole(path: Path) -> Path:
    """The homework's notebook as students write it: Colab cells, the code, training and plots."""
    return notebook(path, *COLAB, *[(REF / f).read_text() for f in ("momentum.py", "backprop.py", "bottleneck.py")], *TRAINING)


def test_a_notebook_for_the_whole_assignment_scores_as_its_py_files(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    for f in ("momentum.py", "backprop.py", "bottleneck.py"):
        (files / f).write_text((REF / f).read_text())
    nb = whole(tmp_path / "nb" / "hw5.ipynb")
    wanted = {"momentum", "backprop", "bottleneck"}
    as_py = check("mfdnn-hw5", files, course=COURSE, seed=3, problems=wanted)
    as_nb = check("mfdnn-hw5", nb, course=COURSE, seed=3, problems=wanted)
    assert [(t.name, t.outcome) for t in as_nb.tests] == [(t.name, t.outcome) for t in as_py.tests]
    assert as_nb.score == as_py.score == as_nb.max_score > 0
    notes = {p.id: p for p in as_nb.problems}
    assert notes["momentum"].notebook == "hw5.ipynb"
    assert any("Not run: the top-level work of cell 2 (In [1])" in n for n in notes["momentum"].notes), notes["momentum"].notes
    assert (tmp_path / "nb" / "hw5-feedback.html").is_file()


def test_a_wrong_notebook_fails_with_messages_that_name_the_cell(tmp_path: Path) -> None:
    momentum = (REF / "momentum.py").read_text().replace(
        "    theta = theta0.clone()\n", "    theta = theta0.clone() * SCALE\n", 1)
    assert "SCALE" in momentum
    nb = notebook(tmp_path / "momentum.ipynb", "import torch\nSCALE = torch.ones(1).item()", momentum,
                  "def velocity_momentum(theta0, grad_fn, alpha, beta, num_steps):\n    return [theta0][5]\n")
    r = check("mfdnn-hw5", nb, course=COURSE, seed=1)
    assert {p.id for p in r.problems} == {"momentum"}  # a notebook named for one file checks that problem
    assert r.score == 0 and all(t.outcome != "passed" for t in r.tests)
    heavy = next(t for t in r.tests if "heavy_ball (Form I)" in t.name)
    assert 'File "momentum.ipynb", cell 3 (In [2]), line' in heavy.output, heavy.output
    assert "SCALE is set in cell 2 (In [1]), line 2, which the grader does not run" in heavy.output
    velocity = next(t for t in r.tests if "velocity_momentum (Form II)" in t.name)
    assert "IndexError" in velocity.output and "cell 4 (In [3]), line 2" in velocity.output, velocity.output  # the later definition wins
    part = r.problems[0]
    assert any(n.startswith("Needed but not run: SCALE") for n in part.notes)
    assert {c.index for c in part.cells} >= {2, 3, 4} and next(c for c in part.cells if c.index == 4).lines == [2]


def test_backprop_s_no_autograd_check_reads_only_backprop_s_code(tmp_path: Path) -> None:
    """Another cell's autograd (a training loop, a check by autograd) does not fail backprop's
    "by hand" check; backprop's own use of it still does."""
    clean = notebook(tmp_path / "a" / "hw5.ipynb", (REF / "backprop.py").read_text(),
                     "x = torch.ones(3, requires_grad=True)\n(x * 2).sum().backward()\nprint(x.grad)",
                     "def check_with_autograd(z):\n    z.requires_grad_(True)\n    return torch.autograd.grad(z.sum(), z)")
    r = check("mfdnn-hw5", clean, course=COURSE, seed=2, problems={"backprop"})
    assert r.score == r.max_score, [(t.name, t.output) for t in r.tests if t.outcome != "passed"]
    # a later cell redefines sigma (which backprop uses) with autograd in it
    cheat = "def sigma(z):\n    z = z.detach().requires_grad_(True)\n    return torch.sigmoid(z)\n"
    r = check("mfdnn-hw5", notebook(tmp_path / "b" / "hw5.ipynb", (REF / "backprop.py").read_text(), cheat),
              course=COURSE, seed=2, problems={"backprop"})
    by_hand = next(t for t in r.tests if "no autograd" in t.name)
    assert by_hand.outcome == "failed" and "hw5.ipynb (backprop's code) uses what this problem does not allow" in by_hand.output, by_hand.output
    assert "cell 3 (In [2]), line 2: .requires_grad_" in by_hand.output, by_hand.output


def test_conversion_keeps_definitions_and_constants_and_says_what_it_left_out(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "n.ipynb", *COLAB, "import numpy as np\nLR = 0.1\nSIZES = [2 ** k for k in range(3)]",
                  "def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):\n    return [theta0 * LR] * (num_steps + 1)",
                  "%%time\nheavy_ball(1, 2, 3, 4, 5)", "heavy_ball?", "x = !ls\nresult = heavy_ball(torch.zeros(1), None, 0, 0, 3)",
                  "def heavy_ball_old(x):\n    return get_ipython()")
    m = convert(nb, "momentum", wanted=template_names(HW5.template_dir / "momentum.py"))
    assert "LR = 0.1" in m.kept and "def heavy_ball" in m.kept
    for gone in ("drive.mount", "plt.plot", "!pip", "%matplotlib", "%%time", "heavy_ball?", "!ls", "result =", "get_ipython",
                 "SIZES", "numpy"):
        assert gone not in m.kept, gone
    compile(m.kept, "kept", "exec")
    text = "\n".join(m.summary())
    assert "cell 5 (In [4])" in text and "Not run: the top-level work of cell 2 (In [1]), cell 3 (In [2])" in text, text
    # everything runs with filtering off, in order (magics and shell lines are still not Python)
    cells = convert(nb, "momentum", mode="cells")
    assert "drive.mount" in cells.kept and "result = heavy_ball" in cells.kept and "!pip" not in cells.kept


def test_intake_takes_notebooks_in_every_layout_and_a_py_wins(tmp_path: Path) -> None:
    allowed = HW5.student_files
    subs = tmp_path / "subs"
    whole(subs / "ann" / "hw5.ipynb")
    (subs / "bob").mkdir()
    (subs / "bob" / "momentum.py").write_text((REF / "momentum.py").read_text())
    notebook(subs / "bob" / "momentum.ipynb", "x = 1")
    notebook(subs / "bob" / "backprop.ipynb", (REF / "backprop.py").read_text())
    with zipfile.ZipFile(subs / "cat.zip", "w") as z:
        z.write(whole(tmp_path / "c" / "mine.ipynb"), "folder/mine.ipynb")
    notebook(subs / "dan" / "a.ipynb", "x = 1")
    notebook(subs / "dan" / "b.ipynb", "y = 2")
    intake = take_in(subs, allowed)
    by = {s.student: s for s in intake.submissions}
    assert by["ann"].origin == {f: "hw5.ipynb" for f in allowed}
    assert by["bob"].files["momentum.py"].suffix == ".py" and by["bob"].origin == {"backprop.py": "backprop.ipynb"}
    assert any("a .py wins over a notebook" in n for n in by["bob"].notes)
    assert set(by["cat"].origin) == set(allowed) and by["cat"].origin["momentum.py"] == "mine.ipynb"
    assert not by["dan"].files and any("2 notebooks" in n for n in by["dan"].notes)
    summary = "\n".join(intake.summary())
    assert "backprop.py (from hw5.ipynb)" in summary
    canvas = tmp_path / "canvas"
    canvas.mkdir()
    whole(canvas / "eve_1234_5678_hw5.ipynb")
    (canvas / "fay_99_100_momentum.py").write_text("x = 1\n")
    got = {s.student: s for s in take_in(canvas, allowed).submissions}
    assert got["eve"].origin["momentum.py"] == "hw5.ipynb" and "momentum.py" not in got["fay"].origin
    one = single(tmp_path / "c" / "mine.ipynb", allowed, "me")
    assert set(one.files) == set(allowed)


HOSTILE = {
    "malformed JSON": (b'{"cells": [', "its JSON is broken at line 1"),
    "a zip renamed": (b"PK\x03\x04" + b"\x00" * 40, "is a zip archive, not a notebook"),
    "non-UTF-8": ('{"cells": [], "nbformat": 4, "x": "\xe9"}'.encode("latin-1"), "it is not UTF-8 text"),
    "no cells": (b'{"hello": 1}', "no cells in it"),
    "format 99": (b'{"cells": [], "nbformat": 99, "nbformat_minor": 0, "metadata": {}}', "notebook format 99"),
    "cells not a list": (b'{"cells": 7, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "hw5.ipynb"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_broken_notebook_is_refused_with_a_message_that_says_what_to_do(tmp_path: Path, case: str) -> None:
    data, said = HOSTILE[case]
    path = tmp_path / "hw5.ipynb"
    path.write_bytes(data)
    with pytest.raises(SubmissionError) as exc:
        read(path)
    assert said in str(exc.value), str(exc.value)


def test_a_notebook_of_200_mb_of_outputs_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "hw5.ipynb"
    with open(path, "wb") as f:
        f.truncate(200 << 20)
    with pytest.raises(SubmissionError, match="clear its outputs"):
        read(path)


def test_code_in_metadata_or_outputs_never_runs_and_get_ipython_is_explained(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("def heavy_ball(theta0, grad_fn, alpha, beta, num_steps):\n"
                                           "    return get_ipython().run_cell('1')")])
    nb.metadata["code"] = "import os; os._exit(3)"
    nb.cells[0].metadata["source"] = "def velocity_momentum(*a): return 1"
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "def velocity_momentum(): pass"})]
    path = tmp_path / "momentum.ipynb"
    nbformat.write(nb, path)
    m = convert(path, "momentum", wanted=template_names(HW5.template_dir / "momentum.py"))
    assert "os._exit" not in m.kept and "velocity_momentum" not in m.kept
    text, _ = m.explain("Your code raised NameError: name 'get_ipython' is not defined")
    assert "exists only inside Jupyter" in text


def test_hostile_notebooks_in_a_class_fail_only_their_student(tmp_path: Path) -> None:
    """One batch: broken notebooks, a notebook that exits and hangs at load (cells mode is not
    needed: definitions mode never runs top-level work), beside a right one."""
    from grader._grading.api import grade

    subs = tmp_path / "subs"
    whole(subs / "good" / "hw5.ipynb")
    (subs / "json").mkdir()
    (subs / "json" / "hw5.ipynb").write_bytes(b'{"cells": [')
    (subs / "zip").mkdir()
    with zipfile.ZipFile(subs / "zip" / "hw5.ipynb", "w") as z:
        z.writestr("momentum.py", "x = 1")
    notebook(subs / "work" / "hw5.ipynb", "import os\nos._exit(1)", "while True:\n    pass",
             (REF / "momentum.py").read_text())
    results = {r.student: r for r in grade("mfdnn-hw5", subs, tmp_path / "out", course=COURSE, seed=4,
                                            problems={"momentum"})}
    assert results["good"].score == results["good"].max_score > 0
    assert results["work"].score == results["good"].score  # its top-level work never ran
    for bad, said in (("json", "its JSON is broken"), ("zip", "is a zip archive")):
        assert results[bad].score == 0
        assert all(t.outcome == "missing" and said in t.output for t in results[bad].tests), results[bad].tests[0].output
    assert json.loads((tmp_path / "out" / "good" / "result.json").read_text())["problems"][0]["notebook"] == "hw5.ipynb"


def test_the_in_notebook_helper_runs_the_same_check_and_prints_its_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.jupyter import check as in_notebook

    nb = notebook(tmp_path / "momentum.ipynb", (REF / "momentum.py").read_text())
    assert in_notebook("mfdnn-hw5", nb, course=ROOT) == 0
    out = capsys.readouterr().out
    assert "Public tests: 21/21" in out and "momentum" in out, out
    wrong = notebook(tmp_path / "w" / "momentum.ipynb", "def heavy_ball(*a):\n    return 1\n")
    assert in_notebook("mfdnn-hw5", wrong, course=ROOT) == 1
    assert "Public tests: 0/21" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="no such notebook"):
        in_notebook("mfdnn-hw5", tmp_path / "absent.ipynb")


# ------------------------------------------------- settings calls: what of them runs --

def _kept_settings(m: object) -> list[str]:
    return [line.strip() for line in m.kept.splitlines() if ".seed(" in line or ".set_" in line
            or "manual_seed" in line or "filterwarnings" in line]


def test_a_settings_call_whose_argument_is_not_a_constant_is_left_out_and_said_so(tmp_path: Path) -> None:
    """torch.manual_seed(0) runs; torch.manual_seed(train()) would run train() at load: left
    out, as a constant assigned from a call is, and said so in the notes."""
    mark = tmp_path / "written"
    momentum = (REF / "momentum.py").read_text()
    nb = notebook(tmp_path / "momentum.ipynb",
                  "import os\nimport torch\nimport time\ntorch.manual_seed(0)\nSEED = 3\ntorch.manual_seed(SEED)\n"
                  "torch.manual_seed(train())\n"
                  f"torch.manual_seed(len(open({str(mark)!r}, 'w').write('x') * 'a'))\n"
                  "torch.manual_seed(seed=os._exit(3))\n"
                  "torch.set_printoptions(precision=[time.sleep(600)][0])\n"
                  "torch.manual_seed(*[1 for _ in iter(int, 1)][:1])\n"  # a generator that never ends
                  "torch.manual_seed((lambda: 1)())",
                  "def train():\n    while True:\n        pass", momentum)
    m = convert(nb, "momentum", wanted=template_names(HW5.template_dir / "momentum.py"))
    assert _kept_settings(m) == ["torch.manual_seed(0)", "torch.manual_seed(SEED)"], m.kept
    assert "SEED = 3" in m.kept and "def train" not in m.kept
    notes = "\n".join(m.summary())
    assert "Left out: cell 2 (In [1]), lines 7, 8, 9, 10, ...: a settings call of torch.manual_seed() whose arguments " \
           "are not constants" in notes, notes
    assert "a settings call of torch.set_printoptions() whose arguments are not constants" in notes, notes
    assert {lo.line for lo in m.left_out if "not constants" in lo.why} == {7, 8, 9, 10, 11, 12}
    # and the problem grades as the reference does: none of those arguments ran
    r = check("mfdnn-hw5", nb, course=COURSE, seed=5)
    assert r.score == r.max_score > 0, [(t.name, t.output) for t in r.tests if t.outcome != "passed"]
    assert not mark.exists(), "a left-out settings call's argument ran"


def test_a_settings_call_on_the_notebook_s_own_class_named_torch_is_left_out(tmp_path: Path) -> None:
    """``torch.manual_seed(0)`` where ``torch`` is the notebook's own class would call the
    student's code at load: the call runs only on the module itself."""
    nb = notebook(tmp_path / "momentum.ipynb", "import torch\nimport numpy as np\nnp.random.seed(0)",
                  "class torch:\n    @staticmethod\n    def manual_seed(s):\n        while True:\n            pass\n"
                  "torch.manual_seed(0)\n" + (REF / "momentum.py").read_text().replace("import torch\n", ""))
    m = convert(nb, "momentum", wanted=template_names(HW5.template_dir / "momentum.py"))
    assert "torch.manual_seed(0)" not in m.kept and "np.random.seed(0)" in m.kept, m.kept
    why = next(lo.why for lo in m.left_out if lo.cell.index == 3 and lo.line == 6)
    assert "torch here is not the module torch (it is set in cell 3 (In [2]), line 1)" in why, why


def test_another_problem_s_settings_calls_never_run_for_this_problem(tmp_path: Path) -> None:
    """Settings calls run with their cell: backprop's cell turning autograd off, making warnings
    errors, or seeding with a number too big (raises) changes nothing for momentum, whose own
    and setup cells' settings still run; backprop gets its own cell's and the setup cell's."""
    backprop = (REF / "backprop.py").read_text()
    cells = ["import torch\nimport warnings\ntorch.manual_seed(0)",  # a setup cell: imports and settings only
             (REF / "momentum.py").read_text() + "\ntorch.set_printoptions(precision=3)",
             backprop + "\ntorch.set_grad_enabled(False)\nwarnings.simplefilter('error')\ntorch.manual_seed(2 ** 80)\n"
                        "torch.set_default_dtype(torch.float16)\ntorch.manual_seed(sum(range(10 ** 12)))",
             "torch.manual_seed(sum(range(10 ** 12)))"]  # a cell of no problem's code: runs for none
    nb = notebook(tmp_path / "hw5.ipynb", *cells)
    m = convert(nb, "momentum", wanted=template_names(HW5.template_dir / "momentum.py"))
    assert _kept_settings(m) == ["torch.manual_seed(0)", "torch.set_printoptions(precision=3)"], m.kept
    assert "Not run: the top-level work of cell 4 (In [3]), cell 5 (In [4])" in "\n".join(m.summary()), m.summary()
    gone = [lo for lo in m.left_out if lo.cell.index == 4 and "main" not in lo.why]
    assert len(gone) == 5 and all("a settings call in a cell that holds none of this problem's code" in lo.why for lo in gone)
    b = convert(nb, "backprop", wanted=template_names(HW5.template_dir / "backprop.py"))
    assert "torch.manual_seed(0)" in b.kept and "torch.set_grad_enabled(False)" in b.kept
    assert "precision=3" not in b.kept and b.kept.count("range(10 ** 12)") == 1  # its own cell's, not cell 5's
    r = check("mfdnn-hw5", nb, course=COURSE, seed=6, problems={"momentum"})
    assert r.score == r.max_score > 0, [(t.name, t.output) for t in r.tests if t.outcome != "passed"]
    assert not any("Raised when run" in n for n in r.problems[0].notes), r.problems[0].notes


def test_one_problem_s_cell_that_would_stop_the_worker_leaves_the_others_graded(tmp_path: Path) -> None:
    """Each of these in backprop's cell stopped every problem's worker at load: now each is
    either left out (its argument is work) or runs for backprop alone."""
    momentum, backprop = (REF / "momentum.py").read_text(), (REF / "backprop.py").read_text()
    for i, bad in enumerate(["import os\ntorch.manual_seed(os._exit(1))",
                             "torch.manual_seed(heavy_ball(torch.zeros(1), lambda t: t, 0.1, 0.9, 10 ** 9))",
                             "torch.set_grad_enabled(sum(range(10 ** 12)) > 0)",
                             "try:\n    import torch\n    torch.manual_seed(sum(range(10 ** 12)))\nexcept ImportError:\n    pass",
                             "try:\n    torch.manual_seed(sum(range(10 ** 12)))\nexcept ValueError:\n    pass"]):
        nb = notebook(tmp_path / str(i) / "hw5.ipynb", "import torch", momentum, backprop + "\n" + bad)
        r = check("mfdnn-hw5", nb, course=COURSE, seed=7, problems={"momentum"})
        assert r.score == r.max_score > 0, (bad, [(t.name, t.output) for t in r.tests if t.outcome != "passed"])


def test_a_load_note_made_in_the_hidden_tests_worker_never_reaches_the_page(tmp_path: Path) -> None:
    """Locally a problem's visible and hidden tests' workers load the same notebook: what the
    hidden one reports at load (here: a class body that raises, naming the worker's own folder)
    never becomes the notes the student's page shows; the visible one's does."""
    from grader._grading.api import grade
    from grader._sandbox.local import LocalRunner
    from grader._sandbox.runner import WorkerSpec

    class Recording(LocalRunner):
        """Notes each worker's folder (its HOME, which the student's code reads) by its label."""

        def __init__(self) -> None:
            super().__init__()
            self.folders: list[tuple[str, str]] = []

        def start(self, spec: WorkerSpec) -> Any:
            worker = super().start(spec)
            self.folders.append((spec.label, Path(worker.dir).name))
            return worker

    probe = "class _Probe:\n    import os\n    raise RuntimeError('made in ' + os.path.basename(os.environ['HOME']))\n"
    momentum = (REF / "momentum.py").read_text().replace("    theta = theta0.clone()\n",
                                                          "    theta = theta0.clone()\n    if False:\n        _Probe\n", 1)
    assert "_Probe" in momentum
    notebook(tmp_path / "subs" / "ann" / "hw5.ipynb", "import torch", probe, momentum)
    runner = Recording()
    try:
        result = grade("mfdnn-hw5", tmp_path / "subs", tmp_path / "out", course=COURSE, seed=8, problems={"momentum"},
                       runner=runner)[0]
    finally:
        runner.close()
    visible = [t for t in result.tests if t.visibility == "visible"]
    assert visible and all(t.outcome == "passed" for t in visible), [(t.name, t.output) for t in visible if t.outcome != "passed"]
    shown = [folder for label, folder in runner.folders if label == "ann/momentum"]
    hidden = [folder for label, folder in runner.folders if label == "ann/momentum/hidden"]
    assert shown and hidden, runner.folders
    notes = "\n".join(result.problems[0].notes)
    assert any(f"RuntimeError: made in {f}" in notes for f in shown), (notes, runner.folders)  # the visible worker's own
    assert not any(f in notes for f in hidden), (notes, runner.folders)
    page = "\n".join(p.read_text() for p in (tmp_path / "out" / "ann").glob("*.html"))
    assert page and any(f in page for f in shown) and not any(f in page for f in hidden)


# -------------------------------------- found by a tester who had not read the notebook code --


def test_a_lone_carriage_return_ends_a_line_as_python_reads_it(tmp_path: Path) -> None:
    """"# constants\\rK = 0\\n<work>" : Python reads K = 0 as a line of its own. The grader cut
    lines at "\\n" alone: it kept the cell's first line and wrote the work after it into the
    worker's file, which ran at load while the notes said it was left out."""
    marker = tmp_path / "ran.txt"
    path = notebook(tmp_path / "hw5.ipynb", (REF / "bottleneck.py").read_text(),
                    f"# constants\rK = 0\nopen({str(marker)!r}, 'w').write('ran')",
                    "def naive_params(c_in, n1, n3, n5):\n    return K + _conv_params(c_in, n1, 1) + "
                    "_conv_params(c_in, n3, 3) + _conv_params(c_in, n5, 5)")  # uses K: its line is kept
    m = convert(path, "bottleneck", wanted=template_names(HW5.template_dir / "bottleneck.py"))
    assert "open(" not in m.kept and "K = 0" in m.kept
    compile(m.kept, "kept", "exec")
    r = check("mfdnn-hw5", path, course=COURSE, seed=3, problems={"bottleneck"})
    assert r.score == r.max_score and not marker.exists()
    assert any("Left out: cell 3" in n and "line 3: a top-level call" in n for n in r.problems[0].notes), r.problems[0].notes


def test_outputs_are_not_read_so_broken_or_countless_ones_cost_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook's outputs and attachments are dropped before nbformat reads and validates it: a
    megabyte of invalid outputs took the grader's own process 90 s and 2.5 GB per read (3 MB
    stopped a whole batch), a million valid ones eight minutes."""
    nb = nbformat.v4.new_notebook(cells=[new_code_cell((REF / "bottleneck.py").read_text())])
    raw = json.loads(nbformat.writes(nb))
    raw["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": 1}] * 1000  # invalid: text is a number
    raw["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": 2, "source": "x = 1",
                         "outputs": [{"output_type": "display_data", "data": {"text/plain": "y"}, "metadata": {}}] * 1000,
                         "attachments": {"a.png": {"image/png": "AAAA"}}})
    path = tmp_path / "hw5.ipynb"
    path.write_text(json.dumps(raw))
    seen: list[dict[str, Any]] = []
    reads = nbformat.reads
    monkeypatch.setattr(nbformat, "reads", lambda text, **kw: seen.append(json.loads(text)) or reads(text, **kw))
    cells = read(path)
    assert [c.index for c in cells] == [1, 2]
    assert len(seen) == 1 and all(c.get("outputs") == [] and "attachments" not in c for c in seen[0]["cells"]), seen
