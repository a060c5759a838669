"""Issue 28: what `grader new` writes lives in Jinja2 templates (grader/_authoring/templates/).

Every template renders with what the scaffold gives it (StrictUndefined: a name it does not
give is an error), the Python it renders compiles and the TOML parses (a title with quotes
and a newline included: TOML values go through tomli-w), every template is used by some
kind, and the templates ship in both wheels: the one setuptools builds (package data) and
the grader's own that `grader release` puts in a release. That the files written are those
`grader new` wrote before is shown in test_authoring.py, by validating a scaffolded course.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from jinja2 import UndefinedError

from conftest import ROOT
from grader._authoring import scaffold
from grader._authoring.release import _grader_wheel

TEMPLATES = ROOT / "grader" / "_authoring" / "templates"
SHARED = ("course", "assignment", "problem")  # folders every kind renders
ODD_TITLE = 'a "quoted" title\\ with a\nnewline and {{ braces }}'


def templates() -> list[str]:
    return sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*") if p.is_file())


def context(kind: scaffold.Kind) -> dict[str, object]:
    public, second, hidden = (f"test_p_2_{t}" for t in scaffold.TESTS[kind])
    return dict(assignment="hw-1", problem="p_2", public=public, second=second, hidden=hidden, title=ODD_TITLE,
                requirement=ODD_REQUIREMENT, wheel="grader-wheel/w.whl", wheel_dir=scaffold.WHEEL_DIR)


# A requirement with what YAML would read otherwise unquoted: a colon and a space, a hash, quotes.
ODD_REQUIREMENT = "dl-grader @ git+https://h.example/a b: #c/'d\"e'@v1"


def check(name: str, text: str) -> None:
    """Python compiles, TOML parses (a fragment on its own: each is a whole table)."""
    if name.endswith(".py.j2"):
        compile(text, name, "exec")
    elif name.endswith(".toml.j2"):
        tomllib.loads(text)
    elif name.endswith(".yml.j2"):
        yaml.safe_load(text)


@pytest.mark.parametrize("kind", list(scaffold.FILES))
def test_every_template_of_a_kind_renders_and_compiles(kind: scaffold.Kind) -> None:
    names = [n for n in templates() if n.split("/")[0] in (*SHARED, kind)]
    assert any(n.endswith(".py.j2") for n in names) and any(n.endswith(".toml.j2") for n in names)
    for name in names:
        text = scaffold.render(name, **context(kind))
        assert text.endswith("\n"), f"{name}: the file written should end with a newline"
        check(name, text)
    rubric = tomllib.loads(scaffold.render("problem/rubric.toml.j2", **context(kind)))
    assert rubric["problems"][0]["title"] == ODD_TITLE
    github = yaml.safe_load(scaffold.render("course/github-workflow.yml.j2", **context(kind)))
    gitlab = yaml.safe_load(scaffold.render("course/gitlab-ci.yml.j2", **context(kind)))
    assert github["env"]["GRADER_REQUIREMENT"] == gitlab["variables"]["GRADER_REQUIREMENT"] == ODD_REQUIREMENT


def test_the_checks_catch_a_broken_template() -> None:
    """What the test above relies on: a missing name, code that does not compile, hand-quoted
    TOML of an odd title, each fails."""
    with pytest.raises(UndefinedError):
        scaffold.render("function/test.py.j2", assignment="hw1")
    env = scaffold._env()
    with pytest.raises(SyntaxError):
        check("broken.py.j2", env.from_string("def {{ problem }}(:\n").render(problem="p"))
    with pytest.raises(tomllib.TOMLDecodeError):
        check("broken.toml.j2", env.from_string('title = "{{ title }}"\n').render(title=ODD_TITLE))
    with pytest.raises(yaml.YAMLError):
        check("broken.yml.j2", env.from_string("env:\n  GRADER_REQUIREMENT: {{ requirement }}\n").render(requirement=ODD_REQUIREMENT))


def test_every_template_is_used_and_every_used_one_exists() -> None:
    used = {f"{kind}/{t}" for kind, files in scaffold.FILES.items() for t in files}
    used |= {f"{kind}/mistakes.toml.j2" for kind in scaffold.FILES}
    shared = {n for n in templates() if n.split("/")[0] in SHARED}
    assert set(templates()) == used | shared
    assert {n.split("/")[0] for n in templates()} == {*SHARED, *scaffold.FILES}


def test_the_templates_ship_in_the_package_data_and_in_the_release_wheel() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["grader"]
    shipped = {path for g in globs for path in (ROOT / "grader").glob(g)}
    for name in templates():
        assert TEMPLATES / name in shipped, f"{name} is not in pyproject.toml's package-data: {globs}"
    _, files = _grader_wheel()
    members = {arc for arc, _ in files}
    assert {f"grader/_authoring/templates/{n}" for n in templates()} <= members


def test_a_kind_the_scaffold_does_not_know_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from grader._course.layout import Course
    from grader._exceptions import ConfigError

    scaffold.new_course(tmp_path / "c")
    course = Course(tmp_path / "c")
    with pytest.raises(ConfigError, match="kind"):
        scaffold.new_assignment(course, "hw1", "p", kind="notebook")  # type: ignore[arg-type]
    assert not (tmp_path / "c" / "rubrics" / "hw1").exists()


def test_a_new_course_has_its_ci_installing_the_grader_it_was_made_with(tmp_path: Path) -> None:
    """Not installed from git (this checkout): the grader's own wheel goes into the course, and
    both CI files install it, validate every assignment, and take PyTorch's CPU build."""
    from grader._authoring.wheel import grader_wheel

    s = scaffold.new_course(tmp_path / "c")
    wheel = tmp_path / "c" / scaffold.WHEEL_DIR / grader_wheel()[0]
    assert wheel.is_file() and wheel in s.written
    github = yaml.safe_load((tmp_path / "c" / ".github/workflows/grader.yml").read_text())
    gitlab = yaml.safe_load((tmp_path / "c" / ".gitlab-ci.yml").read_text())
    requirement = f"./{scaffold.WHEEL_DIR}/{wheel.name}"
    assert github["env"]["GRADER_REQUIREMENT"] == gitlab["variables"]["GRADER_REQUIREMENT"] == requirement
    runs = [step["run"] for step in github["jobs"]["validate"]["steps"] if "run" in step]
    for commands in (runs, gitlab["validate"]["script"]):
        text = "\n".join(commands)
        assert 'pip install torch torchvision --index-url "$TORCH_INDEX"' in text
        assert 'pip install "$GRADER_REQUIREMENT"' in text and commands[-1] == "grader validate --all"
    assert "apparmor_restrict_unprivileged_userns=0" in runs[0]


def test_a_new_course_refuses_to_overwrite_a_ci_file_and_writes_nothing(tmp_path: Path) -> None:
    from grader._exceptions import ConfigError

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".gitlab-ci.yml").write_text("# the course's own\n")
    with pytest.raises(ConfigError, match="never overwrites"):
        scaffold.new_course(tmp_path / "c")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [".gitlab-ci.yml"]
