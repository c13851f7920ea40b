"""TRL configs from YAML, TRL's ``TrlParser`` pattern: one mapping split over config dataclasses.

A YAML file for ``rlsuite align <method>`` is a flat mapping whose keys are fields of the method's
TRL config (``SFTConfig``, ``RewardConfig``, ``DPOConfig``, ``RLOOConfig``, ``PPOConfig``) or of
``trl.ModelConfig`` (``use_peft``, ``lora_r``, ...). Unknown keys are one-line errors. Device-aware
defaults are applied first, so the same file runs on CPU (fp32, no gradient checkpointing) and on
CUDA (bf16).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

from rlsuite.common.config import load_yaml
from rlsuite.common.errors import UsageError


def device_defaults() -> dict[str, Any]:
    """Defaults that make TRL configs safe on the machine at hand.

    TRL defaults to bf16 and gradient checkpointing; on CPU the first fails (or is slow) and the
    second only costs time, so both are off there. On CUDA bf16 is on where supported.
    """
    import torch

    common = {
        "report_to": "none",
        "disable_tqdm": False,
        "logging_steps": 5,
        "save_total_limit": 2,
        "gradient_checkpointing": False,
        "dataloader_num_workers": 0,
    }
    if torch.cuda.is_available():
        return {**common, "bf16": torch.cuda.is_bf16_supported(), "use_cpu": False}
    return {**common, "bf16": False, "use_cpu": True}


def split_values(
    config_cls: type, values: dict[str, Any], where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a mapping into (training-config keys, ``trl.ModelConfig`` keys); unknown keys are errors."""
    from trl import ModelConfig

    train_fields = {f.name for f in dataclasses.fields(config_cls)}
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    train, model = {}, {}
    for key, value in values.items():
        if key in train_fields:
            train[key] = value
        elif key in model_fields:
            model[key] = value
        else:
            raise UsageError(f"{where}: unknown key {key!r} for {config_cls.__name__} or ModelConfig")
    return train, model


def build_trl_config(
    config_cls: type,
    output_dir: str | os.PathLike[str],
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """Build ``(training_config, model_config)``: device defaults < method defaults < YAML < overrides.

    Args:
        config_cls: the TRL config dataclass (e.g. ``trl.DPOConfig``).
        output_dir: where checkpoints and the final model go.
        config_file: optional YAML file of keys (later sources win over earlier ones).
        overrides: keys from ``--set key=value`` or from the caller.
        defaults: the method's own defaults (``rlsuite``'s small-model values).
    """
    from trl import ModelConfig

    values: dict[str, Any] = {**device_defaults(), **(defaults or {})}
    if config_file:
        train, model = split_values(config_cls, load_yaml(config_file), config_file)
        values.update(train)
        values.update(model)
    if overrides:
        split_values(config_cls, overrides, "--set")
        values.update(overrides)
    train, model = split_values(config_cls, values, config_file or "config")
    # YAML 1.1 reads a bare `no` as false: give string-valued fields (save_strategy: no) their string.
    kinds = {f.name: f.type for f in dataclasses.fields(config_cls)}
    for key, value in train.items():
        if isinstance(value, bool) and "bool" not in str(kinds.get(key, "bool")):
            train[key] = "no" if value is False else "yes"
    train["output_dir"] = str(Path(output_dir))
    try:
        cfg = config_cls(**train)
        mcfg = ModelConfig(**model)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{config_file or 'config'}: {str(exc).splitlines()[0]}") from exc
    return cfg, mcfg


def peft_config(model_config: Any) -> Any:
    """A LoRA config from ``ModelConfig`` when ``use_peft`` is set, else ``None`` (lazy peft)."""
    if not model_config.use_peft:
        return None
    from trl import get_peft_config

    return get_peft_config(model_config)


def last_checkpoint(output_dir: str | os.PathLike[str]) -> str | None:
    """The newest ``checkpoint-N`` folder under ``output_dir``, or ``None``."""
    from transformers.trainer_utils import get_last_checkpoint

    p = Path(output_dir)
    return get_last_checkpoint(str(p)) if p.is_dir() else None


# ---------------------------------------------------------------------------------------------
# Running a trainer: resume, measure, save


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM (peak RSS)
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_trainer(
    trainer: Any,
    output_dir: str | os.PathLike[str],
    resume: bool,
    tokens: int | None = None,
    save: Any = None,
) -> dict[str, Any]:
    """Train (resuming from the newest checkpoint when asked), save the model to ``output_dir/model``.

    Returns the stage's measurements: wall time, peak memory (process RSS high-water mark during
    the stage on CPU, ``max_memory_allocated`` on CUDA), tokens processed, losses logged, and
    writes them to ``output_dir/metrics.json``.
    """
    import time

    import torch

    from rlsuite.common.io import write_json

    out = Path(output_dir)
    ckpt = last_checkpoint(out) if resume else None
    if resume and ckpt is None and out.is_dir() and any(out.glob("*")):
        print(f"rlsuite: no checkpoint under {out}, training from the start", flush=True)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    reset_ok = _reset_peak_rss()
    t0 = time.perf_counter()
    if ckpt is not None:
        print(f"rlsuite: resuming from {ckpt}", flush=True)
        trainer.train(resume_from_checkpoint=ckpt)
    else:
        trainer.train()
    wall = time.perf_counter() - t0
    seen = int(getattr(trainer.state, "num_input_tokens_seen", 0) or 0)
    history = [dict(h) for h in trainer.state.log_history]
    metrics = {
        "wall_seconds": round(wall, 2),
        "peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_rss_mb(), 1),
        "peak_memory_kind": "cuda max_memory_allocated"
        if cuda
        else ("process peak RSS during the stage" if reset_ok else "process peak RSS since start"),
        "tokens": seen or tokens,
        "tokens_per_second": round((seen or tokens or 0) / wall, 1) if wall > 0 else None,
        "global_steps": int(trainer.state.global_step),
        "resumed_from": ckpt,
        "num_processes": int(trainer.accelerator.num_processes),
        "log_history": history,
    }
    # Every process calls save_model (DeepSpeed ZeRO-3 gathers the shards); the main process alone
    # writes, into a partial folder that replaces ``model/`` only when complete.
    accelerator = trainer.accelerator
    partial = out / ".model.partial"
    (save or (lambda path: trainer.save_model(str(path))))(partial)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tok = getattr(trainer, "processing_class", None)
        if tok is not None:
            tok.save_pretrained(str(partial))
        if (out / "model").exists():
            shutil.rmtree(out / "model")
        os.replace(partial, out / "model")
        write_json(out / "metrics.json", metrics)
    accelerator.wait_for_everyone()
    return metrics


def losses(metrics: dict[str, Any], key: str = "loss") -> list[float]:
    """The values of ``key`` logged during training."""
    return [h[key] for h in metrics.get("log_history", []) if key in h]
