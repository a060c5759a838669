"""The box: PID 1 of a container that serves one submission's workers, one after another."""

from __future__ import annotations

import argparse
import base64
import ctypes
import os
import re
import shutil
import signal
import threading
from typing import Any

from .framing import read_frame, write_all, write_frame
from .processes import fork_running, reap
from .serve import main


def _stage(request: dict[str, Any], sub_dir: str, driver: str) -> None:
    """Write what a 'stage' request brings: the student's files (plain names only) and the driver."""
    os.makedirs(sub_dir, exist_ok=True)
    for name, data in request["files"].items():
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
            raise ValueError(f"not a plain file name: {name!r}")
        with open(os.path.join(sub_dir, name), "wb") as f:
            f.write(base64.b64decode(data))
    with open(driver, "wb") as f:
        f.write(base64.b64decode(request["driver"]))




_PR_SET_DUMPABLE = 4


def box(argv: list[str]) -> int:
    """PID 1 of a container that serves one submission: its workers, one after another.

    It imports torch once, then for each 'stage' request on stdin (the student's files,
    the problem's driver and module, the worker's memory limit) writes the files into its
    scratch folder, and forks the worker, which takes stdin and stdout over
    for its requests and replies (its prints go to stderr). It never runs student code
    itself, and no worker can reach it: as the namespace's init it gets no signal it has
    no handler for (it has none, SIGKILL included), and it is not dumpable (no ptrace, no
    reading its memory or descriptors). When the worker ends, everything else in the
    container is killed (``kill(-1)``: nothing can leave the PID namespace) and the scratch
    folders are emptied, so the next worker starts with only the box. A worker that exited with status 0 (it was asked to)
    is followed by an ``{"ended": 0}`` frame on stdout, and the box waits for the next
    stage; any other end ends the box with the worker's status (128 + signal), which
    ends the container, so the trusted side reads it as it reads any container's death.
    """
    ap = argparse.ArgumentParser(prog="_grader_worker --box")
    ap.add_argument("--sub", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--scratch", action="append", default=[], help="a folder emptied after each worker")
    args, worker_args = ap.parse_known_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python's own handler would let a SIGINT in
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    import torch  # noqa: F401  (no _warm_up: a submission's few workers rarely need all it pays for)
    import safetensors.torch  # noqa: F401
    while True:
        try:
            request, _ = read_frame(0)
        except EOFError:
            return 0
        if request.get("op") != "stage":
            return 0  # "exit", or the end of a batch
        _stage(request, args.sub, args.driver)

        out_r, out_w = os.pipe()

        def worker(request: dict[str, Any] = request, out_r: int = out_r, out_w: int = out_w) -> int:
            libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # the worker is an ordinary process of the student's
            os.close(out_r)
            req, rep = os.dup(0), os.dup(1)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
            os.dup2(out_w, 1)  # the student's prints: drained here, in the container, and capped
            os.dup2(out_w, 2)
            os.close(out_w)
            os.chdir(args.sub)
            return main(["--req-fd", str(req), "--rep-fd", str(rep), "--sub", args.sub, "--driver", args.driver,
                         "--module", str(request["module"]), "--memory-mb", str(int(request["memory_mb"])),
                         *worker_args])

        pid = fork_running(worker)
        os.close(out_w)
        drain = threading.Thread(target=_forward, args=(out_r, 2, BOX_OUTPUT_BYTES), daemon=True)
        drain.start()
        status = reap(pid)
        while True:  # the student's other processes, wherever they went: none outlives its worker
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                break
            reap(None)
        drain.join(timeout=10)  # everything that held the pipe is dead: it has ended
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            return 128 - code if code < 0 else code
        for folder in args.scratch:  # now, not at the next stage: the trusted side may lower the memory
            _empty(folder)           # limit in between, and tmpfs pages count against it
        write_frame(1, {"ended": 0})


BOX_OUTPUT_BYTES = 128 << 10  # of a worker's prints that leave the container; the rest is read and dropped in it


def _forward(src: int, dst: int, cap: int) -> None:
    """Copy at most ``cap`` bytes of ``src`` to ``dst``, read and drop the rest (as fast as a
    local worker's output is drained: a flood costs the same on both runners), and say how
    much was dropped."""
    sent = dropped = 0
    try:
        while chunk := os.read(src, 1 << 16):
            room = cap - sent
            if room > 0:
                write_all(dst, chunk[:room])
                sent += min(room, len(chunk))
            dropped += max(0, len(chunk) - max(room, 0))
        if dropped:
            write_all(dst, f"\n[... {dropped} more bytes of output dropped]".encode())
    except OSError:
        pass
    finally:
        os.close(src)


def _empty(folder: str) -> None:
    """Remove everything in ``folder`` (a student may have made folders unreadable: they are theirs to chmod)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                for root, dirs, _ in os.walk(entry.path):  # top-down: each folder opened before it is listed
                    for d in dirs:
                        try:
                            os.chmod(os.path.join(root, d), 0o700, follow_symlinks=False)
                        except OSError:
                            pass
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass
