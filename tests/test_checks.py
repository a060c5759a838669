"""The static check `mentions`: what it finds in code and what it must leave alone."""

from __future__ import annotations

from grader.checks import mentions

NAMES = {"backward", "autograd", "requires_grad"}
MODULES = {"torch.func"}


def test_finds_attributes_names_keywords_and_imports() -> None:
    source = (
        "import torch\n"
        "import torch.func as F\n"
        "from torch import func\n"
        "from torch.func import grad\n"
        "loss.backward()\n"
        "g = torch.autograd.grad(loss, xs)\n"
        "x = torch.zeros(3, requires_grad=True)\n"
        "h = torch.func.vjp(f, x)\n"
    )
    assert mentions(source, NAMES, MODULES) == [
        "line 2: import torch.func",
        "line 3: from torch import func",
        "line 4: from torch.func import grad",
        "line 5: .backward",
        "line 6: .autograd",
        "line 7: requires_grad=",
        "line 8: torch.func",
    ]


def test_comments_strings_and_innocent_code_do_not_match() -> None:
    source = (
        "# we do not call .backward() or torch.autograd here\n"
        "'''requires_grad is not needed: backward by hand'''\n"
        "name = 'autograd'\n"
        "x = torch.zeros(3, requires_grad=False)\n"
        "func = lambda t: t\n"
        "with torch.no_grad():\n"
        "    y = func(x)\n"
        "if __name__ == '__main__':  # the student's own check: never runs under the grader\n"
        "    loss.backward()\n"
        "    print(torch.autograd.grad(loss, xs))\n"
    )
    assert mentions(source, NAMES, MODULES) == []


def test_code_beside_a_main_block_still_counts() -> None:
    source = (
        "if __name__ == '__main__':\n"
        "    pass\n"
        "else:\n"
        "    x.backward()\n"
        "if DEBUG:\n"
        "    y.backward()\n"
    )
    assert mentions(source, NAMES, MODULES) == ["line 4: .backward", "line 6: .backward"]


def test_a_file_that_does_not_parse_mentions_nothing() -> None:
    assert mentions("def f(:\n  x.backward()\n", NAMES, MODULES) == []


# ----------------------------------------------------------- "without X": names reached at run time --

import pytest  # noqa: E402

HIDDEN_AUTOGRAD = {
    "getattr": 'import torch\ng = getattr(torch, "auto" + "grad").grad\n',
    "getattr on a tensor": 'def f(t):\n    getattr(t, "back" + "ward")()\n',
    "__import__": 'ag = __import__("torch." + "auto" "grad", fromlist=["grad"])\n',
    "importlib": 'import importlib\nag = importlib.import_module("torch.a" + "utograd")\n',
    "eval": 'import torch\ng = eval("torch.auto" + "grad.grad")\n',
    "exec": 'exec("import torch; G = torch.auto" + "grad.grad")\n',
    "compile": 'code = compile("x", "f", "eval")\n',
    "globals": 'g = globals()["__builtins__"]\n',
    "vars": 'import torch\nag = vars(torch)["auto" + "grad"]\n',
    "dunder dict": 'import torch\nag = torch.__dict__["auto" + "grad"]\n',
    "closure of a spy": 'import torch\nreal = torch.Tensor.__dict__\n',
    "private torch": 'import torch\nengine = torch._C._ImperativeEngine()\n',
    "from torch import _C": 'from torch import _C\n',
    "operator": 'import operator\ncall = operator.methodcaller("back" + "ward")\n',
    "from operator": 'from operator import attrgetter\n',
    "inspect": 'import inspect\nm = dict(inspect.getmembers(__import__("torch")))\n',
    "gc": 'import gc\nobjs = gc.get_objects()\n',
    "pickle": 'import pickle\npickle.loads(b"")\n',
    "sys.modules": 'import sys\nag = sys.modules["torch.a" + "utograd"]\n',
    "a subprocess": 'import subprocess\nsubprocess.run(["python", "-c", "..."])\n',
    "os.system": 'import os\nos.system("python3 -c 1")\n',
    "torch.jit from text": 'import torch\ncu = torch.jit.CompilationUnit("def f(x): return x")\n',
    "torch.ops": 'import torch\ng = torch.ops.aten.sigmoid_backward(y, s)\n',
    "a frame's globals": 'import sys\ng = sys.exc_info()[2].tb_frame.f_back.f_globals\n',
    "a module written at run time": 'open("helper.py", "w").write("...")\nimport helper\n',
    "a relative import": 'from . import helper\n',
    "the main block run at import": '__name__ = "__main__"\nif __name__ == "__main__":\n    x.backward()\n',
    "a string that spells it": 'import torch\nname = "torch.autograd"\n',
    "a byte string that spells it": 'name = b"backward"\n',
}


@pytest.mark.parametrize("source", list(HIDDEN_AUTOGRAD.values()), ids=list(HIDDEN_AUTOGRAD))
def test_without_x_refuses_every_way_of_reaching_a_name_at_run_time(source: str) -> None:
    assert mentions(source, NAMES, MODULES, dynamic=True), source
    assert mentions(source.encode(), NAMES, MODULES, dynamic=True), source


def test_without_x_reads_the_file_as_python_imports_it() -> None:
    # A UTF-8 BOM (the import skips it; a plain ast.parse of the text did not, and saw nothing).
    assert mentions(b"\xef\xbb\xbfimport torch\nx.backward()\n", NAMES, MODULES, dynamic=True) == ["line 2: .backward"]
    # Code past the first MiB (the source used to be read up to 1 MiB only).
    padded = b"#" + b"x" * (2 << 20) + b"\nx.backward()\n"
    assert mentions(padded, NAMES, MODULES, dynamic=True) == ["line 2: .backward"]
    # A coding line: what the import runs is what is read.
    latin = "# -*- coding: latin-1 -*-\ns = 'é'\nx.backward()\n".encode("latin-1")
    assert mentions(latin, NAMES, MODULES, dynamic=True) == ["line 3: .backward"]
    # What cannot be read as Python is refused, not passed.
    assert mentions(b"# coding: no-such-codec\nx = 1\n", NAMES, MODULES, dynamic=True)
    assert mentions(b"def f(:\n", NAMES, MODULES, dynamic=True)


def test_without_x_leaves_ordinary_code_alone() -> None:
    source = (
        '"""Backprop by hand; no autograd (the docstring may say so)."""\n'
        "from __future__ import annotations\n"
        "import math\n"
        "import os.path\n"
        "import numpy as np\n"
        "import torch\n"
        "import torch.nn.functional as F\n"
        "from typing import List\n"
        "class Helper:\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self._cache = {}\n"
        "    def get(self):\n"
        "        return self._cache\n"
        "def f(x: torch.Tensor) -> torch.Tensor:\n"
        "    with torch.no_grad():\n"
        "        return torch.sigmoid(x) * (1 - torch.sigmoid(x)) + math.pi\n"
        "if __name__ == '__main__':\n"
        "    print(getattr(torch, 'autograd'))\n"
    )
    assert mentions(source, NAMES, MODULES, dynamic=True) == []
