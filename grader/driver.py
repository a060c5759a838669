"""What a worker-side driver (``rubrics/<assignment>/drivers/<problem>.py``) imports::

    from grader.driver import WrongAnswer, plain

A driver runs next to the student's code, in the worker, for what cannot be done with plain
values (``submission.function`` needs no driver): building the student's ``nn.Module``,
copying weights into it, preparing a callable to time. Each of its functions takes the
student's module first, then the keyword arguments a check gives ``submission.call``, and
``device``; it returns a dict of plain values (tensors, numbers, strings, None, and lists,
tuples and dicts of them), read from what the student's code gave with ``plain``.

- ``WrongAnswer(message)``: raise it when the student's code gave something the driver
  cannot use; the message is the student's (said in their feedback, and the test fails).
- ``plain(value, what)``: one read of a value the student's code returned, as plain data;
  raises ``WrongAnswer`` naming ``what`` for anything else (a tensor subclass, an object
  posing as a list, a tensor without storage of its own...).
- ``tensor_list(value, what, n)``: ``value`` as a list of ``n`` plain tensors, or
  ``WrongAnswer`` saying what it is instead.
- ``keep(name=value, ...)``: before a call, the driver's own hold on its inputs (tensors,
  lists, tuples and dicts of them, ``nn.Module``); after it, ``kept.after()`` is what the
  call did to them, read from those references and never from anything the student's code
  was given, for the trusted side to judge (``grader.checks.input_changes``), and
  ``kept.returned(value, what)`` reads what the call returned and says which of its tensors
  are inputs or share their memory. Every check of "the inputs are left unchanged" or "new
  tensors" uses it: a check that reads the inputs back from the list it handed over is
  fooled by a function that changes the tensors in place and puts copies in the list.
- ``AutogradWatch()``: ``watch.run(fn)`` runs ``fn`` and reports every use of autograd it
  made (for "computed by hand" checks; see ``grader.checks.without``).

Anything else the driver returns that cannot be sent is the driver's bug, reported as the
grader's own failure, never the student's. In the worker this module is the worker's own
copy of these five names, registered before the driver or the student's file is imported;
on the trusted side (a check that loads its driver for shared code) it is this module.
"""

from ._worker import AutogradWatch, WrongAnswer, keep, plain, tensor_list

__all__ = ["AutogradWatch", "WrongAnswer", "keep", "plain", "tensor_list"]
