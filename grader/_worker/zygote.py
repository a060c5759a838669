"""The zygote: a pre-imported template process that forks one worker per request from
the trusted side (tens of milliseconds, not an interpreter and ``import torch`` each)."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from .isolation import Policy
from .processes import fork_running, signal_uid
from .serve import main


def _warm_up() -> None:
    """What every worker would otherwise pay again: torch and its lazy imports (the first
    optimizer step alone costs seconds), on one thread and on the CPU only (a zygote that
    touched CUDA, or started a thread pool, could not fork safely)."""
    import torch
    import torch.nn.functional  # noqa: F401
    import safetensors.torch  # noqa: F401

    torch.set_num_threads(1)
    p = torch.nn.Parameter(torch.zeros(4))
    for opt in (torch.optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.Adam([p])):
        (p * p).sum().backward()
        opt.step()
        opt.zero_grad()
    torch.nn.Linear(2, 2)(torch.zeros(1, 2)).sum().backward()
    torch.nn.functional.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2))
    torch.nn.BatchNorm2d(1).eval()(torch.zeros(1, 1, 2, 2))
    torch.autograd.grad(torch.zeros(1, requires_grad=True).sum(), [torch.zeros(1, requires_grad=True)], allow_unused=True)


def _json_message(sock: Any, obj: dict[str, Any]) -> None:
    sock.send(json.dumps(obj).encode())


def zygote(ctl: int) -> int:
    """A template process: pays the imports once, then forks one worker per request.

    It never runs student code itself. Each request on the control socket (a Unix
    SOCK_SEQPACKET pair with the trusted side) brings a worker's arguments, environment and
    folder, and four descriptors (request and reply channels, stdout, stderr); the child
    leaves for a session of its own, keeps only those, and goes on as an ordinary worker
    (isolating itself, as root, before anything of the student's runs). The zygote reaps
    every child (it is their subreaper: orphans of students' forks too) and reports how
    each worker ended. It exits when the trusted side closes the socket.
    """
    import select
    import socket

    sock = socket.socket(fileno=ctl)
    warmed_r, warmed_w = os.pipe2(os.O_CLOEXEC)
    watcher = threading.Thread(target=_exit_if_orphaned, args=(ctl, warmed_r), daemon=True)
    watcher.start()
    _warm_up()
    os.close(warmed_w)  # the watcher wakes and ends: no thread is left when workers are forked
    watcher.join()
    os.close(warmed_r)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    # A child's end wakes the loop at once (SIGCHLD, through the wakeup pipe): the trusted side
    # waits for the word that a closed worker is gone (a poll every 50 ms cost 69 ms a worker).
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    _json_message(sock, {"ready": os.getpid()})
    workers: dict[int, int | None] = {}  # pid -> the uid it runs as (as root), for the last clean-up
    while True:
        ready, _, _ = select.select([sock.fileno(), wake_r], [], [], 1.0)
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 4096):
                    pass
        while True:  # reap
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in workers:
                del workers[pid]
                try:
                    _json_message(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})
                except OSError:
                    pass
        if sock.fileno() not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 8)
        except OSError:
            data, fds = b"", []
        if not data:  # the trusted side is gone (done, or killed): nothing of its workers may outlive it
            _kill_all(workers)
            os._exit(0)  # at once: the interpreter's teardown of torch is a second the grader would wait for
        try:
            request = json.loads(data)
            req, rep, out, err = fds
        except (ValueError, TypeError):
            for fd in fds:
                os.close(fd)
            _json_message(sock, {"error": "malformed request"})
            continue
        pid = fork_running(lambda: _zygote_child(sock, request, req, rep, out, err))  # noqa: B023 (called before the loop goes on)
        for fd in fds:
            os.close(fd)
        argv = request.get("argv", [])
        workers[pid] = _uid_of(argv)
        _json_message(sock, {"pid": pid})


def _exit_if_orphaned(ctl: int, warmed: int) -> None:
    """While the imports run (seconds, more on a loaded machine), leave as soon as the trusted
    side is gone: it sends nothing before the zygote's hello, so a readable or hung-up socket
    means it was killed (a batch killed while its jobs were starting). No worker exists yet.
    Returns when ``warmed`` (a pipe's read end) reads end of file: the imports are done."""
    import select

    poll = select.poll()
    poll.register(ctl, select.POLLIN | select.POLLHUP)
    poll.register(warmed, select.POLLIN | select.POLLHUP)
    while True:
        fds = {fd for fd, _ in poll.poll()}
        if warmed in fds:
            return
        if ctl in fds:
            os._exit(0)


def _uid_of(argv: list[str]) -> int | None:
    """The uid a worker of these arguments runs as (its policy's, as root); None if none (or
    its policy is malformed: the worker refuses it before it runs anything)."""
    try:
        return Policy.from_json(argv[argv.index("--policy") + 1]).uid
    except (ValueError, IndexError, TypeError):
        return None


def _kill_all(workers: dict[int, int | None]) -> None:
    """SIGKILL every worker still alive with all it started: its session, and as root its uid."""
    for pid, uid in workers.items():
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        for _ in range(50):  # forks race kills: until nothing of that uid is left
            if uid is None or not signal_uid(uid, signal.SIGKILL):
                break
            time.sleep(0.02)


def _zygote_child(sock: Any, request: dict[str, Any], req: int, rep: int, out: int, err: int) -> int:
    signal.set_wakeup_fd(-1)  # the zygote's: before its descriptor is closed (its number may be another's next)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    sock.close()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    keep = {0, 1, 2, req, rep}
    for name in os.listdir("/proc/self/fd"):  # the zygote's other descriptors: none of them is the student's
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = request["home"]
    os.chdir(request["cwd"])
    argv = list(request["argv"])
    argv[argv.index("--req-fd") + 1] = str(req)
    argv[argv.index("--rep-fd") + 1] = str(rep)
    return main(argv)
