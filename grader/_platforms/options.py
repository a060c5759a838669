"""What a Slurm run asks for (``SlurmOptions``), each default once: the command line's options
read their defaults from here. A module of its own so that the command line imports it
without the rest of the Slurm submitter."""

from __future__ import annotations

from dataclasses import dataclass

from .._exceptions import ConfigError


@dataclass(frozen=True)
class SlurmOptions:
    """What each task asks Slurm for, and how the submitter treats failures."""

    partition: str | None = None
    account: str | None = None
    time: str | None = None  # sbatch --time: a task's limit, e.g. "1:00:00"
    gpus_per_task: int = 0  # through GRES: --gres=gpu:N
    cpus_per_task: int = 1
    students_per_task: int = 10
    sbatch: tuple[str, ...] = ()  # other sbatch options, passed as given (after ours: they win)
    retries: int = 2  # times a student whose task failed is submitted again
    poll_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.students_per_task < 1:
            raise ConfigError("--students-per-task must be at least 1")
        if self.gpus_per_task < 0 or self.cpus_per_task < 1 or self.retries < 0:
            raise ConfigError("--gpus-per-task and --slurm-retries cannot be negative, --cpus-per-task is at least 1")


DEFAULTS = SlurmOptions()
