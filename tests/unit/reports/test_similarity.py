"""``grader similarity``'s scoring: a disguised copy ranks above independent solutions, code
only the template gives scores nothing, a shared wrong answer is flagged, and the many alike
right answers to a tiny problem are not."""

from __future__ import annotations

import pytest

from grader._reports.similarity import FLOOR, Pair, compare, tokens

TEMPLATE = '''"""Homework: a moving average and a training loop."""
import torch


def moving_average(x: torch.Tensor, width: int) -> torch.Tensor:
    """The mean of each window of `width` consecutive entries of the 1-D tensor x."""
    raise NotImplementedError("Write moving_average")


def train(model, data, lr: float, epochs: int) -> list[float]:
    """Plain SGD on the mean squared error; returns the loss of each epoch."""
    raise NotImplementedError("Write train")
'''

# Independent solutions: each student's own way of writing the same two functions.
INDEPENDENT = [
    '''import torch


def moving_average(x: torch.Tensor, width: int) -> torch.Tensor:
    out = []
    for i in range(len(x) - width + 1):
        out.append(x[i:i + width].mean())
    return torch.stack(out)


def train(model, data, lr: float, epochs: int) -> list[float]:
    losses = []
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in data:
            loss = ((model(xb) - yb) ** 2).mean()
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
            total += loss.item()
        losses.append(total / len(data))
    return losses
''',
    '''import torch


def moving_average(x: torch.Tensor, width: int) -> torch.Tensor:
    c = torch.cumsum(torch.cat([torch.zeros(1, dtype=x.dtype), x]), dim=0)
    return (c[width:] - c[:-width]) / width


def train(model, data, lr: float, epochs: int) -> list[float]:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        running, count = 0.0, 0
        for inputs, targets in data:
            opt.zero_grad()
            err = torch.nn.functional.mse_loss(model(inputs), targets)
            err.backward()
            opt.step()
            running += float(err)
            count += 1
        history.append(running / count)
    return history
''',
    '''import torch


def moving_average(x: torch.Tensor, width: int) -> torch.Tensor:
    return x.unfold(0, width, 1).mean(dim=1)


def train(model, data, lr: float, epochs: int) -> list[float]:
    result = []
    params = list(model.parameters())
    for e in range(epochs):
        epoch_losses = [0.0]
        for batch in data:
            a, b = batch
            pred = model(a)
            l = torch.mean((pred - b) * (pred - b))
            grads = torch.autograd.grad(l, params)
            with torch.no_grad():
                for w, g in zip(params, grads):
                    w.sub_(lr * g)
            epoch_losses.append(l.detach().item())
        result.append(sum(epoch_losses) / (len(epoch_losses) - 1))
    return result
''',
    '''import torch
import torch.nn.functional as F


def moving_average(x: torch.Tensor, width: int) -> torch.Tensor:
    kernel = torch.ones(1, 1, width, dtype=x.dtype) / width
    return F.conv1d(x.view(1, 1, -1), kernel).flatten()


def train(model, data, lr: float, epochs: int) -> list[float]:
    per_epoch = []
    epoch = 0
    while epoch < epochs:
        s = 0.0
        n = 0
        for xs, ys in data:
            for prm in model.parameters():
                prm.grad = None
            out = F.mse_loss(model(xs), ys, reduction="mean")
            out.backward()
            for prm in model.parameters():
                prm.data.add_(prm.grad, alpha=-lr)
            s = s + out.item()
            n = n + 1
        per_epoch.append(s / max(n, 1))
        epoch += 1
    return per_epoch
''',
    '''import torch


def moving_average(x: torch.Tensor, width: int) -> torch.Tensor:
    n = x.shape[0] - width + 1
    result = torch.empty(n, dtype=x.dtype)
    acc = x[:width].sum()
    result[0] = acc / width
    for k in range(1, n):
        acc = acc + x[k + width - 1] - x[k - 1]
        result[k] = acc / width
    return result


def train(model, data, lr: float, epochs: int) -> list[float]:
    log = []
    for ep in range(epochs):
        batch_losses = torch.zeros(len(data))
        for j, (u, v) in enumerate(data):
            model.zero_grad(set_to_none=True)
            diff = model(u) - v
            mse = diff.pow(2).sum() / diff.numel()
            mse.backward()
            for t in model.parameters():
                t.data = t.data - lr * t.grad
            batch_losses[j] = mse.detach()
        log.append(batch_losses.mean().item())
    return log
''',
]

# INDEPENDENT[0] disguised: names changed, functions swapped, comments and a docstring added,
# formatting changed, dead code inserted.
DISGUISED = '''import torch

def train(net, loader, step_size: float, n_epochs: int) -> list[float]:
    """My training loop (written by me)."""
    epoch_loss_list = [ ]
    for ep in range( n_epochs ):
        accum = 0.0  # running total
        if False:
            print("debug", ep)
        for features, labels in loader:
            l = ( (net(features) - labels) ** 2 ).mean()
            net.zero_grad()
            l.backward()
            with torch.no_grad():
                for param in net.parameters():
                    param -= step_size * param.grad
            accum += l.item()
        epoch_loss_list.append(accum / len(loader))
    return epoch_loss_list

unused_helper = lambda q: q * 2

def moving_average(signal: torch.Tensor, w: int) -> torch.Tensor:
    # slide a window along the signal
    averages = []
    for idx in range(len(signal) - w + 1):
        averages.append(signal[idx:idx + w].mean())
    return torch.stack(averages)
'''

# INDEPENDENT[1] disguised harder: statements within the loops reordered, `+=` written out,
# a tuple assignment swapped, every name changed.
HEAVY = '''import torch


def moving_average(sig: torch.Tensor, win: int) -> torch.Tensor:
    cs = torch.cumsum(torch.cat([torch.zeros(1, dtype=sig.dtype), sig]), dim=0)
    return (cs[win:] - cs[:-win]) / win


def train(m, batches, eta: float, n: int) -> list[float]:
    hist = []
    optimizer = torch.optim.SGD(m.parameters(), lr=eta)
    for _ in range(n):
        cnt, acc = 0, 0.0
        for inp, tgt in batches:
            optimizer.zero_grad()
            e = torch.nn.functional.mse_loss(m(inp), tgt)
            e.backward()
            optimizer.step()
            cnt = cnt + 1
            acc = acc + float(e)
        hist.append(acc / cnt)
    return hist
'''


def _rank(pairs: list[Pair], a: str, b: str) -> int:
    return next(i for i, p in enumerate(pairs) if {p.a, p.b} == {a, b})


def _class(extra: dict[str, str]) -> dict[str, dict[str, str]]:
    sources = {f"student{i}": {"hw.py": code} for i, code in enumerate(INDEPENDENT)}
    sources.update({name: {"hw.py": code} for name, code in extra.items()})
    return sources


def test_the_normalised_tokens_ignore_names_comments_docstrings_and_formatting() -> None:
    one = "def f(a, b):\n    '''Adds.'''\n    return a + b  # the sum\n"
    two = "def add( x,\n         y ):\n    # sum them\n    return (x\n            + y)\n"
    assert [t.text for t in tokens(one)] != [t.text for t in tokens("def f(a, b):\n    return a - b\n")]
    assert [t.text for t in tokens(one)] == [t.text for t in tokens(two.replace("(x\n            + y)", "x + y"))]
    assert "S" not in [t.text for t in tokens(one)], "a docstring is not code"


def test_a_disguised_copy_ranks_above_every_independent_pair() -> None:
    sim = compare("hw", _class({"copier": DISGUISED}), {"hw.py": TEMPLATE}, floor=0.0)
    top = sim.pairs[0]
    assert {top.a, top.b} == {"student0", "copier"}, [(p.a, p.b, p.score) for p in sim.pairs[:3]]
    assert top.score >= 0.6
    independent = [p.score for p in sim.pairs if "copier" not in (p.a, p.b)]
    assert max(independent, default=0.0) < FLOOR, independent
    assert top.files["hw.py"].lines[0] and top.files["hw.py"].lines[1], "the shared lines are marked on both sides"


def test_a_harder_disguise_still_ranks_above_every_independent_pair() -> None:
    sim = compare("hw", _class({"copier": DISGUISED, "rewriter": HEAVY}), {"hw.py": TEMPLATE}, floor=0.0)
    assert _rank(sim.pairs, "rewriter", "student1") <= 1 and _rank(sim.pairs, "copier", "student0") <= 1
    planted = {frozenset(("rewriter", "student1")), frozenset(("copier", "student0"))}
    weakest = min(p.score for p in sim.pairs if frozenset((p.a, p.b)) in planted)
    strongest = max(p.score for p in sim.pairs if frozenset((p.a, p.b)) not in planted)
    assert weakest >= FLOOR > strongest, (weakest, strongest)


def test_only_the_templates_code_in_common_scores_nothing() -> None:
    # Two students who hand in the template with one line each of their own, unlike each other.
    a = TEMPLATE.replace('raise NotImplementedError("Write moving_average")', "return x.unfold(0, width, 1).mean(1)")
    b = TEMPLATE.replace('raise NotImplementedError("Write train")', "return [0.0] * epochs")
    sim = compare("hw", {"a": {"hw.py": a}, "b": {"hw.py": b}}, {"hw.py": TEMPLATE}, floor=0.0)
    assert all(p.score < 0.05 for p in sim.pairs), [(p.a, p.b, p.score) for p in sim.pairs]
    # the same two without the template left out: the given code alone makes them look alike
    unfair = compare("hw", {"a": {"hw.py": a}, "b": {"hw.py": b}}, {}, floor=0.0)
    assert max(p.score for p in unfair.pairs) > 0.5


TINY_TEMPLATE = '''import torch


def relu(x: torch.Tensor) -> torch.Tensor:
    """max(x, 0), elementwise."""
    raise NotImplementedError
'''
RIGHT = [
    "    return {x}.clamp(min=0)\n",
    "    return torch.clamp({x}, min=0)\n",
    "    return torch.maximum({x}, torch.zeros_like({x}))\n",
    "    return {x} * ({x} > 0)\n",
    "    return torch.where({x} > 0, {x}, torch.zeros_like({x}))\n",
    "    y = {x}.clone()\n    y[y < 0] = 0\n    return y\n",
]
WRONG = "    out = torch.abs({x})\n    out = out + {x}\n    out = out / 3\n    return out.clamp(max=1e6)\n"


def _tiny(body: str, name: str, comment: str) -> str:
    code = TINY_TEMPLATE.replace("    raise NotImplementedError\n", f"    # {comment}\n" + body.format(x=name))
    return code.replace("def relu(x:", f"def relu({name}:")


def test_many_alike_right_answers_to_a_tiny_problem_do_not_flag_but_a_shared_wrong_one_does() -> None:
    # 60 students, each right answer written by ten of them (names and comments their own),
    # and two who hand in the same wrong answer.
    sources = {f"s{i:02d}": {"relu.py": _tiny(RIGHT[i % len(RIGHT)], "x" if i % 2 else "inp", f"student {i}")}
               for i in range(60)}
    sources["wrong1"] = {"relu.py": _tiny(WRONG, "x", "mine")}
    sources["wrong2"] = {"relu.py": _tiny(WRONG, "z", "my own work")}
    sim = compare("tiny", sources, {"relu.py": TINY_TEMPLATE})
    assert [{p.a, p.b} for p in sim.pairs] == [{"wrong1", "wrong2"}], [(p.a, p.b, p.score) for p in sim.pairs[:5]]
    # most of the class with one right answer: its lines are the problem's own, and count for nobody
    alike = {f"t{i:02d}": {"relu.py": _tiny(RIGHT[5], "x", f"student {i}")} for i in range(40)}
    alike.update(sources)
    sim = compare("tiny", alike, {"relu.py": TINY_TEMPLATE})
    assert [{p.a, p.b} for p in sim.pairs] == [{"wrong1", "wrong2"}], [(p.a, p.b, p.score) for p in sim.pairs[:5]]
    assert sim.files["relu.py"].common > 0


def test_a_file_only_one_student_has_does_not_count_for_the_pair() -> None:
    sim = compare("hw", {"a": {"hw.py": INDEPENDENT[0], "extra.py": INDEPENDENT[1]}, "b": {"hw.py": INDEPENDENT[0]}},
                  {"hw.py": TEMPLATE}, floor=0.0)
    assert [(p.a, p.b) for p in sim.pairs] == [("a", "b")]
    assert sim.pairs[0].score > 0.9 and set(sim.pairs[0].files) == {"hw.py"}


def test_code_that_does_not_parse_is_still_compared() -> None:
    broken = INDEPENDENT[0] + "\ndef oops(:\n"
    sim = compare("hw", {"a": {"hw.py": broken}, "b": {"hw.py": INDEPENDENT[0]}, "c": {"hw.py": INDEPENDENT[2]}},
                  {"hw.py": TEMPLATE}, floor=0.0)
    assert {sim.pairs[0].a, sim.pairs[0].b} == {"a", "b"}


def test_the_lexer_reads_python_as_the_standard_library_does() -> None:
    # the regular-expression lexer stands in for tokenize (for speed): on the course's own code
    # it must give the same tokens (statement ends and blocks included)
    import io
    import tokenize

    from conftest import ROOT
    from grader._reports.similarity import _lex

    marks = {tokenize.NEWLINE: ";", tokenize.INDENT: "{", tokenize.DEDENT: "}"}
    dropped = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    files = sorted((ROOT / "reference").rglob("*.py")) + sorted((ROOT / "grader" / "_reports").glob("*.py"))
    assert len(files) > 10
    for path in files:
        source = path.read_text(encoding="utf-8")
        expected = [marks.get(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type not in dropped]
        assert [t[1] for t in _lex(source)] == expected, path


def test_reading_on_every_core_gives_what_reading_here_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    import grader._reports.similarity as similarity

    texts = [*INDEPENDENT, DISGUISED, HEAVY, TEMPLATE] * 3
    here = similarity.fingerprint_all(texts)
    monkeypatch.setattr(similarity, "PARALLEL_FROM", 2)
    monkeypatch.setattr(similarity.os, "cpu_count", lambda: 2)
    assert similarity.fingerprint_all(texts) == here
    assert all(here), "every text has fingerprints"


@pytest.mark.parametrize("source", [
    "(" * 50_000,  # nesting the compiler refuses
    '"""never closed\n' + "x = 1\n" * 1000,
    "def f():\n\treturn 1\n        return 2\n",  # inconsistent indentation
    "\x00\x01 x = 1 \ufeff\n",
    "x" * 1_000_000,  # over the part of a file that is read
])  # fmt: skip
def test_code_that_is_not_python_is_read_as_far_as_it_goes(source: str) -> None:
    # uploads are hostile: none of these may raise, and each still gives what tokens it has
    toks = tokens(source)
    assert isinstance(toks, list) and all(t.first <= t.last for t in toks)
    sim = compare("hw", {"a": {"hw.py": source}, "b": {"hw.py": source}}, {"hw.py": ""}, floor=0.0)
    assert all(0.0 <= p.score <= 1.0 for p in sim.pairs)
