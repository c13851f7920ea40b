"""Training with TRL's trainers: one path for every method (SFT, reward model, DPO and its loss family,
KTO, ORPO, SimPO, BCO, RLOO, GRPO, Online DPO, PPO). The table of methods is :mod:`rlsuite.alignment.methods`.

Each ``train_<method>`` takes the method's typed config (:mod:`rlsuite.alignment.configs`; its
``output_dir`` is where checkpoints, ``model/`` and ``metrics.json`` go), the starting model folder
and the data, builds TRL's trainer and hands it to :func:`run_trainer`, which

- sets the torch thread count and the seed before any weights are made (a new reward head is
  initialised from the seed, not from whatever ran before in the process);
- resumes from the newest *valid* checkpoint when asked: a ``checkpoint-N`` left half-written by a
  crash (no ``trainer_state.json``, truncated weights) is skipped with a log line and moved aside;
- reports progress through :mod:`rlsuite.common.progress` and sends TRL's metric dicts to the
  ``trl.metrics`` logger instead of printing them (the application writes them to ``log.txt``);
- saves the model into a partial folder that replaces ``model/``, then writes ``metrics.json`` last:
  a folder with ``metrics.json`` is a finished stage.

Online methods (RLOO, GRPO, Online DPO, PPO) take ``reward``: a reward-model folder (checked to have
a trained score head), ``"gold"`` (the synthetic task's verifiable reward), or a callable
``f(prompts, completions, **kw) -> list[float]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rlsuite.alignment.configs import (
    BCOConfig,
    DPOConfig,
    GRPOConfig,
    KTOConfig,
    ModelConfig,
    OnlineDPOConfig,
    ORPOConfig,
    PPOConfig,
    RewardConfig,
    RLOOConfig,
    SFTConfig,
    SimPOConfig,
    peft_config,
)
from rlsuite.alignment.data import gold_reward_func, unpair
from rlsuite.alignment.models import (
    RewardModelFunc,
    check_causal_lm,
    check_reward_model,
    load_causal_lm,
    load_reward_model,
    load_tokenizer,
    placement_of,
    prompt_ids,
)
from rlsuite.common.device import set_torch_threads
from rlsuite.common.errors import ConfigError, TrainingDivergedError
from rlsuite.common.io import newest_valid, read_json, write_json
from rlsuite.common.trainers import quiet_trainer

log = logging.getLogger(__name__)

Reward = str | os.PathLike[str] | Callable[..., list[float]]
METRICS = "metrics.json"


# ---------------------------------------------------------------------------------------------
# Checkpoints


def checkpoint_is_valid(path: Path) -> bool:
    """A ``checkpoint-N`` folder that a save finished: ``trainer_state.json`` (written last) parses and
    the weights are complete."""
    from rlsuite.alignment.models import weight_keys
    from rlsuite.common.errors import ModelFolderError

    try:
        json.loads((path / "trainer_state.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    try:
        return bool(weight_keys(path))
    except ModelFolderError:
        return False


def newest_checkpoint(output_dir: str | os.PathLike[str]) -> Path | None:
    """The newest valid ``checkpoint-N`` under ``output_dir``; invalid newer ones are moved aside
    (``checkpoint-N.incomplete``), so the trainer neither loads nor keeps them."""
    out = Path(output_dir)
    if not out.is_dir():
        return None
    candidates = []
    for p in out.iterdir():
        step = p.name.removeprefix("checkpoint-")
        if p.is_dir() and p.name.startswith("checkpoint-") and step.isdigit():
            candidates.append((int(step), p))
    found, skipped = newest_valid(candidates, checkpoint_is_valid)
    for bad in skipped:
        aside = bad.with_name(bad.name + ".incomplete")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(bad, aside)
        log.warning("resume: skipped %s (incomplete: a crash during its save?), moved to %s", bad.name, aside.name)
    return found[1] if found else None


def read_metrics(output_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The metrics of a finished training folder, or ``None`` when it has not finished."""
    path = Path(output_dir) / METRICS
    if not (path.is_file() and (Path(output_dir) / "model" / "config.json").is_file()):
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


# ---------------------------------------------------------------------------------------------
# The one run path


class _LogStream(io.TextIOBase):
    """A stdout that sends each printed line to a logger (third-party ``print`` calls during training)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger, self.buffer_ = logger, ""

    def write(self, text: str) -> int:
        self.buffer_ += text
        while "\n" in self.buffer_:
            line, self.buffer_ = self.buffer_.split("\n", 1)
            if line.strip():
                self.logger.info("%s", line)
        return len(text)


@contextlib.contextmanager
def _stdout_to_log() -> Iterator[None]:
    with contextlib.redirect_stdout(_LogStream(logging.getLogger("trl.stdout"))):  # type: ignore[type-var]
        yield


def prepare(config: Any) -> int:
    """Before a model is built: torch threads (rlsuite's choice for tiny models) and every seed."""
    from transformers import set_seed

    threads = set_torch_threads(getattr(config, "torch_threads", 0))
    set_seed(config.seed)
    return threads


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM (peak RSS)
        return True
    except OSError:
        return False


def _budget_reached(ckpt: Path, max_steps: int) -> bool:
    """Whether checkpoint ``ckpt`` was saved at (or past) a positive ``max_steps``."""
    state = read_json(ckpt / "trainer_state.json")
    return max_steps > 0 and int(state.get("global_step", 0)) >= max_steps


def run_trainer(
    trainer: Any,
    config: Any,
    resume: bool = False,
    tokens: int | None = None,
    save: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """Train (from the newest valid checkpoint with ``resume``), save ``model/``, write ``metrics.json``.

    Returns the stage's measurements: wall time, peak memory (process RSS high-water mark during
    the stage on CPU, ``max_memory_allocated`` on CUDA), tokens processed, steps, losses logged.
    """
    import torch

    out = Path(config.output_dir)
    given = getattr(config, "resume_from_checkpoint", None)  # TRL's own flag: that checkpoint, as asked
    ckpt = Path(given) if given else newest_checkpoint(out) if resume else None
    if resume and ckpt is None and out.is_dir() and any(out.glob("checkpoint-*")):
        log.info("%s: no valid checkpoint, training from the start", out)
    quiet_trainer(trainer, out.name, out.name)
    cuda = torch.cuda.is_available() and not config.use_cpu
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    reset_ok = _reset_peak_rss()
    t0 = time.perf_counter()
    with _stdout_to_log():
        if ckpt is not None and _budget_reached(ckpt, int(getattr(config, "max_steps", -1) or -1)):
            # killed after its last checkpoint: transformers' Trainer would train one step more from it
            log.info("%s: %s already holds the whole budget; finishing from it", out, ckpt.name)
            from transformers.trainer_callback import TrainerState

            trainer._load_from_checkpoint(str(ckpt))  # the Trainer's own loader (weights or adapters)
            trainer.state = TrainerState.load_from_json(str(ckpt / "trainer_state.json"))
        elif ckpt is not None:
            log.info("%s: resuming from %s", out, ckpt.name)
            trainer.train(resume_from_checkpoint=str(ckpt))
        else:
            trainer.train()
    wall = time.perf_counter() - t0
    _check_finite(trainer.model, out, int(trainer.state.global_step))
    seen = int(getattr(trainer.state, "num_input_tokens_seen", 0) or 0)
    metrics = {
        "method": getattr(config, "METHOD", type(config).__name__),
        "wall_seconds": round(wall, 2),
        "peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_rss_mb(), 1),
        "peak_memory_kind": "cuda max_memory_allocated"
        if cuda
        else ("process peak RSS during the stage" if reset_ok else "process peak RSS since start"),
        "tokens": seen or tokens,
        "tokens_per_second": round((seen or tokens or 0) / wall, 1) if wall > 0 else None,
        "global_steps": int(trainer.state.global_step),
        "resumed_from": str(ckpt) if ckpt else None,
        "num_processes": int(trainer.accelerator.num_processes),
        "torch_threads": torch.get_num_threads(),
        "log_history": [dict(h) for h in trainer.state.log_history],
    }
    # Every process calls save_model (DeepSpeed ZeRO-3 gathers the shards); the main process alone
    # writes, into a partial folder that replaces ``model/`` only when complete.
    accelerator = trainer.accelerator
    partial = out / ".model.partial"
    if accelerator.is_main_process and partial.exists():  # a save killed half-way: none of its files may reach model/
        shutil.rmtree(partial)
    accelerator.wait_for_everyone()
    (save or (lambda path: trainer.save_model(str(path))))(partial)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tok = getattr(trainer, "processing_class", None)
        if tok is not None:
            tok.save_pretrained(str(partial))
        if (out / "model").exists():
            shutil.rmtree(out / "model")
        os.replace(partial, out / "model")
        write_json(out / METRICS, metrics)
    accelerator.wait_for_everyone()
    return metrics


def _check_finite(model: Any, out: Path, step: int) -> None:
    """Refuse to save (and so to mark finished) a model whose weights hold NaN or inf: training diverged."""
    import torch

    bad = next((name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())), None)
    if bad is not None:
        raise TrainingDivergedError(
            f"{out}: training diverged: weight {bad} holds NaN/inf after step {step} (learning rate too high?); "
            "not saved, not finished (rerun with --overwrite and other settings)"
        )


def _fit(
    trainer_cls: Any,
    config: Any,
    model: Any,
    tok: Any,
    dataset: Sequence[dict[str, Any]],
    model_config: ModelConfig | None,
    resume: bool,
    **extra: Any,
) -> dict[str, Any]:
    """The shared body of the train functions: TRL's trainer on a ``datasets.Dataset``, then :func:`run_trainer`."""
    import datasets

    trainer = trainer_cls(
        model=model,
        args=config,
        train_dataset=datasets.Dataset.from_list(list(dataset)),
        processing_class=tok,
        peft_config=peft_config(model_config),
        **extra,
    )
    _place_reward_models(trainer, config, extra.get("reward_funcs"))
    return run_trainer(trainer, config, resume)


def _place_reward_models(trainer: Any, config: Any, reward_funcs: Any) -> None:
    """Reward models that TRL calls as functions (it places only the models it loads itself) go to the
    training's device (this process's GPU under accelerate) and dtype (bf16 where the training uses it
    and the GPU has it natively): scored there at every step, not on the CPU in float32."""
    import torch

    device = trainer.accelerator.device  # where TRL trains: this process's device
    dtype = placement_of(config)[1] if device.type == "cuda" else torch.float32
    for func in reward_funcs if isinstance(reward_funcs, list) else [reward_funcs]:
        if isinstance(func, RewardModelFunc):
            func.to((device, dtype))


def _trusted(model_config: ModelConfig | None) -> bool:
    """Whether the user trusts the pickled weights of the folders given (``--trust-pickle``)."""
    return bool(getattr(model_config, "trust_pickle", False))


def _policy(config: Any, model_path: str | os.PathLike[str], model_config: ModelConfig | None) -> tuple[Any, Any]:
    prepare(config)
    remote = bool(getattr(config, "trust_remote_code", False))
    return load_causal_lm(model_path, remote, trust_pickle=_trusted(model_config))


def reward_function(reward: Reward, trust_pickle: bool = False) -> Callable[..., list[float]]:
    """A TRL reward function from a reward-model folder, ``"gold"`` or a callable (``trust_pickle``: a
    folder whose weights are only pickled is loaded, not refused)."""
    if callable(reward):
        return reward
    if str(reward) == "gold":
        return gold_reward_func
    return RewardModelFunc.load(reward, trust_pickle=trust_pickle)


def check_reward(reward: Reward, trust_pickle: bool = False) -> None:
    """Check a reward argument before any work: a folder must hold a trained reward model (with safetensors
    weights, or pickled ones with ``trust_pickle``)."""
    if not callable(reward) and str(reward) != "gold":
        check_reward_model(reward, trust_pickle)


def _given_reward(reward: Reward | None, config: Any, name: str, trust_pickle: bool = False) -> Reward:
    """``reward``, else the config's ``reward_model_path``; checked (a folder must hold a trained reward model)."""
    reward = reward if reward is not None else config.reward_model_path
    if reward is None:
        raise ConfigError(f"{name}.reward_model_path: {config.METHOD} needs a reward (a reward-model folder or gold)",
                          "reward_model_path")
    check_reward(reward, trust_pickle)
    return reward


# ---------------------------------------------------------------------------------------------
# The methods


def train_sft(
    model_path: str | os.PathLike[str],
    records: Sequence[dict[str, Any]],
    config: SFTConfig,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Fine-tune a causal LM on prompt/completion records (plain or conversational) with ``trl.SFTTrainer``
    (loss on the completion only, TRL's default for this format)."""
    from trl import SFTTrainer

    model, tok = _policy(config, model_path, model_config)
    return _fit(SFTTrainer, config, model, tok, records, model_config, resume)


def train_reward(
    model_path: str | os.PathLike[str],
    pairs: Sequence[dict[str, Any]],
    config: RewardConfig,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train a reward model (sequence classification, one output) on preference pairs with ``RewardTrainer``.

    The model starts from ``model_path`` (usually the SFT policy) with a new scalar head, initialised
    from ``config.seed``.
    """
    from transformers import AutoModelForSequenceClassification
    from trl import RewardTrainer

    prepare(config)
    check_causal_lm(model_path, trust_pickle=_trusted(model_config))
    tok = load_tokenizer(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(str(model_path), num_labels=1, local_files_only=True)
    model.config.pad_token_id = tok.pad_token_id
    return _fit(RewardTrainer, config, model, tok, pairs, model_config, resume)


def train_dpo(
    model_path: str | os.PathLike[str],
    pairs: Sequence[dict[str, Any]],
    config: DPOConfig,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train a policy on preference pairs with ``trl.DPOTrainer``; the reference is the starting policy.
    ``config.loss_type`` chooses the loss (``sigmoid`` DPO, ``ipo``, ``robust``, ...), ``beta`` its strength."""
    from trl import DPOTrainer

    model, tok = _policy(config, model_path, model_config)
    return _fit(DPOTrainer, config, model, tok, pairs, model_config, resume)


def train_kto(
    model_path: str | os.PathLike[str],
    records: Sequence[dict[str, Any]],
    config: KTOConfig,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """KTO (``trl.KTOTrainer``, TRL main) on unpaired completions labelled desirable or not; preference
    pairs are unpaired first (:func:`~rlsuite.alignment.data.unpair`). The reference is the starting policy."""
    from trl import KTOTrainer

    model, tok = _policy(config, model_path, model_config)
    return _fit(KTOTrainer, config, model, tok, unpair(records), model_config, resume)


def train_orpo(
    model_path: str | os.PathLike[str],
    pairs: Sequence[dict[str, Any]],
    config: ORPOConfig,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """ORPO (TRL 1.12's ``trl.experimental.orpo.ORPOTrainer``): SFT on the chosen completion plus an
    odds-ratio term (weight ``beta``) against the rejected one; no reference model."""
    from trl.experimental.orpo import ORPOTrainer

    model, tok = _policy(config, model_path, model_config)
    return _fit(ORPOTrainer, config, model, tok, pairs, model_config, resume)


def train_simpo(
    model_path: str | os.PathLike[str],
    pairs: Sequence[dict[str, Any]],
    config: SimPOConfig,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """SimPO: TRL 1.12's ``trl.experimental.cpo.CPOTrainer`` with ``loss_type="simpo"`` and ``cpo_alpha=0``
    (length-normalised margins, target margin ``simpo_gamma``); no reference model."""
    from trl.experimental.cpo import CPOTrainer

    model, tok = _policy(config, model_path, model_config)
    return _fit(CPOTrainer, config, model, tok, pairs, model_config, resume)


def train_bco(
    model_path: str | os.PathLike[str],
    records: Sequence[dict[str, Any]],
    config: BCOConfig,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """BCO (TRL 1.12's ``trl.experimental.bco.BCOTrainer``): a binary classifier of desirable vs undesirable
    completions whose logit is the implicit reward; pairs are unpaired first. The reference is the start."""
    from trl.experimental.bco import BCOTrainer

    model, tok = _policy(config, model_path, model_config)
    return _fit(BCOTrainer, config, model, tok, unpair(records), model_config, resume)


def _prompt_rows(prompts: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"prompt": p} for p in prompts]


def _train_online(
    trainer_cls: Any,
    model_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    config: Any,
    reward: Reward | None,
    model_config: ModelConfig | None,
    resume: bool,
    trl_loads_reward_path: bool = False,
) -> dict[str, Any]:
    """The shared body of the online methods: the reward (given, or the config's), the policy, TRL's trainer
    with the reward as a function; a reward model among them runs on the training's device and dtype."""
    reward = _given_reward(reward, config, type(config).__name__, _trusted(model_config))
    model, tok = _policy(config, model_path, model_config)
    if trl_loads_reward_path:
        config.reward_model_path = None  # TRL would load it itself (without rlsuite's eos convention)
    func = reward_function(reward, _trusted(model_config))
    return _fit(trainer_cls, config, model, tok, _prompt_rows(prompts), model_config, resume, reward_funcs=func)


def train_rloo(
    model_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    config: RLOOConfig,
    reward: Reward | None = None,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """RLOO (REINFORCE leave-one-out, ``trl.RLOOTrainer``) against ``reward``, KL penalty ``beta`` to the start."""
    from trl import RLOOTrainer

    return _train_online(RLOOTrainer, model_path, prompts, config, reward, model_config, resume)


def train_grpo(
    model_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    config: GRPOConfig,
    reward: Reward | None = None,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """GRPO (``trl.GRPOTrainer``: group-normalised advantages, clipped ratio, KL ``beta`` to the start)
    against ``reward``: a reward model, or ``"gold"``, the task's verifiable reward."""
    from trl import GRPOTrainer

    return _train_online(GRPOTrainer, model_path, prompts, config, reward, model_config, resume)


def train_online_dpo(
    model_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    config: OnlineDPOConfig,
    reward: Reward | None = None,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Online DPO (``trl.experimental.online_dpo``): two samples per prompt from the current policy, ranked
    by ``reward`` (a reward model or ``"gold"``; default ``config.reward_model_path``), a DPO loss on the pair."""
    from trl.experimental.online_dpo import OnlineDPOTrainer

    return _train_online(OnlineDPOTrainer, model_path, prompts, config, reward, model_config, resume,
                         trl_loads_reward_path=True)


def train_ppo(
    model_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    config: PPOConfig,
    reward: Reward | None = None,
    model_config: ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """PPO (TRL 1.12's ``trl.experimental.ppo.PPOTrainer``) against a reward model, KL-penalised to the start.

    The value model starts from the reward model, as in TRL's examples. TRL's ``PPOTrainer.train``
    cannot resume mid-run: with ``resume`` a finished stage is kept, anything else starts again
    from the starting policy (said in the log).
    """
    import datasets
    import torch
    from trl.experimental.ppo import PPOTrainer

    reward = reward if reward is not None else config.reward_model_path
    if reward is None or callable(reward) or str(reward) == "gold":
        raise ConfigError(
            "PPOConfig.reward_model_path: PPO needs a reward-model folder (its value model starts from it)",
            "reward_model_path",
        )
    trusted = _trusted(model_config)
    check_reward_model(reward, trusted)
    out = Path(config.output_dir)
    if resume and out.is_dir() and any(out.iterdir()):
        log.info("%s: TRL's PPOTrainer cannot resume mid-run; PPO starts again from the starting policy", out)
    policy, tok = _policy(config, model_path, model_config)
    config.sft_model_path = str(model_path)
    config.reward_model_path = str(reward)
    ref, _ = load_causal_lm(model_path, trust_pickle=trusted)
    reward_model, _ = load_reward_model(reward, trust_pickle=trusted)
    value_model, _ = load_reward_model(reward, trust_pickle=trusted)
    ids = [prompt_ids(tok, p) for p in prompts]
    # PPOTrainer's dataloader drops the last partial batch and cycles forever: with fewer prompts
    # than a batch it would spin on an empty loader, so the prompts are repeated to cover the run.
    batch = config.per_device_train_batch_size * config.gradient_accumulation_steps
    episodes = max(config.total_episodes or len(ids), batch)
    ids = [ids[i % len(ids)] for i in range(max(len(ids), episodes))]
    torch.manual_seed(config.seed)
    trainer = PPOTrainer(
        args=config,
        processing_class=tok,
        model=policy,
        ref_model=ref,
        reward_model=reward_model,
        train_dataset=datasets.Dataset.from_list([{"input_ids": x} for x in ids]),
        value_model=value_model,
        peft_config=peft_config(model_config),
    )
    total = config.total_episodes or len(ids)
    # PPO does not count tokens; this bound is episodes x (prompt + full response length).
    tokens = int(total * (sum(map(len, ids)) / len(ids) + config.response_length))
    return run_trainer(trainer, config, resume=False, tokens=tokens, save=lambda path: _save_ppo_policy(trainer, path))


def _save_ppo_policy(trainer: Any, path: Path) -> None:
    """Save PPO's policy from the main process.

    TRL 1.12's ``PPOTrainer.save_model`` fails under several processes with transformers 5
    (``is_distributed_loading_by_transformers`` is missing, and the DDP-wrapped tied weights trip
    safetensors), so the unwrapped policy is saved directly (not ZeRO-3 aware).
    """
    if trainer.accelerator.is_main_process:
        trainer.accelerator.unwrap_model(trainer.model).policy.save_pretrained(str(path))


def losses(metrics: dict[str, Any], key: str = "loss") -> list[float]:
    """The values of ``key`` logged during training."""
    return [h[key] for h in metrics.get("log_history", []) if key in h]
