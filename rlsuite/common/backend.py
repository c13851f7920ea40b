"""numpy or torch, one interface: the array backend of the batched envs and the agents that run on them.

``ArrayBackend("cpu")`` holds numpy arrays; ``ArrayBackend("cuda")`` (or ``"auto"``, which is torch
on the CPU where there is no GPU) holds torch tensors on that device; ``"torch:DEVICE"`` says torch
explicitly (``"torch:cpu"``: torch tensors on the CPU on every machine). Random draws come from
a numpy ``Generator`` (numpy) or a ``torch.Generator`` on the device seeded from one (torch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.common.device import to_numpy

TORCH_PREFIX = "torch:"


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

    def _dtype(self, dtype: str) -> Any:
        if dtype == "float":
            return self.float
        return getattr(self.torch, dtype) if self.is_torch else np.dtype(dtype)

    def seed(self, np_random: np.random.Generator) -> None:
        self.rng = np_random
        if self.is_torch:
            self.gen.manual_seed(int(np_random.integers(2**62)))

    def zeros(self, shape: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            return self.torch.zeros(shape, dtype=self._dtype(dtype), device=self.device)
        return np.zeros(shape, dtype=self._dtype(dtype))

    def ones(self, shape: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            return self.torch.ones(shape, dtype=self._dtype(dtype), device=self.device)
        return np.ones(shape, dtype=self._dtype(dtype))

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

    def cast_float(self, x: Any) -> Any:
        return x.to(self.float) if self.is_torch else x.astype(self.float)

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        return self.torch.where(cond, x, y) if self.is_torch else np.where(cond, x, y)

    def arange(self, n: int) -> Any:
        return self.torch.arange(n, device=self.device) if self.is_torch else np.arange(n)

    def nonzero(self, mask: Any) -> Any:
        return self.torch.nonzero(mask).flatten() if self.is_torch else np.flatnonzero(mask)

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

        Marsaglia and Tsang's squeeze-free rejection method, vectorised: every entry redraws until
        accepted (about 1.03 rounds on average for shape >= 1); shape < 1 uses the boost
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
        while bool(todo.any()):
            x = self.normal(tuple(a.shape))
            v = (1.0 + c * x) ** 3
            u = self.uniform(tuple(a.shape))
            ok = todo & (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * torch.log(v.clamp_min(1e-30)))
            out = torch.where(ok, d * v, out)
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
