"""Rubrics: loaded into pydantic models, errors name the file and the field; SPEC.md is the contract."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from grader._course.layout import Course
from grader._exceptions import ConfigError
from grader._course.models import Rubric

SPEC = ROOT.parent / "shared" / "SPEC.md"


def spec_problems() -> dict[str, str]:
    """Problem id -> file, as SPEC.md states them: ### `bn_remove` — file `bn_remove.py`."""
    text = SPEC.read_text()
    found = dict(re.findall(r"^### `([a-z0-9_]+)` — file `([^`]+)`", text, flags=re.M))
    # and the later problems' bullets: - ese546-hw2 `lowrank` (`lowrank.py`): ...
    found.update(re.findall(r"^- [a-z0-9-]+ `([a-z0-9_]+)` \(`([^`]+)`\)", text, flags=re.M))
    return found


@pytest.mark.skipif(not SPEC.is_file(), reason="../shared/SPEC.md is not beside this checkout")
def test_rubrics_follow_the_spec(course: Course) -> None:
    spec = spec_problems()
    assert {"bn_remove", "lnin", "backprop", "momentum"} <= set(spec)
    # problems SPEC names without a file (- mfdnn-hw5 `memorization`: ...): the file is ours, <id>.py
    unnamed = dict((pid, a) for a, pid in re.findall(r"^- ([a-z0-9-]+) `([a-z0-9_]+)`:", SPEC.read_text(), flags=re.M))
    for a in course.assignment_ids():
        for p in course.assignment(a).rubric.problems:
            if p.id in unnamed:
                assert (unnamed[p.id], p.file) == (a, f"{p.id}.py"), f"{a}: problem {p.id} ({p.file}); SPEC.md puts it in {unnamed[p.id]}"
                continue
            assert spec.get(p.id) == p.file, f"{a}: problem {p.id} uses file {p.file}; SPEC.md says {spec.get(p.id)}"
            assert (course.assignment(a).reference_dir / p.file).is_file()


def test_spec_ids_are_what_results_carry(course: Course) -> None:
    a = course.assignment("mfdnn-hw7")
    assert [p.id for p in a.rubric.problems] == ["bn_remove", "lnin", "softmax", "count_ops", "conv_backprop"]
    assert [p.file for p in a.rubric.problems] == ["bn_remove.py", "LNiN.py", "softmax.py", "count_ops.py", "conv_backprop.py"]
    assert a.rubric.max_score == 100


def test_bottleneck_oracle_reproduces_the_homeworks_answers_and_the_readmes_figures() -> None:
    """The homework's solution (seed 003, Problem 5) gives these counts for its Models I and
    II; the rubric's oracle (which counts on the template's modules) must give them, and the
    rubric's HOMEWORK table must be them. The README of mfdnn-hw5 quotes GoogLeNet's
    inception (3a) as a case to check by hand: the oracle must give those too."""
    from grader import load_driver

    checks = load_driver(ROOT / "rubrics" / "mfdnn-hw5" / "test_bottleneck.py", "_bottleneck_checks")
    given = load_driver(ROOT / "student_template" / "mfdnn-hw5" / "bottleneck.py", "_bottleneck_given")
    homework = {  # the homework's solution, as it prints them
        "naive_params": 1_088_924, "bottleneck_params": 345_692,
        "naive_additions": 1_114_636_288, "naive_multiplications": 1_114_636_288, "naive_activations": 421_888,
        "bottleneck_additions": 353_370_112, "bottleneck_multiplications": 353_370_112, "bottleneck_activations": 618_496}
    assert checks.oracle(given, checks.MODEL_II, 32, 32) == homework == checks.HOMEWORK
    assert checks.oracle(given, checks.INCEPTION_3A, 28, 28) == {
        "naive_params": 387_296, "naive_additions": 303_464_448, "naive_multiplications": 303_464_448,
        "naive_activations": 175_616, "bottleneck_params": 163_696, "bottleneck_additions": 128_049_152,
        "bottleneck_multiplications": 128_049_152, "bottleneck_activations": 288_512}
    readme = (ROOT / "student_template" / "mfdnn-hw5" / "README.md").read_text()
    assert all(f in readme for f in ("387,296", "163,696", "303,464,448", "128,049,152", "175,616", "288,512"))
    reference = load_driver(ROOT / "reference" / "mfdnn-hw5" / "bottleneck.py", "_bottleneck_reference")
    assert reference.naive_ops(256, 124, 192, 96, 32, 32) == (1_114_636_288, 1_114_636_288, 421_888)
    assert reference.bottleneck_params(**checks.MODEL_II) == 345_692


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    return path


GOOD = """
assignment = "demo-hw"
title = "Demo"
[[problems]]
id = "p1"
title = "P1"
file = "p1.py"
points = 3
[[problems.tests]]
name = "test_a"
title = "a works"
points = 1
[[problems.tests]]
name = "test_b"
title = "b works"
points = 2
visibility = "hidden"
"""


def test_a_good_rubric_loads(tmp_path: Path) -> None:
    r = Rubric.load(write(tmp_path, GOOD))
    assert r.problems[0].module == "p1" and r.max_score == 3


@pytest.mark.parametrize("change, message", [
    (("points = 3", "points = 4"), r"problems\[0\] \(p1\): .*worth 4.0 points but its tests add up to 3.0"),
    (('visibility = "hidden"', 'visibility = "secret"'), r"problems\[0\] \(p1\)\.tests\[1\] \(test_b\)\.visibility: Input should be 'visible', 'hidden'"),
    (('name = "test_a"', 'name = "check_a"'), r"tests\[0\] \(check_a\)\.name: String should match pattern"),
    (("points = 1", "points = -1"), r"tests\[0\] \(test_a\)\.points: Input should be greater than or equal to 0"),
    (('title = "a works"', 'title = "a works"\ncolour = "red"'), r"tests\[0\] \(test_a\)\.colour: Extra inputs are not permitted"),
])  # fmt: skip
def test_errors_name_the_file_and_the_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError) as exc:
        Rubric.load(path)
    assert str(path) in str(exc.value)
    assert re.search(message, str(exc.value)), str(exc.value)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        Rubric.load(write(tmp_path, "assignment = "))
    with pytest.raises(ConfigError, match="no rubric file here"):
        Rubric.load(tmp_path / "nope.toml")


def test_a_rubric_naming_a_missing_test_module_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "course"
    shutil.copytree(ROOT / "rubrics" / "mfdnn-hw5", root / "rubrics" / "mfdnn-hw5")
    shutil.copytree(ROOT / "student_template" / "mfdnn-hw5", root / "student_template" / "mfdnn-hw5")
    (root / "rubrics" / "mfdnn-hw5" / "test_momentum.py").unlink()
    with pytest.raises(ConfigError, match="problem 'momentum': its test module .*test_momentum.py is missing"):
        Course.locate(root).assignment("mfdnn-hw5")
    with pytest.raises(ConfigError, match=r"no assignment 'hw99' .*known: mfdnn-hw5"):
        Course.locate(root).assignment("hw99")


def test_momentum_s_oracle_is_torch_optim_sgd_bit_for_bit() -> None:
    """test_momentum.py writes SGD's update out (the optimizer's first use costs seconds of
    lazy imports in every self-check): it must give exactly torch.optim.SGD's iterates."""
    import torch

    from grader import load_driver

    module = load_driver(str(ROOT / "rubrics" / "mfdnn-hw5" / "test_momentum.py"), "_momentum_checks")
    gen = torch.Generator().manual_seed(0)
    for objective in ("quadratic", "logistic", "rosenbrock", "least_squares"):
        for dtype in (torch.float64, torch.float32):
            for beta, steps in ((0.9, 30), (0.0, 10), (0.5, 1), (0.99, 40), (0.3, 0)):
                theta0, params, alpha = module.problem(objective, gen, dtype)
                ours = module.sgd_iterates(theta0, objective, params, alpha, beta, steps)
                sgd = module.sgd_iterates_by_the_optimizer(theta0, objective, params, alpha, beta, steps)
                assert len(ours) == len(sgd) == steps + 1
                assert all(torch.equal(a, b) for a, b in zip(ours, sgd)), (objective, dtype, beta)


def test_param_groups_public_oracle_agrees_with_the_hidden_one_on_resnet18() -> None:
    """The released checks read resnet18's split off its names (a general oracle would be the
    solution); the hidden checks' oracle works by module type: the same split, name for name."""
    from grader import load_driver

    hidden = load_driver(str(ROOT / "rubrics" / "ese546-hw2" / "hidden" / "test_param_groups.py"), "_pg_hidden")
    model = hidden.public.model_named("resnet18")
    assert hidden.public.resnet18_split(model) == hidden.expected(model)
    assert all(hidden.expected(model)[g] for g in hidden.GROUPS)
