"""Where a new course's CI and a release without a wheel get the grader: this very grader,
from the git URL and commit pip recorded when it was installed from git (PEP 610's
direct_url.json), and nothing from metadata that is another install's or not a git one."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import grader
from grader._authoring import wheel


class FakeDist:
    def __init__(self, direct: dict[str, Any] | None, where: Path) -> None:
        self.direct, self.where = direct, where

    def read_text(self, name: str) -> str | None:
        return json.dumps(self.direct) if name == "direct_url.json" and self.direct is not None else None

    def locate_file(self, path: str) -> Path:
        return self.where / path


HERE = Path(grader.__file__).resolve().parent.parent  # the folder holding this grader's package
GIT = {"url": "https://example.edu/dl-grader.git", "vcs_info": {"vcs": "git", "commit_id": "0123abc", "requested_revision": "v0.1.0"}}


@pytest.mark.parametrize("direct,where,expected", [
    (GIT, HERE, "dl-grader @ git+https://example.edu/dl-grader.git@0123abc"),
    ({**GIT, "url": "git+file:///srv/dl-grader"}, HERE, "dl-grader @ git+file:///srv/dl-grader@0123abc"),
    (GIT, Path("/elsewhere"), None),  # the metadata of another install, not of the grader that runs
    ({"url": "file:///home/me/dl-grader", "dir_info": {"editable": True}}, HERE, None),  # a checkout
    ({"url": "file:///tmp/dl_grader-0.1.0-py3-none-any.whl", "archive_info": {}}, HERE, None),  # a wheel
    (None, HERE, None),  # from an index, or no direct_url.json
    ({**GIT, "vcs_info": {"vcs": "hg", "commit_id": "1"}}, HERE, None),
], ids=["git", "git-url", "other-install", "editable", "wheel", "none", "not-git"])
def test_installed_from_git_names_the_commit_of_this_grader_only(monkeypatch: pytest.MonkeyPatch, direct: dict[str, Any] | None,
                                                                 where: Path, expected: str | None) -> None:
    monkeypatch.setattr(metadata, "distribution", lambda name: FakeDist(direct, where))
    assert wheel.installed_from_git() == expected


def test_installed_from_git_is_none_without_an_installed_grader(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    assert wheel.installed_from_git() is None


def test_a_course_made_by_a_grader_installed_from_git_installs_that_commit_in_ci(monkeypatch: pytest.MonkeyPatch,
                                                                               tmp_path: Path) -> None:
    import yaml

    from grader._authoring import scaffold

    monkeypatch.setattr(metadata, "distribution", lambda name: FakeDist(GIT, HERE))
    scaffold.new_course(tmp_path / "c")
    assert not (tmp_path / "c" / scaffold.WHEEL_DIR).exists()  # no wheel kept: the commit is the pin
    github = yaml.safe_load((tmp_path / "c" / ".github/workflows/grader.yml").read_text())
    assert github["env"]["GRADER_REQUIREMENT"] == "dl-grader @ git+https://example.edu/dl-grader.git@0123abc"
    assert "grader-wheel" not in (tmp_path / "c" / "README.md").read_text()
