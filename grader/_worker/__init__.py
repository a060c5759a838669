"""The untrusted side: a worker process that imports one student file and runs calls on it.

This package is copied into the worker's private folder (as ``_grader_worker/``) and run
with ``python -I _grader_worker/__main__.py`` (isolated: no PYTHON* variables, no user
site, no script folder on sys.path). It depends on the standard library, torch and
safetensors only, and must stay that way: it is not run as part of the ``grader``
package. The trusted side imports it as ``grader._worker`` for the framing and the value
encoding they share, and knows it through one interface only (``grader._sandbox.runner``'s
runners). Its modules, each readable on its own:

- ``framing``: frames on the channels; ``values``: what crosses them (``plain``,
  ``encode``, ``decode``); ``kept``: a call's inputs held from before it (``keep``), to
  report what the call did to them; ``faults``: whose fault a failure is;
- ``driver_api``: what a problem's driver gets (``grader.driver`` in the worker, the
  autograd watch);
- ``isolation`` (with ``kernel``'s constants and the ``seccomp`` filter): how a worker
  leaves the grader's namespaces, as root or rootless, before any student code runs, by
  the ``Policy`` the trusted side sends;
- ``serve``: a worker's life and its request loop; ``processes``: forking, reaping,
  signalling every process of a uid or a PID namespace;
- ``zygote``: the template process workers are forked from; ``box``: a container's PID 1.

Protocol: the trusted side writes request frames on one pipe and reads reply frames on
another (their fd numbers come on the command line; stdout and stderr are for the
student's prints only). A frame is two length-prefixed blocks: a JSON header and a
safetensors payload (possibly empty). Nothing in a frame can execute code when read.

The worker never decides a grade. It reports what the student's code returned; the
trusted side compares that with its own computation.

Whose fault a reply is (issue 15, item 11): a driver is responsible for turning what the
student's code gave into plain values. It reads each of them with ``plain`` (or checks
its type) and raises WrongAnswer, the student's, for what it cannot use; ``plain``
refuses everything the encoder could not carry. So what a driver function returns that
cannot be encoded is the driver's bug (DriverBug: "the grader itself failed", naming the
driver and the function), never the student's; as is a missing function, a call that does
not fit its signature, or a ``prepare`` that returns no callable. A timed callable's
answers (``run``) are the student's answers as they are: the worker reads them as the
student's.
"""

from __future__ import annotations

import sys

from .driver_api import AutogradWatch, load_driver
from .faults import DriverBug, WrongAnswer
from .kept import Kept, keep
from .framing import LENGTH, frame, read_frame, write_all, write_frame
from .isolation import Policy
from .processes import signal_namespace, signal_uid
from .values import decode, encode, plain, tensor_list
from .serve import in_this_process, witness_to

__all__ = ["AutogradWatch", "DriverBug", "Kept", "WrongAnswer", "LENGTH", "decode", "encode", "entry", "frame", "in_this_process", "keep",
           "load_driver", "plain", "Policy", "read_frame", "signal_namespace", "signal_uid", "tensor_list", "witness_to", "write_all", "write_frame"]


def entry(argv: list[str] | None = None) -> int:
    """The command line: ``--zygote --ctl-fd N`` (a zygote), ``--box ...`` (a container's PID 1),
    ``--probe`` (can this user isolate a worker rootless?), else a worker's own arguments."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--zygote"]:
        from .zygote import zygote

        return zygote(int(args[2]))
    if args[:1] == ["--box"]:
        from .box import box

        return box(args[1:])
    if args[:1] == ["--probe"]:
        from .isolation import probe

        return probe()
    from .serve import main

    return main(args)
