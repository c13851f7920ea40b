"""The vision layer's defaults, trained locally once and kept in a folder keyed by their config.

- :func:`default_detector`: the grid detector (``rlsuite vision train-detector``), with its AP50 and
  DetectionPolicy's success rate;
- :func:`default_clip_reward`: the tiny CLIP goal-baseline reward (``train-reward``), with its rank
  correlation with the distance to the goal;
- :func:`default_vlm_policy`: the tiny Llava policy after behaviour cloning and PPO
  (``train-vlm-policy``), with its success before and after.

Each trains from its config, measures the result and writes the folder: ``model.safetensors`` and
the model's JSON files, ``metrics.json``, and ``finished.json`` last, naming the config's key. The
folder is ``out`` when given, else ``$RLSUITE_CACHE/vision/<name>/<key>``, where the key is a hash
of the config without the fields that only say where it runs (``device``, ``threads``): the same
config finds its finished folder again and loads it (on the config's device); another config
(a new budget, seed, ...) trains anew. Every file is written under a temporary name and renamed,
the folder is locked while it is written (a second writer is refused with the holder's pid), and
a folder whose ``finished.json`` is missing (a crash) is not reused. A finished ``out`` folder of
another config is refused unless ``overwrite``. Nothing is downloaded; nothing is unpickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlsuite.common.config import Config
from rlsuite.common.errors import ModelFolderError, OutputDirError
from rlsuite.common.io import FINISHED, LOCK, OutputDir, safetensors_os_errors, write_json
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.checkpoints import CHECKPOINTS, Checkpointer, VLMCheckpointOptions
from rlsuite.vision.contrastive import ContrastiveTrainConfig
from rlsuite.vision.detection import DetectorTrainConfig
from rlsuite.vision.finetune import VLMTrainConfig
from rlsuite.vision.reasoning import ReasoningConfig

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when training or measuring changes what a config produces
WHERE_FIELDS = ("device", "threads")  # say where a config runs, not what it trains: not in the key
DETECTOR_NAME = "grid-detector"
CLIP_NAME = "clip-reward"
VLM_POLICY_NAME = "vlm-policy"
METRICS = "metrics.json"


@dataclass
class Trained:
    """A default model, its measured quality, its folder, and whether it was trained earlier (reused)."""

    model: Any
    metrics: dict[str, Any]
    folder: Path
    reused: bool
    device: Any = None  # the torch device it was resolved to, trained or loaded on


def config_key(config: Config, extra: tuple[Config, ...] = ()) -> str:
    """A short hash of what ``config`` trains (its fields but ``device`` and ``threads``, the cache version).

    ``extra`` configs (the model options of ``train-vlm-policy``) join the hash only where they differ
    from their defaults, so a default run keeps the key it had before they existed.
    """
    fields = {k: v for k, v in config.to_dict().items() if k not in WHERE_FIELDS}
    more = {type(c).__name__: c.to_dict() for c in extra if c.to_dict() != type(c)().to_dict()}
    if more:
        fields["extra"] = more
    blob = json.dumps({"version": CACHE_VERSION, "type": type(config).__name__, "config": fields}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_folder(name: str, config: Config, extra: tuple[Config, ...] = ()) -> Path:
    """Where the default ``name`` trained with ``config`` is kept: ``$RLSUITE_CACHE/vision/<name>/<key>``."""
    from rlsuite.common.paths import cache_dir

    return cache_dir("vision", name) / config_key(config, extra)


def finished_key(folder: Path) -> str | None:
    """The config key a finished folder was trained with (None when unfinished or unreadable)."""
    try:
        info = json.loads((folder / FINISHED).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return info.get("config_key") if isinstance(info, dict) else None


def _obtain(
    name: str,
    config: Config,
    out: str | os.PathLike[str] | None,
    overwrite: bool,
    train: Callable[[torch.device], tuple[Any, dict[str, Any]]],
    save: Callable[[Any, Path], None],
    load: Callable[[Path, torch.device], Any],
    on_open: Callable[[Path], None] | None,
    extra: tuple[Config, ...] = (),
    resume: bool = False,
) -> Trained:
    """Load ``name``'s finished model of ``config`` or train it; ``config.device`` is resolved here, once
    (an unusable device fails before anything is written), and handed to ``train`` and ``load``.
    With ``resume`` an unfinished folder of the same settings is kept (``train`` continues it from its
    ``checkpoints/``, removed once the folder is finished)."""
    from rlsuite.common.device import select_device

    device = select_device(getattr(config, "device", "auto"))
    key = config_key(config, extra)
    explicit = out is not None
    folder = Path(out) if explicit else cache_folder(name, config, extra)
    if not overwrite and finished_key(folder) == key and (folder / METRICS).is_file():
        try:
            metrics = json.loads((folder / METRICS).read_text())
            model = load(folder, device)
        except json.JSONDecodeError as exc:
            raise ModelFolderError(f"{folder}: {METRICS} is not valid JSON; pass --overwrite to train again") from exc
        except ModelFolderError as exc:
            raise ModelFolderError(f"{exc}; pass --overwrite to train again") from exc
        log.info("%s: reusing the model trained earlier with this config in %s", name, folder)
        return Trained(model, metrics, folder, True, device)
    if resume and not overwrite and (folder / FINISHED).is_file():  # a finished run of other settings
        raise OutputDirError(f"{folder}: holds a finished run of other settings; --resume continues an unfinished "
                             "one (pass --overwrite to replace it, or use another folder)")  # fmt: skip
    if explicit and not overwrite and not resume and folder.is_dir() and not (folder / FINISHED).exists():
        leftovers = [p.name for p in folder.iterdir() if p.name != LOCK]
        if leftovers:
            raise OutputDirError(
                f"{folder}: holds files but no finished model ({', '.join(sorted(leftovers)[:3])}...); "
                + ("pass --resume to continue it, --overwrite to replace them, " if (folder / CHECKPOINTS).is_dir()
                   else "pass --overwrite to replace them, ") + "or use another folder"
            )  # fmt: skip
    # The cache's folder is keyed by the config: what it holds unfinished is a crashed earlier try.
    with OutputDir(folder, overwrite=overwrite or not (explicit or resume), resume=resume) as od:
        if on_open is not None:
            on_open(folder)
        model, metrics = train(device)
        save_files(folder, lambda tmp: save(model, tmp))
        write_json(folder / METRICS, metrics)
        od.finish({"model": name, "config_key": key})
        shutil.rmtree(folder / CHECKPOINTS, ignore_errors=True)
    log.info("%s: saved to %s", name, folder)
    return Trained(model, metrics, folder, False, device)


def save_files(folder: Path, save: Callable[[Path], None]) -> None:
    """Run ``save(tmp)`` into a temporary folder inside ``folder``, flush, then rename each file into ``folder``."""
    tmp = Path(tempfile.mkdtemp(prefix=".save-", dir=folder))
    try:
        with safetensors_os_errors(folder):  # a full disk or file-size limit: one line naming the folder
            save(tmp)
        for path in sorted(tmp.iterdir()):
            if path.is_file():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
            target = folder / path.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(path, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- the grid detector
def default_detector(
    config: DetectorTrainConfig | None = None,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    on_open: Callable[[Path], None] | None = None,
) -> Trained:
    """The grid detector of ``config`` (default: ``DetectorTrainConfig()``), trained once and kept.

    Args:
        config: how to train and measure it; ``config.device`` is where it is loaded or trained.
        out: its folder (default: the cache's folder for this config).
        overwrite: retrain even if the folder holds a finished model (of any config).
        on_open: called with the folder once it is locked for training (the app logs there).

    Returns:
        :class:`Trained` with the :class:`~rlsuite.vision.detection.GridDetector` and metrics
        ``{"detector": AP50 report, "policy": DetectionPolicy report, "training": ..., "train_config": ...}``.
    """
    from rlsuite.vision.detection import GridDetector

    cfg = config or DetectorTrainConfig()
    return _obtain(
        DETECTOR_NAME,
        cfg,
        out,
        overwrite,
        train=lambda device: train_and_measure_detector(cfg, device),
        save=lambda model, tmp: model.save_pretrained(tmp),
        load=lambda folder, device: GridDetector.from_pretrained(folder, device=device),
        on_open=on_open,
    )


def default_detector_dir(config: DetectorTrainConfig | None = None) -> Path:
    """The cache folder of the default grid detector (of ``config``)."""
    return cache_folder(DETECTOR_NAME, config or DetectorTrainConfig())


def train_and_measure_detector(
    config: DetectorTrainConfig, device: torch.device | None = None
) -> tuple[Any, dict[str, Any]]:
    """Train the grid detector, then measure AP50 on held-out frames and DetectionPolicy on random layouts."""
    from rlsuite.vision.detection import (
        DetectionPolicy,
        DetectionPolicyConfig,
        evaluate_detector,
        policy_success_rate,
        train_detector,
    )
    from rlsuite.vision.runtime import torch_threads

    model, info = train_detector(config, device)
    with torch_threads(config.threads):
        detector = evaluate_detector(
            model,
            n_frames=config.eval_frames,
            cell_px=config.cell_px,
            sizes=(config.min_size, config.max_size),
            max_forbidden_fraction=config.max_forbidden_fraction,
        )
        policy = policy_success_rate(
            DetectionPolicy(model, DetectionPolicyConfig(cell_px=config.cell_px)), episodes=config.eval_episodes
        )
    log.info("grid detector: AP50 %.3f on %d held-out frames; DetectionPolicy success %.3f on %d layouts",
             detector["AP50"], detector["frames"], policy["success_rate"], policy["episodes"])  # fmt: skip
    return model, {"detector": detector, "policy": policy, "training": info, "train_config": config.to_dict()}


# ----------------------------------------------------------------------------- the contrastive reward
def default_clip_reward(
    config: ContrastiveTrainConfig | None = None,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    dtype: str = "float32",
    on_open: Callable[[Path], None] | None = None,
) -> Trained:
    """The tiny-CLIP :class:`~rlsuite.vision.rewards.VLMRewardModel` of ``config``, trained once and kept.

    It is trained, measured and saved in float32 on any device; ``dtype`` is the dtype of the model
    returned (``"auto"``: bfloat16 on CUDA, for inference). Its goal is the caption of cell (0, 0);
    set the target cell's caption with ``set_goal(cell_caption(cell))``.

    Args and returns: as :func:`default_detector`; metrics ``{"rank_correlation": ..., "training": ...}``.
    """
    cfg = config or ContrastiveTrainConfig()

    def train(device: torch.device) -> tuple[Any, dict[str, Any]]:
        return train_and_measure_clip_reward(cfg, device)

    def load(folder: Path, device: torch.device) -> Any:
        return _load_clip(folder, device, dtype)

    def save(reward: Any, tmp: Path) -> None:
        reward.model.save_pretrained(tmp)
        reward.processor.save_pretrained(tmp)
        reward.tokenizer.save_pretrained(tmp)

    trained = _obtain(CLIP_NAME, cfg, out, overwrite, train, save, load, on_open)
    if not trained.reused and dtype != "float32":  # the float32 copy is saved and measured: now the asked dtype
        trained.model = load(trained.folder, trained.device)
    return trained


def _load_clip(folder: Path, device: torch.device, dtype: str) -> Any:
    from rlsuite.vision.contrastive import BASELINE_TEXT, cell_caption
    from rlsuite.vision.rewards import VLMRewardModel

    return VLMRewardModel.from_pretrained(
        folder, cell_caption((0, 0)), BASELINE_TEXT, device=device, dtype=dtype
    )


def train_and_measure_clip_reward(
    config: ContrastiveTrainConfig, device: torch.device | None = None
) -> tuple[Any, dict[str, Any]]:
    """Train the tiny CLIP, wrap it as a reward (in float32, the dtype it was trained in) and measure it."""
    from rlsuite.vision.contrastive import (
        BASELINE_TEXT,
        cell_caption,
        evaluate_reward_rank_correlation,
        train_contrastive_reward,
    )
    from rlsuite.vision.rewards import VLMRewardModel
    from rlsuite.vision.runtime import torch_threads

    model, processor, tokenizer, info = train_contrastive_reward(config, device)
    reward = VLMRewardModel(
        model, processor, tokenizer, cell_caption((0, 0)), BASELINE_TEXT, device=device or config.device,
        dtype="float32",
    )  # fmt: skip
    with torch_threads(config.threads):
        rank = evaluate_reward_rank_correlation(
            reward, episodes=config.eval_episodes, size=config.size, cell_px=config.cell_px
        )
    log.info("contrastive reward: Spearman(reward, -distance) %.3f pooled over %d frames of %d held-out episodes",
             rank["spearman_pooled"], rank["frames"], rank["episodes"])  # fmt: skip
    metrics = {
        "rank_correlation": rank,
        "training": info,
        "train_config": config.to_dict(),
        "goal": "cell_caption(target cell), e.g. " + cell_caption((2, 3)),
        "baseline": BASELINE_TEXT,
    }
    return reward, metrics


# ----------------------------------------------------------------------------- the VLM policy
def default_vlm_policy(
    config: VLMTrainConfig | None = None,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    dtype: str = "float32",
    on_open: Callable[[Path], None] | None = None,
    options: VLMModelOptions | None = None,
    reasoning: ReasoningConfig | None = None,
    checkpoints: VLMCheckpointOptions | None = None,
) -> Trained:
    """The behaviour-cloned, PPO-fine-tuned :class:`~rlsuite.vision.policies.VLMPolicy` of ``config``.

    The tiny Llava, or the folder ``options.model`` (full fine-tuning or LoRA adapters, see
    :class:`~rlsuite.vision.adapters.VLMModelOptions`), acting by scored action words or, with
    ``reasoning.reasoning``, by reasoned answers. Trained in ``options.dtype``; full weights are
    saved as the model folder, LoRA adapters as an adapter folder naming the base (the tiny Llava's
    adapters, having no base folder, are merged into it first). A kept one is loaded on
    ``config.device`` in ``dtype`` (``"auto"``: bfloat16 on CUDA, for inference). Args and returns:
    as :func:`default_detector`; metrics hold ``success_untrained``, ``success_after_bc``,
    ``success_after_ppo``, the value gaps (scoring mode) and the stages' reports.

    ``checkpoints`` (:class:`~rlsuite.vision.checkpoints.VLMCheckpointOptions`): how often training
    saves a checkpoint in the folder's ``checkpoints/``, and ``resume``: continue the unfinished run
    of the same settings in the folder from its newest checkpoint.
    """
    from rlsuite.envs.gridworld import ACTION_NAMES
    from rlsuite.vision.adapters import check_generative_folder, load_trained_policy, save_adapter
    from rlsuite.vision.finetune import train_vlm_policy
    from rlsuite.vision.policies import DEFAULT_PROMPT

    cfg, opts, rcfg = config or VLMTrainConfig(), options or VLMModelOptions(), reasoning or ReasoningConfig()
    prompt = rcfg.prompt if rcfg.reasoning else DEFAULT_PROMPT
    # Before any folder is opened: a model that cannot generate text, a grammar or fallback no action fits.
    if opts.model:
        check_generative_folder(opts.model, opts.trust_remote_code, opts.trust_pickle)
    if rcfg.reasoning:
        rcfg.grammar_for(ACTION_NAMES)

    ckpt = checkpoints or VLMCheckpointOptions()
    folder = Path(out) if out is not None else cache_folder(VLM_POLICY_NAME, cfg, (opts, rcfg))
    saver = Checkpointer(folder, ckpt, config_key(cfg, (opts, rcfg)))
    if ckpt.resume and not overwrite:
        saver.check()  # a checkpoint of other settings: refused before the folder is opened

    def train(device: torch.device) -> tuple[Any, dict[str, Any]]:
        policy, report = train_vlm_policy(cfg, opts, rcfg, device=device, checkpoints=saver)
        return policy, {**report, "train_config": cfg.to_dict(), "model_options": opts.to_dict(),
                        "reasoning": rcfg.to_dict()}  # fmt: skip

    def save(policy: Any, tmp: Path) -> None:
        if report_lora(policy) and opts.model:
            save_adapter(policy, tmp, opts.model, opts.trust_pickle)
            return
        if report_lora(policy):
            policy.model = policy.model.merge_and_unload()
        policy.save_pretrained(tmp)

    def load(folder: Path, device: torch.device) -> Any:
        return load_trained_policy(folder, opts.model, opts.trust_remote_code, dtype=dtype, device=str(device),
                                   trust_pickle=opts.trust_pickle, prompt=prompt)  # fmt: skip

    trained = _obtain(VLM_POLICY_NAME, cfg, out, overwrite, train, save, load, on_open, extra=(opts, rcfg),
                      resume=ckpt.resume)  # fmt: skip
    if not trained.reused and dtype != "float32":
        trained.model = load(trained.folder, trained.device)
    return trained



def report_lora(policy: Any) -> bool:
    """Whether ``policy.model`` carries peft adapters."""
    return hasattr(policy.model, "peft_config")
