"""The command line's options read their defaults from where the Python API keeps them (each
default once), and options that go with --slurm are refused without it, named."""

from __future__ import annotations

import dataclasses
import re

from click.testing import CliRunner

from grader._platforms.options import DEFAULTS, SlurmOptions
from grader.cli import cli

FLAGS = {"gpus_per_task": "--gpus-per-task", "cpus_per_task": "--cpus-per-task",
         "students_per_task": "--students-per-task", "retries": "--slurm-retries"}


def test_slurm_defaults_are_the_python_api_s() -> None:
    shown = CliRunner().invoke(cli, ["grade", "--help"], terminal_width=200).output
    for field, flag in FLAGS.items():
        said = re.search(re.escape(flag) + r"[^\[]*\[default: (\d+)", shown, re.S)
        assert said, f"{flag} shows no default"
        assert int(said.group(1)) == getattr(DEFAULTS, field) == {f.name: f.default for f in dataclasses.fields(SlurmOptions)}[field]


def test_slurm_options_without_slurm_are_refused_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for field, flag in FLAGS.items():
        other = str(getattr(DEFAULTS, field) + 1)
        got = CliRunner().invoke(cli, ["grade", "mfdnn-hw5", str(tmp_path), "--out", str(tmp_path / "out"), flag, other])
        assert got.exit_code == 2 and f"{flag} go with --slurm" in got.output, got.output
    same = str(DEFAULTS.students_per_task)  # the default, given: nothing asked of Slurm, nothing refused for it
    got = CliRunner().invoke(cli, ["grade", "mfdnn-hw5", str(tmp_path / "none"), "--out", str(tmp_path / "out"),
                                   "--students-per-task", same])
    assert "go with --slurm" not in got.output
