"""Workers in Docker containers: the same worker, the same protocol, a container around it.

Why one module of about 700 lines: it is one lifecycle (create, start, pause, reuse for a
submission's next worker, remove, reap what a killed grader left) around one Docker SDK
client; the channel and protocol it shares with local workers are not here.

Each submission's workers run in a container of the grading image (see docker/), one
after another: the container's PID 1 is the worker's *box* (``_worker.box``), which imports
torch once and forks one worker per problem, killing everything the last one left before
the next starts, and emptying the scratch folders. A worker that ends any other way than
being asked to (a crash, a timeout, a kill) takes its container with it; the next worker
of that submission gets a new one. No container ever serves two submissions.

Every container is started with everything shut: no network, a read-only root, a
size-capped tmpfs for scratch, memory equal to memory+swap (set to each worker's limit
before it starts), a pids limit, CPU quota, all capabilities dropped,
``no-new-privileges``, a random unprivileged uid, and only one folder mounted, read-only:
the worker's source. Never the Docker socket. The student's files and the problem's
driver come over the request channel.

Requests go to the container's stdin and replies come back on its stdout (the worker moves
the student's prints to stderr, which is kept up to a cap like a local worker's output).
Freezing is ``docker pause`` (the cgroup freezer: every process of the container stops).
Containers carry labels naming their owner, are removed when their submission is done,
when the batch ends or is interrupted, and, if a grader was killed outright, by the next
one that starts.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import os
import select
import shutil
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator, NoReturn

from .. import _worker
from .._exceptions import ConfigError, SandboxError
from .._course.models import WorkerReply
from .channel import START_TIMEOUT, WORKER_NAME, FramedWorker, install_worker
from .isolation import worker_policy, worker_uid
from .quiet import Quiet
from .runner import Limits, WorkerSpec, job_gpu
from .runner import visible_gpus as visible_gpus  # re-exported: it was defined here

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "dl-grader:local"
LABEL = "dl-grader.worker"
OWNER = "dl-grader.owner"
BATCH = "dl-grader.batch"  # the same for every job of a parallel batch: a timing check pauses the others' containers


def _owner() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition("/")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's grader: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped: a job of a batch killed outright) is gone too
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def parse_gpus(value: str | None) -> int | None:
    """``all`` -> -1 (every GPU), ``N`` -> N, ``none``/None -> None."""
    if value is None or value.lower() in ("none", "0", ""):
        return None
    if value.lower() == "all":
        return -1
    if value.isdigit():
        return int(value)
    raise ConfigError(f"--gpus takes all, a number of GPUs, or none; not {value!r}")


def host_has_gpu() -> bool:
    """An NVIDIA driver on this machine (what Docker's GPU device requests need)."""
    return os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi") is not None


class DockerRunner:
    """Workers as containers of ``image`` on the Docker engine the environment names."""

    isolation = "container"  # what contains the workers (see _sandbox.ISOLATIONS)

    def __init__(self, image: str = DEFAULT_IMAGE, gpus: int | None = None, client: Any = None,
                 gpu_ids: list[str] | None = None, prestart: bool = True, quiet: Quiet | None = None,
                 batch: str | None = None) -> None:
        try:
            import docker
            import docker.errors
        except ImportError as exc:  # pragma: no cover - docker is a dependency
            raise ConfigError("the Docker runner needs the docker package: pip install docker") from exc
        self._errors = docker.errors
        try:
            self.client = client or docker.from_env(timeout=120)  # type: ignore[attr-defined]
            self.client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure to reach the engine reads the same to a user
            raise ConfigError(
                f"cannot reach a Docker engine ({exc.__class__.__name__}: {exc}). Start dockerd (or Docker Desktop), "
                "check DOCKER_HOST, or grade with --runner local."
            ) from None
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            raise ConfigError(f"there is no Docker image {image!r} here. Build it with `make image` "
                              "(or `grader image build`), or name another with --image.") from None
        self.image = image
        self.gpus = gpus
        self.gpu_ids = gpu_ids  # this job's GPUs in a parallel batch; None: ``gpus`` of any
        self.owner = _owner()
        self.batch = batch or self.owner
        self.quiet = quiet or Quiet()
        self._own_quiet = quiet is None
        self.live: dict[str, _Container] = {}
        self.pending: set[str] = set()  # containers whose removal the engine refused so far
        self.spares: dict[tuple[Any, ...], _Container] = {}  # one started ahead per kind of worker
        self.idle: _Container | None = None  # its last worker closed cleanly; kept for its submission's next
        self.prestart = prestart
        self._filling: set[tuple[Any, ...]] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.home = Path(tempfile.mkdtemp(prefix="grader-containers-"))  # mounted read-only in each: the worker package
        install_worker(self.home)
        for path in [self.home, *self.home.rglob("*")]:  # readable by the containers' uids
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        self.sweep()

    @property
    def device(self) -> str:
        """Decided here, not by the caller: "cuda" with GPUs, else "cpu"."""
        return "cuda" if self.gpus is not None else "cpu"

    def gpu_count(self) -> int:
        """How many GPUs this runner's containers may use (0 on the CPU)."""
        if self.gpus is None:
            return 0
        return self.gpus if self.gpus > 0 else len(visible_gpus())

    def fresh(self, job: int, jobs: int) -> "DockerRunner":
        """A runner of the same kind for job ``job`` of a parallel batch (its own engine
        connection); with GPUs, its containers get the job's GPU (``job_gpu``), where one is visible."""
        gpu = job_gpu(job, jobs) if self.gpus is not None else None
        ids = [gpu] if gpu is not None else None
        return DockerRunner(self.image, gpus=self.gpus, gpu_ids=ids, prestart=self.prestart, quiet=self.quiet, batch=self.batch)

    def request(self) -> Any:
        """Held around every request to a worker (see ``Quiet``)."""
        return self.quiet.request()

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        """A timing check has the batch to itself: no other job has a call in flight, and the
        other jobs' running containers are paused (the cgroup freezer) meanwhile."""
        with self.quiet.alone():
            paused = []
            try:
                others = self.client.containers.list(filters={"label": f"{BATCH}={self.batch}", "status": "running"})
            except Exception:  # noqa: BLE001 - the engine said nothing: nothing to pause
                others = []
            for c in others:
                if c.id in self.live or c.labels.get(OWNER) == self.owner:
                    continue
                try:
                    c.pause()
                    paused.append(c)
                except Exception:  # noqa: BLE001 - gone meanwhile
                    pass
            try:
                yield
            finally:
                for c in paused:
                    try:
                        c.unpause()
                    except Exception:  # noqa: BLE001
                        pass

    def start(self, spec: WorkerSpec) -> DockerWorker:
        self.retry_removals()
        return DockerWorker(self, spec)

    def take(self, spec: WorkerSpec, device: str, reuse: bool = True) -> _Container:
        """A container for this worker: the one its submission's last worker left (when
        ``reuse``), else the spare when one is ready (and a new spare started behind it),
        else one started now. A container kept for another submission is removed."""
        key = _key(spec.limits, device)
        with self._lock:
            idle, self.idle = self.idle, None
        if idle is not None:
            if reuse and not idle.dead and idle.submission == spec.submission and idle.key == key:
                return idle
            idle.kill()
        with self._lock:
            box = self.spares.pop(key, None)
        if box is not None and box.dead:
            box = None
        if box is None:
            box = _Container(self, spec.limits, device)
        if self.prestart:
            self._refill(key, spec.limits, device)
        box.submission = spec.submission
        return box

    def park(self, box: _Container) -> None:
        """Keep ``box`` (its worker exited cleanly) for its submission's next worker."""
        if box.submission is None or self._closed:
            box.kill()
            return
        with self._lock:
            old, self.idle = self.idle, box
        if old is not None and old is not box:
            old.kill()

    def release(self, submission: str) -> None:
        """``submission`` is done: remove the container kept for it."""
        with self._lock:
            idle = self.idle if self.idle is not None and self.idle.submission == submission else None
            if idle is not None:
                self.idle = None
        if idle is not None:
            idle.kill()

    def _refill(self, key: tuple[Any, ...], limits: Limits, device: str) -> None:
        with self._lock:
            if self._closed or key in self.spares or key in self._filling:
                return
            self._filling.add(key)

        def make() -> None:
            try:
                box = _Container(self, limits, device)
            except SandboxError as exc:
                log.info("no spare container: %s", exc)
                return
            finally:
                with self._lock:
                    self._filling.discard(key)
            with self._lock:
                if not self._closed and key not in self.spares:
                    self.spares[key] = box
                    return
            box.kill()

        threading.Thread(target=make, daemon=True, name="grader-spare").start()

    def remove(self, container_id: str) -> bool:
        """Remove a container (killing it first); False when the engine could not yet
        (a container full of processes can take a while to die): it is retried later."""
        try:
            self.client.api.remove_container(container_id, force=True)
        except self._errors.NotFound:
            pass
        except Exception as exc:  # noqa: BLE001
            log.info("container %s not removed yet (%s); will retry", container_id[:12], exc)
            with self._lock:
                self.pending.add(container_id)
            return False
        with self._lock:
            self.pending.discard(container_id)
        return True

    def retry_removals(self) -> None:
        with self._lock:
            pending = list(self.pending)
        for cid in pending:
            self.remove(cid)

    def adopt(self, box: _Container) -> None:
        with self._lock:
            self.live[box.id] = box

    def forget(self, box: _Container) -> None:
        with self._lock:
            self.live.pop(box.id, None)

    def close(self) -> None:
        """Remove every container this runner started that is still there, spares too."""
        with self._lock:
            self._closed = True
            self.spares.clear()
            self.idle = None
        deadline = time.monotonic() + 120
        while self._filling and time.monotonic() < deadline:  # a spare being started: let it land, then go
            time.sleep(0.1)
        with self._lock:
            boxes = list(self.live.values())
        for box in boxes:
            box.kill()
        deadline = time.monotonic() + 120
        while self.pending and time.monotonic() < deadline:
            time.sleep(1)
            self.retry_removals()
        self.sweep(mine=True)
        self.sweep()  # and what a grader killed outright meanwhile left (its last requests may land late)
        for cid in self.pending:
            log.warning("container %s could not be removed; remove it with: docker rm -f %s", cid[:12], cid[:12])
        shutil.rmtree(self.home, ignore_errors=True)
        if self._own_quiet:
            self.quiet.close()

    def sweep(self, mine: bool = False) -> int:
        """Remove containers left by graders that are gone (killed outright), or all of ours."""
        removed = 0
        for c in self.client.containers.list(all=True, filters={"label": LABEL}):
            owner = c.labels.get(OWNER, "")
            if (mine and owner == self.owner) or (not mine and owner != self.owner and not _alive(owner)):
                try:
                    c.remove(force=True)
                    removed += 1
                except self._errors.NotFound:
                    pass
        if removed and not mine:
            log.warning("removed %d container(s) left behind by a grader that was stopped", removed)
        return removed


class _Demux(threading.Thread):
    """Splits the attached stream: stdout (the worker's replies) into the current worker's
    reply pipe, read with a deadline like a local worker's; stderr (the student's prints)
    kept up to a cap, per worker. ``channel()`` gives the next worker a pipe of its own."""

    def __init__(self, sock: socket.socket, keep: int) -> None:
        super().__init__(daemon=True)
        self.sock, self.keep = sock, keep
        self.rep_w: int | None = None
        self.kept = bytearray()
        self.total = 0
        self.ended = False
        self._lock = threading.Lock()

    def channel(self) -> int:
        """A new reply pipe (its read end) for the next worker: the last one's is closed, and
        its output forgotten. Called only while the box waits for a stage (nothing in flight)."""
        rep_r, rep_w = os.pipe()
        with self._lock:
            old, self.rep_w = self.rep_w, rep_w
            self.kept, self.total = bytearray(), 0
            if self.ended:  # the container is gone already: the reader sees the end at once
                os.close(rep_w)
                self.rep_w = None
        if old is not None:
            os.close(old)
        return rep_r

    def _exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def run(self) -> None:
        try:
            while True:
                head = self._exact(8)
                kind, size = head[0], struct.unpack(">I", head[4:])[0]
                data = self._exact(size)
                if kind == 1:
                    with self._lock:  # (channel() cannot close the pipe under a write)
                        if self.rep_w is not None:
                            try:
                                _worker.write_all(self.rep_w, data)
                            except OSError:  # that worker's reader is gone
                                pass
                else:
                    self.total += len(data)
                    room = self.keep - len(self.kept)
                    if room > 0:
                        self.kept += data[:room]
        except (EOFError, OSError):
            pass
        finally:
            with self._lock:
                self.ended = True
                fd, self.rep_w = self.rep_w, None
            if fd is not None:
                os.close(fd)  # the reader sees the end of the worker

    def text(self) -> str:
        s = self.kept.decode("utf-8", "replace")
        if self.total > len(self.kept):
            s += f"\n[... {self.total - len(self.kept)} more bytes of output dropped]"
        return s


def _key(limits: Limits, device: str) -> tuple[Any, ...]:
    """What a container is created with: workers of equal keys can use each other's spares
    (the memory limit is not part of it: it is set for each worker)."""
    return (dataclasses.replace(limits, memory_mb=0), device)


def _memory(limits: Limits) -> str:
    return f"{limits.memory_mb + limits.disk_mb + limits.shm_mb}m"  # the tmpfs pages are charged to the container too


def _cgroup_cpu_file(box: "_Container") -> tuple[Path, float] | None:
    """Where this host's kernel counts the container's CPU time, and the unit in seconds."""
    try:
        box.container.reload()
        pid = int(box.container.attrs["State"]["Pid"])
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except Exception:  # noqa: BLE001 - not running, or no such host view: wall time only
        return None
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        want = "cpuacct" in controllers.split(",") if controllers else rel != "/"
        if not want:
            continue
        for m in mounts:
            left, _, right = m.partition(" - ")
            fs = right.split(" ")
            if controllers and not (fs[0] == "cgroup" and "cpuacct" in fs[-1].split(",")):
                continue
            if not controllers and fs[0] != "cgroup2":
                continue
            root, point = left.split()[3], left.split()[4]
            if not rel.startswith(root):
                continue
            folder = Path(point) / os.path.relpath(rel, root)
            name, scale = ("cpuacct.usage", 1e-9) if controllers else ("cpu.stat", 1e-6)
            if (folder / name).exists():
                return folder / name, scale
    return None


class _Container:
    """A started container whose box has imported torch and waits for a worker's files
    (they come on its request channel): started ahead of need (a spare), it hides the
    container's start and torch's import from the batch; kept after a worker that closed
    cleanly, it serves the same submission's next worker without either."""

    def __init__(self, runner: DockerRunner, limits: Limits, device: str) -> None:
        import docker.types

        self.runner, self.device = runner, device
        self.key = _key(limits, device)
        self.memory = _memory(limits)
        self.submission: str | None = None
        self.served = False  # a worker ran in it already
        self.dead = False
        lim = limits
        self.uid = worker_uid() or (1 << 20) + (os.getpid() % (1 << 20))
        cmd = [
            "python", "-I", "-u", f"/grader/{WORKER_NAME}/__main__.py", "--box", "--sub", "/tmp/sub", "--driver", "/tmp/driver.py",
            "--scratch", "/tmp", "--scratch", "/dev/shm",
            "--threads", str(lim.threads), "--file-mb", str(lim.file_mb),
            "--cpu-seconds", str(lim.cpu_seconds), "--device", device,
            "--policy", worker_policy("none", lim).to_json(),  # the container is the sandbox
        ]  # fmt: skip
        env = {
            "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": str(lim.threads), "MKL_NUM_THREADS": str(lim.threads), "TORCH_HOME": "/tmp/torch",
        }  # fmt: skip
        requests = []
        if runner.gpus is not None:
            requests = [docker.types.DeviceRequest(device_ids=runner.gpu_ids, capabilities=[["gpu"]]) if runner.gpu_ids
                        else docker.types.DeviceRequest(count=runner.gpus, capabilities=[["gpu"]])]
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""
        try:
            self.container = runner.client.containers.create(
                runner.image,
                command=cmd,
                stdin_open=True,
                tty=False,
                user=f"{self.uid}:{self.uid}",
                environment=env,
                working_dir="/tmp",
                network_mode="none",
                read_only=True,
                tmpfs={"/tmp": f"rw,nosuid,nodev,size={lim.disk_mb}m,mode=1777"},
                shm_size=f"{lim.shm_mb}m",
                mem_limit=self.memory,
                memswap_limit=self.memory,
                pids_limit=lim.nproc,  # part of the container's key: a spare of other limits is never taken
                nano_cpus=int(lim.threads * 1e9),
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)],
                volumes={str(runner.home): {"bind": "/grader", "mode": "ro"}},  # the worker package, nothing else
                device_requests=requests,
                labels={LABEL: "spare", OWNER: runner.owner, BATCH: runner.batch},
            )
        except Exception as exc:  # noqa: BLE001
            raise SandboxError(f"cannot create a container: {exc}") from exc
        self.id = self.container.id
        runner.adopt(self)  # from now on, an interrupted batch removes it
        try:
            attached = runner.client.api.attach_socket(self.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self.sock: socket.socket = getattr(attached, "_sock", attached)
            self.demux = _Demux(self.sock, lim.output_bytes)
            self.demux.start()
            self.container.start()
        except BaseException as exc:
            self.kill()
            if not isinstance(exc, Exception):
                raise
            hint = (" (GPUs were asked for: is the NVIDIA Container Toolkit installed?)"
                    if runner.gpus is not None and "device driver" in str(exc) else "")
            raise SandboxError(f"cannot start a container: {exc}{hint}") from exc

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by everything in the container (its cgroup on this host: v1
        ``cpuacct.usage``, or v2 ``cpu.stat``), for limits counted in CPU time; None: unknown."""
        if not hasattr(self, "_cpu_file"):
            self._cpu_file = _cgroup_cpu_file(self)
        path, scale = self._cpu_file or (None, 0.0)
        if path is None:
            return None
        try:
            text = path.read_text()
            if path.name == "cpu.stat":
                return next(int(line.split()[1]) for line in text.splitlines() if line.startswith("usage_usec ")) * scale
            return int(text.strip()) * scale
        except (OSError, ValueError, StopIteration):
            return None

    def fit(self, limits: Limits) -> None:
        """Set the container's memory to what the next worker may use (only between workers)."""
        memory = _memory(limits)
        if memory != self.memory:
            try:
                self.container.update(mem_limit=memory, memswap_limit=memory)
            except Exception as exc:  # noqa: BLE001
                raise SandboxError(f"cannot set the container's memory to {memory}: {exc}") from exc
            self.memory = memory

    def kill(self) -> None:
        if self.dead:
            return
        self.dead = True
        self.runner.remove(self.id)
        try:
            self.sock.close()
        except (OSError, AttributeError):
            pass
        if hasattr(self, "demux"):
            self.demux.join(timeout=2)
        self.runner.forget(self)


class DockerWorker(FramedWorker):
    """A worker in its submission's container: the one its submission's last worker left,
    else a spare of the runner's, else one started now; either way it gets this
    submission's files and nothing else, and the box has emptied the scratch folders and
    killed whatever the last worker left."""

    def __init__(self, runner: DockerRunner, spec: WorkerSpec) -> None:
        self.runner, self.spec, self.label = runner, spec, spec.label
        self._dead = False
        self._rep_r = -1
        device = spec.device if runner.gpus is not None else "cpu"
        files = {}
        for name, src in spec.files.items():
            files[name] = base64.b64encode(Path(src).read_bytes()).decode()  # bytes only: no links, modes, owners
        stage = {"op": "stage", "module": spec.module, "files": files, "memory_mb": spec.limits.memory_mb,
                 "driver": base64.b64encode(spec.driver.read_bytes()).decode()}
        box = runner.take(spec, device)
        reused = box.served
        try:
            self._begin(box, stage)
        except SandboxError:
            if not reused:
                raise
            log.info("a kept container did not take %s; a fresh one will", spec.label)
            self._dead = False  # a kept container that did not take the worker: a fresh one, once
            self._begin(runner.take(spec, device, reuse=False), stage)

    def _begin(self, box: _Container, stage: dict[str, Any]) -> None:
        self.box, self.container, self.id = box, box.container, box.id
        self._sock, self._demux = box.sock, box.demux
        try:
            box.fit(self.spec.limits)
            self._rep_r = box.demux.channel()
            self._send(_worker.frame(stage), time.monotonic() + START_TIMEOUT)
            self._started()
        except (OSError, TimeoutError) as exc:
            self.kill()
            raise SandboxError(f"the container for {self.label} failed to start: {exc or 'it took no stage'}") from exc
        except BaseException:  # Ctrl-C while the container starts, too
            self.kill()
            raise
        box.served = True

    # -------------------------------------------------------------- talking --

    def _send(self, data: bytes, deadline: float) -> None:
        # Not sendall(): a box that stops reading would block it for ever. The socket stays
        # blocking for the demultiplexer's reads; each send here is non-blocking.
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            _, ready, _ = select.select([], [self._sock], [], left)
            if not ready:
                raise TimeoutError
            try:
                n = self._sock.send(view[: 1 << 16], socket.MSG_DONTWAIT)
            except BlockingIOError:
                n = 0
            view = view[n:]

    def _died(self) -> NoReturn:
        """The container ended: say how, in the student's terms."""
        state: dict[str, Any] = {}
        try:
            self.container.wait(timeout=10)
            self.container.reload()
            state = self.container.attrs.get("State", {})
        except Exception:  # noqa: BLE001 - already gone: say what we can
            pass
        self.kill()
        code = state.get("ExitCode")
        if state.get("OOMKilled"):
            self._crashed((9, code or 137), f"was killed: it used more memory than allowed ({self.spec.limits.memory_mb} MiB)")
        self._crashed(None if code is None else (code - 128 if code > 128 else 0, code))

    # ------------------------------------------------------------ lifecycle --

    def cpu_seconds(self) -> float | None:
        return self.box.cpu_seconds()

    def freeze(self) -> None:
        try:
            self.container.pause()
        except Exception:  # noqa: BLE001 - not running any more: nothing to freeze
            pass

    def thaw(self) -> str | None:
        try:
            self.container.unpause()
        except Exception:  # noqa: BLE001
            pass
        return None  # the container's cgroup froze it whole

    def output(self) -> str:
        return self._demux.text()

    def _close_channel(self) -> None:
        if self._rep_r >= 0:
            try:
                os.close(self._rep_r)
            except OSError:
                pass
            self._rep_r = -1

    def kill(self) -> None:
        if self._dead:
            return
        self._dead = True
        self.box.kill()
        self._close_channel()

    def close(self) -> None:
        """Ask the worker to exit; when the box then says it ended cleanly, the container is
        kept for this submission's next worker, else it is removed."""
        if self._dead:
            return
        try:
            self._send(_worker.frame({"op": "exit"}), time.monotonic() + 5)
            reply, data = self._read(5, ending=True)
            clean = reply == WorkerReply(ended=0) and not data  # the box's word, and nothing else
        except Exception:  # noqa: BLE001 - anything else than a clean end: the container goes
            clean = False
        self._dead = True
        self._close_channel()
        if clean:
            self.runner.park(self.box)
        else:
            self.box.kill()
