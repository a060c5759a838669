"""Checks for `convnets` (Data 598, Homework 3). The architecture is compared with the
grader's own networks (drivers/convnets.py, ``build``: the homework's, with each BatchNorm2d
after the MaxPool2d), traced with the same forward hooks on this side; the BatchNorm layers
are compared block by block, not layer by layer, since any place in the conv block (after the
Conv2d, the ReLU or the MaxPool2d) is accepted. effective_smoothness with an oracle computed here in float64 from the
definition (one eval-mode pass over all samples at once for g, torch.func.functional_call
at theta + u, u from a copy of the model in train mode), on the grader's networks holding
a state_dict made here from the run's seed, so no answer can be hard-coded.

The images are torchvision's FakeData (256 of 1 x 28 x 28, 10 classes, offset by the seed)
or, with ``--data DIR``, the first 512 FashionMNIST test images found in DIR. They are made
here and sent to the worker as tensors; the driver wraps them in a DataLoader.
"""

from __future__ import annotations

import copy
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from grader import ConfigError, load_driver
from grader.checks import CheckFailed, Tolerance, all_faults, cached, close, input_changes
from grader.fixtures import Generator, Submission

_driver = load_driver(Path(__file__).parent / "drivers" / "convnets.py")

N_FAKE = 256  # FakeData images
N_FASHION = 512  # FashionMNIST test images used with --data (all of them where fewer are there)
MIN_IMAGES = 64
IGNORED = {"ReLU", "Flatten", "Identity"}  # layers the architecture checks do not list
TITLES = {"convnet": "ConvNet()", "convnet_bn": "ConvNet(batch_norm=True)", "strided": "StridedConvNet()"}


# ------------------------------------------------------------------- the data --


@cache
def fashion_mnist(root: Path) -> tuple[Tensor, Tensor]:
    from torchvision.datasets import FashionMNIST

    raw = root / "FashionMNIST" / "raw"
    try:
        ds = FashionMNIST(str(root), train=False, download=False)
    except Exception as exc:  # torchvision: RuntimeError "Dataset not found", or a file that does not parse
        why = "" if "Dataset not found" in str(exc) else f" ({type(exc).__name__}: {exc})"
        raise ConfigError(
            f"--data {root}: no FashionMNIST test set could be read there{why}. torchvision's "
            f"FashionMNIST(root, train=False) reads {raw}/t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (and wants "
            "the train-*-ubyte files beside them): give --data the folder that holds FashionMNIST/, or leave --data "
            "out to grade on generated FakeData.") from None  # fmt: skip
    images = ds.data[:N_FASHION].unsqueeze(1).to(torch.float32) / 255  # as transforms.ToTensor() makes them
    labels = ds.targets[:N_FASHION].to(torch.int64)
    if len(labels) < MIN_IMAGES or tuple(images.shape[1:]) != (1, 28, 28):
        raise ConfigError(f"--data {root}: its FashionMNIST test set has {len(labels)} images of shape "
                          f"{tuple(images.shape[1:])}; the checks need at least {MIN_IMAGES} of 1 x 28 x 28.")
    return images, labels


@cache
def fake_data(offset: int) -> tuple[Tensor, Tensor]:
    from torchvision.datasets import FakeData
    from torchvision.transforms import ToTensor

    ds = FakeData(size=N_FAKE, image_size=(1, 28, 28), num_classes=10, transform=ToTensor(), random_offset=offset)
    items = [ds[i] for i in range(len(ds))]
    return torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items], dtype=torch.int64)


def data(data_dir: Path | None, gen: torch.Generator) -> tuple[Tensor, Tensor, str]:
    """(images, labels, what they are) for one test: FashionMNIST with --data, else FakeData."""
    if data_dir is not None:
        images, labels = fashion_mnist(Path(data_dir))
        return images, labels, f"the first {len(labels)} FashionMNIST test images"
    images, labels = fake_data(int(torch.randint(0, 2**30, (1,), generator=gen)))
    return images, labels, f"{len(labels)} FakeData images"


# ---------------------------------------------------------------- architecture --


def report(submission: Submission, net: str, images: Tensor) -> dict[str, Any]:
    return submission.call("architecture", net=net, images=images,
                           context=f"building {TITLES[net]} and running it on a batch of {len(images)} images")


def held(submission: Submission, net: str) -> dict[str, Any]:
    """What the network holds (its BatchNorm layers, its parameters), before it is run."""
    return submission.call("structure", net=net, context=f"building {TITLES[net]}")


Shape = tuple[int, ...] | None
Call = tuple[str, Shape, Shape, int | None]  # kind, input shape, output shape, num_features (None: not a BatchNorm)


def _shape(s: Any) -> Shape:
    return tuple(int(d) for d in s) if s is not None else None


def calls_of(calls: Any) -> list[Call]:
    """The listed layers of a trace, as (kind, input shape, output shape, num_features), in call order."""
    try:
        return [(str(k), _shape(i), _shape(o), int(f) if f is not None else None) for k, i, o, f in calls if k not in IGNORED]
    except (TypeError, ValueError):
        raise CheckFailed("The report of your network's layers could not be read.") from None


def layers(calls: Any, batchnorm: bool = True) -> list[tuple[str, Shape]]:
    """The listed layers of a trace, as (kind, output shape), in call order; without the
    BatchNorm layers if not ``batchnorm`` (their place is checked on its own)."""
    return [(k, o) for k, _, o, f in calls_of(calls) if batchnorm or f is None]


def expected_calls(net: str, images: Tensor) -> list[Call]:
    return calls_of(_driver.trace(_driver.build(net), images)["calls"])


def show(entry: tuple[str, Shape] | None) -> str:
    return "(none)" if entry is None else f"{entry[0]} -> {entry[1]}"


def table(expected: list[Any], got: list[Any]) -> str:
    rows = [f"  {'':>3}  {'expected':<40} yours"]
    for i in range(max(len(expected), len(got))):
        e = expected[i] if i < len(expected) else None
        g = got[i] if i < len(got) else None
        rows.append(f"  {i + 1:>3}  {show(e):<40} {show(g)}{'' if e == g else '   <--'}")
    return "\n".join(rows)


def same_layers(got: dict[str, Any], net: str, images: Tensor) -> None:
    """The layers other than BatchNorm, in call order, with their output shapes, are the grader's."""
    expected = layers(_driver.trace(_driver.build(net), images)["calls"], batchnorm=False)
    mine = layers(got["calls"], batchnorm=False)
    if mine != expected:
        raise CheckFailed(
            f"{TITLES[net]}'s layers, in the order its forward pass calls them, with their output shapes for a batch of "
            f"{len(images)} images (ReLU, Flatten and BatchNorm are not listed; layers called through torch.nn.functional "
            f"are not seen: build the network from nn modules):\n{table(expected, mine)}")


def conv_blocks(calls: list[Call]) -> tuple[list[dict[str, Any]], list[tuple[int, str, int]]]:
    """Split a network's calls into its conv blocks: block j runs from its j-th Conv2d to the
    next Conv2d or Linear. For each block: its convolution's output channels and the BatchNorm
    calls in it (their positions, kinds and num_features); and the BatchNorm calls in no block
    (before the first Conv2d, or after the Linear), the same way."""
    blocks: list[dict[str, Any]] = []
    stray: list[Any] = []
    open_block = False
    for i, (k, _, out, features) in enumerate(calls):
        if k == "Conv2d":
            blocks.append({"channels": out[1] if out and len(out) > 1 else None, "bn": []})
            open_block = True
        elif k == "Linear":
            open_block = False
        elif features is not None:  # a BatchNorm layer
            (blocks[-1]["bn"] if open_block else stray).append((i, k, features))
    return blocks, stray


def batchnorm_placement(got: dict[str, Any], net: str, images: Tensor) -> None:
    """Each conv block calls as many BatchNorm2d as the grader's network has in it (one with
    batch_norm=True, none without), each of the block's channel count, anywhere between the
    block's Conv2d and the next Conv2d or the Linear."""
    want, _ = conv_blocks(expected_calls(net, images))
    mine_calls = calls_of(got["calls"])
    mine, stray = conv_blocks(mine_calls)
    problems: list[str] = []
    bad: set[int] = set()
    for j, (w, m) in enumerate(zip(want, mine)):
        count, have = len(w["bn"]), m["bn"]
        what = f"block {j + 1} (its Conv2d makes {m['channels']} channels)"
        if len(have) != count:
            problems.append(f"{what} calls {len(have) or 'no'} BatchNorm layer{'' if len(have) == 1 else 's'}; expected {count or 'none'}")
            bad.update(i for i, _, _ in have)
        for i, k, features in have:
            if (k, features) != ("BatchNorm2d", m["channels"]):
                problems.append(f"{what} calls a {k}({features}); expected BatchNorm2d({m['channels']})")
                bad.add(i)
    for i, _, _ in stray:
        problems.append(f"call {i + 1} is a {mine_calls[i][0]} outside the conv blocks (before the first Conv2d or after the Linear)")
        bad.add(i)
    if problems:
        rule = ("exactly one BatchNorm2d of the block's channel count in each conv block (Conv2d -> ReLU -> MaxPool2d), "
                "anywhere after the block's Conv2d and before the next Conv2d (or the Flatten and Linear): the homework "
                "puts it right after the MaxPool2d; right after the Conv2d or after the ReLU is accepted too"
                if any(w["bn"] for w in want) else "no BatchNorm layer (BatchNorm is only there with batch_norm=True)")
        rows = [f"  {i + 1:>3}  {k}{'' if f is None else '(%d)' % f} -> {o}{'   <--' if i in bad else ''}"
                for i, (k, _, o, f) in enumerate(mine_calls)]
        raise CheckFailed(
            f"{TITLES[net]} should have {rule}.\n  " + ";\n  ".join(problems) + ".\n"
            "Your forward pass calls these layers, in this order (ReLU and Flatten not listed):\n" + "\n".join(rows))


def same_parameters(got: dict[str, Any], net: str) -> None:
    want = _driver.describe(_driver.build(net))
    expected = Counter(tuple(s) for s in want["param_shapes"])
    mine = Counter(tuple(int(d) for d in s) for s in got["param_shapes"])
    if mine != expected or int(got["param_count"]) != want["param_count"]:
        missing, extra = sorted((expected - mine).elements()), sorted((mine - expected).elements())
        raise CheckFailed(
            f"{TITLES[net]} has {got['param_count']} parameters; expected {want['param_count']}.\n"
            f"  parameter shapes expected but not there: {missing or 'none'}\n"
            f"  parameter shapes there but not expected: {extra or 'none'}")


def same_batchnorms(got: dict[str, Any], net: str) -> None:
    """The BatchNorm modules the network holds (called or not), with their num_features."""
    want = sorted(tuple(b) for b in _driver.describe(_driver.build(net))["batchnorms"])
    mine = sorted((str(k), int(c)) for k, c in got["batchnorms"])
    if mine != want:
        names = lambda bs: ", ".join(f"{k}({c})" for k, c in bs) or "none"  # noqa: E731
        raise CheckFailed(f"{TITLES[net]} should have these BatchNorm layers: {names(want)}; yours has: {names(mine)}."
                          + (" BatchNorm is only there with batch_norm=True (the default is False)." if not want else
                             " One BatchNorm2d per conv block, of that block's number of channels."))


def _architecture(submission: Submission, generator: Generator, data_dir: Path | None, net: str) -> None:
    """What the network holds, its output's shape, its layers, its BatchNorm layers' places and
    its parameters: each said, whatever the others (one wrong layer does not hide another)."""
    images = data(data_dir, generator())[0][:5]
    with all_faults() as faults:
        with faults.part():
            same_batchnorms(held(submission, net), net)  # before running it: a BatchNorm of the wrong size fails there
        with faults.part():
            got = report(submission, net, images)
            faults.that(got["out_shape"] == [len(images), 10], f"{TITLES[net]} on a batch of shape {tuple(images.shape)} "
                        f"returned shape {tuple(got['out_shape'])}; expected ({len(images)}, 10).")
            for compare in (same_layers, batchnorm_placement):
                with faults.part():
                    compare(got, net, images)
            with faults.part():
                same_parameters(got, net)


def test_convnet_architecture(submission: Submission, generator: Generator, data_dir: Path | None) -> None:
    _architecture(submission, generator, data_dir, "convnet")


def test_convnet_batchnorm_architecture(submission: Submission, generator: Generator, data_dir: Path | None) -> None:
    _architecture(submission, generator, data_dir, "convnet_bn")


def input_shape(calls: list[Call], layer: str, n: int) -> Shape:
    """The input shape of the n-th (from 1) call of a ``layer``; None if there is none."""
    seen = [i for k, i, _, _ in calls if k == layer]
    return seen[n - 1] if len(seen) >= n else None


def test_strided_convnet(submission: Submission, generator: Generator, data_dir: Path | None) -> None:
    images = data(data_dir, generator())[0][:5]
    got = report(submission, "strided", images)
    with all_faults() as faults:  # every fault of the network said, whatever the others
        faults.that(got["out_shape"] == [len(images), 10], f"StridedConvNet() on a batch of shape {tuple(images.shape)} "
                    f"returned shape {tuple(got['out_shape'])}; expected ({len(images)}, 10).")
        mine = calls_of(got["calls"])
        faults.that(all(k != "MaxPool2d" for k, *_ in mine), "StridedConvNet() still calls a MaxPool2d: in the bonus "
                    "exercise each Conv2d -> ReLU -> MaxPool2d of ConvNet() becomes one convolution with a stride (and the "
                    "ReLU), no max-pool.")
        pooled = expected_calls("convnet", images)
        wanted = {"the second Conv2d": (input_shape(pooled, "Conv2d", 2), input_shape(mine, "Conv2d", 2)),
                  "the Linear layer": (input_shape(pooled, "Linear", 1), input_shape(mine, "Linear", 1))}
        if any(e != g for e, g in wanted.values()):
            rows = "\n".join(f"  input of {what:<18} ConvNet(): {e}   yours: {'(none)' if g is None else g}{'' if e == g else '   <--'}"
                             for what, (e, g) in wanted.items())
            faults.that(False,
                "The stride of StridedConvNet()'s convolutions should make the input to its second convolution and to its "
                f"final linear layer identical in shape to those in ConvNet(); for a batch of {len(images)} images:\n{rows}")
        for compare in (lambda: same_batchnorms(got, "strided"), lambda: same_layers(got, "strided", images),
                        lambda: same_parameters(got, "strided")):
            with faults.part():
                compare()


# ------------------------------------------------------------------ flat_norm --


def norm_matches(submission: Submission, tensors: list[Tensor], why: str, as_tuple: bool = False) -> None:
    shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
    dtype = tensors[0].dtype
    got = submission.call("norm", tensors=tensors, as_tuple=as_tuple,
                          context=f"flat_norm on a {'tuple' if as_tuple else 'list'} of {str(dtype)[6:]} tensors of shapes {shapes}")
    expected = torch.linalg.vector_norm(torch.cat([t.reshape(-1).to(torch.float64) for t in tensors]))
    tol = (Tolerance(rtol=1e-12, atol=1e-300, why="float64: one sum of squares") if dtype == torch.float64
           else Tolerance(rtol=1e-5, atol=1e-30, why="float32: a sum of many squares"))
    close(torch.tensor([got["value"]], dtype=torch.float64), expected.reshape(1), tol=tol,
          what=f"flat_norm of {len(tensors)} tensors ({why}) against the L2 norm of all their entries as one vector")


def test_flat_norm(submission: Submission, generator: Generator) -> None:
    gen = generator()
    shapes, scales = [(4, 3), (7,), (2, 3, 5)], [1.0, 3.0, 0.5]
    norm_matches(submission, [s * torch.randn(*sh, generator=gen, dtype=torch.float64) for sh, s in zip(shapes, scales)],
                 "tensors of several shapes: the norm is of all of them together")
    model = _driver.build("convnet").to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    norm_matches(submission, [p.detach() for p in model.parameters()], "the parameters of a ConvNet")


# ------------------------------------------------------- effective smoothness --


def network_state(net: str, gen: torch.Generator, images: Tensor, dtype: torch.dtype) -> dict[str, Tensor]:
    """A state_dict for the grader's ``net``: default initialisation under a seed from ``gen``,
    BatchNorm scales and shifts away from 1 and 0, running statistics from three train-mode
    passes over the images (so eval mode and train mode differ as they do after training)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
        model = _driver.build(net)
    model = model.to(dtype)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.3 * torch.randn(m.num_features, generator=gen, dtype=dtype))
                m.bias.copy_(0.2 * torch.randn(m.num_features, generator=gen, dtype=dtype))
        model.train()
        for i in range(3):
            model(images[i::3][:32].to(dtype))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@cached  # seconds in float64, the same for every student of a batch
def oracle(net: str, state: dict[str, Tensor], images: Tensor, labels: Tensor, bx: Tensor, by: Tensor, lr: float,
           label_smoothing: float) -> float:
    """||g(theta + u) - g(theta)|| / ||u||, in float64, straight from the definition."""
    model = _driver.build(net).to(torch.float64)
    model.load_state_dict({k: v.to(torch.float64) if v.is_floating_point() else v for k, v in state.items()})
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    X, bx = images.to(torch.float64), bx.to(torch.float64)
    names = [n for n, _ in model.named_parameters()]
    theta = [p.detach() for p in model.parameters()]

    def full_gradient(params: list[Tensor]) -> list[Tensor]:
        model.eval()  # BatchNorm on its running statistics: per sample, so all samples in one pass is their mean loss
        ps = [p.detach().clone().requires_grad_() for p in params]
        out = torch.func.functional_call(model, dict(zip(names, ps)), (X,))
        return list(torch.autograd.grad(loss_fn(out, labels), ps))

    stepper = copy.deepcopy(model).train()  # its running statistics change; the model's do not
    u = [-lr * g for g in torch.autograd.grad(loss_fn(stepper(bx), by), list(stepper.parameters()))]
    g0, g1 = full_gradient(theta), full_gradient([t + d for t, d in zip(theta, u)])
    flat = lambda ts: torch.cat([t.reshape(-1) for t in ts])  # noqa: E731
    return float(torch.linalg.vector_norm(flat(g1) - flat(g0)) / torch.linalg.vector_norm(flat(u)))


def smoothness_case(gen: torch.Generator, data_dir: Path | None, net: str, *, batch_size: int = 64, lr: float = 0.1,
                    training: bool = True, dtype: torch.dtype = torch.float64, label_smoothing: float = 0.0) -> dict[str, Any]:
    images, labels, source = data(data_dir, gen)
    images = images.to(dtype)
    pick = torch.randperm(len(labels), generator=gen)[:32]
    n = len(labels)
    state = network_state(net, gen, images, dtype)
    parts = [source, f"in batches of {batch_size}" + (f" (the last one of {n % batch_size})" if n % batch_size else ""),
             f"a batch of {len(pick)}", f"lr = {lr:g}", f"{str(dtype)[6:]}", f"the model in {'train' if training else 'eval'} mode on entry"]
    if label_smoothing:
        parts.append(f"loss_fn = nn.CrossEntropyLoss(label_smoothing={label_smoothing:g})")
    return {"net": net, "state": state, "images": images, "labels": labels, "batch_size": batch_size,
            "batch_images": images[pick], "batch_labels": labels[pick], "lr": lr, "training": training,
            "label_smoothing": label_smoothing, "about": f"on the grader's {TITLES[net]}: " + ", ".join(parts)}


def call_smoothness(submission: Submission, case: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in case.items() if k != "about"}
    return submission.call("smoothness", context=f"effective_smoothness {case['about']}", **values)


def value_matches(submission: Submission, case: dict[str, Any]) -> None:
    got = call_smoothness(submission, case)
    expected = oracle(case["net"], case["state"], case["images"], case["labels"], case["batch_images"],
                      case["batch_labels"], case["lr"], case["label_smoothing"])
    tol = (Tolerance(rtol=1e-9, atol=0.0, why="float64: two full-batch gradients and one step, summed in another order")
           if case["images"].dtype == torch.float64 else
           Tolerance(rtol=1e-4, atol=0.0, why="float32 gradients against a float64 oracle"))
    close(torch.tensor([got["value"]], dtype=torch.float64), torch.tensor([expected], dtype=torch.float64), tol=tol,
          what=f"effective_smoothness {case['about']}; expected ||g(theta+u) - g(theta)|| / ||u||, g the gradient of the "
               "mean loss over all samples in eval mode (BatchNorm on the running statistics the model has on entry), "
               "u = -lr * (the gradient on the batch in train mode)")  # fmt: skip


def test_effective_smoothness(submission: Submission, generator: Generator, data_dir: Path | None) -> None:
    value_matches(submission, smoothness_case(generator(), data_dir, "convnet_bn"))


def test_model_restored(submission: Submission, generator: Generator, data_dir: Path | None) -> None:
    """The model comes out as it went in: its mode, and its parameters and buffers, judged from
    the tensors the worker held from before the call (its own references: the memory they had,
    and the tensors the model holds now); every fault of both calls said."""
    gen = generator()
    tol = Tolerance(rtol=1e-12, atol=1e-14, why="float64: adding u and subtracting it again may differ from the saved values by rounding")
    with all_faults() as faults:
        for training in (True, False):
            case = smoothness_case(gen, data_dir, "convnet_bn", training=training)
            with faults.part():
                got = call_smoothness(submission, case)
                mode = "train" if training else "eval"
                faults.that(got["training_after"] == training,
                            f"The model was in {mode} mode when effective_smoothness was called and is in "
                            f"{'train' if got['training_after'] else 'eval'} mode after it; put it back as it was "
                            "(model.train(was_training)).")
                changed = input_changes({"model": case["state"]}, got["inputs"], tol)
                buffer = [any(name in line for name in ("running_mean", "running_var", "num_batches_tracked")) for line in changed]
                faults.that(not changed, f"effective_smoothness (model in {mode} mode on entry) left the model changed "
                            f"({tol.describe()}):\n  " + "\n  ".join(changed[:8]) + ("\n  ..." if len(changed) > 8 else "")
                            + ("\nA parameter: theta + u must not stay in the model." if not all(buffer) else "")
                            + ("\nA BatchNorm buffer: the train-mode pass that computes u changes it; restore it too, and use "
                               "the entry values for both full gradients." if any(buffer) else ""))
