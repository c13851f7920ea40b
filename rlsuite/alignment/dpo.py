"""Direct preference optimisation with TRL's ``DPOTrainer`` (reference = the starting SFT policy)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlsuite.alignment.configs import build_trl_config, peft_config, run_trainer

DPO_DEFAULTS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "num_train_epochs": 1,
    "per_device_train_batch_size": 32,
    "max_length": 64,
    "beta": 0.1,
    "save_strategy": "epoch",
    "seed": 0,
    "include_num_input_tokens_seen": "non_padding",
}


def train_dpo(
    model_path: str | os.PathLike[str],
    pairs: Sequence[dict[str, Any]],
    output_dir: str | os.PathLike[str],
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train a policy on preference pairs with ``trl.DPOTrainer``.

    Args:
        model_path: the SFT policy folder; a frozen copy is the reference.
        pairs: ``prompt`` / ``chosen`` / ``rejected`` records (standard or conversational).
        output_dir: checkpoints and ``model/``.
        config_file: YAML of ``DPOConfig`` / ``ModelConfig`` keys (``beta`` is the KL strength).
        overrides: more keys, applied last.
        resume: continue from the newest checkpoint.
    """
    import datasets
    from trl import DPOConfig, DPOTrainer

    from rlsuite.alignment.models import load_causal_lm

    cfg, mcfg = build_trl_config(DPOConfig, output_dir, config_file, overrides, DPO_DEFAULTS)
    model, tok = load_causal_lm(model_path, getattr(cfg, "trust_remote_code", False))
    trainer = DPOTrainer(
        model=model,
        args=cfg,
        train_dataset=datasets.Dataset.from_list(list(pairs)),
        processing_class=tok,
        peft_config=peft_config(mcfg),
    )
    return run_trainer(trainer, Path(output_dir), resume)
