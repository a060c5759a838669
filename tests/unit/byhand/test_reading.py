"""A problem that forbids a tool is judged from what it allows (issue 27): ``grader._byhand.reading``
reads every name of the file the worker runs against the problem's allow-list.

Each way of reaching autograd (or a ready-made log-sum-exp) that a list of forbidden names
missed is refused here, and no by-hand solution this repository holds is: the references and
templates, every known mistake (refused exactly when its expected failures name the problem's
by-hand test), the sample students, and the by-hand corpus written from the templates alone
(tests/corpus/by_hand/, by someone who had not read the check).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import ROOT
from grader._authoring import mistakes as _mistakes
from grader._byhand.reading import Allowed, refusals, renames
from grader._course.layout import Course
from grader._course.models import ByHand
from grader._worker.source import import_student

AUTOGRAD = Allowed.of(ByHand(without="autograd", rule="By hand."))
LOGSUMEXP = Allowed.of(ByHand(without="a ready-made log-sum-exp", rule="Your own.",
                              exclude=["logsumexp", "logaddexp", "logaddexp2", "logcumsumexp", "softmax", "log_softmax",
                                       "softmin", "special", "torch.special"]))

# Every way of reaching autograd a student has been seen to try, or could: each must be refused.
REACHES_AUTOGRAD = {
    # named outright
    "backward": "def f(loss):\n    loss.backward()\n",
    "torch.autograd.grad": "import torch\ng = torch.autograd.grad\n",
    "from torch import autograd": "from torch import autograd\n",
    "from torch.autograd import grad": "from torch.autograd import grad\n",
    "import torch.autograd": "import torch.autograd as ag\n",
    "torch.func": "import torch\nh = torch.func.vjp\n",
    "functorch": "import functorch\n",
    "requires_grad_": "def f(t):\n    return t.requires_grad_()\n",
    "enable_grad": "import torch\nwith torch.enable_grad():\n    pass\n",
    "set_grad_enabled": "import torch\ntorch.set_grad_enabled(True)\n",
    "an alias of backward": "import torch\nbw = torch.Tensor.backward\n",
    # (a) autograd's own formulas, through the graph or by name
    "a graph node called": "def f(y, g):\n    return y.grad_fn(g)\n",
    "next_functions": "def f(y):\n    return y.grad_fn.next_functions\n",
    "a leaf's variable": "def f(node):\n    return node.variable\n",
    "a Parameter records a graph": "import torch\np = torch.nn.Parameter(torch.zeros(3))\n",
    "from torch.nn import Parameter": "from torch.nn import Parameter\n",
    "nn modules record a graph": "import torch\nlin = torch.nn.Linear(3, 4)\n",
    "torch.ops": "import torch\ng = torch.ops.aten.sigmoid_backward\n",
    "a backward formula by name": "import torch\ng = torch.sigmoid_backward\n",
    "private torch": "import torch\nengine = torch._C._ImperativeEngine()\n",
    "from torch import _C": "from torch import _C\n",
    "torch.vmap": "import torch\nv = torch.vmap\n",
    "torch.compile": "import torch\nc = torch.compile\n",
    "torch.jit": "import torch\ncu = torch.jit.CompilationUnit('def f(x): return x')\n",
    "a hook": "def f(t):\n    t.register_hook(print)\n",
    "saved tensor hooks": "import torch\nh = torch.autograd.graph.saved_tensors_hooks\n",
    "grad of a tensor": "def f(t):\n    return t.grad\n",
    "a match pattern's attribute": "def f(y):\n    match y:\n        case object(grad_fn=g):\n            return g\n",
    # (b) code that a reading by text skipped
    "a main block a function enters": 'def f(__name__="__main__"):\n    if __name__ == "__main__":\n        x.backward()\n',
    "a nested main block": 'def f():\n    if __name__ == "__main__":\n        x.backward()\n',
    "a main block's else": 'if __name__ == "__main__":\n    pass\nelse:\n    x.backward()\n',
    "another guard": 'if __name__.startswith("__main"):\n    x.backward()\n',
    "in a class body": "class A:\n    g = x.backward\n",
    "in a decorator": "@torch.enable_grad()\ndef f():\n    pass\n",
    "in a default": "def f(g=torch.autograd.grad):\n    pass\n",
    "in a lambda": "f = lambda y: y.backward()\n",
    "in a comprehension": "gs = [y.grad for y in ys]\n",
    "in an f-string": "s = f'{y.backward()}'\n",
    "in an annotation": "def f(x: torch.autograd.Function) -> None:\n    pass\n",
    # (c) other threads, processes and hooks out of a watch's sight
    "a thread": "import threading\n",
    "from threading": "from threading import Thread\n",
    "a thread pool": "from concurrent.futures import ThreadPoolExecutor\n",
    "torch.multiprocessing": "import torch.multiprocessing\n",
    "a data loader's workers": "import torch\nd = torch.utils.data.DataLoader\n",
    "an asyncio loop": "import asyncio\n",
    # helpers and class machinery that look names up by string (found by a tester who had not read the check)
    "functools.wraps as getattr": "import functools\ndef get(obj, name, box):\n    functools.wraps(obj, (name,), ())(box)\n",
    "type() builds a class from a dict": 'Box = type("Box", (), {})\n',
    "a class defining __setattr__": "class Box:\n    def __setattr__(self, k, v):\n        pass\n",
    "a class's __class__ property": "class T:\n    @property\n    def __class__(self):\n        return dict\n",
    "a class-level dunder": 'class P:\n    __match_args__ = ("grad_fn",)\n',
    "a module __getattr__": "def __getattr__(name):\n    return name\n",
    "a metaclass": "class Any(type):\n    pass\n",
    "a metaclass keyword": "class P(metaclass=M):\n    pass\n",
    "a tensor subclass": "import torch\nclass T(torch.Tensor):\n    pass\n",
    "a base bound by assignment": "import torch\nBase = torch.Tensor\nclass T(Base):\n    pass\n",
    "dataclasses.replace reads fields": "import dataclasses\nd = dataclasses.replace(t)\n",
    "dataclasses.asdict": "import dataclasses\nd = dataclasses.asdict(t)\n",
    "Tensor.type imports a dotted name": 'def f(x):\n    return x.type("torch.autograd.grad")\n',
    "an enum built from strings": "import enum\n",
    "a lone carriage return ends a comment": "import torch\n# notes\rg = torch.autograd.grad\n",
    # names reached at run time
    "getattr": 'import torch\ng = getattr(torch, "auto" + "grad").grad\n',
    "getattr on a tensor": 'def f(t):\n    getattr(t, "back" + "ward")()\n',
    "getattr rebound later": 'import torch\ng = getattr(torch, "x")\ngetattr = None\n',
    "getattr declared global": "def f():\n    global getattr\n    getattr = 1\n    return getattr\n",
    "hasattr": "ok = hasattr(y, 'grad_fn')\n",
    "__import__": 'ag = __import__("torch." + "auto" "grad", fromlist=["grad"])\n',
    "importlib": 'import importlib\nag = importlib.import_module("torch.a" + "utograd")\n',
    "eval": 'import torch\ng = eval("torch.auto" + "grad.grad")\n',
    "exec": 'exec("import torch; G = torch.auto" + "grad.grad")\n',
    "compile": 'code = compile("x", "f", "eval")\n',
    "globals": 'g = globals()["__builtins__"]\n',
    "vars": 'import torch\nag = vars(torch)["auto" + "grad"]\n',
    "__builtins__": 'e = __builtins__["eval"]\n',
    "__loader__": "m = __loader__\n",
    "__dict__": 'import torch\nag = torch.__dict__["auto" + "grad"]\n',
    "__class__ to object": "subs = ().__class__.__base__.__subclasses__()\n",
    "a builtin's __self__": "b = print.__self__\n",
    "operator": 'import operator\ncall = operator.methodcaller("back" + "ward")\n',
    "inspect": "import inspect\n",
    "gc": "import gc\nobjs = gc.get_objects()\n",
    "pickle": 'import pickle\npickle.loads(b"")\n',
    "sys.modules": 'import sys\nag = sys.modules["torch.a" + "utograd"]\n',
    "os.system": 'import os\nos.system("python3 -c 1")\n',
    "subprocess": "import subprocess\n",
    "ctypes": "import ctypes\n",
    "a frame": "def f():\n    try:\n        raise ValueError\n    except ValueError as e:\n        return e.__traceback__.tb_frame\n",
    "a generator's frame": "def f(g):\n    return g.gi_frame\n",
    "a module written at run time": 'open("helper.py", "w").write("...")\nimport helper\n',
    "a relative import": "from . import helper\n",
    "a star import": "from torch import *\n",
    "scipy": "import scipy.special\n",
    "a builtin by subscript of builtins": "import builtins\n",
    "a file that cannot be read": "def f(:\n",
}

ORDINARY = {
    "the template's way": (
        '"""Backprop by hand; no autograd (the docstring may say so)."""\n'
        "from __future__ import annotations\n"
        "import math\n"
        "from typing import List, Tuple\n"
        "import numpy as np\n"
        "import torch\n"
        "import torch.nn.functional as F\n"
        "from torch import Tensor\n"
        "def sigma(z: Tensor) -> Tensor:\n"
        "    return 1 / (1 + torch.exp(-z))\n"
        "def f(A_list: List[Tensor], X: Tensor) -> Tuple[list, list]:\n"
        "    ys = [X]\n"
        "    for A in A_list:\n"
        "        ys.append(F.sigmoid(A @ ys[-1]))\n"
        "    with torch.no_grad():\n"
        "        d = [y.clone().mul_(2).t() for y in reversed(ys)]\n"
        "    return d, [np.asarray(y.numpy()).sum() + math.pi for y in ys]\n"
        "if __name__ == '__main__':\n"
        "    import sys\n"
        "    loss.backward()\n"
        "    print(getattr(torch, 'autograd'))\n"
    ),
    "a class of its own": (
        "import torch\n"
        "from dataclasses import dataclass, field\n"
        "@dataclass\n"
        "class Cache:\n"
        "    activations: list = field(default_factory=list)\n"
        "class Net:\n"
        "    def __init__(self, weights):\n"
        "        super().__init__()\n"
        "        self.weights = weights\n"
        "        self._cache = Cache()\n"
        "        self.cache = {}\n"
        "    def forward(self, x):\n"
        "        self._cache.activations.append(x)\n"
        "        return self.weights[0] @ x, self.cache\n"
    ),
    "variables named like builtins": (
        "def f(input, type, id, sum, dir, vars):\n"
        "    total = sum + input\n"
        "    return dir, vars, [id for id in range(3)], type\n"
        "def g(xs):\n"
        "    open = [x for x in xs]\n"
        "    return open\n"
    ),
    "keywords and comprehensions": (
        "import torch\n"
        "def f(x):\n"
        "    z = torch.zeros(3, dtype=x.dtype, device=x.device, requires_grad=False)\n"
        "    s = {k: v for k, v in enumerate(x.tolist())}\n"
        "    return x.sum(dim=0, keepdim=True), z, s, max(s, key=lambda k: s[k])\n"
    ),
    "strings that spell it": 'name = "torch.autograd"\nbw = b"backward"\n# x.backward()\n',
}


@pytest.mark.parametrize("source", list(REACHES_AUTOGRAD.values()), ids=list(REACHES_AUTOGRAD))
def test_every_way_of_reaching_autograd_is_refused(source: str) -> None:
    assert refusals(source, AUTOGRAD), source
    assert refusals(source.encode(), AUTOGRAD), source


def test_a_coding_line_is_read_as_the_worker_reads_it() -> None:
    """A utf-7 coding line turns "+AAo-" in a comment into a newline, and what follows into code:
    the file's bytes are decoded as the worker decodes them, so that code is read too."""
    source = b"# -*- coding: utf-7 -*-\nimport torch\n# notes +AAo-g +AD0- torch.autograd.grad\n"
    assert refusals(source, AUTOGRAD) == ["line 4: .autograd (not among the names this problem allows)",
                                          "line 4: .grad (not among the names this problem allows)"]


@pytest.mark.parametrize("source", list(ORDINARY.values()), ids=list(ORDINARY))
def test_ordinary_by_hand_code_is_not_refused(source: str) -> None:
    assert refusals(source, AUTOGRAD) == []


def test_refusals_say_the_line_and_the_name() -> None:
    source = "import torch\n\ndef f(y):\n    return y.grad_fn\n\nimport threading\n"
    assert refusals(source, AUTOGRAD) == [
        "line 4: .grad_fn (not among the names this problem allows)",
        "line 6: import threading (not a module this problem allows)",
    ]


def test_the_file_is_read_as_python_imports_it() -> None:
    # A UTF-8 BOM; code past the first MiB; a coding line; what cannot be read as Python is refused.
    assert refusals(b"\xef\xbb\xbfimport torch\nx.backward()\n", AUTOGRAD) == [
        "line 2: .backward (not among the names this problem allows)"]
    padded = b"#" + b"x" * (2 << 20) + b"\nx.backward()\n"
    assert refusals(padded, AUTOGRAD) == ["line 2: .backward (not among the names this problem allows)"]
    latin = "# -*- coding: latin-1 -*-\ns = 'é'\nx.backward()\n".encode("latin-1")
    assert refusals(latin, AUTOGRAD) == ["line 3: .backward (not among the names this problem allows)"]
    assert refusals(b"# coding: no-such-codec\nx = 1\n", AUTOGRAD)
    assert refusals(b"def f(:\n", AUTOGRAD)


def test_an_exclusion_takes_a_vocabulary_name_away() -> None:
    for source in ("import torch\ny = torch.logsumexp(x, 0)\n", "def f(x):\n    return x.logsumexp(0)\n",
                   "import torch\ny = torch.special.logsumexp(x, 0)\n", "from torch.special import logsumexp\n",
                   "import torch.nn.functional as F\ny = x - F.log_softmax(x, 0)\n", "import numpy as np\nnp.logaddexp\n"):
        assert refusals(source, LOGSUMEXP), source
        assert refusals(source, AUTOGRAD) == [], source  # the vocabulary holds them: only the exclusion refuses
    assert refusals("import torch\ndef f(x, d):\n    m = x.max(d, keepdim=True).values\n"
                    "    return (m + torch.log(torch.exp(x - m).sum(d, keepdim=True))).squeeze(d)\n", LOGSUMEXP) == []


# ------------------------------------------------------------------ a name of its own --

LAYERS = (
    "from dataclasses import dataclass\n"
    "import torch\n"
    "@dataclass\n"
    "class Saved:\n"
    "    grad: torch.Tensor\n"
    "class Layer:\n"
    "    def __init__(self, A):\n"
    "        self.A = A\n"
    "    def forward(self, x):\n"
    "        self.x = x\n"
    "        return self.A @ x\n"
    "    def backward(self, g):\n"
    "        self.saved = Saved(grad=g @ self.x.T)\n"
    "        return self.A.T @ g\n"
    "def honest(A, x, g):\n"
    "    layers = [Layer(A)]\n"
    "    for layer in layers:\n"
    "        layer.forward(x)\n"
    "    return [layer.backward(g) for layer in reversed(layers)][0], layers[0].saved.grad\n"
    "def cheat(A, x):\n"
    "    A = A.clone()\n"
    "    A.requires_grad = True\n"
    "    loss = (A @ x).sum()\n"
    "    loss.backward()\n"
    "    return A.grad\n"
)


def test_a_layer_s_own_backward_is_its_own_and_never_torch_s(tmp_path: Path) -> None:
    """A name the file defines (a layer's backward, a dataclass's grad) that torch also uses is
    allowed by the reading and renamed by the worker: the student's own objects answer to it,
    a tensor does not (what was a way to reach autograd is now an AttributeError)."""
    import torch

    assert refusals(LAYERS, AUTOGRAD) == []
    names = renames(LAYERS, AUTOGRAD)
    assert set(names) == {"backward", "forward", "grad", "requires_grad"}  # saved, x, A: nothing of torch's
    path = tmp_path / "layers_mod.py"
    path.write_text(LAYERS)
    module = import_student(str(path), "layers_mod", names)
    A, x, g = torch.randn(3, 2, dtype=torch.float64), torch.randn(2, 1, dtype=torch.float64), torch.randn(3, 1, dtype=torch.float64)
    back, grad = module.honest(A, x, g)
    assert torch.equal(back, A.T @ g) and torch.equal(grad, g @ x.T)
    with pytest.raises(AttributeError, match="backward__own|requires_grad__own|grad__own"):
        module.cheat(A, x)
    assert not refusals("def f(loss):\n    loss.backward()\n", AUTOGRAD) == []  # without a backward of its own: refused


# ------------------------------------------------------------------ what runs is what is read --


def test_the_worker_never_runs_a_top_level_main_block(tmp_path: Path) -> None:
    """The body is removed before the file is compiled: not even a module that sets __name__
    to "__main__" runs it; its else: runs, as on any import; line numbers are the file's."""
    path = tmp_path / "student_mod.py"
    path.write_text('__name__ = "__main__"\nran = []\nif __name__ == "__main__":\n    ran.append("main")\n'
                    '    raise SystemExit(3)\nelse:\n    ran.append("else")\nif __name__ == "__main__": ran.append("one line")\n'
                    "def boom():\n    raise ValueError('here')\n")
    module = import_student(str(path), "student_mod")
    assert module.ran == []  # __name__ is "__main__" here, so neither else: ran; and no body either
    with pytest.raises(ValueError) as info:
        module.boom()
    assert info.traceback[-1].lineno + 1 == 10  # (pytest counts lines from 0)


def test_the_watch_runs_the_call_with_autograd_s_recording_off() -> None:
    import torch

    from grader._worker.driver_api import AutogradWatch

    watch = AutogradWatch()
    seen: dict[str, bool] = {}

    def student() -> torch.Tensor:
        seen["grad mode"] = torch.is_grad_enabled()
        p = torch.zeros(3, requires_grad=True)
        y = (p * 2).sum()
        seen["graph"] = y.grad_fn is not None
        return y

    assert torch.is_grad_enabled()
    watch.run(student)
    assert seen == {"grad mode": False, "graph": False}
    assert torch.is_grad_enabled()  # restored after the call

    other: dict[str, bool] = {}
    t = threading.Thread(target=lambda: other.setdefault("grad mode", torch.is_grad_enabled()))
    t.start()
    t.join()
    assert other == {"grad mode": True}  # why a thread of its own is refused by the reading, not left to the watch


# ------------------------------------------------------------------ no right solution refused --

COURSES = [Course.locate(ROOT), Course.locate(ROOT / "examples" / "intro-course")]
BY_HAND_TEST = {"backprop": "test_no_autograd", "conv_backprop": "test_no_autograd", "logsumexp": "test_own_code"}


def _by_hand_problems() -> list[tuple[str, object, object]]:
    out = []
    for course in COURSES:
        for aid in course.assignment_ids():
            a = course.assignment(aid)
            for p in a.rubric.problems:
                if p.by_hand is not None:
                    out.append((f"{aid}/{p.id}", a, p))
    return out


PROBLEMS = _by_hand_problems()


def test_the_by_hand_problems_are_the_ones_this_module_knows() -> None:
    assert sorted(p.id for _, _, p in PROBLEMS) == sorted(BY_HAND_TEST)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("a", "p"), [(a, p) for _, a, p in PROBLEMS], ids=[i for i, _, _ in PROBLEMS])
def test_references_templates_and_known_mistakes(a, p) -> None:  # type: ignore[no-untyped-def]
    allowed = Allowed.of(p.by_hand)
    for folder in (a.reference_dir, a.template_dir):
        assert refusals((folder / p.file).read_bytes(), allowed) == [], folder / p.file
    mistakes = [m for m in _mistakes.load(a) if m.problem == p.id]
    assert mistakes
    wrong = []
    every = {t.name for t in p.tests}
    for m in mistakes:
        refused = bool(refusals(m.text(a), allowed))
        fails_rule = BY_HAND_TEST[p.id] in m.fails
        # Refused by the reading exactly when meant to fail the rule, unless its code never runs
        # to the end (it fails every test: the rule is judged on code that runs).
        if refused != fails_rule and not (fails_rule and set(m.fails) == every):
            wrong.append((m.id, refusals(m.text(a), allowed)))
    assert not wrong, wrong


def _sample_files() -> list[Path]:
    files = sorted((ROOT / "examples" / "mfdnn-hw5").glob("*/backprop.py"))
    files += sorted((ROOT / "examples" / "intro-course" / "submissions").glob("*/*/logsumexp.py"))
    return files


@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_sample_students(path: Path) -> None:
    allowed = AUTOGRAD if path.name == "backprop.py" else LOGSUMEXP
    assert refusals(path.read_bytes(), allowed) == []


CORPUS = ROOT / "tests" / "corpus" / "by_hand"


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*.py")) if CORPUS.is_dir() else []


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_solutions_written_from_the_templates_alone(path: Path) -> None:
    """Right solutions in many styles, written by someone who had not read the check: none refused."""
    problem = path.relative_to(CORPUS).parts[0]
    allowed = LOGSUMEXP if problem == "logsumexp" else AUTOGRAD
    assert refusals(path.read_bytes(), allowed) == []


def _corpus_class(problem: str, file: str, folder: Path) -> list[str]:
    """One student per corpus file of ``problem`` (a notebook handed in as FILE's .ipynb)."""
    names = []
    for path in sorted((CORPUS / problem).rglob("*")):
        if path.suffix not in (".py", ".ipynb"):
            continue
        name = path.stem if path.suffix == ".ipynb" else path.parent.name
        (folder / name).mkdir(parents=True)
        target = file if path.suffix == ".py" else file.removesuffix(".py") + ".ipynb"
        (folder / name / target).write_bytes(path.read_bytes())
        names.append(name)
    return names


@pytest.mark.parametrize(("problem", "assignment", "file", "course"), [
    ("backprop", "mfdnn-hw5", "backprop.py", None),
    ("logsumexp", "hw1", "logsumexp.py", ROOT / "examples" / "intro-course"),
])  # fmt: skip
def test_the_corpus_scores_full_marks_when_graded(problem: str, assignment: str, file: str, course: Path | None,
                                                  tmp_path: Path) -> None:
    """Graded (on the in-process runner: the worker's own reading and renaming, no process),
    every right solution of the corpus (its notebooks too) scores full marks on its problem,
    the by-hand test included: what the reading allows, the worker runs."""
    from grader._grading.api import grade
    from grader._sandbox.inprocess import InProcessRunner

    names = _corpus_class(problem, file, tmp_path / "class")
    assert len(names) >= 12
    results = {r.student: r for r in grade(assignment, tmp_path / "class", tmp_path / "out", course=Course.locate(course or ROOT),
                                           problems={problem}, seed=12345, runner=InProcessRunner(), jobs=1)}
    assert sorted(results) == sorted(names)
    wrong = {s: [(t.test, t.output[:300]) for t in r.tests if t.outcome != "passed"]
             for s, r in results.items() if r.score != r.max_score}
    assert not wrong, wrong
