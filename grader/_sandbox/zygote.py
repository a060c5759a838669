"""The zygote client: a template process, torch imported once, that forks local workers
(its own side is ``_worker.zygote``)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from .channel import START_TIMEOUT, install_worker, scrubbed_env
from .._exceptions import SandboxError


class _ZygoteChild:
    """A worker forked by the zygote: what LocalWorker needs of a Popen (pid, wait)."""

    def __init__(self, zygote: "Zygote", pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.zygote.wait(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        return self.returncode


class Zygote:
    """A pre-imported template process that forks fresh workers (``_worker.zygote``).

    Starting a worker from scratch costs an interpreter, ``import torch`` and torch's lazy
    imports: seconds, for every student and problem. The zygote pays them once per batch;
    each worker is then a fork (tens of milliseconds) that isolates itself, as root, exactly
    as a worker started from scratch does. The zygote never runs student code, and when
    the grader runs as root no worker can signal or trace it (another uid). If it dies, the
    next worker starts a new one.
    """

    def __init__(self, device: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="grader-zygote-"))
        script = install_worker(self.dir)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._log = open(self.dir / "zygote.log", "w+b")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-u", str(script), "--zygote", "--ctl-fd", str(theirs.fileno())],
                cwd=self.dir, env=scrubbed_env(self.dir, 1, device), stdin=subprocess.DEVNULL,
                stdout=self._log, stderr=self._log, pass_fds=(theirs.fileno(),), start_new_session=True,
            )  # fmt: skip
        finally:
            theirs.close()
        self.sock = ours
        self.codes: dict[int, int] = {}
        self.dead = False
        self._replies: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._spawning = threading.Lock()
        ours.settimeout(START_TIMEOUT)
        try:
            hello = json.loads(ours.recv(1 << 16) or b"{}")
        except (OSError, ValueError):
            hello = {}
        if "ready" not in hello:
            self.close()
            self._log.seek(0)
            raise SandboxError(f"the zygote did not start: {self._log.read()[-2000:].decode('utf-8', 'replace')}")
        ours.settimeout(None)
        threading.Thread(target=self._listen, daemon=True, name="grader-zygote").start()

    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
                message = json.loads(data) if data else None
            except (OSError, ValueError):
                message = None
            with self._cond:
                if message is None:
                    self.dead = True
                    self._cond.notify_all()
                    return
                if "exit" in message:
                    self.codes[int(message["exit"])] = int(message["code"])
                else:
                    self._replies.append(message)
                self._cond.notify_all()

    def spawn(self, argv: list[str], env: dict[str, str], home: Path, cwd: Path, fds: list[int]) -> _ZygoteChild:
        with self._spawning:
            request = json.dumps({"argv": argv, "env": env, "home": str(home), "cwd": str(cwd)}).encode()
            try:
                socket.send_fds(self.sock, [request], fds)
            except OSError as exc:
                raise SandboxError(f"the zygote is gone: {exc}") from exc
            with self._cond:
                if not self._cond.wait_for(lambda: self._replies or self.dead, timeout=30):
                    raise SandboxError("the zygote did not answer within 30 s")
                if not self._replies:
                    raise SandboxError("the zygote is gone")
                reply = self._replies.pop(0)
        if "pid" not in reply:
            raise SandboxError(f"the zygote refused a worker: {reply.get('error')}")
        return _ZygoteChild(self, int(reply["pid"]))

    def wait(self, pid: int, timeout: float | None) -> int | None:
        with self._cond:
            self._cond.wait_for(lambda: pid in self.codes or self.dead, timeout)
            return self.codes.pop(pid, None)

    def close(self) -> None:
        # The zygote exits when it sees the socket closed. close() alone does not close it
        # while the listening thread sits in recv() on it (the kernel keeps the socket for
        # that call, so the zygote saw nothing and was killed after 5 s: at the end of every
        # batch); shutdown() ends the recv and tells the zygote at once.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already gone
            pass
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

