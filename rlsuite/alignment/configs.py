"""rlsuite's alignment configs: TRL's config classes with rlsuite's small-model defaults as field defaults.

Each class subclasses TRL's own (``trl.SFTConfig``, ``trl.RewardConfig``, ``trl.DPOConfig``,
``trl.RLOOConfig``, ``trl.GRPOConfig``, ``trl.KTOConfig``, and TRL 1.12's experimental
``ppo.PPOConfig``, ``online_dpo.OnlineDPOConfig``, ``orpo.ORPOConfig``, ``cpo.CPOConfig`` (SimPO) and
``bco.BCOConfig``), so a trainer takes it as it is and every TRL field
stays a field. What rlsuite changes is declared with :func:`~rlsuite.common.config.option`: a default
that suits a small model on a CPU, help text, bounds (``beta > 0``, ``learning_rate > 0``, ...) and
CLI aliases (``--out`` for ``--output_dir``, ``--budget`` for ``--max_steps``). Those fields are
checked by :func:`~rlsuite.common.config.check_config` when a config is built (a
:class:`~rlsuite.common.errors.ConfigError` names the field), before TRL's own checks run.

Device-aware choices are made in ``__post_init__``, where the machine is known: ``use_cpu`` and
``bf16`` left unset (``None``) mean "CPU and fp32 without CUDA (or when the accelerate launcher was
told ``--cpu``: ``ACCELERATE_USE_CPU``); bf16 on a CUDA device that supports it". Activation
(gradient) checkpointing is off: it only costs time for small models (TRL turns it on by default,
and transformers 5 warns about its old name, ``gradient_checkpointing``, whenever that is set).

``ModelConfig`` is ``trl.ModelConfig`` (LoRA through peft: ``use_peft``, ``lora_r``, ...) with
``--model`` as an alias of ``--model_name_or_path``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import trl
from trl.experimental.bco import BCOConfig as _TrlBCOConfig
from trl.experimental.cpo import CPOConfig as _TrlCPOConfig
from trl.experimental.online_dpo import OnlineDPOConfig as _TrlOnlineDPOConfig
from trl.experimental.orpo import ORPOConfig as _TrlORPOConfig
from trl.experimental.ppo import PPOConfig as _TrlPPOConfig

from rlsuite.common.config import check_config, config_error, option
from rlsuite.common.errors import ConfigError


@dataclass
class _Common:
    """The fields every rlsuite trainer config shares (mixed in before TRL's class)."""

    output_dir: str | None = option(
        None, help="output folder: checkpoints, model/, metrics.json (default: runs/align-<method>)", aliases=["--out"]
    )
    seed: int = option(0, help="random seed (data order, initial weights of new heads, sampling)", ge=0)
    max_steps: int = option(
        -1, help="optimizer steps to train (-1: num_train_epochs decides)", ge=-1, aliases=["--budget"]
    )
    learning_rate: float = option(1e-3, help="AdamW learning rate", gt=0.0)
    per_device_train_batch_size: int = option(32, help="batch size per device", ge=1)
    num_train_epochs: float = option(1.0, help="epochs over the training data (when max_steps is -1)", gt=0.0)
    logging_steps: float = option(5, help="log the metrics every this many steps", gt=0.0)
    save_total_limit: int | None = option(2, help="checkpoints kept in output_dir (older ones are deleted)", ge=1)
    eval_strategy: str = option("no", help="when to evaluate: no, steps or epoch (rlsuite measures after training)")
    report_to: str | list[str] | None = option("none", help="experiment trackers to report to (none: no tracker)")
    disable_tqdm: bool | None = option(True, help="TRL's own progress bars (rlsuite shows its own)")
    activation_checkpointing: bool | None = option(
        False, help="recompute activations in the backward pass (saves memory, costs time; off for small models)"
    )
    gradient_checkpointing: bool | None = option(None, help="the old name of activation_checkpointing (transformers 5)")
    use_cpu: bool | None = option(None, help="train on the CPU (default: yes unless CUDA is available)")
    bf16: bool | None = option(None, help="bf16 mixed precision (default: on CUDA devices that support it)")
    torch_threads: int = option(
        0, help="torch CPU threads per process (0: OMP_NUM_THREADS if set, else 1: tiny models lose to more)", ge=0
    )

    def __post_init__(self) -> None:
        check_config(self)  # rlsuite's declared fields first: one line naming the field
        # the values as given, before TRL derives others from them (copies are built from these)
        self._given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        if self.max_steps == 0:
            raise config_error(self, "max_steps", "0 is not a budget (use -1 for num_train_epochs, or >= 1)")
        if self.use_cpu is None or self.bf16 is None:
            import torch

            cuda = torch.cuda.is_available()
            if self.use_cpu is None:  # the accelerate launcher's --cpu / use_cpu: true arrives as ACCELERATE_USE_CPU
                forced = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
                self.use_cpu = forced or not cuda
            if self.bf16 is None:
                native = cuda and torch.cuda.is_bf16_supported(including_emulation=False)  # not emulated (V100, T4)
                self.bf16 = bool(native and not self.use_cpu)
        if self.gradient_checkpointing is not None:  # the old name, given explicitly, decides (without the
            self.activation_checkpointing = self.gradient_checkpointing  # FutureWarning: the new name is set)
        try:
            super().__post_init__()  # type: ignore[misc]
        except ValueError as exc:
            # TRL's and transformers' own cross-field checks of the values the user gave (only this call:
            # any other ValueError is a bug and keeps its traceback).
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{type(self).__name__}: {str(exc).splitlines()[0]}") from exc


@dataclass
class SFTConfig(_Common, trl.SFTConfig):
    """``trl.SFTConfig`` with rlsuite's defaults: completion-only loss on prompt/completion records."""

    METHOD: ClassVar[str] = "sft"

    learning_rate: float = option(3e-3, help="AdamW learning rate", gt=0.0)
    num_train_epochs: float = option(3.0, help="epochs over the training data (when max_steps is -1)", gt=0.0)
    per_device_train_batch_size: int = option(64, help="batch size per device", ge=1)
    max_length: int | None = option(64, help="longest tokenized example (longer ones are truncated)", ge=1)
    lr_scheduler_type: str = option("constant", help="learning-rate schedule (constant, linear, cosine, ...)")
    save_strategy: str = option("epoch", help="when to save a checkpoint: no, steps or epoch")
    include_num_input_tokens_seen: str | bool = option("non_padding", help="count tokens: all, non_padding or no")


@dataclass
class RewardConfig(_Common, trl.RewardConfig):
    """``trl.RewardConfig`` with rlsuite's defaults: a scalar head on the policy, Bradley-Terry loss."""

    METHOD: ClassVar[str] = "reward"

    num_train_epochs: float = option(2.0, help="epochs over the training data (when max_steps is -1)", gt=0.0)
    max_length: int | None = option(64, help="longest tokenized pair member (longer pairs are dropped)", ge=1)
    save_strategy: str = option("epoch", help="when to save a checkpoint: no, steps or epoch")
    include_num_input_tokens_seen: str | bool = option("non_padding", help="count tokens: all, non_padding or no")


DPO_LOSSES = ("sigmoid", "sigmoid_norm", "ipo", "robust", "hinge", "exo_pair", "nca_pair", "bco_pair", "sppo_hard",
              "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft")


@dataclass
class DPOConfig(_Common, trl.DPOConfig):
    """``trl.DPOConfig`` with rlsuite's defaults. ``loss_type`` picks the loss family member: ``sigmoid``
    (DPO), ``ipo`` (IPO), ``robust`` (rDPO, with ``label_smoothing`` the assumed label-flip rate), ..."""

    METHOD: ClassVar[str] = "dpo"

    beta: float = option(0.1, help="KL strength to the reference (SFT) policy (IPO: its regulariser)", gt=0.0)
    loss_type: list[str] = option(
        default_factory=lambda: ["sigmoid"],
        help="loss: sigmoid (DPO), ipo, robust (rDPO), hinge (SLiC), ... (several with loss_weights)",
    )
    label_smoothing: float = option(
        0.0, help="robust: assumed probability that a preference label is flipped", ge=0.0, lt=0.5
    )
    max_length: int | None = option(64, help="longest tokenized prompt + completion", ge=1)
    save_strategy: str = option("epoch", help="when to save a checkpoint: no, steps or epoch")
    include_num_input_tokens_seen: str | bool = option("non_padding", help="count tokens: all, non_padding or no")

    def __post_init__(self) -> None:
        if isinstance(self.loss_type, str):
            self.loss_type = [self.loss_type]
        super().__post_init__()
        unknown = [x for x in self.loss_type if x not in DPO_LOSSES]
        if unknown:
            raise config_error(self, "loss_type", f"{unknown[0]!r} is not one of {', '.join(DPO_LOSSES)}")
        if "robust" in self.loss_type and self.label_smoothing == 0.0:
            raise config_error(self, "label_smoothing", "robust needs a label-flip rate in (0, 0.5), e.g. 0.1")


@dataclass
class _OnlineCommon:
    """Sampling settings shared by the online methods (RLOO, GRPO), and their reward."""

    reward_model_path: str | None = option(
        None, help="reward-model folder (from `align reward`), or 'gold' for the synthetic task's verifiable reward",
        aliases=["--reward_model", "--reward-model"],
    )
    max_steps: int = option(30, help="optimizer steps to train", ge=1, aliases=["--budget"])
    num_generations: int | None = option(4, help="completions sampled per prompt (the group)", ge=2)
    max_completion_length: int | None = option(12, help="longest sampled completion, in tokens", ge=1)
    temperature: float = option(1.0, help="sampling temperature", gt=0.0)
    top_k: int = option(0, help="sample from the top k tokens only (0: all)", ge=0)
    save_strategy: str = option("steps", help="when to save a checkpoint: no, steps or epoch")
    save_steps: float = option(10, help="save a checkpoint every this many steps", gt=0.0)
    log_completions: bool = option(False, help="log sampled completions")


@dataclass
class RLOOConfig(_OnlineCommon, _Common, trl.RLOOConfig):
    """``trl.RLOOConfig`` with rlsuite's defaults: REINFORCE leave-one-out against a reward."""

    METHOD: ClassVar[str] = "rloo"

    beta: float = option(0.05, help="KL coefficient to the reference (SFT) policy", ge=0.0)


@dataclass
class GRPOConfig(_OnlineCommon, _Common, trl.GRPOConfig):
    """``trl.GRPOConfig`` with rlsuite's defaults: group-normalised advantages, KL to SFT on by default
    (TRL's default is ``beta=0``, no reference model; rlsuite sweeps it like RLOO's and PPO's)."""

    METHOD: ClassVar[str] = "grpo"

    beta: float = option(0.05, help="KL coefficient to the reference (SFT) policy (0: no reference model)", ge=0.0)


@dataclass
class OnlineDPOConfig(_Common, _TrlOnlineDPOConfig):
    """``trl.experimental.online_dpo.OnlineDPOConfig`` with rlsuite's defaults: two samples per prompt,
    ranked by a reward model (or the gold reward), a DPO loss on the pair."""

    METHOD: ClassVar[str] = "online_dpo"

    max_steps: int = option(30, help="optimizer steps to train", ge=1, aliases=["--budget"])
    reward_model_path: str | None = option(
        None, help="reward-model folder (from `align reward`), or 'gold' for the synthetic task's gold reward",
        aliases=["--reward_model", "--reward-model"],
    )
    beta: list[float] = option(default_factory=lambda: [0.1], help="KL strength to the reference (SFT) policy", gt=0.0)
    max_new_tokens: int = option(12, help="longest sampled completion, in tokens", ge=1)
    max_length: int = option(64, help="longest prompt + completion", ge=1)
    temperature: float = option(1.0, help="sampling temperature", gt=0.0)
    top_k: int | None = option(0, help="sample from the top k tokens only (0: all)", ge=0)
    missing_eos_penalty: float | None = option(None, help="subtracted from the score of a completion without eos")
    save_strategy: str = option("steps", help="when to save a checkpoint: no, steps or epoch")
    save_steps: float = option(10, help="save a checkpoint every this many steps", gt=0.0)

    def __post_init__(self) -> None:
        if isinstance(self.beta, int | float):
            self.beta = [float(self.beta)]
        super().__post_init__()


@dataclass
class PPOConfig(_Common, _TrlPPOConfig):
    """TRL 1.12's ``trl.experimental.ppo.PPOConfig`` with rlsuite's defaults (TRL 1.13 removed PPO).

    The budget is ``total_episodes`` (prompts sampled); ``--budget`` means it here."""

    METHOD: ClassVar[str] = "ppo"

    max_steps: int = option(-1, help="not PPO's budget (total_episodes is)", ge=-1)
    total_episodes: int | None = option(640, help="episodes (prompts sampled) to train on", ge=1, aliases=["--budget"])
    reward_model_path: str | None = option(
        None, help="reward-model folder (from `align reward`), with a trained score head",
        aliases=["--reward_model", "--reward-model"],
    )
    num_mini_batches: int = option(1, help="minibatches per PPO batch", ge=1)
    num_ppo_epochs: int = option(2, help="PPO epochs over each batch", ge=1)
    response_length: int = option(12, help="longest sampled response, in tokens", ge=1)
    temperature: float = option(1.0, help="sampling temperature", gt=0.0)
    stop_token: Literal["eos"] | None = option("eos", help="stop sampling at this token (eos)")
    kl_coef: float = option(0.05, help="KL coefficient to the reference (SFT) policy", ge=0.0)
    missing_eos_penalty: float | None = option(1.0, help="subtracted from the score of a response without eos")
    num_sample_generations: int = option(0, help="sample generations logged during training (0: none)", ge=0)
    local_rollout_forward_batch_size: int = option(64, help="rollout batch for forward passes", ge=1)
    save_strategy: str = option("no", help="TRL's PPOTrainer cannot resume: no checkpoints by default")


@dataclass
class _Offline:
    """Settings shared by the pair and unpaired-label methods (KTO, ORPO, SimPO, BCO)."""

    max_length: int | None = option(64, help="longest tokenized prompt + completion", ge=1)
    save_strategy: str = option("epoch", help="when to save a checkpoint: no, steps or epoch")


@dataclass
class KTOConfig(_Offline, _Common, trl.KTOConfig):
    """``trl.KTOConfig`` (TRL main) with rlsuite's defaults: Kahneman-Tversky optimisation on unpaired
    completions labelled desirable or not (pairs are unpaired as TRL's ``unpair_preference_dataset`` does)."""

    METHOD: ClassVar[str] = "kto"

    beta: float = option(0.1, help="KL strength to the reference (SFT) policy", gt=0.0)
    per_device_train_batch_size: int = option(
        32, help="batch size per device (KTO estimates its KL term within a batch: at least 2)", ge=2
    )
    desirable_weight: float = option(1.0, help="weight of the desirable completions' loss", gt=0.0)
    undesirable_weight: float = option(1.0, help="weight of the undesirable completions' loss", gt=0.0)


@dataclass
class ORPOConfig(_Offline, _Common, _TrlORPOConfig):
    """TRL 1.12's ``trl.experimental.orpo.ORPOConfig`` with rlsuite's defaults: SFT loss plus an odds-ratio
    preference term, no reference model."""

    METHOD: ClassVar[str] = "orpo"

    beta: float = option(0.1, help="weight of the odds-ratio term (ORPO's lambda; no reference model)", gt=0.0)


@dataclass
class SimPOConfig(_Offline, _Common, _TrlCPOConfig):
    """TRL 1.12's ``trl.experimental.cpo.CPOConfig`` as SimPO: ``loss_type="simpo"``, ``cpo_alpha=0``
    (length-normalised log-probability margins, a target margin gamma, no reference model)."""

    METHOD: ClassVar[str] = "simpo"

    beta: float = option(2.0, help="scale of SimPO's length-normalised reward (no reference model)", gt=0.0)
    simpo_gamma: float = option(0.5, help="target reward margin (SimPO's gamma)", ge=0.0)
    loss_type: str = option("simpo", help="CPO's loss: simpo (SimPO); sigmoid, hinge, ipo give CPO")
    cpo_alpha: float = option(0.0, help="weight of the behaviour-cloning (NLL) term: 0 for SimPO", ge=0.0)


@dataclass
class BCOConfig(_Offline, _Common, _TrlBCOConfig):
    """TRL 1.12's ``trl.experimental.bco.BCOConfig`` with rlsuite's defaults: binary classifier
    optimisation on unpaired completions labelled desirable or not (pairs are unpaired)."""

    METHOD: ClassVar[str] = "bco"

    beta: float = option(0.1, help="KL strength to the reference (SFT) policy", gt=0.0)


@dataclass
class ModelConfig(trl.ModelConfig):
    """``trl.ModelConfig``: the model folder, and LoRA through peft (``use_peft``, ``lora_r``, ...)."""

    model_name_or_path: str | None = option(
        None, help="local causal-LM folder (default: the embedded tiny model)", aliases=["--model"]
    )
    lora_r: int = option(16, help="LoRA rank", ge=1)
    lora_alpha: int = option(32, help="LoRA alpha (scale = alpha / r)", ge=1)
    lora_dropout: float = option(0.05, help="LoRA dropout", ge=0.0, lt=1.0)
    trust_pickle: bool = option(
        False, help="accept a --model or --reward_model folder holding only pickled weights (pytorch_model.bin), "
        "which can run code when loaded; only for folders you trust (or convert them to safetensors with "
        "save_pretrained)"
    )

    def __post_init__(self) -> None:
        check_config(self)
        targets = self.lora_target_modules
        try:
            super().__post_init__()
        except ValueError as exc:
            raise ConfigError(f"ModelConfig: {str(exc).splitlines()[0]}") from exc
        # trl turns a one-item list into its string (for "all-linear"); peft reads any other string as one regex
        # that must match a module's whole dotted name, so ["q_proj"] would match nothing: keep it a list.
        if isinstance(targets, list) and len(targets) == 1 and targets[0] != "all-linear":
            self.lora_target_modules = list(targets)


def peft_config(model_config: ModelConfig | trl.ModelConfig | None) -> Any:
    """A LoRA config from ``model_config`` when ``use_peft`` is set, else ``None`` (peft imported lazily)."""
    if model_config is None or not model_config.use_peft:
        return None
    from trl import get_peft_config

    return get_peft_config(model_config)

