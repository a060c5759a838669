"""What isolating a worker costs: workers started one after another, each until its first
reply, under each isolation this machine allows.

    .venv/bin/python benchmarks/worker_start.py              # 30 workers per isolation
    runuser -u someone -- .venv/bin/python benchmarks/worker_start.py   # as an ordinary user

Each worker is forked from the runner's zygote (pre-imported torch), isolates itself as the
mode says, imports a one-line student module and answers one call; the figure is the wall
time from ``runner.start`` to that answer, median and 90th percentile. As root all three
modes run (``rootless`` then makes its user namespace as root: the same system calls an
ordinary user's worker makes); as an ordinary user, ``rootless`` and ``none``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader._grading.runs import ProblemRun  # noqa: E402
from grader._sandbox.local import LocalRunner  # noqa: E402
from grader._sandbox.runner import Limits, WorkerSpec  # noqa: E402

DRIVER = ROOT / "tests" / "sandbox" / "driver.py"


def measure(mode: str, n: int, folder: Path) -> list[float]:
    (folder / "sub.py").write_text("def ok():\n    return 1\n")
    runner = LocalRunner()
    runner._isolation = mode  # the mode asked for, whatever this machine would choose
    spec = WorkerSpec(label="bench/p", files={"sub.py": folder / "sub.py"}, module="sub", driver=DRIVER, limits=Limits(threads=1))
    times = []
    try:
        warm = ProblemRun(runner, spec, import_timeout=60.0)  # the zygote's own start is not a worker's
        warm.start_test(60)
        warm.call("call", name="ok")
        warm.close()
        for _ in range(n):
            started = time.perf_counter()
            run = ProblemRun(runner, spec, import_timeout=60.0)
            run.start_test(60)
            assert run.call("call", name="ok")["value"] == 1
            times.append(time.perf_counter() - started)
            run.close()
    finally:
        runner.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=30, help="workers per isolation (default 30)")
    args = ap.parse_args()
    modes = ["root", "rootless", "none"] if os.geteuid() == 0 else ["rootless", "none"]
    print(f"{args.n} workers each, uid {os.getuid()}, {os.cpu_count()} cores")
    print(f"{'isolation':<10} {'median ms':>10} {'p90 ms':>8}")
    for mode in modes:
        with tempfile.TemporaryDirectory() as d:
            t = sorted(measure(mode, args.n, Path(d)))
        print(f"{mode:<10} {1000 * statistics.median(t):>10.0f} {1000 * t[int(0.9 * (len(t) - 1))]:>8.0f}")


if __name__ == "__main__":
    main()
