"""A worker's life: isolate, import torch, bind the request loop's tools, set the limits,
say it is ready, then serve the trusted side's requests (load, call, prepare, run)."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from types import ModuleType
from typing import Any, Callable

from .driver_api import driver_call_check, register_driver_api, WITNESS, load_driver
from .kept import keep
from .kept import pin as pin_kept
from .faults import DriverBug, WrongAnswer, fault_report, import_in_folder, raised_by_student
from .framing import bound_framing, write_frame
from .isolation import Policy, filter_only, isolate, user_namespace
from .values import decode, encode, pin, plain


def _limit(kind: int, soft: int, slack: int = 0) -> None:
    """Lower a limit to ``soft``; the hard limit sits ``slack`` above it (for RLIMIT_CPU, the
    kernel sends SIGXCPU at the soft limit, which tells the student why, before SIGKILL)."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, min(soft + slack, hard) if hard != resource.RLIM_INFINITY else soft + slack))


def main(argv: list[str] | None = None) -> int:
    """A worker: isolate (as the trusted side says), import torch, bind the request loop's
    tools, set the limits, say it is ready, serve requests until told to exit."""
    ap = argparse.ArgumentParser(prog="worker")
    ap.add_argument("--req-fd", type=int, required=True)
    ap.add_argument("--rep-fd", type=int, required=True)
    ap.add_argument("--sub", required=True, help="the folder holding the student's files (cwd)")
    ap.add_argument("--driver", required=True)
    ap.add_argument("--module", required=True)
    # Every limit comes from the trusted side (its ``Limits``): no default of its own here.
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--memory-mb", type=int, required=True)
    ap.add_argument("--file-mb", type=int, required=True)
    ap.add_argument("--cpu-seconds", type=int, required=True)
    ap.add_argument("--device", required=True)
    ap.add_argument("--policy", required=True, help="the isolation policy, as JSON (isolation.Policy.to_json)")
    ap.add_argument("--cgroup", action="append", default=[], help="a cgroup folder to join first (repeatable)")
    args = ap.parse_args(argv)
    try:  # refused before anything else is done: no student code has run
        policy = Policy.from_json(args.policy)
    except ValueError as exc:
        ap.error(str(exc))
    req, rep = args.req_fd, args.rep_fd
    sub_dir = os.path.abspath(args.sub)
    not_isolated: list[str] = []
    for folder in args.cgroup:  # first of all: everything this process starts from here on is in them
        try:
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write("0")
        except OSError as exc:
            not_isolated.append(f"cgroup of its own ({exc.strerror}): killed by signals, frozen by signals until "
                                "every process is seen stopped, memory by RLIMIT_DATA")
    if policy.mode != "none":
        home = os.path.dirname(sub_dir)
        keep = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
                *(p for p in sys.path if os.path.isabs(p)), *os.environ.get("LD_LIBRARY_PATH", "").split(":")]
        refused = user_namespace() if policy.mode == "rootless" else None
        if refused:  # the grader probed this before choosing rootless: a refusal now is the machine's change
            raise SystemExit(f"cannot isolate the worker: {refused}")
        not_isolated += isolate(policy, home, keep)
        os.chdir(sub_dir)  # the folder was re-created: leave the covered one
    else:  # no namespaces (a container's own worker, or --unsandboxed): the filter at least
        not_isolated += filter_only(policy)

    import torch  # the harness's cost, paid before the student's code runs (a fork of a zygote has it)

    torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        # Equivalence checks compare against float32 computed without TF32.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    import safetensors.torch  # noqa: F401  (imported before any student code can shadow it)

    pin()
    pin_kept()
    register_driver_api()
    # Limits apply from here on: the student's code runs only after this line.
    _limit(resource.RLIMIT_DATA, args.memory_mb << 20)
    _limit(resource.RLIMIT_FSIZE, args.file_mb << 20)
    spent = resource.getrusage(resource.RUSAGE_SELF)  # RLIMIT_CPU counts from the start: importing torch is not theirs
    _limit(resource.RLIMIT_CPU, int(spent.ru_utime + spent.ru_stime) + 1 + args.cpu_seconds, slack=2)
    _limit(resource.RLIMIT_CORE, 0)
    if policy.nproc is not None:
        # As root: every process and thread of the worker's own uid. Rootless: of the user's
        # uid in the worker's own user namespace (the kernel counts each user namespace
        # apart, and also charges the user's own count): a fork bomb stops here.
        _limit(resource.RLIMIT_NPROC, policy.nproc)
    sys.path.insert(0, sub_dir)
    sys.argv = [args.module + ".py"]

    serve = _request_loop(req, rep, args, sub_dir, torch)  # everything it uses is bound now
    write_frame(rep, {"ok": True, "info": {"torch": torch.__version__, "device": args.device, "not_isolated": not_isolated}})
    return serve()


def in_this_process(req: int, rep: int, sub_dir: str, module: str, driver: str, device: str, threads: int) -> Callable[[], int]:
    """The request loop of a worker that runs inside the calling process (the in-process runner
    of tests and of a course's checks run on its own code): what ``main`` does once isolated
    and limited, without either. Says it is ready on ``rep``; returns the loop to run (in a
    thread of its own). No student code may run this way: nothing here contains it."""
    import torch

    pin()
    pin_kept()
    args = argparse.Namespace(device=device, threads=threads, module=module, driver=driver)
    serve = _request_loop(req, rep, args, sub_dir, torch)
    write_frame(rep, {"ok": True, "info": {"torch": torch.__version__, "device": device, "not_isolated": []}})
    return serve


def witness_to(rep: int) -> None:
    """Send what an autograd watch sees to the reply channel ``rep`` (one per process: the
    in-process runner points it at the worker whose request runs)."""
    WITNESS.bind(lambda what: write_frame(rep, {"witness": str(what)}))


def _request_loop(req: int, rep: int, args: Any, sub_dir: str, torch: Any) -> Callable[[], int]:
    """The worker's request loop, with every function it uses (framing, encoding, the
    driver's loading, the fault reports) bound as locals now, before the student's module
    is imported: a module that replaces ``read_frame``, ``write_frame``, ``encode`` or
    ``os.write`` in this script's globals changes nothing here. (Code that runs in this
    process can still change anything in it, its memory included; what the trusted side
    relies on is only what it checks itself: it times each call from outside, and compares
    every output, timed ones included, with its own.)"""
    read, write, framed, send = bound_framing()
    encode_, decode_, plain_, keep_ = encode, decode, plain, keep
    fault_, load_driver_, import_student, theirs_ = fault_report, load_driver, import_in_folder, raised_by_student
    to_device = _on_device(args.device, torch)
    driver_bug, wrong_answer, check_driver_call = DriverBug, WrongAnswer, driver_call_check
    clock, is_a, call_, exc_types = time.perf_counter, isinstance, callable, (SystemExit,)
    cuda = args.device.startswith("cuda")
    set_threads = torch.set_num_threads
    sync = torch.cuda.synchronize if cuda else None
    witness = WITNESS
    witness.bind(lambda what: write(rep, {"witness": str(what)}))

    def driver_reply(fn: str, reply: dict[str, Any], elapsed: float) -> bytes:
        """The reply frame of a driver's ``fn``. The rule: a driver hands back only what can
        be sent (it reads what the student's code gave with ``plain``, or checks its type,
        and raises WrongAnswer for what it cannot use), so what cannot be read or encoded
        here is the driver's bug, reported as the grader's (DriverBug), never the student's:
        unless the student's own code ran and raised while it was read (an object posing as
        a numpy scalar), or the memory ran out (the student's limit)."""
        try:
            values, data = encode_(plain_(reply, "its reply", False, 4), copied=True)
            return framed({"ok": True, "values": values, "info": {"elapsed": elapsed}}, data)
        except MemoryError:
            raise
        except Exception as exc:
            if theirs_(exc, sub_dir):
                raise
            why = str(exc) if is_a(exc, wrong_answer) else f"{type(exc).__name__}: {exc}"
            raise driver_bug(f"the driver's {fn}() returned something the grader cannot send back: {why}"[:10_000]) from None

    def serve() -> int:
        driver: ModuleType | None = None
        student: ModuleType | None = None
        prepared: dict[str, Callable[..., Any]] = {}
        renamed: dict[str, str] = {}  # the file's own attribute names, renamed at load: new -> the student's
        while True:
            try:
                request, payload = read(req)
            except EOFError:
                return 0
            op = request.get("op")
            witness.reset()
            started = clock()
            try:
                if op == "load":
                    driver = load_driver_(args.driver)
                    names = request.get("rename") or {}
                    if not is_a(names, dict) or not all(is_a(k, str) and is_a(v, str) and v.isidentifier()
                                                        for k, v in names.items()):
                        raise driver_bug(f"the load request's rename is not a map of names: {names!r}"[:300])
                    renamed = {v: k for k, v in names.items()}
                    student = import_student(sub_dir, args.module, names, request.get("notebook") is True)
                    reply: dict[str, Any] = {}
                    made = getattr(student, "__grader_failures__", None)  # a notebook's loader: what raised
                    if type(made) is list:
                        reply["failures"] = [[int(x[0]), str(x[1])[:300]] for x in made[:50]
                                             if type(x) is list and len(x) == 2 and type(x[0]) is int]
                elif op in ("call", "prepare"):
                    fn = getattr(driver, str(request["fn"]), None)
                    kwargs = decode_(request.get("values", {}), payload)
                    kwargs.update(device=args.device)
                    check_driver_call(driver, request["fn"], fn, student, kwargs)
                    result = fn(student, **kwargs)  # type: ignore[misc]  # (check_driver_call refused a None)
                    if op == "prepare":
                        if not call_(result):
                            raise driver_bug(f"the driver's {request['fn']}() should return a callable to time, "
                                            f"and returned a {type(result).__name__}")
                        prepared[request["fn"]] = result
                        reply = {}
                    else:
                        reply = result if is_a(result, dict) else {"value": result}
                        # The driver's reply: what it returns is its own (it reads what the
                        # student's code gave with ``plain`` or checks it, and refuses what it
                        # cannot use with WrongAnswer), so a reply that cannot be sent is a bug
                        # of the driver (see ``driver_reply``).
                        send(rep, driver_reply(str(request["fn"]), reply, clock() - started))
                        continue
                elif op == "function":  # the generic path: the student's own function, no driver
                    name = str(request["name"])
                    values = decode_(request.get("values", {}), payload)
                    fn = getattr(student, name, None) if name.isidentifier() and not name.startswith("_") else None
                    if not call_(fn):
                        raise wrong_answer(f"{args.module}.py defines no function {name}(), which the homework asks for")
                    given, named = to_device(values.get("args", [])), to_device(values.get("kwargs", {}))
                    # the arguments held from before the call: what it did to them is read from these
                    kept = keep_(args=given, kwargs=named) if request.get("inputs") else None
                    out = fn(*given, **named)
                    if kept is None:
                        reply = {"value": plain_(out, f"what {name}() returned")}
                    else:  # the value, which of its tensors are (or share memory with) arguments, and those
                        value, _, shared = kept.returned(out, f"what {name}() returned")
                        reply = {"value": value, "shared": shared, "inputs": kept.after()}
                    # Read once, above, with the function's name in any refusal: sent as it is.
                    values, data = encode_(reply, copied=True)
                    write(rep, {"ok": True, "values": values, "info": {"elapsed": clock() - started}}, data)
                    continue
                elif op == "run":
                    # A timed call: every input gets its own call, and every output goes back,
                    # to be compared on the trusted side (speed counts only for right answers).
                    run = prepared[request["fn"]]
                    xs = decode_(request.get("values", {}), payload).get("xs", [])
                    threads = request.get("threads")
                    if threads:  # a timing check's own thread count, the same for both sides
                        set_threads(int(threads))
                    try:
                        outs = [run(x.to(args.device)) for x in xs]
                        if sync is not None:
                            sync()
                    finally:
                        if threads:
                            set_threads(args.threads)
                    reply = {"outs": outs}
                elif op == "exit":
                    return 0
                else:
                    raise ValueError(f"unknown op {op!r}")
                elapsed = clock() - started
                values, data = encode_(plain_(reply, "what your code returned"), copied=True)
                write(rep, {"ok": True, "values": values, "info": {"elapsed": elapsed}}, data)
            except driver_bug as exc:  # the grader's own mistake: never the student's
                if theirs_(exc, sub_dir):  # ... unless the student's code raised it (it can reach the class)
                    write(rep, {"ok": False, "fault": fault_(exc, sub_dir)})
                else:
                    write(rep, {"ok": False, "fault": {"kind": "driver", "type": "DriverBug", "message": str(exc)[:10_000]}})
            except BaseException as exc:  # noqa: BLE001 - everything the student's code raises becomes data
                if is_a(exc, exc_types):
                    # sys.exit() / exit() in the student's code: reported, and the worker lives on.
                    exc = RuntimeError(f"your code called exit({getattr(exc, 'code', None)!r}); the grader does not allow it").with_traceback(exc.__traceback__)
                fault = fault_(exc, sub_dir)
                if renamed:
                    fault = _in_their_words(fault, renamed)
                if op == "load":  # whatever failed while importing (even compile()'s ValueError for NUL bytes)
                    fault["kind"] = "import"
                write(rep, {"ok": False, "fault": fault})

    return serve


def _in_their_words(fault: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    """A fault's text with the names the grader renamed (``source.rename``) given back as the
    student wrote them, and why such a name reaches only their own objects."""
    said = False
    for key in ("message", "traceback", "frames"):
        text = fault.get(key)
        if not isinstance(text, str):
            continue
        for new, old in renamed.items():
            if new in text:
                text, said = text.replace(new, old), True
        fault[key] = text
    if said and isinstance(fault.get("message"), str):
        names = ", ".join(sorted(renamed.values()))
        fault["message"] += (f" (your file defines its own {names}: in this problem that name reaches only your own "
                             "objects, never torch's)")
    return fault


def _on_device(device: str, torch: Any) -> Callable[[Any], Any]:
    """Move the tensors in a request's arguments (lists, tuples and dicts of them) to ``device``
    (bound before the student's module is imported, like the rest of the loop)."""
    is_a, tensor, items = isinstance, torch.Tensor, dict.items

    def move(v: Any) -> Any:
        if is_a(v, tensor):
            return v.to(device)
        if is_a(v, list):
            return [move(x) for x in v]
        if is_a(v, tuple):
            return tuple(move(x) for x in v)
        if is_a(v, dict):
            return {k: move(x) for k, x in items(v)}
        return v

    return move
