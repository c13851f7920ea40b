"""``rlsuite vision ...``: train the vision defaults, measure them, and evaluate a local VLM folder.

Every flag is generated from a config (``--help`` lists them all; ``--config FILE.yaml`` and
``--set KEY=VALUE`` go through the same parser):

- ``train-detector``: :class:`~rlsuite.vision.detection.DetectorTrainConfig` (``--budget`` is its
  ``max_steps``);
- ``train-reward``: :class:`~rlsuite.vision.contrastive.ContrastiveTrainConfig` (``--budget``: ``steps``);
- ``train-vlm-policy``: :class:`~rlsuite.vision.finetune.VLMTrainConfig` (``--budget``: ``bc_steps``),
  :class:`~rlsuite.vision.adapters.VLMModelOptions` (``--model FOLDER``, ``--finetune auto|lora|full``),
  :class:`~rlsuite.vision.reasoning.ReasoningConfig` (``--reasoning``), ``--quick`` (:data:`QUICK_VLM`) and
  :class:`~rlsuite.vision.checkpoints.VLMCheckpointOptions` (``--resume``, how often checkpoints are saved);
- the three take :class:`VisionOutputOptions` too: ``--out`` (default: the rlsuite cache, in a
  folder keyed by the config, so a new budget trains anew and the same config is reused) and
  ``--overwrite`` (alias ``--force``);
- ``eval-vlm [FOLDER]``: :class:`EvalVLMOptions`, :class:`~rlsuite.vision.finetune.VLMEvalConfig` and
  :class:`~rlsuite.vision.reasoning.AnswerConfig` (``--reasoning``; a ``train-vlm-policy --reasoning`` folder's
  own settings are the defaults).
- ``grpo``: :class:`~rlsuite.vision.grpo.VisionGRPOConfig` (``--budget``: ``steps``), ``VLMModelOptions``,
  :class:`VisionOutputOptions`, :class:`ResumeOption` and ``--quick`` (:data:`QUICK_GRPO`).

The library trains, measures and writes the folder (:mod:`rlsuite.vision.defaults`); this module
prints the result.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rlsuite.app import console
from rlsuite.app.args import Parsed, add_command
from rlsuite.common.config import Config, config_error, load_yaml, option
from rlsuite.common.device import DEVICE_HELP, check_device_field
from rlsuite.common.errors import ConfigError
from rlsuite.envs.gridworld import ACTION_NAMES
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.checkpoints import VLMCheckpointOptions
from rlsuite.vision.contrastive import ContrastiveTrainConfig
from rlsuite.vision.detection import DetectorTrainConfig
from rlsuite.vision.finetune import VLMEvalConfig, VLMTrainConfig
from rlsuite.vision.grpo import VisionGRPOConfig
from rlsuite.vision.policies import DEFAULT_PROMPT
from rlsuite.vision.reasoning import REASONING_PROMPT, AnswerConfig, ReasoningConfig

# ``train-vlm-policy --quick``: 3x3 layouts, 100 cloning steps, 2 small PPO updates, 10 held-out layouts
# (about 30 s for a 30k-parameter tiny Qwen2-VL with LoRA on one shared CPU core).
QUICK_VLM: dict[str, Any] = {
    "size": 3, "hidden": 32, "layers": 1, "bc_layouts": 40, "bc_steps": 100, "bc_batch": 32, "bc_warmup": 5,
    "ppo_updates": 2, "value_warmup": 1, "ppo_envs": 8, "ppo_steps": 4, "ppo_epochs": 1, "ppo_minibatches": 2,
    "eval_episodes": 10, "max_episode_steps": 8, "lora_lr": 1e-2,
}  # fmt: skip


# ``grpo --quick``: 3x3 layouts, 60 GRPO steps of 2 frames x 8 answers, 32 held-out frames, high learning rates
# for the tiny models built from configs (randomly initialised: far from a pretrained model's 1e-5).
QUICK_GRPO: dict[str, Any] = {
    "size": 3, "train_frames": 128, "eval_frames": 32, "steps": 60, "save_steps": 0, "learning_rate": 1e-2,
    "lora_lr": 3e-2,
}  # fmt: skip


@dataclass
class ResumeOption(Config):
    """``--resume``: continue an unfinished run of the same settings from its newest checkpoint."""

    resume: bool = option(False, help="continue the unfinished run in the folder from its newest checkpoint")


@dataclass
class QuickOption(Config):
    """``--quick``: a small budget that finishes in under 2 minutes on a CPU with a tiny model."""

    quick: bool = option(False, help="a small budget (3x3 layouts, 100 cloning steps, 2 PPO updates)")


@dataclass
class VisionOutputOptions(Config):
    """Where a ``vision train-*`` command keeps its model, and whether to retrain over a finished one."""

    out: str | None = option(
        None,
        help="folder for the model, metrics.json and log.txt (default: the rlsuite cache, in a folder keyed by "
        "the config: the same config is reused, another one trains anew)",
        aliases=["--output_dir", "--output-dir"],
    )
    overwrite: bool = option(False, help="train again even if the folder holds a finished model", aliases=["--force"])


@dataclass
class EvalVLMOptions(Config):
    """``vision eval-vlm``: which local VLM folder, how to load it, which words are its actions."""

    model: str | None = option(
        None, help="local AutoModelForImageTextToText + AutoProcessor folder, or a train-vlm-policy adapter "
        "folder (or the positional FOLDER)", aliases=["--model_name_or_path"],
    )  # fmt: skip
    base: str | None = option(None, help="an adapter folder's base model folder (default: the one it records)")
    trust_remote_code: bool = option(
        False, help="run the custom code the folder's config.json names (Kimi-VL); only for code you trust"
    )
    trust_pickle: bool = option(
        False, help="accept a folder holding only pickled weights (pytorch_model.bin), which can run code when "
        "loaded; only for folders you trust (or convert them to safetensors with save_pretrained)"
    )
    actions: list[str] = option(
        default_factory=lambda: list(ACTION_NAMES),
        help="the action words, in the env's order (up right down left stay)",
    )
    prompt: str | None = option(
        None, help="the prompt; <image> is replaced by the processor's image token (default: the one a "
        "train-vlm-policy --reasoning folder was trained with, else the scoring or (--reasoning) the reasoning one)",
    )  # fmt: skip
    dtype: Literal["auto", "float32", "bfloat16"] = option(
        "auto", help="auto: bfloat16 on CUDA, float32 on CPU (inference)"
    )
    device: str = option("auto", help=DEVICE_HELP)
    threads: int = option(0, help="torch CPU threads (0: one, or OMP_NUM_THREADS when set)", ge=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device_field(self)
        if len(self.actions) != len(ACTION_NAMES):
            raise config_error(
                self, "actions", f"{len(self.actions)} words for the grid world's {len(ACTION_NAMES)} actions"
            )


TRAIN_COMMANDS: dict[str, tuple[type, str]] = {
    "train-detector": (
        DetectorTrainConfig,
        "train (or reuse, for the same config) the grid detector; report AP50 and DetectionPolicy's success rate",
    ),
    "train-reward": (
        ContrastiveTrainConfig,
        "train (or reuse) the tiny contrastive image-text reward; report its rank correlation with the distance "
        "to the goal",
    ),
    "train-vlm-policy": (
        VLMTrainConfig,
        "behaviour-clone then PPO-fine-tune a tiny Llava policy (or reuse it); report success before and after",
    ),
}


def add_subcommands(subparsers: Any) -> None:
    from rlsuite.app.args import ConfigParser

    p = subparsers.add_parser("vision", help="vision models as policies and reward models on pixel grid worlds")
    sub = p.add_subparsers(dest="vision_command", metavar="VISION_COMMAND", parser_class=ConfigParser)
    handlers = {"train-detector": _train_detector, "train-reward": _train_reward}
    for name, (config, help_line) in TRAIN_COMMANDS.items():
        if name in handlers:
            add_command(sub, name, help=help_line, configs=[config, VisionOutputOptions], run=handlers[name])
    add_command(
        sub, "train-vlm-policy", help=TRAIN_COMMANDS["train-vlm-policy"][1] + "; --model FOLDER trains any local "
        "VLM (LoRA above --lora-min-params), --reasoning lets it reason before the action",
        configs=[VLMTrainConfig, VLMModelOptions, ReasoningConfig, VisionOutputOptions, QuickOption,
                 VLMCheckpointOptions],
        run=_train_vlm_policy, defaults=_quick_defaults,
    )  # fmt: skip
    add_command(
        sub, "grpo", help="GRPO (TRL) of a local VLM folder on pixel grid world frames with detection rewards "
        "(Visual-RFT): count / presence / IoU of its parsed answer against the env's or a detector's boxes",
        configs=[VisionGRPOConfig, VLMModelOptions, VisionOutputOptions, ResumeOption, QuickOption],
        run=_grpo, defaults=_quick_grpo_defaults,
    )  # fmt: skip
    add_command(
        sub,
        "eval-vlm",
        help="load a local VLM folder as a VLMPolicy (action-word scoring, or reasoned answers: --reasoning, or as "
        "the folder was trained) and report its success rate on held-out random pixel grid worlds",
        configs=[EvalVLMOptions, VLMEvalConfig, AnswerConfig],
        run=_eval_vlm,
        defaults=_eval_defaults,
        arguments=lambda q: q.add_argument("folder", nargs="?", metavar="FOLDER", help="the model folder (or --model)"),
    )
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


# ----------------------------------------------------------------------------- handlers
def _train_detector(parsed: Parsed) -> int:
    from rlsuite.vision.defaults import default_detector

    config, opts = parsed.get(DetectorTrainConfig), parsed.get(VisionOutputOptions)
    with console.results_printed_by_command("rlsuite.vision"):  # the table below prints them, once
        trained = default_detector(config, out=opts.out, overwrite=opts.overwrite, on_open=console.log_to)
    m = trained.metrics
    per_class = ", ".join(f"{k} {v:.3f}" for k, v in m["detector"]["AP50_per_class"].items())
    pol = m["policy"]
    _print_rows([
        ("AP50", f"{m['detector']['AP50']:.3f} ({per_class}) on {m['detector']['frames']} held-out frames"),
        ("DetectionPolicy", f"success {pol['success_rate']:.3f} on {pol['episodes']} random solvable layouts"),
        ("training", _training(m["training"], "steps", trained.reused)),
        ("model folder", str(trained.folder)),
    ])  # fmt: skip
    return 0


def _train_reward(parsed: Parsed) -> int:
    from rlsuite.vision.defaults import default_clip_reward

    config, opts = parsed.get(ContrastiveTrainConfig), parsed.get(VisionOutputOptions)
    with console.results_printed_by_command("rlsuite.vision"):  # the table below prints them, once
        trained = default_clip_reward(config, out=opts.out, overwrite=opts.overwrite, on_open=console.log_to)
    rank = trained.metrics["rank_correlation"]
    _print_rows([
        ("Spearman(reward, -distance)", f"{rank['spearman_pooled']:.3f} pooled over {rank['frames']} frames of "
                                        f"{rank['episodes']} held-out episodes "
                                        f"({rank['spearman_per_episode_mean']:.3f} mean per episode)"),
        ("training", _training(trained.metrics["training"], "steps", trained.reused)),
        ("model folder", str(trained.folder)),
    ])  # fmt: skip
    return 0


def _quick_defaults(ns: argparse.Namespace) -> list[tuple[Mapping[str, Any], str]]:
    layers: list[tuple[Mapping[str, Any], str]] = [(QUICK_VLM, "--quick")] if getattr(ns, "quick", False) else []
    if getattr(ns, "config", None):
        layers.append((load_yaml(ns.config), str(ns.config)))
    return layers


def _train_vlm_policy(parsed: Parsed) -> int:
    from rlsuite.vision.defaults import default_vlm_policy

    config, opts = parsed.get(VLMTrainConfig), parsed.get(VisionOutputOptions)
    options, reasoning = parsed.get(VLMModelOptions), parsed.get(ReasoningConfig)
    console.quiet_third_party()
    with console.results_printed_by_command("rlsuite.vision"):  # the table below prints them, once
        trained = default_vlm_policy(config, out=opts.out, overwrite=opts.overwrite, on_open=console.log_to,
                                     options=options, reasoning=reasoning,
                                     checkpoints=parsed.get(VLMCheckpointOptions))  # fmt: skip
    m = trained.metrics
    print(f"{'stage':<12} {'greedy success':>15} {'v* - v_pi (sampling)':>21}")
    for stage in ("untrained", "after_bc", "after_ppo"):
        if f"success_{stage}" in m:
            gap = m.get(f"value_gap_{stage}")
            print(f"{stage.replace('_', ' '):<12} {m[f'success_{stage}']:>15.2f} "
                  f"{'-' if gap is None else f'{gap:.3f}':>21}")  # fmt: skip
    bc = m["behaviour_clone"]
    when = "trained earlier, reused" if trained.reused else "trained now"
    if not trained.reused and m.get("resumed_from"):
        when = f"resumed from {m['resumed_from']}"
    info = m.get("model", {})
    rows = [("model", f"{info.get('model')}: {info.get('parameters', 0):,} parameters, {info.get('finetune')} "
                      f"fine-tuning of {info.get('trainable_parameters', 0):,}")]  # fmt: skip
    if "unparsed_answers" in m:
        rows.append(("reasoned answers", f"{m['unparsed_answers']} of {m['answers']} unparsed (fallback: "
                                         f"{reasoning.fallback})"))  # fmt: skip
    _print_rows([
        *rows,
        ("held-out layouts", f"{config.eval_episodes} random {config.size}x{config.size} layouts"),
        ("behaviour cloning", f"{bc['steps']} steps, held-out action accuracy {bc['held_out_accuracy']:.3f}"),
        ("training", f"{m.get('seconds')} s ({when})"),
        ("model folder", str(trained.folder)),
    ])  # fmt: skip
    return 0


def _quick_grpo_defaults(ns: argparse.Namespace) -> list[tuple[Mapping[str, Any], str]]:
    layers = _quick_defaults(ns)
    return [(QUICK_GRPO, "--quick"), *layers[1:]] if getattr(ns, "quick", False) else layers


def _grpo(parsed: Parsed) -> int:
    from rlsuite.vision.grpo import run_grpo

    config, options, opts = parsed.get(VisionGRPOConfig), parsed.get(VLMModelOptions), parsed.get(VisionOutputOptions)
    console.quiet_third_party()
    with console.results_printed_by_command("rlsuite.vision"):  # the table below prints them, once
        result = run_grpo(config, options, out=opts.out, overwrite=opts.overwrite,
                          resume=parsed.get(ResumeOption).resume, on_open=console.log_to)  # fmt: skip
    m = result.metrics
    print(f"{'reward':<10} {'before':>8} {'after':>8}   (greedy answers, {m['eval_frames']} held-out frames)")
    for kind in [*config.rewards, "total", "parsed"]:
        print(f"{kind:<10} {m['before'][kind]:>8.3f} {m['after'][kind]:>8.3f}")
    info = m["model"]
    when = "trained earlier with these settings, reused" if result.reused else "trained now"
    _print_rows([
        ("model", f"{info['model']}: {info['parameters']:,} parameters, {info['finetune']} fine-tuning of "
                  f"{info['trainable_parameters']:,}"),
        ("task", f"{config.task} of the {config.target_class} cells, reference: {m['reference']}"),
        ("answers after", " | ".join(repr(t) for t in m["after"]["examples"])),
        ("training", f"{m['steps']} GRPO steps, {m['seconds']} s ({when})"),
        ("model folder", str(result.folder)),
    ])  # fmt: skip
    return 0


def _eval_defaults(ns: argparse.Namespace) -> list[tuple[Mapping[str, Any], str]]:
    """A train-vlm-policy --reasoning folder's answer settings and prompt (flags and --config override them)."""
    from rlsuite.vision.finetune import trained_answers

    folder = getattr(ns, "folder", None) or getattr(ns, "model", None)
    settings = trained_answers(folder) if folder else None
    keys = ("reasoning", "grammar", "fallback", "max_new_tokens", "prompt")
    layers = [({k: settings[k] for k in keys if k in settings}, f"{folder}/metrics.json")] if settings else []
    return layers + ([(load_yaml(ns.config), str(ns.config))] if getattr(ns, "config", None) else [])


def _eval_vlm(parsed: Parsed) -> int:
    from rlsuite.vision.adapters import is_adapter_folder, load_trained_policy
    from rlsuite.vision.finetune import evaluate_vlm
    from rlsuite.vision.folders import check_model_folder
    from rlsuite.vision.runtime import torch_threads

    opts, held_out, answers = parsed.get(EvalVLMOptions), parsed.get(VLMEvalConfig), parsed.get(AnswerConfig)
    folder = _model_folder(parsed.args.folder, opts.model)
    if answers.reasoning:
        answers.grammar_for(opts.actions)  # a grammar or fallback no action fits: one line, before loading
    if not is_adapter_folder(folder):
        check_model_folder(folder, trust_pickle=opts.trust_pickle)
    console.quiet_third_party()
    with torch_threads(opts.threads):
        policy = load_trained_policy(
            folder,
            opts.base,
            trust_remote_code=opts.trust_remote_code,
            trust_pickle=opts.trust_pickle,
            dtype=opts.dtype,
            device=opts.device,
            actions=opts.actions,
            prompt=opts.prompt or (REASONING_PROMPT if answers.reasoning else DEFAULT_PROMPT),
        )
        console.quiet_third_party()
        result = evaluate_vlm(policy, held_out, answers)
    print(
        f"success {result['success']:.3f} on {held_out.episodes} held-out random {held_out.size}x{held_out.size} "
        f"layouts: {_model_name(policy.model)} from {folder}"
    )
    if result["mode"] == "reasoning":
        print(f"reasoned answers: {result['unparsed_answers']} of {result['answers']} unparsed "
              f"(fallback: {answers.fallback})")  # fmt: skip
    return 0


def _model_folder(positional: str | None, flag: str | None) -> str:
    if positional and flag and positional != flag:
        raise ConfigError(f"eval-vlm: two model folders, FOLDER {positional!r} and --model {flag!r}; give one", "model")
    folder = positional or flag
    if not folder:
        raise ConfigError("eval-vlm: no model folder; give FOLDER or --model", "model")
    return folder


def _training(info: dict[str, Any], unit: str, reused: bool) -> str:
    when = "trained earlier with this config, reused" if reused else "trained now"
    loss = f", loss {info['first_loss']:.3f} -> {info['final_loss']:.3f}" if "first_loss" in info else ""
    return f"{info[unit]} {unit}, {info['seconds']} s, {info['params']:,} parameters{loss} ({when})"


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _model_name(model: Any) -> str:
    """The model's class, or ``<base class> + LoRA`` for a peft model."""
    if hasattr(model, "get_base_model"):
        return f"{type(model.get_base_model()).__name__} + LoRA"
    return type(model).__name__
