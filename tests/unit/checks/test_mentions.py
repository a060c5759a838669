"""The static check `mentions`: what it finds in code and what it must leave alone. (Checks that
forbid a tool read the code against an allow-list instead: tests/unit/byhand/test_reading.py.)"""

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
