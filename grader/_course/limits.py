"""What one worker may use: ``Limits``, the only place its defaults are written.

A module of its own (importing nothing of the grader) so that the rubric's models
(``_models``) can take their defaults from it too; ``_sandbox`` re-exports it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one worker may use. Every default is here, and only here."""

    memory_mb: int = 4096  # also a problem's default in rubric.toml (ProblemSpec.memory_mb)
    file_mb: int = 64
    disk_mb: int = 512  # each of the worker's own /tmp, /var/tmp and folder (tmpfs)
    shm_mb: int = 256  # the worker's own /dev/shm (a container's shm size)
    nproc: int = 256  # processes and threads of one worker (a fork bomb stops here; a container's pids limit)
    submission_seconds: float = 900.0  # student time for all tests of one submission together
    cpu_seconds: int = 3600
    threads: int = max(1, min(4, os.cpu_count() or 1))
    output_bytes: int = 64 << 10  # of each of stdout/stderr kept; the rest is drained and dropped
