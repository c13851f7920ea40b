"""Supervised fine-tuning with TRL's ``SFTTrainer`` on prompt/completion records."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlsuite.alignment.configs import build_trl_config, peft_config, run_trainer

# rlsuite's defaults for small models; YAML files and --set override them.
SFT_DEFAULTS: dict[str, Any] = {
    "learning_rate": 3e-3,
    "num_train_epochs": 3,
    "per_device_train_batch_size": 64,
    "max_length": 64,
    "save_strategy": "epoch",
    "seed": 0,
    "include_num_input_tokens_seen": "non_padding",
    "lr_scheduler_type": "constant",
}


def train_sft(
    model_path: str | os.PathLike[str],
    records: Sequence[dict[str, Any]],
    output_dir: str | os.PathLike[str],
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Fine-tune a causal LM on ``prompt``/``completion`` records with ``trl.SFTTrainer``.

    Args:
        model_path: local causal-LM folder.
        records: prompt/completion dicts (the completion loss only, TRL's default for this format).
        output_dir: checkpoints go here, the final model to ``output_dir/model``.
        config_file: YAML of ``SFTConfig`` / ``ModelConfig`` keys.
        overrides: more keys, applied last.
        resume: continue from the newest checkpoint in ``output_dir``.

    Returns:
        The stage's measurements (see ``run_trainer``).
    """
    import datasets
    from trl import SFTConfig, SFTTrainer

    from rlsuite.alignment.models import load_causal_lm

    cfg, mcfg = build_trl_config(SFTConfig, output_dir, config_file, overrides, SFT_DEFAULTS)
    model, tok = load_causal_lm(model_path, trust_remote_code=getattr(cfg, "trust_remote_code", False))
    trainer = SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=datasets.Dataset.from_list(list(records)),
        processing_class=tok,
        peft_config=peft_config(mcfg),
    )
    return run_trainer(trainer, Path(output_dir), resume)
