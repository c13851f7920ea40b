"""The contract every tabular and bandit agent meets, and what they share (history, saving, policies).

An agent is a class built from an env and a typed config (``Agent(env, config)``; SB3's
``BaseAlgorithm``, smaller). Nothing outside an agent branches on its class: the application
reads the class attributes below to make the env, check the budget and choose the device.

=====================  ===============================================================================
``name``               the algorithm's name; defining it registers the class in :data:`AGENTS`
``config_cls``         its config, a :class:`~rlsuite.common.config.Config` dataclass of ``option`` fields
``budget_unit``        what the budget counts: ``"iterations"``, ``"episodes"`` or ``"steps"``
``default_budget``     the budget when none is given
``env_kind``           ``"single"``: built from ``gym.make(id)``; ``"vector"``: from ``gym.make_vec(id,
                       num_envs=runs, vectorization_mode="vector_entry_point", device=...)``, one
                       independent run per copy (the bandit agents)
``default_env``        the env id used when none is given
``uses_device``        whether it can compute in torch on a device: single-env agents take
                       ``device=`` in their constructor, vector agents follow their env's device
=====================  ===============================================================================

and the methods: ``check_config`` / ``check_budget`` (classmethods, one-line
:class:`~rlsuite.common.errors.ConfigError`), ``learn(budget, seed) -> History``,
``predict(obs, state=None, deterministic=True)`` (SB3's signature), ``arrays`` / ``set_arrays``
(the learned tables), ``save(path)`` / ``Agent.load(path)`` (``PATH.npz`` with no pickle +
``PATH.json``), ``make_env`` and ``env_copies`` (how many env copies ``learn`` steps at once).
Library code reports progress through :mod:`rlsuite.common.progress` and logs with :mod:`logging`;
it never prints.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import zipfile
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from rlsuite.common.backend import ArrayBackend
from rlsuite.common.config import Config, from_dict
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import ConfigError, ModelFolderError
from rlsuite.common.io import atomic_path, read_json, write_json
from rlsuite.common.memory import fits, human, npz_nbytes
from rlsuite.envs.checks import env_id_from_file

# name -> agent class; filled by the subclasses that define ``name`` (see Agent.__init_subclass__).
AGENTS: dict[str, type[Agent]] = {}

# keys gym.make_vec adds to a vector env's spec kwargs: not the env's own arguments.
VECTOR_KEYS = ("max_episode_steps", "num_envs", "vectorization_mode", "vector_kwargs", "wrappers", "device")


class History:
    """A learning history: one row per iteration / batch, named numeric columns."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def log(self, **row: float) -> None:
        self.rows.append({k: float(v) for k, v in row.items()})

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows if name in r])

    @property
    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for r in self.rows:
            names.update(dict.fromkeys(r))
        return list(names)

    def last(self) -> dict[str, float]:
        return dict(self.rows[-1]) if self.rows else {}

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the rows as CSV, atomically."""
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(self.rows)
        return Path(path)


def redefault(config_cls: type, name: str, default: Any) -> Any:
    """Field ``name`` of ``config_cls`` with another default, keeping its help text and bounds.

    A family's configs share one base; a member that needs another default writes
    ``num_envs: int = redefault(Base, "num_envs", 2000)`` instead of declaring the field again.
    """
    f = config_cls.__dataclass_fields__[name]  # type: ignore[attr-defined]
    return dataclasses.field(default=default, metadata=f.metadata)


class Agent:
    """The contract of rlsuite's tabular and bandit agents (see the module docstring).

    Subclasses set the class attributes, keep their env in ``self.env`` and their config in
    ``self.config``, and implement ``learn``, ``predict``, ``arrays`` and ``set_arrays``; saving
    and loading come from here.
    """

    name: ClassVar[str]
    config_cls: ClassVar[type[Config]]
    budget_unit: ClassVar[str] = "steps"
    default_budget: ClassVar[int] = 1000
    env_kind: ClassVar[Literal["single", "vector"]] = "single"
    default_env: ClassVar[str] = "rlsuite/GridWorld-v0"
    uses_device: ClassVar[bool] = False

    env: Any
    config: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a concrete algorithm (bases leave ``name`` unset)
            AGENTS[cls.name] = cls

    # ----- checks -----
    @classmethod
    def check_config(cls, config: Any) -> Any:
        """``config`` if it is a ``config_cls``, the defaults if None; else a ``ConfigError``."""
        if config is None:
            return cls.config_cls()
        if not isinstance(config, cls.config_cls):
            raise ConfigError(
                f"{cls.__name__}: config must be a {cls.config_cls.__name__}, got {type(config).__name__}",
                "config",
                config,
            )
        return config

    @classmethod
    def check_budget(cls, budget: Any) -> int:
        """The budget as a positive int (``default_budget`` when None); else a ``ConfigError`` naming it."""
        budget = cls.default_budget if budget is None else budget
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
            raise ConfigError(
                f"{cls.__name__}: budget must be a positive integer ({cls.budget_unit}), got {budget!r}",
                "budget",
                budget,
            )
        return int(budget)

    # ----- how the agent's env is made and where it computes -----
    @classmethod
    def make_env(cls, env_id: str, env_kwargs: dict[str, Any] | None = None, *, runs: int = 1,
                 device: str = "cpu") -> Any:  # fmt: skip
        """The env this agent learns on: ``gym.make`` (``env_kind="single"``) or a batched vector env
        of ``runs`` copies on ``device`` (``"vector"``). Bad ids and kwargs raise gymnasium's errors
        or the env's ``ValueError``/``TypeError``."""
        import gymnasium as gym

        import rlsuite.envs  # noqa: F401  (registers the ids)

        kwargs = dict(env_kwargs or {})
        if cls.env_kind == "vector":
            return gym.make_vec(env_id, num_envs=runs, vectorization_mode="vector_entry_point", device=device,
                                **kwargs)  # fmt: skip
        return gym.make(env_id, **kwargs)

    @classmethod
    def env_copies(cls, config: Any, env: Any) -> int:
        """How many env copies ``learn`` steps at once with ``config`` on ``env`` (the batch a GPU would
        get: ``--device auto`` chooses by it): ``config.num_envs``, else the env's ``num_envs``, else 1."""
        return int(getattr(config, "num_envs", getattr(env, "num_envs", 1)))

    # ----- learning and acting -----
    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        """Learn for ``budget`` (in ``budget_unit``; ``default_budget`` when None); return the history."""
        raise NotImplementedError

    def predict(self, obs: Any = None, state: Any = None, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Actions for ``obs`` (SB3's signature): the greedy ones, or sampled from the policy."""
        raise NotImplementedError

    # ----- save / load -----
    def arrays(self) -> dict[str, Any]:
        """The learned tables (numpy or torch; :meth:`save` copies them to the host)."""
        raise NotImplementedError

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`arrays` returned (host numpy arrays)."""
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        """What ``PATH.json`` holds: algorithm, class, config, env id and kwargs (and runs for vector agents)."""
        vector = self.env_kind == "vector"
        meta = agent_meta(self, self.env, drop_env_kwargs=VECTOR_KEYS if vector else ())
        if vector:
            meta["runs"] = int(self.env.num_envs)
        return meta

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``PATH.npz`` (the tables, no pickle) and ``PATH.json`` (:meth:`meta`), atomically."""
        arrays = {name: np.asarray(to_numpy(x)) for name, x in self.arrays().items()}
        return write_agent_files(path, arrays, self.meta())

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], env: Any = None, device: str = "cpu", trust_env_module: bool = False
    ) -> Any:
        """Rebuild an agent saved by :meth:`save`.

        The env is re-made from the saved id and kwargs (``runs`` copies on ``device`` for vector
        agents) unless given. The algorithm's class must be registered (imported): load through
        ``rlsuite.agents.tabular``, which imports them all. The saved env id is data: one that names a
        module to import (``"pkg:ns/Id-v0"``) is refused unless ``trust_env_module``.

        Raises:
            ModelFolderError: a missing, truncated or corrupt file, or one of another algorithm (named).
            ConfigError: a saved config that no longer checks (names the file and the field).
        """
        meta, meta_file, arrays = read_agent_files(path)
        algo = meta.get("algo")
        klass = AGENTS.get(algo) if isinstance(algo, str) else None
        if klass is None:
            raise ModelFolderError(f"{meta_file}: unknown algorithm {algo!r} (known: {', '.join(sorted(AGENTS))})")
        if not issubclass(klass, cls):
            raise ModelFolderError(f"{meta_file}: holds a {klass.__name__}, not a {cls.__name__}")
        saved = dict(meta.get("config") or {})
        if "device" in saved and "device" not in {f.name for f in dataclasses.fields(klass.config_cls)}:
            saved.pop("device")  # written before the device left the MC/TD configs for the constructor
        config = from_dict(klass.config_cls, saved, where=str(meta_file))
        if env is None:
            if not meta.get("env_id"):
                raise ModelFolderError(f"{meta_file}: the env was built by hand; pass env= to load()")
            env_id = env_id_from_file(meta["env_id"], str(meta_file), trust_env_module)
            runs = int(meta.get("runs", meta.get("num_runs", 1)))
            env = klass.make_env(env_id, meta.get("env_kwargs") or {}, runs=runs, device=device)
        agent = klass(env, config)
        try:
            agent.set_arrays(arrays)
        except (KeyError, ValueError, IndexError) as exc:
            npz = Path(path).with_name(Path(path).name + ".npz")
            raise ModelFolderError(f"{npz}: does not hold the tables of a {klass.__name__} ({exc})") from exc
        return agent


def agent_meta(agent: Any, env: Any, drop_env_kwargs: tuple[str, ...] = ()) -> dict[str, Any]:
    """What ``PATH.json`` of a saved agent holds: algorithm, class, config and the env's id and kwargs."""
    env_id, env_kwargs = env_spec_of(env)
    for key in drop_env_kwargs:
        env_kwargs.pop(key, None)
    return {
        "algo": agent.name,
        "class": type(agent).__name__,
        "config": dataclasses.asdict(agent.config),
        "env_id": env_id,
        "env_kwargs": env_kwargs,
    }


def env_spec_of(env: Any) -> tuple[str | None, dict[str, Any]]:
    """The registered id and kwargs of an env or vector env (``None`` when it was built by hand)."""
    spec = getattr(env, "spec", None)
    if spec is None:
        return None, {}
    return spec.id, dict(spec.kwargs or {})


def write_agent_files(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> tuple[Path, Path]:
    """Write an agent as ``PATH.npz`` (its arrays) and ``PATH.json`` (``meta``), atomically; no pickle."""
    base = Path(path)
    npz = base.with_name(base.name + ".npz")
    with atomic_path(npz) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return npz, write_json(base.with_name(base.name + ".json"), meta)


def read_agent_files(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Path, dict[str, np.ndarray]]:
    """Read what :func:`write_agent_files` wrote: ``(meta, meta_file, arrays)``.

    Raises:
        ModelFolderError: a missing, truncated or corrupt ``PATH.npz`` / ``PATH.json`` (named), or
            an npz that would need pickle to load.
    """
    base = Path(path)
    meta_file, npz = base.with_name(base.name + ".json"), base.with_name(base.name + ".npz")
    for f in (meta_file, npz):
        if not f.is_file():
            raise ModelFolderError(f"{f}: missing (a saved agent is {npz.name} + {meta_file.name})")
    meta = read_json(meta_file)
    try:
        claimed = npz_nbytes(npz)  # the headers, before any array is allocated
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelFolderError(f"{npz}: not a readable npz archive ({exc}); truncated or corrupt?") from exc
    if not fits(claimed):
        raise ModelFolderError(f"{npz}: its arrays claim {human(claimed)}, more than this machine's memory")
    try:
        with open(npz, "rb") as f, np.load(f, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ModelFolderError(f"{npz}: not a readable npz archive ({exc}); truncated or corrupt?") from exc
    except ValueError as exc:  # an object array: loading it would unpickle
        raise ModelFolderError(f"{npz}: holds data that needs pickle to load; refused ({exc})") from exc
    return meta, meta_file, arrays


def greedy_optimal_fraction(q: np.ndarray, q_star: np.ndarray, tol: float = 1e-6) -> float:
    """Fraction of states whose greedy action under ``q`` is an optimal action under ``q_star``."""
    greedy = q.argmax(axis=1)
    rows = np.arange(q.shape[0])
    return float(np.mean(q_star[rows, greedy] >= q_star.max(axis=1) - tol))


def epsilon_greedy(q: Any, epsilon: float) -> Any:
    """The epsilon-greedy policy [S, A] of ``q`` (ties broken toward the first action, as argmax).

    ``q`` may be a numpy array or a torch tensor on any device; the policy comes back as the same.
    """
    backend = ArrayBackend.of(q)
    n_states, n_actions = q.shape
    pi = backend.full(q.shape, epsilon / n_actions, like=q)
    pi[backend.arange(n_states), q.argmax(1)] += 1.0 - epsilon
    return pi


def sample_actions(pi: Any, states: Any, backend: ArrayBackend) -> Any:
    """One action per state from the policy rows ``pi[states]`` (inverse-CDF sampling, batched).

    ``pi`` and ``states`` live on ``backend`` (numpy, or torch on a device), which draws the uniforms.
    """
    cdf = backend.cumsum(pi[states, ...])
    u = backend.uniform((int(states.shape[0]),))[:, None] * cdf[:, -1:]
    return (u >= cdf).sum(1).clip(max=pi.shape[1] - 1)


def numpy_backend(seed: int | None = None) -> ArrayBackend:
    """A numpy :class:`ArrayBackend` drawing from ``np.random.default_rng(seed)``."""
    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(seed))
    return backend


