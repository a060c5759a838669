"""What crosses the boundary: ``plain`` reads what the student's code returned into exact
builtins and plain tensors (through the base types' own methods, so no student method
runs), ``encode``/``decode`` carry such values in a frame, tensors in the payload."""

from __future__ import annotations

from typing import Any, Callable

from .faults import WrongAnswer


def tensor_list(value: Any, what: str, n: int) -> list[Any]:
    """``value`` as a list of ``n`` plain tensors (one per layer: one read, see ``plain``), or
    WrongAnswer saying what it is instead (a driver's tool, given to drivers as a global
    like ``WrongAnswer``)."""
    import torch

    if not isinstance(value, (list, tuple)):
        raise WrongAnswer(f"{what} should be a list of {n} tensors, got {type(value).__name__}")
    value = plain(value, what)
    if len(value) != n:
        raise WrongAnswer(f"{what} should be a list of {n} tensors (one per layer), got {len(value)}")
    for i, v in enumerate(value):
        if type(v) is not torch.Tensor:
            raise WrongAnswer(f"{what}[{i}] should be a tensor, got {type(v).__name__}")
    return list(value)


_MAX_DEPTH, _MAX_ITEMS = 32, 1 << 20


def _make_plain() -> tuple[Callable[..., Any], Callable[[Any, str], tuple[Any, list[int], list[Any]]]]:
    """Build ``plain`` (and ``read``, the same read that also gives the tensor objects) from
    what is bound now (before the student's module is imported)."""
    import torch

    Tensor = torch.Tensor
    no_tf = torch._C.DisableTorchFunctionSubclass
    as_subclass, detach, clone, contiguous = Tensor.as_subclass, Tensor.detach, Tensor.clone, Tensor.contiguous
    storage, data_ptr = Tensor.untyped_storage, torch.UntypedStorage.data_ptr
    list_iter, tuple_iter, dict_items = list.__iter__, tuple.__iter__, dict.items
    to_int, to_float, to_str = int.__int__, float.__float__, str.__str__
    is_a, kind, exact_list, exact_tuple = isinstance, type, list, tuple
    base = torch._C.TensorBase.__dict__  # the attributes' own getters: a subclass's properties do not run
    layout_of, dtype_of, device_of, nested = (base[n].__get__ for n in ("layout", "dtype", "device", "is_nested"))
    strided = torch.strided
    try:  # what the encoder (safetensors) can carry; anything else could not travel
        from safetensors.torch import _TYPES

        sendable = frozenset(_TYPES.values())
    except ImportError:  # pragma: no cover - an older safetensors: the types every version has
        sendable = frozenset([torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
                              torch.int16, torch.int8, torch.uint8, torch.bool])

    def unreadable(t: Any) -> str | None:
        """Why the plain tensor ``t`` cannot travel to the trusted side, or None."""
        if nested(t) or layout_of(t) is not strided:
            return f"its layout is {layout_of(t)}{' (nested)' if nested(t) else ''}, not a dense (strided) tensor"
        if device_of(t).type == "meta":
            return "it is on the meta device (it has no data)"
        if dtype_of(t) not in sendable:
            return f"its dtype {dtype_of(t)} cannot be sent back (use a real or integer dtype)"
        return None

    def one(v: Any, what: str, depth: int, count: list[int], ptrs: list[int] | None, scale: int,
            objs: list[Any] | None = None) -> Any:
        count[0] += 1
        if count[0] > _MAX_ITEMS * scale or depth > _MAX_DEPTH * scale:
            raise WrongAnswer(f"{what} is nested too deeply or holds too many items")
        if v is None or kind(v) in (bool, int, float, str):
            return v
        if is_a(v, Tensor):
            with no_tf():  # a subclass's __torch_function__ does not run: its data is read as it is
                t = as_subclass(v, Tensor) if kind(v) is not Tensor else v
                if (why := unreadable(t)) is not None:
                    raise WrongAnswer(f"{what} holds a tensor that cannot be read as a plain tensor: {why}")
                try:
                    if ptrs is not None:
                        ptrs.append(data_ptr(storage(t)))
                    if objs is not None:
                        objs.append(v)
                    return contiguous(clone(detach(t)))
                except Exception as exc:  # noqa: BLE001 - no storage of its own (sparse, meta, a wrapper)
                    raise WrongAnswer(f"{what} holds a tensor that cannot be read as a plain tensor: {exc}") from None
        if is_a(v, int):  # a subclass (bool has none: exact bools are returned above)
            return to_int(v)
        if is_a(v, float):
            return to_float(v)
        if is_a(v, str):
            return to_str(v)
        if is_a(v, list):
            return exact_list([one(x, what, depth + 1, count, ptrs, scale, objs) for x in exact_list(list_iter(v))])
        if is_a(v, tuple):
            return exact_tuple([one(x, what, depth + 1, count, ptrs, scale, objs) for x in exact_list(tuple_iter(v))])
        if is_a(v, dict):
            out = {}
            for k, x in exact_list(dict_items(v)):
                key = one(k, what, depth + 1, count, None, scale)
                if kind(key) not in (str, int):
                    raise WrongAnswer(f"{what} is a dict with a key of type {kind(k).__name__}; use strings or numbers")
                out[key] = one(x, what, depth + 1, count, ptrs, scale, objs)
            return out
        mod = kind(v).__module__
        if mod == "numpy" and hasattr(v, "item") and getattr(v, "ndim", None) == 0:
            return one(v.item(), what, depth, count, ptrs, scale, objs)
        raise WrongAnswer(f"{what} holds a {kind(v).__name__}, not a tensor, number, string, list, tuple or dict "
                          "(only those can be checked)")

    def plain(value: Any, what: str = "the value returned", storages: bool = False, scale: int = 1) -> Any:
        """One read of what the student's code returned: exact builtins (list, tuple, dict,
        int, float, bool, str, None) and plain tensors with storage of their own, read
        through the base types' own methods (a subclass's ``__iter__``, ``__len__``,
        ``__getitem__``, ``items`` or ``__torch_function__`` never runs). Drivers call it
        once on a value and look only at the copy, as the encoder does, so every check sees
        the same contents. With ``storages``: ``(copy, ptrs)``, the storage address of each
        tensor of the original, in the order they appear, for checks of aliasing.

        What it returns can always be encoded (``encode``): a tensor the encoder could not
        carry (sparse, nested, on the meta device, of a dtype like complex128) is refused
        here, as a WrongAnswer, with the rest. (``scale`` widens the bounds on depth and
        items: the worker reads a driver's whole reply, which may hold several values a
        driver read within the usual bounds, with ``scale=4``.)"""
        ptrs: list[int] | None = [] if storages else None
        copy = one(value, what, 0, [0], ptrs, scale)
        return (copy, ptrs) if storages else copy

    def read(value: Any, what: str) -> tuple[Any, list[int], list[Any]]:
        """``plain(value, what, storages=True)``, and the tensor objects themselves, in the
        same order, from the same read (for ``Kept.returned``: is one of them an input?)."""
        ptrs: list[int] = []
        objs: list[Any] = []
        return one(value, what, 0, [0], ptrs, 1, objs), ptrs, objs

    return plain, read


_plain: Callable[..., Any] | None = None
_read: Callable[[Any, str], tuple[Any, list[int], list[Any]]] | None = None


def plain(value: Any, what: str = "the value returned", storages: bool = False, scale: int = 1) -> Any:
    """See ``_make_plain``: bound once, by ``pin``, before the student's module is imported."""
    if _plain is None:
        pin()
    assert _plain is not None
    return _plain(value, what, storages, scale)


def read(value: Any, what: str) -> tuple[Any, list[int], list[Any]]:
    """``plain(value, what, storages=True)`` and, from the same read, each tensor object as the
    student's code gave it (in the order of the storage addresses): for ``Kept.returned``."""
    if _read is None:
        pin()
    assert _read is not None
    return _read(value, what)



# Tensors, wherever they sit in a value (at its top, in lists, tuples and dicts at any
# depth), go into the safetensors payload; the JSON side keeps a marker in their place,
# {"__tensor__": "3"} (the payload's key). A dict of the value whose keys could be read as
# a marker ("__tensor__", "__dict__") travels as {"__dict__": [[key, value], ...]}. So
# everything ``plain`` returns can be encoded: an encoding failure of a worker's reply is
# never the student's (see the request loop).

_MARKERS = ("__tensor__", "__dict__")


_PINNED: dict[str, Any] = {}


def pin() -> None:
    """Bind what ``encode`` and ``plain`` use while only the harness has run: the student's
    module is imported later, and a `torch.Tensor.clone = ...` of theirs must not change a reply."""
    global _plain, _read
    import torch
    from safetensors.torch import save

    T = torch.Tensor
    _PINNED.update(Tensor=T, save=save, detach=T.detach, as_subclass=T.as_subclass, to=T.to,
                   clone=T.clone, contiguous=T.contiguous, isinstance=isinstance, all=all)
    _plain, _read = _make_plain()


def encode(values: dict[str, Any], copied: bool = False) -> tuple[dict[str, Any], bytes]:
    """``values`` as a frame's JSON side and safetensors payload, tensors at any depth (see
    above). ``copied``: the values are ``plain``'s copy already (the worker's replies), so
    their tensors have storage of their own."""
    if not _PINNED:
        pin()
    P = _PINNED
    Tensor, save, is_a = P["Tensor"], P["save"], P["isinstance"]

    flat: dict[str, Any] = {}
    plain: dict[str, Any] = {}

    def cpu(t: Any) -> Any:
        # Plain tensor, own storage, contiguous, on the CPU: a subclass cannot travel.
        if copied:
            return P["contiguous"](P["to"](t, "cpu"))
        t = P["detach"](t)
        if type(t) is not Tensor:
            t = P["as_subclass"](t, Tensor)
        return P["contiguous"](P["clone"](P["to"](t, "cpu")))

    def walk(value: Any) -> Any:
        if is_a(value, Tensor):
            key = str(len(flat))
            flat[key] = cpu(value)
            return {"__tensor__": key}
        if is_a(value, (list, tuple)):
            return [walk(v) for v in value]
        if is_a(value, dict):
            if any(k in _MARKERS for k in value if is_a(k, str)):
                return {"__dict__": [[k, walk(v)] for k, v in value.items()]}
            return {k: walk(v) for k, v in value.items()}
        return value

    for name, value in values.items():
        plain[name] = walk(value)
    return plain, (save(flat) if flat else b"")


def decode(plain: dict[str, Any], payload: bytes) -> dict[str, Any]:
    """``encode``'s inverse. What a worker sends is read as data only: a marker that names no
    tensor of the payload, or is malformed, raises (the trusted side says the worker sent
    data it cannot read)."""
    from safetensors.torch import load

    flat = load(payload) if payload else {}

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            if len(value) == 1 and "__tensor__" in value:
                key = value["__tensor__"]
                if not isinstance(key, str) or key not in flat:
                    raise ValueError(f"a tensor marker names no tensor of the payload: {key!r}"[:200])
                return flat[key]
            if len(value) == 1 and "__dict__" in value:
                pairs = value["__dict__"]
                if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                    raise ValueError("a malformed escaped dict")
                return {k: walk(v) for k, v in pairs}
            return {k: walk(v) for k, v in value.items()}
        return value

    return {name: walk(value) for name, value in plain.items()}
