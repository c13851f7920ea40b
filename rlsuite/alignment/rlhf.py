"""RLHF: a reward model (TRL ``RewardTrainer``), then PPO (``trl.experimental.ppo``) or RLOO against it.

Both online methods penalise the KL divergence to the SFT reference (PPO's ``kl_coef``, RLOO's
``beta``). TRL 1.13 removed ``PPOTrainer``; rlsuite pins ``trl==1.12.0``, whose
``trl.experimental.ppo`` still has it, so PPO here is TRL's own, not a re-implementation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlsuite.alignment.configs import build_trl_config, peft_config, run_trainer

REWARD_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "num_train_epochs": 2,
    "per_device_train_batch_size": 32,
    "max_length": 64,
    "save_strategy": "epoch",
    "seed": 0,
    "include_num_input_tokens_seen": "non_padding",
}
RLOO_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "max_steps": 30,
    "per_device_train_batch_size": 32,
    "num_generations": 4,
    "max_completion_length": 12,
    "temperature": 1.0,
    "top_k": 0,
    "beta": 0.05,
    "save_strategy": "steps",
    "save_steps": 10,
    "seed": 0,
    "log_completions": False,
}
PPO_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "total_episodes": 640,
    "per_device_train_batch_size": 32,
    "num_mini_batches": 1,
    "num_ppo_epochs": 2,
    "response_length": 12,
    "temperature": 1.0,
    "stop_token": "eos",
    "kl_coef": 0.05,
    "num_sample_generations": 0,
    "local_rollout_forward_batch_size": 64,
    "save_strategy": "no",
    "seed": 0,
    "missing_eos_penalty": 1.0,
}


def train_reward(
    model_path: str | os.PathLike[str],
    pairs: Sequence[dict[str, Any]],
    output_dir: str | os.PathLike[str],
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train a reward model (sequence classification, one label) on preference pairs with ``RewardTrainer``.

    The model starts from ``model_path`` (usually the SFT policy) with a fresh scalar head.

    Returns:
        The stage's measurements (see ``run_trainer``).
    """
    import datasets
    from transformers import AutoModelForSequenceClassification
    from trl import RewardConfig, RewardTrainer

    from rlsuite.alignment.models import check_causal_lm, load_tokenizer

    cfg, mcfg = build_trl_config(RewardConfig, output_dir, config_file, overrides, REWARD_DEFAULTS)
    remote = getattr(cfg, "trust_remote_code", False)
    check_causal_lm(model_path, remote)
    tok = load_tokenizer(model_path, remote)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(model_path), num_labels=1, local_files_only=True, trust_remote_code=remote
    )
    model.config.pad_token_id = tok.pad_token_id
    trainer = RewardTrainer(
        model=model,
        args=cfg,
        train_dataset=datasets.Dataset.from_list(list(pairs)),
        processing_class=tok,
        peft_config=peft_config(mcfg),
    )
    return run_trainer(trainer, Path(output_dir), resume)


def _reward_funcs(reward: str | os.PathLike[str] | Callable[..., list[float]]) -> Any:
    from rlsuite.alignment.models import RewardModelFunc, load_reward_model

    if callable(reward):
        return reward
    rm, rm_tok = load_reward_model(reward)
    return RewardModelFunc(rm, rm_tok)


def train_rloo(
    model_path: str | os.PathLike[str],
    prompts: Sequence[str],
    output_dir: str | os.PathLike[str],
    reward: str | os.PathLike[str] | Callable[..., list[float]],
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """RLOO (REINFORCE leave-one-out, TRL ``RLOOTrainer``) against a reward model, KL penalty ``beta``.

    Args:
        model_path: the SFT policy folder; it is also the KL reference.
        prompts: training prompts.
        output_dir: checkpoints and ``model/``.
        reward: a reward-model folder (scored with eos appended, as trained) or a callable
            ``f(prompts, completions, **kw) -> list[float]`` (e.g. the gold reward).
        config_file: YAML of ``RLOOConfig`` / ``ModelConfig`` keys.
        overrides: more keys, applied last.
        resume: continue from the newest checkpoint.
    """
    import datasets
    from trl import RLOOConfig, RLOOTrainer

    from rlsuite.alignment.models import load_causal_lm

    cfg, mcfg = build_trl_config(RLOOConfig, output_dir, config_file, overrides, RLOO_DEFAULTS)
    model, tok = load_causal_lm(model_path, getattr(cfg, "trust_remote_code", False))
    trainer = RLOOTrainer(
        model=model,
        reward_funcs=_reward_funcs(reward),
        args=cfg,
        train_dataset=datasets.Dataset.from_list([{"prompt": p} for p in prompts]),
        processing_class=tok,
        peft_config=peft_config(mcfg),
    )
    return run_trainer(trainer, Path(output_dir), resume)


def train_ppo(
    model_path: str | os.PathLike[str],
    prompts: Sequence[str],
    output_dir: str | os.PathLike[str],
    reward_model_path: str | os.PathLike[str],
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """PPO (TRL 1.12's ``trl.experimental.ppo.PPOTrainer``) against a reward model, KL-penalised to SFT.

    The value model starts from the reward model, as in TRL's examples. TRL's ``PPOTrainer.train``
    has no ``resume_from_checkpoint``: with ``resume`` a finished ``model/`` is kept, anything else
    starts again from the SFT policy (stated in the log).
    """
    import datasets
    import torch
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    from rlsuite.alignment.models import load_causal_lm, load_reward_model

    out = Path(output_dir)
    if resume and (out / "model" / "config.json").is_file() and (out / "metrics.json").is_file():
        import json

        print(f"rlsuite: {out / 'model'} is finished; nothing to resume", flush=True)
        return json.loads((out / "metrics.json").read_text())
    if resume and out.is_dir() and any(out.iterdir()):
        print(
            "rlsuite: TRL's PPOTrainer cannot resume mid-run; PPO starts again from the SFT policy",
            flush=True,
        )
    cfg, mcfg = build_trl_config(PPOConfig, output_dir, config_file, overrides, PPO_DEFAULTS)
    cfg.sft_model_path = str(model_path)
    policy, tok = load_causal_lm(model_path)
    ref, _ = load_causal_lm(model_path)
    reward_model, _ = load_reward_model(reward_model_path)
    value_model, _ = load_reward_model(reward_model_path)
    ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    # PPOTrainer's dataloader drops the last partial batch and cycles forever: with fewer prompts
    # than a batch it would spin on an empty loader, so the prompts are repeated to cover the run.
    episodes = max(
        cfg.total_episodes or len(ids), cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps
    )
    ids = [ids[i % len(ids)] for i in range(max(len(ids), episodes))]
    dataset = datasets.Dataset.from_list([{"input_ids": x} for x in ids])
    torch.manual_seed(cfg.seed)
    trainer = PPOTrainer(
        args=cfg,
        processing_class=tok,
        model=policy,
        ref_model=ref,
        reward_model=reward_model,
        train_dataset=dataset,
        value_model=value_model,
        peft_config=peft_config(mcfg),
    )
    total = cfg.total_episodes or len(ids)
    mean_prompt = sum(map(len, ids)) / len(ids)
    # PPO does not count tokens; this bound is episodes x (prompt + full response length).
    tokens = int(total * (mean_prompt + cfg.response_length))
    return run_trainer(
        trainer, out, resume=False, tokens=tokens, save=lambda path: _save_ppo_policy(trainer, path)
    )


def _save_ppo_policy(trainer: Any, path: Path) -> None:
    """Save PPO's policy from the main process.

    TRL 1.12's ``PPOTrainer.save_model`` fails under several processes with transformers 5
    (``is_distributed_loading_by_transformers`` is missing, and the DDP-wrapped tied weights trip
    safetensors), so the unwrapped policy is saved directly (not ZeRO-3 aware).
    """
    if trainer.accelerator.is_main_process:
        trainer.accelerator.unwrap_model(trainer.model).policy.save_pretrained(str(path))
