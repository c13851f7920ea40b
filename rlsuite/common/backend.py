"""numpy or torch, one interface: the array backend of the batched envs and of the agents that run on them.

``ArrayBackend("cpu")`` holds numpy arrays; ``ArrayBackend("cuda")`` (or ``"auto"``, which is torch
on the CPU where there is no GPU) holds torch tensors on that device; ``"torch:DEVICE"`` says torch
explicitly (``"torch:cpu"``: torch tensors on the CPU on every machine). Random draws come from
a numpy ``Generator`` (numpy) or a ``torch.Generator`` on the device seeded from one (torch).

It is the one array abstraction of rlsuite: a variable holding one is called ``backend``, and code
that runs on both kinds calls its methods where numpy and torch differ (``ArrayBackend.of(array)``
gives the backend of an array). Two rules keep a GPU busy:

- **Never wait for the device in a hot loop.** On torch the methods keep shapes fixed and never read
  a value back (:meth:`maybe_any` answers True without looking; :meth:`fill_where` draws for every
  row and keeps the drawn ones with ``torch.where``); on numpy, where reading costs nothing, they take
  the host shortcuts (and numpy's random stream is exactly the one it always was).
- **Sums into a table are deterministic everywhere:** :meth:`bincount` is ``np.bincount`` on numpy. On
  torch it adds into a fixed-size table with ``index_add_`` in 64-bit fixed point (units of 2^-32):
  integer additions give the same total in any order, so the atomic adds of a GPU give the same table
  on every run and the same as torch on the CPU (float atomics would not: ``torch.bincount(weights=)``
  and a float ``index_add_`` on CUDA sum in a varying order; the former also reads the largest index
  back, a sync, and raises in deterministic mode). The price: each weight is rounded to a multiple of
  2^-32 (2.3e-10), and a sum must stay below 2^31 in magnitude.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.common.device import to_numpy

TORCH_PREFIX = "torch:"
FIXED_POINT = 2.0**32  # torch's table sums: weights in units of 2^-32, summed as int64 (order-free)
GAMMA_ROUNDS = 8  # Marsaglia-Tsang rounds on torch: a draw is still rejected after 8 with prob ~1e-12


def is_torch_device(device: str) -> bool:
    """Whether ``device`` names a torch backend: anything but ``"cpu"`` (numpy), e.g. ``"cuda"``,
    ``"auto"``, ``"torch:cpu"``."""
    return device != "cpu"


def torch_device_name(device: str) -> str:
    """The torch device a backend ``device`` string runs on, for ``select_device``: ``"torch:cpu"`` ->
    ``"cpu"``, ``"torch:auto"`` -> ``"auto"``, ``"cuda"`` -> ``"cuda"``."""
    return device.removeprefix(TORCH_PREFIX) if device.startswith(TORCH_PREFIX) else device


class ArrayBackend:
    """numpy arrays on CPU (``device="cpu"``) or torch tensors on a device (``"cuda"``, ``"auto"``,
    ``"torch:cpu"``).

    All randomness comes from the env's ``np_random``: numpy draws from it directly, torch
    from a ``torch.Generator`` seeded from it at each ``reset(seed=...)``.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.is_torch = is_torch_device(device)
        self.rng: Any = None
        self.gen: Any = None
        if self.is_torch:
            import torch

            from rlsuite.common.device import select_device

            self.torch = torch
            self.device = select_device(torch_device_name(device))
            self.float = torch.float32
            self.gen = torch.Generator(device=self.device)
        else:
            self.device = "cpu"
            self.float = np.float64

    @staticmethod
    def of(array: Any) -> ArrayBackend:
        """The backend ``array`` lives on (numpy, or torch on its device), without random draws."""
        if isinstance(array, np.ndarray | np.generic):
            return _NUMPY
        backend = ArrayBackend.__new__(ArrayBackend)
        import torch

        backend.is_torch, backend.torch, backend.device = True, torch, array.device
        backend.float, backend.rng, backend.gen = torch.float32, None, None
        return backend

    def _dtype(self, dtype: str) -> Any:
        if dtype == "float":
            return self.float
        return getattr(self.torch, dtype) if self.is_torch else np.dtype(dtype)

    def seed(self, np_random: np.random.Generator) -> None:
        self.rng = np_random
        if self.is_torch:
            self.gen.manual_seed(int(np_random.integers(2**62)))

    # ----- making arrays -----
    def zeros(self, shape: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            return self.torch.zeros(shape, dtype=self._dtype(dtype), device=self.device)
        return np.zeros(shape, dtype=self._dtype(dtype))

    def ones(self, shape: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            return self.torch.ones(shape, dtype=self._dtype(dtype), device=self.device)
        return np.ones(shape, dtype=self._dtype(dtype))

    def full(self, shape: Any, value: float, like: Any) -> Any:
        """An array of ``shape`` filled with ``value``, of ``like``'s dtype."""
        if self.is_torch:
            return self.torch.full(shape, value, dtype=like.dtype, device=self.device)
        return np.full(shape, value, dtype=like.dtype)

    def asarray(self, x: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            if isinstance(x, self.torch.Tensor):  # already a tensor (maybe on the device): no host trip
                return x.to(device=self.device, dtype=self._dtype(dtype))
            return self.torch.as_tensor(np.asarray(x), dtype=self._dtype(dtype), device=self.device)
        return to_numpy(x).astype(self._dtype(dtype), copy=False)

    def as_index(self, x: Any) -> Any:
        """Actions from numpy, torch or lists, as int64 on this backend (no copy when already so)."""
        if self.is_torch:
            if isinstance(x, self.torch.Tensor):
                return x.to(device=self.device, dtype=self.torch.int64)
            return self.torch.as_tensor(np.asarray(x), dtype=self.torch.int64, device=self.device)
        return to_numpy(x).astype(np.int64, copy=False)  # numpy, or a torch tensor given to the numpy backend

    def copy(self, x: Any) -> Any:
        return x.clone() if self.is_torch else x.copy()

    def broadcast(self, x: Any, n: int) -> Any:
        """A fresh [n] array of ``x`` (one value or n values)."""
        return x.expand(n).clone() if self.is_torch else np.array(np.broadcast_to(x, (n,)))

    def cast_float(self, x: Any) -> Any:
        return x.to(self.float) if self.is_torch else x.astype(self.float)

    def arange(self, n: int) -> Any:
        return self.torch.arange(n, device=self.device) if self.is_torch else np.arange(n)

    # ----- operations where numpy and torch differ -----
    def where(self, cond: Any, x: Any, y: Any) -> Any:
        return self.torch.where(cond, x, y) if self.is_torch else np.where(cond, x, y)

    def take(self, table: Any, index: Any) -> Any:
        """``table[index]`` of a flat table (numpy's ``take`` is the faster gather there)."""
        return table[index] if self.is_torch else table.take(index)

    def amax(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return x.amax(axis, keepdim=keepdims) if self.is_torch else x.max(axis, keepdims=keepdims)

    def cumsum(self, x: Any) -> Any:
        """Cumulative sums along the last axis (short rows: actions, arms). torch: a product with a
        triangular matrix of ones, deterministic on a GPU in every mode (CUDA's float ``cumsum`` has no
        deterministic kernel: it raises under ``torch.use_deterministic_algorithms(True)``)."""
        if not self.is_torch:
            return np.cumsum(x, axis=-1)
        n = int(x.shape[-1])
        return x @ self.torch.ones(n, n, dtype=x.dtype, device=x.device).triu()

    def stack(self, arrays: list[Any]) -> Any:
        """The arrays (one shape) stacked along a new first axis."""
        return self.torch.stack(arrays) if self.is_torch else np.array(arrays)

    def concat(self, arrays: list[Any]) -> Any:
        """The arrays joined along their first axis."""
        return self.torch.cat(arrays) if self.is_torch else np.concatenate(arrays)

    def sqrt(self, x: Any) -> Any:
        return x.sqrt() if self.is_torch else np.sqrt(x)

    def exp(self, x: Any) -> Any:
        return x.exp() if self.is_torch else np.exp(x)

    def as_dtype(self, x: Any, like: Any) -> Any:
        """``x`` in ``like``'s dtype (no copy when it already is)."""
        return x.to(like.dtype) if self.is_torch else x.astype(like.dtype, copy=False)

    def bincount(self, index: Any, weights: Any, size: int, mask: Any = None) -> Any:
        """The sum of ``weights`` (1 each if None) at every flat index in ``range(size)``, over the entries
        where the flat ``mask`` is set (all if None): shape ``[size]``. numpy: ``np.bincount`` of the masked
        entries; torch: a fixed-point ``index_add_`` of every entry, masked ones adding 0 (fixed shapes, no
        sync, the same sums on every run: see the module docstring)."""
        if not self.is_torch:
            if mask is not None:
                index, weights = index[mask], None if weights is None else weights[mask]
            return np.bincount(index, weights=weights, minlength=size)
        torch = self.torch
        table = torch.zeros(size, dtype=torch.int64, device=self.device)
        if weights is None:
            ones = torch.ones_like(index) if mask is None else mask.to(torch.int64)
            return table.index_add_(0, index, ones).to(self.float)
        fixed = torch.round(weights.to(torch.float64) * FIXED_POINT).to(torch.int64)  # exact: a power of 2
        if mask is not None:
            fixed = torch.where(mask, fixed, 0)
        return (table.index_add_(0, index, fixed).to(torch.float64) / FIXED_POINT).to(weights.dtype)

    def add_at(self, table: Any, index: Any, values: Any = None, mask: Any = None) -> None:
        """``table.flat[index] += values`` (1 each if None) over the entries where ``mask`` is set (all if None),
        repeated indices adding up, in place. numpy: ``np.add.at`` in the entries' order; torch: :meth:`bincount`'s
        order-free fixed-point sums added to the table (no sync)."""
        flat = table.reshape(-1)
        if self.is_torch:
            flat += self.bincount(index.reshape(-1), None if values is None else values.reshape(-1), flat.shape[0],
                                  None if mask is None else mask.reshape(-1))  # fmt: skip
            return
        if mask is not None:
            index, values = index[mask], None if values is None else values[mask]
        np.add.at(flat, index, 1.0 if values is None else values)

    def maybe_any(self, mask: Any) -> bool:
        """Whether ``mask`` may hold a True: exactly on numpy; on torch always True (knowing would mean
        waiting for the device), so the work that follows must be right for an all-False mask too."""
        return True if self.is_torch else bool(mask.any())

    def earliest(self, x: Any) -> int | None:
        """``min(x)`` where reading it costs nothing (numpy); None on torch."""
        return None if self.is_torch else int(x.min())

    def fill_where(self, target: Any, mask: Any, draw: Callable[[int], Any]) -> Any:
        """``target`` with the rows where ``mask`` is set replaced by fresh ``draw(count)`` values.

        numpy: draws exactly as many as there are rows to fill (in place). torch: draws for every row
        and keeps the ones of ``mask`` (fixed shapes, no sync); returns a new tensor.
        """
        if self.is_torch:
            fresh = draw(int(mask.shape[0]))
            if fresh.dim() > mask.dim():
                mask = mask.reshape(*mask.shape, *([1] * (fresh.dim() - mask.dim())))
            return self.torch.where(mask, fresh, target)
        idx = np.flatnonzero(mask)
        target[idx] = draw(idx.size)
        return target

    # ----- random draws -----
    def normal(self, shape: tuple[int, ...]) -> Any:
        if self.is_torch:
            return self.torch.randn(shape, generator=self.gen, device=self.device, dtype=self.float)
        return self.rng.standard_normal(shape)

    def uniform(self, shape: tuple[int, ...]) -> Any:
        if self.is_torch:
            return self.torch.rand(shape, generator=self.gen, device=self.device, dtype=self.float)
        return self.rng.random(shape)

    def integers(self, high: int, shape: tuple[int, ...]) -> Any:
        if self.is_torch:
            return self.torch.randint(high, shape, generator=self.gen, device=self.device)
        return self.rng.integers(high, size=shape)

    def choice(self, values: Any, shape: tuple[int, ...]) -> Any:
        """Uniform draws from the 1-D array ``values`` (on this backend)."""
        return values[self.integers(int(values.shape[0]), shape)]

    def gamma(self, shape_param: Any) -> Any:
        """Gamma(``shape_param``, 1) draws, one per entry (numpy's sampler; Marsaglia-Tsang on torch).

        Marsaglia and Tsang's squeeze-free rejection method, vectorised over a fixed
        :data:`GAMMA_ROUNDS` rounds (no sync to ask whether all were accepted): each round is accepted
        with probability above 0.95 for shape >= 1, so after 8 rounds an entry is still rejected with
        probability below 4e-11; such an entry keeps the last round's proposal ``d v`` (clamped
        positive), a draw from close to the right distribution. Shape < 1 uses the boost
        ``Gamma(a) = Gamma(a + 1) * U^(1/a)``.
        """
        if not self.is_torch:
            return self.rng.gamma(shape_param)
        torch = self.torch
        alpha = torch.as_tensor(shape_param, dtype=self.float, device=self.device)
        boost = alpha < 1.0
        a = torch.where(boost, alpha + 1.0, alpha)
        d = a - 1.0 / 3.0
        c = 1.0 / torch.sqrt(9.0 * d)
        out = torch.empty_like(a)
        todo = torch.ones_like(a, dtype=torch.bool)
        for _ in range(GAMMA_ROUNDS):
            x = self.normal(tuple(a.shape))
            v = (1.0 + c * x) ** 3
            u = self.uniform(tuple(a.shape))
            ok = todo & (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * torch.log(v.clamp_min(1e-30)))
            out = torch.where(ok | todo, (d * v).clamp_min(1e-30), out)  # accepted, or the latest proposal
            todo = todo & ~ok
        u = self.uniform(tuple(a.shape))
        return torch.where(boost, out * u ** (1.0 / alpha), out)

    def beta(self, a: Any, b: Any) -> Any:
        """Beta(``a``, ``b``) draws, one per entry: ``X / (X + Y)`` with X, Y gamma draws."""
        if not self.is_torch:
            return self.rng.beta(a, b)
        x, y = self.gamma(a), self.gamma(b)
        return x / (x + y)

    def spawn(self) -> ArrayBackend:
        """A backend of the same kind and device with its own generator (an agent beside an env)."""
        twin = ArrayBackend.__new__(ArrayBackend)
        twin.__dict__.update(self.__dict__)
        twin.rng = None
        if self.is_torch:
            twin.gen = self.torch.Generator(device=self.device)
        return twin


_NUMPY = ArrayBackend("cpu")


def drawing_from(rng: np.random.Generator | ArrayBackend) -> ArrayBackend:
    """The backend whose draws come from ``rng``: an :class:`ArrayBackend` as it is, a numpy ``Generator`` as a
    numpy backend drawing from it (its stream unchanged: functions that took a Generator keep their numbers)."""
    if isinstance(rng, ArrayBackend):
        return rng
    backend = ArrayBackend("cpu")
    backend.rng = rng
    return backend
