"""CUDA simulated on a CPU-only torch: tensors tagged "cuda" that fail where real CUDA fails.

Inside ``with simulate_cuda():`` torch says CUDA is there (``torch.cuda.is_available()`` is True, one
device), and a :class:`~torch.overrides.TorchFunctionMode` keeps a device tag on every tensor it sees:

- ``device="cuda"`` anywhere (factories, ``.to("cuda")``, ``.cuda()``, ``nn.Module.to``) gives a CPU
  tensor tagged ``cuda:0``; its ``.device`` is ``cuda:0`` (which, as in real torch, is not equal to
  ``torch.device("cuda")``), ``.is_cuda`` is True, ``.cpu()`` / ``.to("cpu")`` give an untagged copy.
- What raises on a real GPU raises here, with real torch's message: ``.numpy()``, ``np.asarray`` and
  ``__array__`` of a cuda tensor; an op mixing cuda and CPU tensors (a 0-dim CPU tensor is allowed,
  as real CUDA allows CPU scalars; so is ``copy_`` across devices); a CPU tensor indexed by cuda
  indices (a cuda tensor indexed by CPU indices is allowed, as in real torch; writing non-scalar
  values from the other device through advanced indexing is not); a random draw whose
  ``generator=`` lives on another device than the op (``torch.Generator(device="cuda")`` makes a
  CPU generator tagged cuda); ``tensor.grad = g`` from another device; a device index other than 0.
- ``torch.cuda.synchronize``, the memory statistics, ``Event`` timing, seeding and the device
  queries are harmless stand-ins. ``torch.cuda.is_bf16_supported(including_emulation=False)`` is True
  unless the block was opened with ``simulate_cuda(native_bf16=False)`` (a V100/T4-class GPU, where bf16
  is only emulated).
- Host-device syncs are counted (:func:`count_syncs`): reading a cuda tensor on the host (``.item()``,
  ``bool()``/``if``, ``int()``, ``float()``, ``.tolist()``, ``.cpu()``, ``.to("cpu")``, ``.numpy()``; writing it
  into a CPU tensor, ``cpu[i] = t`` or a blocking ``cpu.copy_(t)``), and the ops whose output size depends on
  the data (boolean-mask indexing, ``nonzero``, ``masked_select``, ``unique``, ``bincount``,
  ``repeat_interleave`` of tensor repeats without ``output_size``).
- Deterministic mode (``torch.use_deterministic_algorithms(True)``) raises real CUDA's errors where real
  CUDA has no deterministic kernel: a floating-point ``cumsum`` and ``bincount`` with ``weights`` on a
  cuda tensor (a warning under ``warn_only=True``). ``index_add_``/``scatter_add_``/``index_put_(accumulate=
  True)`` do not raise: real torch switches them to deterministic (sorted) kernels in that mode.

The arithmetic itself runs on the CPU, so results equal the CPU's; only placement is simulated.
Tags live in a plain attribute of the tensor object (``_sim_cuda``), set on every tensor an op
returns; tensors made before the simulation started, or by C++ code no Python call reaches, are
CPU tensors (autograd's ``.grad`` and ``.data`` take their owner's tag).
"""

from __future__ import annotations

import collections
import contextlib
import os
import time
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

TAG = "_sim_cuda"  # attribute on a tensor object: the cuda device index it is placed on
CPU = torch.device("cpu")
DEVICE_NAME = "Simulated CUDA (CPU-only torch)"
_RealGenerator = torch._C.Generator


def tag_of(t: Any) -> int | None:
    """The simulated cuda index of ``t`` (a tensor or generator), or None for CPU."""
    return getattr(t, TAG, None)


_NATIVE_BF16 = [True]  # whether the simulated GPU has bf16 in hardware (Ampere and later) or only emulates it
_COUNTERS: list[collections.Counter[str]] = []  # the open count_syncs blocks

_PLACED = [0]  # bytes placed on the simulated GPU since the last reset_peak_memory_stats (never freed)


def _set_tag(t: Any, index: int | None) -> None:
    if index is None:
        if TAG in getattr(t, "__dict__", {}):
            delattr(t, TAG)
    else:
        if isinstance(t, torch.Tensor) and getattr(t, TAG, None) is None:
            _PLACED[0] += t.nbytes
        setattr(t, TAG, index)


def sim_device(t: Any) -> torch.device:
    """The device ``t`` is on in the simulation: ``cuda:i`` for tagged tensors, else its real device."""
    index = tag_of(t)
    if index is not None:
        return torch.device("cuda", index)
    if isinstance(t, _RealGenerator):
        return _RealGenerator.device.__get__(t)
    return t.device if isinstance(t, torch.Tensor) else CPU


def _cuda_index(device: Any) -> int | None:
    """The cuda index a ``device=`` argument asks for (None for anything else); checks the ordinal."""
    if device is None or isinstance(device, torch.Tensor):
        return None
    dev = torch.device("cuda", device) if isinstance(device, int) else torch.device(device)
    if dev.type != "cuda":
        return None
    index = 0 if dev.index is None else dev.index
    if index >= 1:
        raise RuntimeError("CUDA error: invalid device ordinal")
    return index


def _tag_outputs(out: Any, index: int | None, inputs: set[int]) -> Any:
    """Tag every tensor in ``out`` that is not one of the inputs (those keep their own tag)."""
    if isinstance(out, torch.Tensor):
        if id(out) not in inputs:
            _set_tag(out, index)
    elif isinstance(out, list | tuple):
        for x in out:
            _tag_outputs(x, index, inputs)
    elif isinstance(out, dict):
        for x in out.values():
            _tag_outputs(x, index, inputs)
    return out


def _mixing_error(a: torch.device, b: torch.device, func: Any) -> RuntimeError:
    name = getattr(func, "__name__", repr(func))
    return RuntimeError(
        f"Expected all tensors to be on the same device, but found at least two devices, {a} and {b}! "
        f"(when checking argument in method {name}) [simulated CUDA]"
    )


def _numpy_error(t: torch.Tensor) -> TypeError:
    return TypeError(
        f"can't convert {sim_device(t)} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
        "host memory first. [simulated CUDA]"
    )


def _is_scalar_index(t: Any) -> bool:
    """A 0-dim integer tensor index: torch reads it with ``item()`` (a select), whatever its device."""
    return isinstance(t, torch.Tensor) and t.dim() == 0 and not t.is_floating_point() and t.dtype != torch.bool


def _index_parts(index: Any) -> list[Any]:
    return list(index) if isinstance(index, tuple) else [index]


def _is_advanced(index: Any) -> bool:
    return any(
        (isinstance(p, torch.Tensor) and not _is_scalar_index(p)) or isinstance(p, list | np.ndarray)
        for p in _index_parts(index)
    )


def _check_index(self_t: torch.Tensor, index: Any) -> None:
    """Real torch: indices on the CPU or on the indexed tensor's device."""
    own = getattr(self_t, TAG, None)
    for p in index if type(index) is tuple else (index,):
        if isinstance(p, torch.Tensor):
            at = getattr(p, TAG, None)
            if at is not None and at != own and not _is_scalar_index(p):
                raise RuntimeError(
                    f"indices should be either on cpu or on the same device as the indexed tensor "
                    f"({sim_device(self_t)}) [simulated CUDA]"
                )


class _GeneratorMeta(type(_RealGenerator)):  # type: ignore[misc]
    def __instancecheck__(cls, obj: Any) -> bool:  # every generator is still a torch.Generator
        return isinstance(obj, _RealGenerator)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _RealGenerator)


class SimGenerator(_RealGenerator, metaclass=_GeneratorMeta):
    """``torch.Generator(device=...)``: a CPU generator; tagged when asked for cuda."""

    def __new__(cls, device: Any = "cpu") -> SimGenerator:
        gen = super().__new__(cls, "cpu")
        _set_tag(gen, _cuda_index(device))
        return gen

    def __init__(self, device: Any = "cpu") -> None:
        pass

    @property
    def device(self) -> torch.device:  # type: ignore[override]
        return sim_device(self)


class _Event:
    """``torch.cuda.Event``: wall-clock timing (the simulated GPU runs synchronously)."""

    def __init__(self, enable_timing: bool = False, **_: Any) -> None:
        self.t = 0.0

    def record(self, stream: Any = None) -> None:
        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return True

    def elapsed_time(self, end: _Event) -> float:
        return (end.t - self.t) * 1000.0


class _Stream:
    def synchronize(self) -> None:
        pass

    def is_capturing(self) -> bool:
        return False

    def query(self) -> bool:
        return True

    def wait_stream(self, other: Any) -> None:
        pass


def _properties(device: Any = None) -> Any:
    return types.SimpleNamespace(
        name=DEVICE_NAME, major=9, minor=0, total_memory=16 * 2**30, multi_processor_count=1, is_integrated=False
    )


def _returns(value: Any) -> Callable[..., Any]:
    """A stand-in returning ``value``: a new function object each time (torch._dynamo, imported lazily,
    refuses one object under two torch.cuda names)."""

    def standin(*args: Any, **kwargs: Any) -> Any:
        return value

    return standin


def _placed() -> Callable[..., int]:
    def standin(*args: Any, **kwargs: Any) -> int:
        return _PLACED[0]

    return standin


def _reset_placed() -> Callable[..., None]:
    def standin(*args: Any, **kwargs: Any) -> None:
        _PLACED[0] = 0

    return standin


def _host_rng_state() -> Callable[..., Any]:
    def standin(*args: Any, **kwargs: Any) -> Any:
        return torch.get_rng_state()

    return standin


class _DeviceContext:
    """``torch.cuda.device(i)``: selecting the one simulated device changes nothing."""

    def __init__(self, device: Any = None) -> None:
        self.idx = 0

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return False


_NOOPS = (
    "_lazy_init init set_device synchronize empty_cache ipc_collect manual_seed manual_seed_all seed seed_all "
    "reset_max_memory_allocated set_rng_state set_rng_state_all"
)
_PLACED_STATS = "memory_allocated max_memory_allocated memory_reserved max_memory_reserved"
CUDA_STANDINS: dict[str, Any] = {
    **{name: _returns(None) for name in _NOOPS.split()},
    **{name: _placed() for name in _PLACED_STATS.split()},
    "reset_peak_memory_stats": _reset_placed(),
    "get_rng_state": _host_rng_state(),
    "get_rng_state_all": lambda *a, **k: [torch.get_rng_state()],
    "device": _DeviceContext,
    "is_current_stream_capturing": _returns(False),
    "is_available": _returns(True),
    "device_count": _returns(1),
    "current_device": _returns(0),
    "is_initialized": _returns(True),
    "memory_stats": lambda *a, **k: {},
    "mem_get_info": _returns((16 * 2**30, 16 * 2**30)),
    "is_bf16_supported": lambda including_emulation=True: including_emulation or _NATIVE_BF16[0],
    "get_device_name": _returns(DEVICE_NAME),
    "get_device_capability": _returns((9, 0)),
    "get_device_properties": _properties,
    "Event": _Event,
    "current_stream": lambda *a, **k: _Stream(),
    "default_stream": lambda *a, **k: _Stream(),
}
# torch.accelerator (transformers and accelerate ask it which device to use)
ACCELERATOR_STANDINS: dict[str, Any] = {
    "is_available": _returns(True),
    "current_accelerator": lambda *a, **k: torch.device("cuda"),
    "device_count": _returns(1),
    "current_device_index": _returns(0),
    "current_device_idx": _returns(0),
    **{name: _returns(None) for name in ["set_device_index", "set_device_idx", "synchronize", "empty_cache"]},
    **{name: _placed() for name in _PLACED_STATS.split()},
    "reset_peak_memory_stats": _reset_placed(),
    "current_stream": lambda *a, **k: _Stream(),
}


class CudaSimMode(TorchFunctionMode):
    """Keeps the simulated device of every tensor and raises where real CUDA would."""

    def __torch_function__(self, func: Any, types_: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = dict(kwargs or {})
        if isinstance(func, types.MethodWrapperType):  # a tensor property: x.device, x.grad = g, ...
            return self._attribute(func, args)
        if func in _WATCHED:
            _watch(func, args, kwargs)
        handler = _HANDLERS.get(func)
        if handler is not None:
            return handler(func, args, kwargs)
        return self._op(func, args, kwargs)

    @staticmethod
    def _attribute(func: Any, args: tuple[Any, ...]) -> Any:
        name, kind, owner = func.__self__.__name__, func.__name__, args[0]
        index = tag_of(owner)
        if kind == "__get__":
            if name == "device":
                return sim_device(owner)
            if name == "is_cuda":
                return index is not None
            if name == "is_cpu":
                return index is None and func(*args)
            out = func(*args)
            if isinstance(out, torch.Tensor) and out is not owner:  # .grad, .data, .T, .mT, .real ...
                _set_tag(out, index)
            return out
        if kind == "__set__" and name in ("data", "grad"):
            value = args[1]
            if name == "grad" and value is not None and sim_device(value) != sim_device(owner):
                raise RuntimeError(
                    f"assigned grad has data located on a different device ({sim_device(value)}) than the "
                    f"tensor ({sim_device(owner)}) [simulated CUDA]"
                )
            out = func(*args)
            if name == "data":
                _set_tag(owner, tag_of(value))
            return out
        return func(*args)

    @staticmethod
    def _op(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tensors: list[Any] = []
        gens: list[Any] = []
        _collect(args, tensors, gens)
        if kwargs:
            _collect(tuple(kwargs.values()), tensors, gens)
        cuda: set[int] = set()
        cpu_nonscalar = False
        for t in tensors:
            index = getattr(t, TAG, None)
            if index is not None:
                cuda.add(index)
            elif t.ndim > 0 and (type(t) is np.ndarray or t.device.type == "cpu"):
                cpu_nonscalar = True
        asked = kwargs.get("device")
        if not cuda and asked is None and not gens and not kwargs.get("pin_memory"):
            return func(*args, **kwargs)  # CPU only: nothing to check or tag
        if kwargs.get("pin_memory"):  # page-locked host memory: only there with an accelerator
            kwargs["pin_memory"] = False
        if len(cuda) > 1:
            raise _mixing_error(*(torch.device("cuda", i) for i in sorted(cuda)[:2]), func)
        if asked is not None:
            index = _cuda_index(asked)
            if index is not None:
                kwargs["device"] = CPU
            elif torch.device(asked).type != "cpu":
                return func(*args, **kwargs)  # meta and friends: not simulated
        else:
            index = next(iter(cuda)) if cuda else None
            if index is not None and cpu_nonscalar:
                raise _mixing_error(torch.device("cuda", index), CPU, func)
        for g in gens:
            _check_generator(g, index)
        return _place(func(*args, **kwargs), index, tensors)


_ATOMS = (int, float, bool, str, type(None), torch.dtype, torch.device, torch.Size, slice, type(Ellipsis))


def _collect(items: tuple[Any, ...] | list[Any], tensors: list[Any], gens: list[Any]) -> None:
    """The tensors (and numpy arrays, which torch takes as CPU tensors) and generators in nested args."""
    for x in items:
        kind = type(x)
        if kind in _ATOMS:
            continue
        if kind is torch.Tensor or kind is np.ndarray or isinstance(x, torch.Tensor):
            tensors.append(x)
        elif kind is list or kind is tuple:
            _collect(x, tensors, gens)
        elif kind is dict:
            _collect(tuple(x.values()), tensors, gens)
        elif kind is SimGenerator or kind is _RealGenerator:
            gens.append(x)


def _place(out: Any, index: int | None, inputs: list[Any]) -> Any:
    """Tag the outputs; an output that is an input on another device becomes a copy (as a real move)."""
    if isinstance(out, torch.Tensor):
        if any(out is t for t in inputs):
            if getattr(out, TAG, None) != index:
                out = out.clone()
                _set_tag(out, index)
        elif index is not None:
            _set_tag(out, index)
        return out
    return _tag_outputs(out, index, {id(t) for t in inputs})


def _check_generator(gen: Any, index: int | None) -> None:
    op_type, gen_type = ("cpu" if index is None else "cuda"), sim_device(gen).type
    if gen_type != op_type:
        raise RuntimeError(
            f"Expected a '{op_type}' device type for generator but found '{gen_type}' [simulated CUDA]"
        )


def _to_numpy(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if tag_of(args[0]) is not None:
        raise _numpy_error(args[0])
    return func(*args, **kwargs)


def _cpu(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    t = args[0]
    out = func(*args, **kwargs)
    if tag_of(t) is not None:
        out = out.clone() if out is t else out
        _set_tag(out, None)
    return out


def _cuda(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    t = args[0]
    device = args[1] if len(args) > 1 else kwargs.get("device")
    index = _cuda_index("cuda" if device is None else device)
    if tag_of(t) == index:
        return t
    kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    out = t.clone(**kwargs)
    _set_tag(out, index)
    return out


def _to(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    t, rest = args[0], args[1:]
    if rest and isinstance(rest[0], torch.Tensor):  # x.to(other): other's device and dtype
        other = rest[0]
        device: Any = sim_device(other)
        dtype = other.dtype
        copy = rest[2] if len(rest) > 2 else kwargs.get("copy", False)
        memory_format = kwargs.get("memory_format")
    else:
        # an int device is the accelerator's index (torch's parser would look for a real accelerator)
        if rest and type(rest[0]) is int:
            rest = (torch.device("cuda", rest[0]), *rest[1:])
        if type(kwargs.get("device")) is int:
            kwargs = {**kwargs, "device": torch.device("cuda", kwargs["device"])}
        device, dtype, _non_blocking, memory_format = torch._C._nn._parse_to(
            *rest, **{k: v for k, v in kwargs.items() if k != "copy"}
        )
        copy = kwargs.get("copy", False)
    index = tag_of(t) if device is None else _cuda_index(device)
    if device is not None and torch.device(device).type not in ("cpu", "cuda"):
        return func(*args, **kwargs)
    cpu_kwargs: dict[str, Any] = {"copy": copy}
    if memory_format is not None:
        cpu_kwargs["memory_format"] = memory_format
    out = t.to(dtype=dtype if dtype is not None else t.dtype, **cpu_kwargs)
    if index != tag_of(t):
        out = out.clone() if out is t else out
        _set_tag(out, index)
    elif out is not t:
        _set_tag(out, index)
    return out


def _parse_to(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``nn.Module.to``'s parser: a device given by keyword is parsed as given, not moved to the CPU like a
    factory's ``device=`` (``model.to(device="cuda", dtype=...)`` left the parameters untagged)."""
    if "device" in kwargs and not args:
        rest = dict(kwargs)
        device = rest.pop("device")
        return func(device, rest.pop("dtype", None), rest.pop("non_blocking", False), **rest)
    return func(*args, **kwargs)


def _get_device(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    index = tag_of(args[0])
    return func(*args, **kwargs) if index is None else index


def _pin_memory(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0].clone()  # a page-locked copy on real CUDA machines


def _device(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``torch.device(0)`` means the current accelerator's device 0: here, the simulated GPU."""
    if len(args) == 1 and not kwargs and type(args[0]) is int:
        index = args[0]
        if _cuda_index(torch.device("cuda", index)) is not None:
            return torch.device("cuda", index)
    return func(*args, **kwargs)


def _copy(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return func(*args, **kwargs)


def _getitem(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    t, index = args[0], args[1]
    _check_index(t, index)
    out = func(*args, **kwargs)
    index = getattr(t, TAG, None)
    if index is not None and isinstance(out, torch.Tensor) and out is not t:
        _set_tag(out, index)
    return out


def _setitem(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    t, index, value = args[0], args[1], args[2]
    _check_index(t, index)
    if _is_advanced(index) and isinstance(value, torch.Tensor | np.ndarray) and value.ndim > 0:
        vdev = sim_device(value) if isinstance(value, torch.Tensor) else CPU
        if vdev != sim_device(t):  # index_put_ runs a TensorIterator: non-scalar values on the same device
            raise _mixing_error(sim_device(t), vdev, func)
    return func(*args, **kwargs)


# ----- host-device syncs and deterministic mode -----
def _name(func: Any) -> str:
    return getattr(func, "__name__", repr(func))


# a cuda input makes these wait for the GPU: host reads, and outputs whose size depends on the data
_SYNC_FUNCS = {
    torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.__bool__, torch.Tensor.__int__, torch.Tensor.__float__,
    torch.Tensor.__index__, torch.Tensor.numpy, torch.Tensor.__array__, torch.Tensor.cpu,
    torch.nonzero, torch.Tensor.nonzero, torch.argwhere, torch.Tensor.argwhere, torch.masked_select,
    torch.Tensor.masked_select, torch.unique, torch.Tensor.unique, torch.unique_consecutive,
    torch.bincount, torch.Tensor.bincount,
}
_NONDETERMINISTIC = {  # real CUDA has no deterministic kernel for these (torch.use_deterministic_algorithms)
    torch.cumsum: "cumsum_cuda_kernel", torch.Tensor.cumsum: "cumsum_cuda_kernel",
    torch.Tensor.cumsum_: "cumsum_cuda_kernel", torch.bincount: "_bincount_cuda",
    torch.Tensor.bincount: "_bincount_cuda",
}
_WATCHED = {*_SYNC_FUNCS, *_NONDETERMINISTIC, torch.Tensor.__getitem__, torch.Tensor.__setitem__,
            torch.Tensor.copy_, torch.Tensor.to, torch.repeat_interleave, torch.Tensor.repeat_interleave}


def _count(what: str) -> None:
    for counter in _COUNTERS:
        counter[what] += 1


def _is_bool_mask(index: Any) -> bool:
    return any(isinstance(p, torch.Tensor) and p.dtype == torch.bool and p.dim() > 0 for p in _index_parts(index))


def _watch(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Count the syncs of a call with cuda inputs; raise where deterministic mode has no CUDA kernel."""
    tensors: list[Any] = []
    _collect(args, tensors, [])
    if not any(tag_of(t) is not None for t in tensors if isinstance(t, torch.Tensor)):
        return
    name = _name(func)
    if func in _NONDETERMINISTIC and torch.are_deterministic_algorithms_enabled():
        floating = args[0].is_floating_point() or args[0].is_complex() or kwargs.get("dtype") in (
            torch.float16, torch.bfloat16, torch.float32, torch.float64)
        weighted = (len(args) > 1 and args[1] is not None) or kwargs.get("weights") is not None
        if (weighted if "bincount" in name else floating):
            message = (
                f"{_NONDETERMINISTIC[func]} does not have a deterministic implementation, but you set "
                "'torch.use_deterministic_algorithms(True)'. You can turn off determinism just for this operation, "
                "or you can use the 'warn_only=True' option, if that's acceptable for your application. "
                "[simulated CUDA]"
            )
            if not torch.is_deterministic_algorithms_warn_only_enabled():
                raise RuntimeError(message)
            warnings.warn(message, UserWarning, stacklevel=3)
    if func in _SYNC_FUNCS:
        _count(name)
    elif func is torch.Tensor.__getitem__ and _is_bool_mask(args[1]):
        _count("boolean mask index")
    elif func is torch.Tensor.__setitem__ and _is_bool_mask(args[1]):
        value = args[2]
        # x[mask] = scalar becomes masked_fill_ (no sync), unless the scalar must be read from the GPU
        if isinstance(value, torch.Tensor) and (value.numel() != 1 or tag_of(value) is not None):
            _count("boolean mask index")
    elif func is torch.Tensor.__setitem__ and tag_of(args[0]) is None and tag_of(args[2]) is not None:
        _count("setitem into cpu")  # a cuda value written into a CPU tensor: a blocking device-to-host copy
    elif func is torch.Tensor.copy_ and tag_of(args[0]) is None and tag_of(args[1]) is not None:
        if not (kwargs.get("non_blocking") or (len(args) > 2 and args[2])):
            _count("copy_ into cpu")
    elif func is torch.Tensor.to and tag_of(args[0]) is not None:
        rest = [*args[1:], kwargs.get("device")]
        if any(isinstance(d, str | torch.device) and torch.device(d).type == "cpu" for d in rest):
            _count("to(cpu)")
    elif func in (torch.repeat_interleave, torch.Tensor.repeat_interleave) and _sized_on_device(args, kwargs):
        _count("repeat_interleave")


def _sized_on_device(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``repeat_interleave`` reads the device for its output's size: tensor repeats (their sum) without
    ``output_size``; an int repeats expands to a size known on the host."""
    repeats = args[1] if len(args) > 1 else kwargs.get("repeats", args[0])
    return isinstance(repeats, torch.Tensor) and kwargs.get("output_size") is None


@contextlib.contextmanager
def count_syncs() -> Iterator[collections.Counter[str]]:
    """Count the host-device syncs made inside the block (on simulated CUDA), by operation.

    ``with count_syncs() as syncs: ...; assert sum(syncs.values()) == 0``; blocks may nest.
    """
    counter: collections.Counter[str] = collections.Counter()
    _COUNTERS.append(counter)
    try:
        yield counter
    finally:
        _COUNTERS.remove(counter)


_HANDLERS: dict[Any, Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]] = {}


def _register(funcs: list[Any], handler: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]) -> None:
    for f in funcs:
        _HANDLERS[f] = handler


_register([torch.Tensor.numpy, torch.Tensor.__array__], _to_numpy)
_register([torch.Tensor.cpu], _cpu)
_register([torch.Tensor.get_device], _get_device)
_register([torch.Tensor.pin_memory], _pin_memory)
_register([torch.device], _device)
_register([torch.Tensor.cuda], _cuda)
_register([torch.Tensor.to], _to)
_register([torch._C._nn._parse_to], _parse_to)
# copy_ moves data between devices; the others only compare tensors' metadata
_register([torch.Tensor.copy_, torch._has_compatible_shallow_copy_type, torch.Tensor.is_set_to], _copy)
_register([torch.Tensor.__getitem__], _getitem)
_register([torch.Tensor.__setitem__], _setitem)


def _parameter_new(original: Any) -> Any:
    def __new__(cls: type, data: Any = None, requires_grad: bool = True) -> Any:
        out = original(cls, data, requires_grad)
        if data is not None:
            _set_tag(out, tag_of(data))
        return out

    return staticmethod(__new__)


def _load(original: Callable[..., Any]) -> Callable[..., Any]:
    """``torch.load`` whose storages bound for cuda stay on the CPU, their tensors tagged cuda."""

    def load(f: Any, map_location: Any = None, *args: Any, **kwargs: Any) -> Any:
        to_cuda: set[int] = set()

        def restore(storage: Any, location: str) -> Any:
            if callable(map_location):
                moved = map_location(storage, location)
                if moved is not None:
                    return moved
            if isinstance(map_location, dict):
                dest: Any = map_location.get(location, location)
            else:
                dest = location if map_location is None else map_location
            if _cuda_index(dest) is not None or (isinstance(dest, str) and dest.startswith("cuda")):
                to_cuda.add(storage.data_ptr())
            return storage

        out = original(f, restore, *args, **kwargs)
        if to_cuda:
            _tag_loaded(out, to_cuda, set())
        return out

    return load


def _tag_loaded(obj: Any, pointers: set[int], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        if obj.untyped_storage().data_ptr() in pointers:
            _set_tag(obj, 0)
    elif isinstance(obj, dict):
        for x in obj.values():
            _tag_loaded(x, pointers, seen)
    elif isinstance(obj, list | tuple):
        for x in obj:
            _tag_loaded(x, pointers, seen)


@contextlib.contextmanager
def simulate_cuda(native_bf16: bool = True) -> Iterator[None]:
    """Inside this block, torch has one simulated CUDA device (see the module docstring); re-entrant.

    ``native_bf16=False`` simulates a GPU that only emulates bf16 (V100, T4) for the block.
    """
    was_native = _NATIVE_BF16[0]
    _NATIVE_BF16[0] = native_bf16
    try:
        if is_simulated():
            yield
            return
        with _simulation():
            yield
    finally:
        _NATIVE_BF16[0] = was_native


def cuda_or_simulated() -> contextlib.AbstractContextManager[None]:
    """The real GPU where there is one (or the simulation already running), else a simulated one for the block."""
    return contextlib.nullcontext() if torch.cuda.is_available() else simulate_cuda()


@contextlib.contextmanager
def _simulation() -> Iterator[None]:
    saved: list[tuple[Any, str, Any]] = []
    saved_env = os.environ.get("HF_DEACTIVATE_ASYNC_LOAD")

    def patch(obj: Any, name: str, value: Any) -> None:
        saved.append((obj, name, obj.__dict__[name] if name in obj.__dict__ else getattr(obj, name)))
        setattr(obj, name, value)

    try:
        for name, value in CUDA_STANDINS.items():
            patch(torch.cuda, name, value)
        for name, value in ACCELERATOR_STANDINS.items():
            patch(torch.accelerator, name, value)
        patch(torch, "load", _load(torch.load))
        for name in ("get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all"):
            patch(torch.cuda.random, name, CUDA_STANDINS[name])
        # a TorchFunctionMode is per thread: transformers must load weights in this one
        os.environ["HF_DEACTIVATE_ASYNC_LOAD"] = "1"
        patch(torch, "Generator", SimGenerator)
        patch(torch.nn.Parameter, "__new__", _parameter_new(torch.nn.Parameter.__new__))
        with CudaSimMode():
            yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)
        if saved_env is None:
            os.environ.pop("HF_DEACTIVATE_ASYNC_LOAD", None)
        else:
            os.environ["HF_DEACTIVATE_ASYNC_LOAD"] = saved_env


def is_simulated() -> bool:
    """Whether a :func:`simulate_cuda` block is active."""
    return torch.cuda.is_available is CUDA_STANDINS["is_available"]
