"""What a call did to its inputs, read from the driver's own references (a driver's tool).

``keep(name=value, ...)``, before the call, holds for each input tensor the Python object the
student's code is given and an alias of its memory (a tensor of its own viewing the same
storage, the same way), and, for each list, dict and ``nn.Module`` that holds them, what it
held then. ``Kept.after()``, after the call, reads them back from those references, never
through anything the student's code was given, so no way of making an input look untouched
works: putting copies back in a list reports the list's items replaced; ``t.data = copy``,
``t.set_(...)`` or ``t.resize_(...)`` after an in-place change leaves the change in the
memory the alias still views, and the caller's tensor reported as given other memory;
changing a view's base changes that memory too. ``Kept.returned(value, what)`` reads what the
call returned (``plain``'s one read) and says which of its tensors are an input, or share an
input's memory (its memory before the call or now).

The worker never judges: ``after()`` is plain data, compared on the trusted side with the
inputs it sent (``grader.checks.input_changes``). Everything used here is bound by ``pin``,
before the student's module is imported.
"""

from __future__ import annotations

from typing import Any

from .faults import WrongAnswer
from .values import plain, read

_B: dict[str, Any] = {}
_LEAVES = (bool, int, float, str, type(None))


def pin() -> None:
    """Bind what ``keep`` and ``Kept`` use (called by the worker beside ``values.pin``, before student code runs)."""
    import torch

    T = torch.Tensor
    base = torch._C.TensorBase.__dict__
    getter = object.__getattribute__
    _B.update(
        Tensor=T, Module=torch.nn.Module, detach=T.detach, as_subclass=T.as_subclass,
        storage=T.untyped_storage, data_ptr=torch.UntypedStorage.data_ptr, offset=T.storage_offset,
        size=T.size, stride=T.stride, dtype=base["dtype"].__get__, device=base["device"].__get__,
        no_tf=torch._C.DisableTorchFunctionSubclass, getter=getter, is_a=isinstance, kind=type,
        list_iter=list.__iter__, tuple_iter=tuple.__iter__, dict_items=dict.items, exact_list=list, ident=id,
        exact_tuple=tuple, exact_dict=dict, number=enumerate, size_of=len, pairs=zip, text=str,
    )  # a student's module may replace builtins (isinstance, len...) at import: nothing here looks them up later


def _plain_tensor(t: Any) -> Any:
    """``t`` as a plain torch.Tensor (its class's own methods never run)."""
    return t if _B["kind"](t) is _B["Tensor"] else _B["as_subclass"](t, _B["Tensor"])


def _view(t: Any) -> tuple[Any, ...]:
    """How ``t`` views its memory: storage address, offset, sizes, strides, dtype, device."""
    B = _B
    with B["no_tf"]():
        t = _plain_tensor(t)
        return (B["data_ptr"](B["storage"](t)), B["offset"](t), B["exact_tuple"](B["size"](t)),
                B["exact_tuple"](B["stride"](t)), B["dtype"](t), B["text"](B["device"](t)))


def module_tensors(module: Any) -> dict[str, Any]:
    """Every parameter and buffer an ``nn.Module`` holds now, by its state_dict name, read
    from the modules' own tables (``_modules``, ``_parameters``, ``_buffers``): no method of
    the module (``state_dict``, ``named_parameters``, ``_save_to_state_dict``) runs."""
    B = _B
    getter, items, is_a = B["getter"], B["dict_items"], B["is_a"]
    out: dict[str, Any] = {}
    seen: dict[int, bool] = {}

    def walk(m: Any, prefix: str) -> None:
        if B["ident"](m) in seen:
            return
        seen[B["ident"](m)] = True
        for table in ("_parameters", "_buffers"):
            held = getter(m, table)
            if not is_a(held, dict):
                raise WrongAnswer(f"the module's {table} is a {B['kind'](held).__name__}, not the dict torch keeps")
            for name, t in B["exact_list"](items(held)):
                if t is not None:
                    out[f"{prefix}{name}"] = t
        children = getter(m, "_modules")
        if not is_a(children, dict):
            raise WrongAnswer(f"the module's _modules is a {B['kind'](children).__name__}, not the dict torch keeps")
        for name, child in B["exact_list"](items(children)):
            if child is not None:
                walk(child, f"{prefix}{name}.")

    walk(module, "")
    return out


class _Slot:
    """A kept tensor's place in a kept value (its index in ``Kept``'s lists)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class Kept:
    """The inputs of one call, as ``keep`` held them before it (see the module's docstring)."""

    def __init__(self, inputs: dict[str, Any]) -> None:
        self._objects: list[Any] = []  # each input tensor, the very object the student's code gets
        self._aliases: list[Any] = []  # a tensor of our own viewing the same memory, the same way
        self._views: list[tuple[Any, ...]] = []
        self._holders: list[tuple[list[Any], str, Any, list[tuple[Any, Any]]]] = []  # (path, kind, holder, items then)
        self._skeleton = {name: self._walk(value, [name]) for name, value in inputs.items()}

    def _walk(self, v: Any, path: list[Any]) -> Any:
        B = _B
        is_a = B["is_a"]
        if is_a(v, B["Tensor"]):
            self._objects.append(v)
            with B["no_tf"]():
                self._aliases.append(B["detach"](_plain_tensor(v)))
            self._views.append(_view(v))
            return _Slot(B["size_of"](self._objects) - 1)
        if is_a(v, B["Module"]):
            tensors = module_tensors(v)
            self._holders.append((path, "module", v, B["exact_list"](B["dict_items"](tensors))))
            return {name: self._walk(t, [*path, name]) for name, t in B["dict_items"](tensors)}
        if is_a(v, list):
            items = B["exact_list"](B["number"](B["exact_list"](B["list_iter"](v))))
            self._holders.append((path, "list", v, items))
            return [self._walk(x, [*path, i]) for i, x in items]
        if is_a(v, tuple):
            return B["exact_tuple"]([self._walk(x, [*path, i]) for i, x in B["number"](B["exact_list"](B["tuple_iter"](v)))])
        if is_a(v, dict):
            items = B["exact_list"](B["dict_items"](v))
            self._holders.append((path, "dict", v, items))
            return {k: self._walk(x, [*path, k]) for k, x in items}
        return v if B["kind"](v) in _LEAVES else None

    def _read(self, t: Any, what: str) -> Any:
        try:
            return plain(t, what)
        except WrongAnswer as exc:
            return _B["text"](exc)

    def after(self) -> dict[str, Any]:
        """The inputs as the call left them, as plain data (tensors come back on the CPU):

        - ``memory``: the inputs' structure, each tensor read through the alias made before
          the call (the memory it had then, viewed as it was), or a string saying why it
          cannot be read (its storage was resized or freed);
        - ``held``: the same structure, each tensor the object the student's code was given,
          read now: None where it still views that same memory the same way (then it holds
          what ``memory`` says), else its values now, or a string saying why it cannot be read;
        - ``moved``: each list, dict or module whose items are no longer the same objects:
          ``{"path": [...], "kind": ..., "length": [then, now], "replaced": [...], "removed":
          [...], "added": [...]}`` (a module's items are its parameters and buffers, by name).
        """
        memory = [self._read(a, "an input's memory") for a in self._aliases]
        held: list[Any] = []
        for obj, view in _B["pairs"](self._objects, self._views):
            try:
                same = _view(obj) == view
            except Exception:  # noqa: BLE001 - no storage to read: it is not what it was
                same = False
            held.append(None if same else self._read(obj, "an input"))
        return {"memory": self._fill(self._skeleton, memory), "held": self._fill(self._skeleton, held),
                "moved": [m for m in (self._moved(*h) for h in self._holders) if m is not None]}

    def _fill(self, v: Any, values: list[Any]) -> Any:
        """The skeleton (this object's own containers) with each kept tensor's place filled."""
        B = _B
        kind = B["kind"](v)
        if kind is _Slot:
            return values[v.index]
        if kind is list:
            return [self._fill(x, values) for x in v]
        if kind is tuple:
            return B["exact_tuple"]([self._fill(x, values) for x in v])
        if kind is dict:
            return {k: self._fill(x, values) for k, x in B["dict_items"](v)}
        return v

    def _moved(self, path: list[Any], kind: str, holder: Any, then: list[tuple[Any, Any]]) -> dict[str, Any] | None:
        B = _B
        try:
            if kind == "module":
                now = B["exact_list"](B["dict_items"](module_tensors(holder)))
            elif kind == "list":
                now = B["exact_list"](B["number"](B["exact_list"](B["list_iter"](holder))))
            else:
                now = B["exact_list"](B["dict_items"](holder))
        except WrongAnswer as exc:
            return {"path": path, "kind": kind, "unreadable": B["text"](exc)}
        before, after = B["exact_dict"](then), B["exact_dict"](now)
        replaced = [k for k, x in then if k in after and after[k] is not x]
        removed = [k for k, _ in then if k not in after]
        added = [k for k, _ in now if k not in before]
        if not (replaced or removed or added):
            return None
        return {"path": path, "kind": kind, "length": [B["size_of"](then), B["size_of"](now)], "replaced": replaced,
                "removed": removed, "added": added}

    def returned(self, value: Any, what: str) -> tuple[Any, list[int], list[int]]:
        """``plain``'s one read of what the call returned: ``(copy, storages, inputs)``, where
        ``storages`` is each tensor's storage address (as ``plain(..., storages=True)``) and
        ``inputs`` the positions, in that order, of the tensors that are an input object or
        share an input's memory (the memory it had before the call, or the one it has now)."""
        copy, ptrs, objs = read(value, what)
        ids = {_B["ident"](o) for o in self._objects}
        mine = {view[0] for view in self._views}
        for obj in self._objects:
            try:
                mine.add(_view(obj)[0])
            except Exception:  # noqa: BLE001 - an input without memory now shares none
                pass
        return copy, ptrs, [i for i, (p, o) in _B["number"](_B["pairs"](ptrs, objs)) if p in mine or _B["ident"](o) in ids]


def keep(**inputs: Any) -> Kept:
    """Hold a call's inputs before it is made (see the module's docstring): tensors, lists,
    tuples and dicts of them, ``nn.Module`` (its parameters and buffers), at any depth;
    other values are kept as they are (numbers, strings, None) or left out."""
    if not _B:
        pin()
    return Kept(inputs)

