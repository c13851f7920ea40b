"""Saving and loading stable-baselines3 models without pickle.

SB3's own ``.zip`` files hold a JSON ``data`` entry whose objects are cloudpickled, and ``load``
unpickles them; its replay buffers are plain pickles: a file from elsewhere can run code. rlsuite
saves its own runs as data only, in a folder written atomically (temporary name, fsync, rename):

- ``policy.safetensors``: ``policy.state_dict()`` (networks, and DQN's target network);
- ``policy.json``: what rebuilds the policy: the algorithm, the policy's name (one of SB3's three,
  looked up in the algorithm's own ``policy_aliases``), ``policy_kwargs`` as data (class names
  from allow-lists), the observation and action spaces, gamma and the counters;
- checkpoints add ``optimizer.safetensors`` + ``optimizer.json`` (the optimiser's tensors and its
  parameter groups) and, for DQN, ``replay_buffer.npz`` (numpy arrays, read with
  ``allow_pickle=False``).

Loading rebuilds the policy (or the whole algorithm, on resume) from the JSON and loads the
tensors into it; nothing is unpickled. :func:`load_pickled_zip` reads an SB3 ``.zip`` from
elsewhere and refuses unless the caller says the file is trusted.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.agents.sb3_config import CONFIGS, POLICIES, policy_kwargs_objects
from rlsuite.common.errors import ModelFolderError, UnsafeLoadError
from rlsuite.common.io import atomic_path, newest_valid, safetensors_os_errors
from rlsuite.common.memory import fits, human, npz_headers

log = logging.getLogger(__name__)

FORMAT = "rlsuite-sb3-policy"
VERSION = 1
POLICY_WEIGHTS, POLICY_JSON = "policy.safetensors", "policy.json"
OPTIMIZER_WEIGHTS, OPTIMIZER_JSON = "optimizer.safetensors", "optimizer.json"
REPLAY_BUFFER = "replay_buffer.npz"
CHECKPOINT = re.compile(r"step_(\d+)")
DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
PICKLE_HINT = (
    "an SB3 .zip unpickles objects when loaded, which can run code; rlsuite's own runs save "
    "model/policy.safetensors instead. Pass --trust_pickle only for a file you trust"
)


# ----- spaces as data -----
def space_to_json(space: Any) -> dict[str, Any]:
    """A gymnasium space as JSON data (Discrete, Box, MultiDiscrete, MultiBinary, Dict)."""
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        def bound(a: np.ndarray) -> Any:
            flat = a.reshape(-1)
            return flat[0].item() if flat.size and np.all(flat == flat[0]) else a.tolist()

        return {"type": "Box", "low": bound(space.low), "high": bound(space.high), "shape": list(space.shape),
                "dtype": np.dtype(space.dtype).name}  # fmt: skip
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_to_json(s) for k, s in space.spaces.items()}}
    raise ValueError(f"cannot save a policy for a {type(space).__name__} space")


def space_from_json(data: Mapping[str, Any]) -> Any:
    """The space :func:`space_to_json` wrote; ``ValueError`` for anything else."""
    from gymnasium import spaces

    kind = data.get("type")
    if kind == "Discrete":
        return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)))
    if kind == "Box":
        if data["dtype"] not in DTYPES:
            raise ValueError(f"unknown dtype {data['dtype']!r}")
        dtype = np.dtype(data["dtype"])
        shape = tuple(int(n) for n in data["shape"])
        low = np.broadcast_to(np.asarray(data["low"], dtype=dtype), shape)
        high = np.broadcast_to(np.asarray(data["high"], dtype=dtype), shape)
        return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(np.asarray(data["nvec"], dtype=np.int64))
    if kind == "MultiBinary":
        return spaces.MultiBinary(data["n"])
    if kind == "Dict":
        return spaces.Dict({k: space_from_json(v) for k, v in data["spaces"].items()})
    raise ValueError(f"unknown space type {kind!r}")


# ----- saving -----
def policy_meta(model: Any, algo: str, policy: str, policy_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """What ``policy.json`` holds: enough to rebuild the policy and to continue counting."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "algo": algo,
        "policy": policy,
        "policy_kwargs": policy_kwargs,
        "observation_space": space_to_json(model.observation_space),
        "action_space": space_to_json(model.action_space),
        "gamma": float(model.gamma),
        "num_timesteps": int(model.num_timesteps),
        "n_updates": int(model._n_updates),  # every SB3 algorithm has both (BaseAlgorithm)
        "episode_num": int(model._episode_num),
        "n_calls": int(getattr(model, "_n_calls", 0)),  # the off-policy ones only
    }


def save_policy(model: Any, folder: str | Path, meta: dict[str, Any], checkpoint: bool = False) -> Path:
    """Write ``folder`` atomically: the policy's tensors and ``meta``; with ``checkpoint`` also the
    optimiser and (off-policy) the replay buffer."""
    from safetensors.torch import save_file, save_model

    with safetensors_os_errors(folder), atomic_path(folder) as tmp:
        tmp.mkdir()
        save_policy_tensors(model, tmp / POLICY_WEIGHTS, save_model, save_file)
        (tmp / POLICY_JSON).write_text(json.dumps(meta, indent=2) + "\n")
        if checkpoint and getattr(model.policy, "optimizer", None) is not None:  # ARS has no optimiser
            tensors, groups = _flatten_optimizer(model.policy.optimizer.state_dict())
            save_file(tensors, str(tmp / OPTIMIZER_WEIGHTS))
            (tmp / OPTIMIZER_JSON).write_text(json.dumps(groups) + "\n")
            buffer = getattr(model, "replay_buffer", None)
            if buffer is not None:
                save_replay_buffer(buffer, tmp / REPLAY_BUFFER)
    return Path(folder)


def save_policy_tensors(model: Any, path: Path, save_model: Any, save_file: Any) -> None:
    """``policy.safetensors``. ARS's parameters are views into one flat vector (its ``load_from_vector``),
    which safetensors refuses to save as shared storage: they are saved as copies."""
    if hasattr(model, "n_delta"):  # ARS
        tensors = {name: t.detach().clone().contiguous().cpu() for name, t in model.policy.state_dict().items()}
        save_file(tensors, str(path))
    else:
        save_model(model.policy, str(path))


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    tensors: dict[str, Any] = {}
    scalars: dict[str, Any] = {}
    for param_id, entry in state["state"].items():
        for name, value in entry.items():
            if hasattr(value, "detach"):
                tensors[f"{param_id}.{name}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{param_id}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in [*tensors.items(), *data["scalars"].items()]:
        param_id, _, name = key.partition(".")
        state.setdefault(int(param_id), {})[name] = value
    return {"state": state, "param_groups": data["param_groups"]}


def save_replay_buffer(buffer: Any, path: Path) -> None:
    """The filled part of SB3's replay buffer as npz (arrays only, no pickle)."""
    size = buffer.buffer_size if buffer.full else min(buffer.pos + 1, buffer.buffer_size)
    arrays = {
        name: getattr(buffer, name)[:size]
        for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
        if isinstance(getattr(buffer, name, None), np.ndarray)
    }
    np.savez(path, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), **arrays)


def check_replay_buffer(path: Path, buffer: Any = None) -> None:
    """Read the headers of a replay-buffer ``.npz`` (nothing allocated) and refuse, in one line naming the
    file, arrays that need pickle, that claim more than this machine's memory or (given ``buffer``) that do
    not fit its arrays: a crafted header claiming 1e5 x 1e5 never reaches numpy's allocation."""
    try:
        headers = npz_headers(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelFolderError(f"{path}: not a readable npz archive ({exc}); truncated or corrupt?") from exc
    if buffer is not None and not {"pos", "full"} <= set(headers):
        raise ModelFolderError(f"{path}: not a replay buffer saved by rlsuite (no pos or full)")
    for name, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise ModelFolderError(f"{path}: {name} holds objects, which need pickle to load; refused")
        target = getattr(buffer, name, None) if buffer is not None and name not in ("pos", "full") else None
        if buffer is not None and name not in ("pos", "full") and not (
            isinstance(target, np.ndarray) and shape[1:] == target.shape[1:] and len(shape) > 0
            and shape[0] <= len(target)
        ):
            raise ModelFolderError(f"{path}: {name} does not fit this replay buffer "
                                   f"({shape} vs {target.shape if isinstance(target, np.ndarray) else None})")
    claimed = sum(int(np.prod(shape, dtype=object)) * dtype.itemsize for shape, dtype in headers.values())
    if not fits(claimed):
        raise ModelFolderError(f"{path}: its arrays claim {human(claimed)}, more than this machine's memory")


def load_replay_buffer(buffer: Any, path: Path) -> None:
    """Fill SB3's replay buffer from :func:`save_replay_buffer`'s file (same capacity and spaces); the
    headers are checked first (:func:`check_replay_buffer`)."""
    check_replay_buffer(path, buffer)
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            if name not in ("pos", "full"):
                saved = data[name]
                getattr(buffer, name)[: len(saved)] = saved
        buffer.pos = int(data["pos"])
        buffer.full = bool(data["full"])


# ----- checking and finding -----
def read_meta(folder: Path) -> dict[str, Any]:
    """``policy.json`` of a saved policy, checked; ``ModelFolderError`` naming the file otherwise."""
    path = folder / POLICY_JSON
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFolderError(f"{folder}: no {POLICY_JSON} (not a saved rlsuite SB3 policy)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFolderError(f"{path}: not an rlsuite SB3 policy (format {FORMAT!r} expected)")
    if meta.get("algo") not in CONFIGS:
        raise ModelFolderError(f"{path}: unknown algorithm {meta.get('algo')!r} (known: {', '.join(CONFIGS)})")
    if meta.get("policy") not in POLICIES:
        raise ModelFolderError(f"{path}: policy {meta.get('policy')!r} is not one of {', '.join(POLICIES)}")
    return meta


def is_valid(folder: Path) -> bool:
    """Whether a saved policy or checkpoint folder is complete and readable (a crash mid-save, a
    truncated file or a bad JSON makes it invalid)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        read_meta(folder)
        load_file(str(folder / POLICY_WEIGHTS))
        if (folder / OPTIMIZER_JSON).exists() or (folder / OPTIMIZER_WEIGHTS).exists():
            load_file(str(folder / OPTIMIZER_WEIGHTS))
            read_optimizer_json(folder)
        if (folder / REPLAY_BUFFER).exists():
            check_replay_buffer(folder / REPLAY_BUFFER)
            with np.load(folder / REPLAY_BUFFER, allow_pickle=False) as data:
                for name in data.files:
                    data[name]
    except (ModelFolderError, SafetensorError, OSError, ValueError, EOFError):
        return False
    return True


def read_optimizer_json(folder: Path) -> dict[str, Any]:
    """``optimizer.json`` of a checkpoint, checked for the keys :func:`restore` reads."""
    path = folder / OPTIMIZER_JSON
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{path}: not valid JSON ({exc})") from None
    if not (isinstance(data, dict) and isinstance(data.get("param_groups"), list)
            and isinstance(data.get("scalars"), dict)):  # fmt: skip
        raise ModelFolderError(f"{path}: not an optimiser state (needs param_groups and scalars)")
    return data


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """``(steps, folder)`` of the run's checkpoints (``checkpoints/step_<steps>/``), oldest first."""
    found = []
    for path in (Path(run_dir) / "checkpoints").glob("step_*"):
        match = CHECKPOINT.fullmatch(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def newest_checkpoint(run_dir: Path) -> tuple[tuple[int, Path] | None, list[Path]]:
    """The newest valid checkpoint, and the newer ones skipped as incomplete or corrupt."""
    return newest_valid(checkpoints(run_dir), is_valid)


def prune_replay_buffers(run_dir: Path, keep: int = 2) -> None:
    """Keep the replay buffer in the newest ``keep`` checkpoints only (they are the large part)."""
    for _, folder in checkpoints(run_dir)[:-keep]:
        (folder / REPLAY_BUFFER).unlink(missing_ok=True)


# ----- loading -----
@dataclass
class SavedPolicy:
    """A policy rebuilt from a saved folder, with SB3's ``predict`` interface."""

    policy: Any
    algo: str
    gamma: float
    num_timesteps: int
    meta: dict[str, Any]

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, Any]:
        return self.policy.predict(observation, state, episode_start, deterministic)


def _policy_class(algo: str, name: str) -> Any:
    import importlib

    cls = CONFIGS[algo]
    return getattr(importlib.import_module(cls.sb3_module), cls.sb3_class).policy_aliases[cls.sb3_policy(name)]


def build_policy(cls: Any, observation_space: Any, action_space: Any, policy_kwargs: dict[str, Any]) -> Any:
    """A policy object of ``cls``: SB3's take a learning-rate schedule (unused here), ARS's do not."""
    import inspect

    if "lr_schedule" in inspect.signature(cls.__init__).parameters:
        return cls(observation_space, action_space, lambda _: 0.0, **policy_kwargs)
    return cls(observation_space, action_space, **policy_kwargs)


def restore_contrib(model: Any) -> None:
    """After a checkpoint's tensors are loaded: what sb3-contrib keeps beside the policy. ARS searches
    around ``model.weights``, a flat vector of the policy's parameters (on the CPU the parameters are
    views into it, so loading them fills it too; on a GPU they are a copy, refreshed here);
    RecurrentPPO's LSTM states start again from zeros with the fresh envs of the resumed part (they
    are not saved)."""
    if hasattr(model, "weights") and hasattr(model, "n_delta"):  # ARS
        import torch

        model.weights = torch.nn.utils.parameters_to_vector(model.policy.parameters()).detach().clone()


def load_policy(folder: str | Path, device: Any = "cpu") -> SavedPolicy:
    """Rebuild a saved policy from ``policy.json`` and load ``policy.safetensors`` into it (no pickle).

    Raises:
        ModelFolderError: the folder is not a saved policy, or its files are incomplete or corrupt.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    folder = Path(folder)
    meta = read_meta(folder)
    where = folder / POLICY_JSON
    try:
        observation_space = space_from_json(meta["observation_space"])
        action_space = space_from_json(meta["action_space"])
        policy_kwargs = policy_kwargs_objects(meta.get("policy_kwargs")) or {}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFolderError(f"{where}: cannot rebuild the policy ({type(exc).__name__}: {exc})") from None
    cls = _policy_class(meta["algo"], meta["policy"])
    try:
        policy = build_policy(cls, observation_space, action_space, policy_kwargs)
    except (TypeError, ValueError, AssertionError) as exc:  # the file's arguments do not build this policy
        raise ModelFolderError(f"{where}: cannot rebuild {meta['policy']} ({type(exc).__name__}: {exc})") from None
    try:
        load_model(policy, str(folder / POLICY_WEIGHTS), strict=True, device=str(device))
    except FileNotFoundError:
        raise ModelFolderError(f"{folder}: no {POLICY_WEIGHTS}") from None
    except (SafetensorError, OSError) as exc:
        raise ModelFolderError(f"{folder / POLICY_WEIGHTS}: unreadable ({exc})") from None
    except RuntimeError as exc:  # the tensors do not fit the rebuilt policy
        raise ModelFolderError(f"{folder / POLICY_WEIGHTS}: does not match {where} ({' '.join(str(exc).split())[:200]})") from None  # noqa: E501
    policy.to(device)
    policy.set_training_mode(False)
    return SavedPolicy(policy, meta["algo"], float(meta["gamma"]), int(meta["num_timesteps"]), meta)


def restore(model: Any, folder: Path) -> dict[str, Any]:
    """Load a checkpoint into a freshly built algorithm of the same config: policy, optimiser,
    counters and (if saved) the replay buffer. Returns the checkpoint's ``policy.json``."""
    from safetensors.torch import load_file, load_model

    meta = read_meta(folder)
    if hasattr(model, "n_delta"):  # ARS: parameters that share one vector's storage (see save_policy_tensors)
        model.policy.load_state_dict(load_file(str(folder / POLICY_WEIGHTS), device=str(model.device)), strict=True)
    else:
        load_model(model.policy, str(folder / POLICY_WEIGHTS), strict=True, device=str(model.device))
    if getattr(model.policy, "optimizer", None) is not None:
        # on the CPU: torch's load_state_dict moves moments to each parameter's device and keeps Adam's
        # ``step`` counters on the CPU, where torch keeps them (on the GPU, every step would read them back)
        tensors = load_file(str(folder / OPTIMIZER_WEIGHTS), device="cpu")
        groups = read_optimizer_json(folder)
        model.policy.optimizer.load_state_dict(_unflatten_optimizer(tensors, groups))
    restore_contrib(model)
    model.num_timesteps = int(meta["num_timesteps"])
    model._n_updates = int(meta["n_updates"])
    model._episode_num = int(meta["episode_num"])
    if hasattr(model, "_n_calls"):
        model._n_calls = int(meta["n_calls"])
    buffer = getattr(model, "replay_buffer", None)
    if buffer is not None:
        if (folder / REPLAY_BUFFER).is_file():
            load_replay_buffer(buffer, folder / REPLAY_BUFFER)
        else:
            log.warning("%s has no replay buffer: DQN continues with an empty one", folder)
    return meta


def load_pickled_zip(path: Path, algo: str, device: Any, trust_pickle: bool) -> Any:
    """An SB3 ``.zip`` saved elsewhere (or by an older rlsuite): only with ``trust_pickle``."""
    if not trust_pickle:
        raise UnsafeLoadError(f"{path}: {PICKLE_HINT}")
    import stable_baselines3

    log.warning("%s: unpickling an SB3 .zip because --trust_pickle was given", path)
    return getattr(stable_baselines3, CONFIGS[algo].sb3_class).load(path, device=device)
