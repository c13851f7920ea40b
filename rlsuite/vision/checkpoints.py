"""Checkpoints of ``train-vlm-policy``, and continuing an interrupted run from the newest one (``--resume``).

A checkpoint is a folder ``checkpoints/step_<k>`` of the run's folder, where ``k`` counts the
updates done (behaviour-cloning steps, then ``bc_steps`` + PPO updates). It is written under a
temporary name, flushed and renamed (:func:`~rlsuite.common.io.atomic_path`), so a run killed at
any moment leaves whole checkpoints only; older ones are removed once a newer one is in place. It holds:

- ``weights.safetensors``: the parameters that train (LoRA adapters, or every weight of a full
  fine-tuning) and the value head, by parameter name;
- ``optimizer.safetensors`` + ``optimizer.json``: each optimiser's tensors and its parameter groups
  and scalars (the layout :mod:`rlsuite.agents.sb3_io` uses for SB3 runs: no pickle);
- ``state.safetensors``: torch's CPU and CUDA generator states, numpy's global state, and the
  stage's tensors (cloning losses so far; the PPO rollouts' actions, replayed in the envs to put
  them back in the same states);
- ``state.json`` (written last): the stage and its step, the run's report so far, the settings'
  key, the numpy generators' and ``random``'s states and the stage's numbers (scheduler, history).

Resuming rebuilds the run from its settings (the same model, the same cloning set), loads the
newest valid checkpoint into it and continues to the same budget; on the CPU the result equals an
uninterrupted run's exactly (tests/vision/test_vlm_resume.py).
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlsuite.common.config import Config, option
from rlsuite.common.errors import OutputDirError

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
WEIGHTS, OPTIMIZER_WEIGHTS, OPTIMIZER_JSON = "weights.safetensors", "optimizer.safetensors", "optimizer.json"
STATE_TENSORS, STATE_JSON = "state.safetensors", "state.json"


@dataclass
class VLMCheckpointOptions(Config):
    """How often ``train-vlm-policy`` saves a checkpoint, and whether to continue from one (not in the run's key)."""

    resume: bool = option(False, help="continue an interrupted run in --out from its newest checkpoint (same settings)")
    bc_checkpoint_every: int = option(100, help="behaviour-cloning steps between checkpoints (0: none)", ge=0)
    checkpoint_every: int = option(5, help="PPO updates between checkpoints (0: none)", ge=0)
    keep_checkpoints: int = option(1, help="newest checkpoints kept while the run goes on (removed when it ends)",
                                   ge=1)  # fmt: skip


@dataclass
class Checkpoint:
    """A loaded checkpoint: where it is, its stage (``"bc"`` or ``"ppo"``), that stage's step, and its contents."""

    path: Path
    stage: str
    step: int
    state: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    weights: dict[str, torch.Tensor] = field(repr=False)

    def restore_optimizer(self, name: str, optimizer: torch.optim.Optimizer) -> None:
        """Load the optimiser ``name`` saved here (its tensors on the CPU; torch moves moments to the parameters)."""
        from safetensors.torch import load_file

        from rlsuite.agents.sb3_io import _unflatten_optimizer

        groups = json.loads((self.path / OPTIMIZER_JSON).read_text())[name]
        for group in groups["param_groups"]:  # JSON made the tuples lists
            group.update({k: tuple(v) for k, v in group.items() if k != "params" and isinstance(v, list)})
        prefix = f"{name}/"
        tensors = {k[len(prefix) :]: v for k, v in load_file(str(self.path / OPTIMIZER_WEIGHTS)).items()
                   if k.startswith(prefix)}  # fmt: skip
        optimizer.load_state_dict(_unflatten_optimizer(tensors, groups))

    def restore_rng(self, generators: dict[str, np.random.Generator], device: torch.device) -> None:
        """Put torch's, numpy's and ``random``'s generators, and ``generators`` (by name), back as saved."""
        rng = self.state["rng"]
        for name, gen in generators.items():
            gen.bit_generator.state = rng["numpy"][name]
        version, internal, gauss = rng["python"]
        random.setstate((version, tuple(internal), gauss))
        name, pos, has_gauss, cached = rng["numpy_global"]
        np.random.set_state((name, self.tensors["rng/numpy_global"].numpy().astype(np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(self.tensors["rng/torch"])
        if device.type == "cuda" and "rng/cuda" in self.tensors:
            torch.cuda.set_rng_state(self.tensors["rng/cuda"], device)


def trainable_state(policy: torch.nn.Module) -> dict[str, torch.Tensor]:
    """CPU copies of the parameters that train (adapters or all weights, and the value head), by name."""
    return {n: p.detach().contiguous().cpu() for n, p in policy.named_parameters() if p.requires_grad}


def load_trainable_state(policy: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Copy saved trainable parameters into ``policy``; a missing or extra name is an error."""
    params = {n: p for n, p in policy.named_parameters() if p.requires_grad}
    if set(params) != set(weights):
        missing, extra = sorted(set(params) - set(weights)), sorted(set(weights) - set(params))
        raise OutputDirError(f"checkpoint does not fit the model (missing {missing[:3]}, unexpected {extra[:3]})")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(weights[name])


def _rng_state(
    generators: dict[str, np.random.Generator], device: torch.device
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "numpy": {k: g.bit_generator.state for k, g in generators.items()},
        "python": [version, list(internal), gauss],
        "numpy_global": [name, int(pos), int(has_gauss), float(cached)],
    }
    tensors = {"rng/torch": torch.get_rng_state(), "rng/numpy_global": torch.from_numpy(keys.astype(np.int64))}
    if device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(device)
    return state, tensors


class Checkpointer:
    """Writes a run's checkpoints into ``folder/checkpoints`` and finds the newest one to resume from.

    Args:
        folder: the run's folder (None: no checkpoints, and nothing to resume).
        options: how often, how many kept, and whether this run resumes.
        key: the settings' key; a checkpoint of other settings is refused on resume.
    """

    def __init__(self, folder: str | Path | None, options: VLMCheckpointOptions | None = None, key: str = "") -> None:
        self.folder = None if folder is None else Path(folder) / CHECKPOINTS
        self.options = options or VLMCheckpointOptions()
        self.key = key
        self.report: dict[str, Any] = {}  # the run's report so far: saved with every checkpoint
        self.bc_steps = 0  # the global update count of PPO update u is bc_steps + u

    def due(self, stage: str, step: int, last: int) -> bool:
        """Whether step ``step`` of ``stage`` (of ``last``) ends with a checkpoint."""
        every = self.options.bc_checkpoint_every if stage == "bc" else self.options.checkpoint_every
        return self.folder is not None and every > 0 and (step % every == 0 or step == last)

    def save(
        self,
        stage: str,
        step: int,
        policy: torch.nn.Module,
        optimizers: dict[str, torch.optim.Optimizer],
        generators: dict[str, np.random.Generator],
        state: dict[str, Any],
        tensors: dict[str, torch.Tensor],
    ) -> Path:
        """Write ``checkpoints/step_<k>`` atomically (``state.json`` last), then drop the older ones."""
        from safetensors.torch import save_file

        from rlsuite.agents.sb3_io import _flatten_optimizer
        from rlsuite.common.io import atomic_path

        assert self.folder is not None
        device = next(policy.parameters()).device
        rng, rng_tensors = _rng_state(generators, device)
        opt_tensors, opt_json = {}, {}
        for name, opt in optimizers.items():
            flat, opt_json[name] = _flatten_optimizer(opt.state_dict())
            opt_tensors.update({f"{name}/{k}": v for k, v in flat.items()})
        count = step if stage == "bc" else self.bc_steps + step
        path = self.folder / f"step_{count:07d}"
        with atomic_path(path) as tmp:
            tmp.mkdir()
            save_file(trainable_state(policy), str(tmp / WEIGHTS))
            save_file(opt_tensors, str(tmp / OPTIMIZER_WEIGHTS))
            (tmp / OPTIMIZER_JSON).write_text(json.dumps(opt_json) + "\n")
            cpu = {k: v.detach().contiguous().cpu() for k, v in {**rng_tensors, **tensors}.items()}
            save_file(cpu, str(tmp / STATE_TENSORS))
            info = {"stage": stage, "step": step, "key": self.key, "report": self.report, "rng": rng, **state}
            (tmp / STATE_JSON).write_text(json.dumps(info, default=_json_default) + "\n")
        for old in self._candidates()[: -self.options.keep_checkpoints]:
            shutil.rmtree(old[1], ignore_errors=True)
        log.debug("checkpoint %s", path)
        return path

    def _candidates(self) -> list[tuple[int, Path]]:
        if self.folder is None or not self.folder.is_dir():
            return []
        found = [(int(p.name[5:]), p) for p in self.folder.glob("step_*") if p.name[5:].isdigit()]
        return sorted(found)

    def check(self) -> tuple[Path, dict[str, Any]] | None:
        """The newest whole checkpoint's folder and ``state.json`` (None: none yet), without its tensors;
        one of other settings is an ``OutputDirError`` naming it (called before a resumed run opens its folder)."""
        from rlsuite.common.io import newest_valid

        found, _ = newest_valid(self._candidates(), _is_whole)
        if found is None:
            return None
        path = found[1]
        state = json.loads((path / STATE_JSON).read_text())
        if self.key and state.get("key") != self.key:
            raise OutputDirError(
                f"{path}: a checkpoint of other settings (key {state.get('key')}, these {self.key}); "
                "--resume continues a run with the settings it started with (or pass --overwrite)"
            )
        return path, state

    def latest(self) -> Checkpoint | None:
        """The newest whole checkpoint, loaded (None: none yet); temporaries of a killed save are removed."""
        from safetensors.torch import load_file

        if self.folder is not None and self.folder.is_dir():
            for tmp in self.folder.glob(".step_*"):
                shutil.rmtree(tmp, ignore_errors=True)
        found = self.check()
        if found is None:
            return None
        path, state = found
        return Checkpoint(path, state["stage"], int(state["step"]), state, load_file(str(path / STATE_TENSORS)),
                          load_file(str(path / WEIGHTS)))  # fmt: skip


def _is_whole(path: Path) -> bool:
    names = (WEIGHTS, OPTIMIZER_WEIGHTS, OPTIMIZER_JSON, STATE_TENSORS, STATE_JSON)
    if not all((path / n).is_file() for n in names):
        return False
    try:
        json.loads((path / STATE_JSON).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return False
    return True


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer | np.floating | np.bool_):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
