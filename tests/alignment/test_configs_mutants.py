"""rlsuite.alignment.configs, exactly: every declared field's default, bounds and aliases; each bound at the
bound and just past it (the one-line error); every branch of ``__post_init__`` (max_steps 0, use_cpu and bf16
resolved with and without CUDA and ``ACCELERATE_USE_CPU``, the old checkpointing name, TRL's own checks as one
line), DPO's losses, Online DPO's beta, ModelConfig's LoRA targets and ``peft_config``. Configs only: no model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

pytest.importorskip("trl")

from cuda_sim import simulate_cuda

from rlsuite.alignment import configs as C
from rlsuite.common.config import BOUNDS_KEY, CHECKED_KEY
from rlsuite.common.errors import ConfigError

OUT = ["--out"]
BUDGET = ["--budget"]
REWARD_MODEL = ["--reward_model", "--reward-model"]

# field: (default, allowed range, CLI aliases), as each class declares them with option()
COMMON = {
    "output_dir": (None, None, OUT), "seed": (0, ">= 0", None), "max_steps": (-1, ">= -1", BUDGET),
    "learning_rate": (1e-3, "> 0", None), "per_device_train_batch_size": (32, ">= 1", None),
    "num_train_epochs": (1.0, "> 0", None), "logging_steps": (5, "> 0", None), "save_total_limit": (2, ">= 1", None),
    "eval_strategy": ("no", None, None), "report_to": ("none", None, None), "disable_tqdm": (True, None, None),
    "activation_checkpointing": (False, None, None), "gradient_checkpointing": (None, None, None),
    "use_cpu": (None, None, None), "bf16": (None, None, None), "torch_threads": (0, ">= 0", None),
}  # fmt: skip
OFFLINE = {"max_length": (64, ">= 1", None), "save_strategy": ("epoch", None, None)}
TOKENS = {"include_num_input_tokens_seen": ("non_padding", None, None)}
ONLINE = {
    "reward_model_path": (None, None, REWARD_MODEL), "max_steps": (30, ">= 1", BUDGET),
    "num_generations": (4, ">= 2", None), "max_completion_length": (12, ">= 1", None),
    "temperature": (1.0, "> 0", None), "top_k": (0, ">= 0", None), "save_strategy": ("steps", None, None),
    "save_steps": (10, "> 0", None), "log_completions": (False, None, None), "beta": (0.05, ">= 0", None),
}  # fmt: skip
DECLARED: dict[type, dict[str, tuple[Any, str | None, list[str] | None]]] = {
    C.SFTConfig: {**COMMON, **OFFLINE, **TOKENS, "learning_rate": (3e-3, "> 0", None),
                  "num_train_epochs": (3.0, "> 0", None), "per_device_train_batch_size": (64, ">= 1", None),
                  "lr_scheduler_type": ("constant", None, None)},
    C.RewardConfig: {**COMMON, **OFFLINE, **TOKENS, "num_train_epochs": (2.0, "> 0", None)},
    C.DPOConfig: {**COMMON, **OFFLINE, **TOKENS, "beta": (0.1, "> 0", None), "loss_type": (["sigmoid"], None, None),
                  "label_smoothing": (0.0, "[0, 0.5)", None)},
    C.RLOOConfig: {**COMMON, **ONLINE},
    C.GRPOConfig: {**COMMON, **ONLINE},
    C.OnlineDPOConfig: {**COMMON, "max_steps": (30, ">= 1", BUDGET), "reward_model_path": (None, None, REWARD_MODEL),
                        "beta": ([0.1], "> 0", None), "max_new_tokens": (12, ">= 1", None),
                        "max_length": (64, ">= 1", None), "temperature": (1.0, "> 0", None),
                        "top_k": (0, ">= 0", None), "missing_eos_penalty": (None, None, None),
                        "save_strategy": ("steps", None, None), "save_steps": (10, "> 0", None)},
    C.PPOConfig: {**COMMON, "max_steps": (-1, ">= -1", None), "total_episodes": (640, ">= 1", BUDGET),
                  "reward_model_path": (None, None, REWARD_MODEL), "num_mini_batches": (1, ">= 1", None),
                  "num_ppo_epochs": (2, ">= 1", None), "response_length": (12, ">= 1", None),
                  "temperature": (1.0, "> 0", None), "stop_token": ("eos", None, None),
                  "kl_coef": (0.05, ">= 0", None), "missing_eos_penalty": (1.0, None, None),
                  "num_sample_generations": (0, ">= 0", None), "local_rollout_forward_batch_size": (64, ">= 1", None),
                  "save_strategy": ("no", None, None)},
    C.KTOConfig: {**COMMON, **OFFLINE, "beta": (0.1, "> 0", None), "per_device_train_batch_size": (32, ">= 2", None),
                  "desirable_weight": (1.0, "> 0", None), "undesirable_weight": (1.0, "> 0", None)},
    C.ORPOConfig: {**COMMON, **OFFLINE, "beta": (0.1, "> 0", None)},
    C.SimPOConfig: {**COMMON, **OFFLINE, "beta": (2.0, "> 0", None), "simpo_gamma": (0.5, ">= 0", None),
                    "loss_type": ("simpo", None, None), "cpo_alpha": (0.0, ">= 0", None)},
    C.BCOConfig: {**COMMON, **OFFLINE, "beta": (0.1, "> 0", None)},
    C.ModelConfig: {"model_name_or_path": (None, None, ["--model"]), "lora_r": (16, ">= 1", None),
                    "lora_alpha": (32, ">= 1", None), "lora_dropout": (0.05, "[0, 1)", None),
                    "trust_pickle": (False, None, None)},
}  # fmt: skip
METHODS = {C.SFTConfig: "sft", C.RewardConfig: "reward", C.DPOConfig: "dpo", C.RLOOConfig: "rloo",
           C.GRPOConfig: "grpo", C.OnlineDPOConfig: "online_dpo", C.PPOConfig: "ppo", C.KTOConfig: "kto",
           C.ORPOConfig: "orpo", C.SimPOConfig: "simpo", C.BCOConfig: "bco"}  # fmt: skip


def build(cls: type, **kwargs: Any) -> Any:
    return cls(**kwargs) if cls is C.ModelConfig else cls(output_dir="x", **kwargs)


def _declared(cls: type) -> dict[str, tuple[Any, str | None, list[str] | None]]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get(CHECKED_KEY):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            bounds = f.metadata.get(BOUNDS_KEY)
            out[f.name] = (default, bounds.describe() if bounds else None, f.metadata.get("aliases"))
    return out


@pytest.mark.parametrize("cls", list(DECLARED), ids=lambda c: c.__name__)
def test_declared_defaults_bounds_and_aliases(cls: type) -> None:
    assert _declared(cls) == DECLARED[cls]
    assert all(f.metadata["help"] for f in dataclasses.fields(cls) if f.metadata.get(CHECKED_KEY))
    if cls is not C.ModelConfig:
        assert METHODS[cls] == cls.METHOD
        config = build(cls)
        given = {name: default for name, (default, _, _) in DECLARED[cls].items()} | {"output_dir": "x"}
        assert {k: config._given[k] for k in given} == given  # the values as given, before use_cpu/bf16 resolve


def _edges(default: Any, spec: str) -> list[tuple[Any, bool]]:
    """``(value, allowed)`` at each end of ``spec`` (``>= 1``, ``> 0``, ``[0, 0.5)``) and just past it (by 1 for
    an integer field, 0.1 for a float)."""
    step = 1 if isinstance(default, int) and not isinstance(default, bool) else 0.1
    if spec.startswith(("[", "(")):
        low, high = spec[1:-1].split(", ")
        ends = [(">=" if spec[0] == "[" else ">", low), ("<=" if spec[-1] == "]" else "<", high)]
    else:
        op, number = spec.split(" ")
        ends = [(op, number)]
    edges = []
    for op, number in ends:
        bound = type(step)(float(number))
        inclusive = op in (">=", "<=")
        inward = step if op.startswith(">") else -step
        edges += [(bound, inclusive), (bound - inward, False) if inclusive else (bound + inward, True)]
    return edges


EXTRA = {(C.RLOOConfig, "per_device_train_batch_size"): {"num_generations": 2, "steps_per_generation": 2},
         (C.GRPOConfig, "per_device_train_batch_size"): {"num_generations": 2, "steps_per_generation": 2}}  # fmt: skip


def _outcome(cls: type, name: str, value: Any) -> Any:
    """The field's value in the config built with it, or the one-line error."""
    try:
        return getattr(build(cls, **{name: value}, **EXTRA.get((cls, name), {})), name)
    except ConfigError as exc:
        return str(exc)


@pytest.mark.parametrize("cls", list(DECLARED), ids=lambda c: c.__name__)
def test_each_bound_at_and_just_past_it(cls: type) -> None:
    """Allowed at an inclusive end and just inside an exclusive one; one line naming the field just past."""
    observed, expected = [], []
    for name, (default, spec, _) in DECLARED[cls].items():
        if spec is None:
            continue
        listed = isinstance(default, list)
        for value, allowed in _edges(default[0] if listed else default, spec):
            given = [value] if listed else value
            observed.append((name, given, _outcome(cls, name, given)))
            error = f"{cls.__name__}.{name}: {given!r} is out of range (allowed: {spec})"
            expected.append((name, given, value if allowed else error))  # TRL makes a one-item beta list a number
    assert observed == expected


def test_max_steps_zero_is_not_a_budget() -> None:
    with pytest.raises(ConfigError) as info:
        C.SFTConfig(output_dir="x", max_steps=0)
    assert str(info.value) == "SFTConfig.max_steps: 0 is not a budget (use -1 for num_train_epochs, or >= 1)"
    assert (C.SFTConfig(output_dir="x", max_steps=1).max_steps, C.SFTConfig(output_dir="x").max_steps) == (1, -1)


def test_given_values_are_kept_before_trl_derives_others() -> None:
    config = C.DPOConfig(output_dir="x", learning_rate=1, use_cpu=None, bf16=None, seed=3)
    assert (config._given["learning_rate"], type(config._given["learning_rate"])) == (1.0, float)  # checked first
    assert (config._given["use_cpu"], config._given["bf16"], config._given["seed"]) == (None, None, 3)
    import torch

    cuda = torch.cuda.is_available()  # resolved after _given was taken, for this machine
    native_bf16 = cuda and torch.cuda.is_bf16_supported(including_emulation=False)
    assert (config.use_cpu, config.bf16) == ((False, native_bf16) if cuda else (True, False))
    assert set(config._given) == {f.name for f in dataclasses.fields(config) if f.init}


def _device(env: str | None, cuda: bool, native_bf16: bool = True, **given: Any) -> tuple[Any, Any]:
    """``(use_cpu, bf16)`` of a DPOConfig built with ``given`` on a machine with or without (simulated) CUDA."""
    import contextlib

    import torch

    if not cuda and torch.cuda.is_available():  # CI's simulated-CUDA run, or a GPU machine
        pytest.skip("a machine without CUDA is needed (CUDA, simulated or real, is available here)")
    mp = pytest.MonkeyPatch()
    try:
        if env is None:
            mp.delenv("ACCELERATE_USE_CPU", raising=False)
        else:
            mp.setenv("ACCELERATE_USE_CPU", env)
        with simulate_cuda(native_bf16=native_bf16) if cuda else contextlib.nullcontext():
            config = C.DPOConfig(output_dir="x", **given)
        return config.use_cpu, config.bf16
    finally:
        mp.undo()


def test_use_cpu_and_bf16_left_unset_follow_the_machine() -> None:
    import torch

    if torch.cuda.is_available():  # CI's simulated-CUDA run, or a GPU machine
        pytest.skip("a machine without CUDA is needed (CUDA, simulated or real, is available here)")
    assert _device(None, cuda=False) == (True, False)
    assert _device(None, cuda=True) == (False, True)
    assert _device(None, cuda=True, native_bf16=False) == (False, False)  # emulated bf16 (V100, T4): fp32


@pytest.mark.parametrize(("env", "forced"), [("1", True), ("true", True), ("True", True), ("TRUE", True),
                                              ("yes", True), ("Yes", True), ("0", False), ("false", False),
                                              ("no", False), ("y", False)])  # fmt: skip
def test_the_accelerate_launchers_cpu(env: str, forced: bool) -> None:
    """``ACCELERATE_USE_CPU`` (accelerate's --cpu) forces the CPU and fp32 on a CUDA machine."""
    assert _device(env, cuda=True) == ((True, False) if forced else (False, True))
    assert _device(env, cuda=False) == (True, False)


def test_given_use_cpu_or_bf16_wins() -> None:
    assert _device("1", cuda=True, use_cpu=False) == (False, True)  # given use_cpu, bf16 resolved against it
    assert _device(None, cuda=True, use_cpu=True) == (True, False)  # bf16 off on the CPU even where CUDA has it
    assert _device(None, cuda=True, bf16=False) == (False, False)
    assert _device("1", cuda=True, bf16=False) == (True, False)
    assert _device(None, cuda=False, use_cpu=True, bf16=False) == (True, False)
    assert _device(None, cuda=True, use_cpu=False, bf16=False) == (False, False)  # both given: nothing resolved


def test_the_old_checkpointing_name_decides_when_given() -> None:
    """Given, ``gradient_checkpointing`` sets the new name itself, so transformers warns of nothing."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert C.SFTConfig(output_dir="x").activation_checkpointing is False
        assert C.SFTConfig(output_dir="x", activation_checkpointing=True).activation_checkpointing is True
        assert C.SFTConfig(output_dir="x", gradient_checkpointing=True).activation_checkpointing is True
        old = C.SFTConfig(output_dir="x", activation_checkpointing=True, gradient_checkpointing=False)
    assert (old.activation_checkpointing, old.gradient_checkpointing) == (False, False)
    assert [str(w.message) for w in caught if "checkpointing" in str(w.message)] == []


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (C.GRPOConfig, {"num_generations": 3},
         "GRPOConfig: generation_batch_size (32) must be divisible by num_generations (3)."),
        (C.SFTConfig, {"load_best_model_at_end": True, "save_strategy": "steps", "eval_strategy": "epoch"},
         'SFTConfig: --load_best_model_at_end requires the save and eval strategy to match, except when '
         '--save_strategy="best", but found'),  # the first of TRL's lines
        (C.ModelConfig, {"load_in_8bit": True, "load_in_4bit": True},
         "ModelConfig: You can't use 8 bit and 4 bit precision at the same time"),
    ],
)  # fmt: skip
def test_trls_own_checks_are_one_line_naming_the_class(cls: type, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build(cls, **kwargs)
    assert str(info.value) == message
    assert type(info.value.__cause__) is ValueError and str(info.value.__cause__).startswith(message.split(": ", 1)[1])


def test_dpo_loss_types() -> None:
    assert C.DPOConfig(output_dir="x", loss_type="ipo").loss_type == ["ipo"]
    assert C.DPOConfig(output_dir="x", loss_type=["ipo", "sigmoid"], loss_weights=[1.0, 1.0]).loss_type == [
        "ipo", "sigmoid"]  # fmt: skip
    robust = C.DPOConfig(output_dir="x", loss_type="robust", label_smoothing=0.1)
    assert (robust.loss_type, robust.label_smoothing) == (["robust"], 0.1)
    assert C.DPOConfig(output_dir="x", label_smoothing=0.1).label_smoothing == 0.1  # no robust: any rate
    assert C.DPOConfig(output_dir="x", loss_type=list(C.DPO_LOSSES), label_smoothing=0.25).loss_type == list(
        C.DPO_LOSSES)  # fmt: skip
    losses = ", ".join(C.DPO_LOSSES)
    assert losses == ("sigmoid, sigmoid_norm, ipo, robust, hinge, exo_pair, nca_pair, bco_pair, sppo_hard, aot, "
                      "aot_unpaired, apo_zero, apo_down, discopop, sft")  # fmt: skip
    for kwargs, message in [
        ({"loss_type": "ipp"}, f"DPOConfig.loss_type: 'ipp' is not one of {losses}"),
        ({"loss_type": ["sigmoid", "nope", "nada"]}, f"DPOConfig.loss_type: 'nope' is not one of {losses}"),
        ({"loss_type": "robust"}, "DPOConfig.label_smoothing: robust needs a label-flip rate in (0, 0.5), e.g. 0.1"),
        ({"loss_type": ["sigmoid", "robust"]},
         "DPOConfig.label_smoothing: robust needs a label-flip rate in (0, 0.5), e.g. 0.1"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError) as info:
            C.DPOConfig(output_dir="x", **kwargs)
        assert str(info.value) == message


def test_online_dpo_beta_a_number_or_a_list() -> None:
    for beta, expected in [(0.2, 0.2), (1, 1.0), ([0.3], 0.3), ([0.1, 0.5], [0.1, 0.5])]:
        config = C.OnlineDPOConfig(output_dir="x", beta=beta)
        assert (config.beta, type(config.beta)) == (expected, type(expected))  # TRL unwraps a one-item list
        assert config._given["beta"] == ([float(beta)] if isinstance(beta, int | float) else beta)
    with pytest.raises(ConfigError) as info:
        C.OnlineDPOConfig(output_dir="x", beta=0)
    assert str(info.value) == "OnlineDPOConfig.beta: [0.0] is out of range (allowed: > 0)"


@pytest.mark.parametrize(
    ("targets", "kept"),
    [(["q_proj"], ["q_proj"]), (["all-linear"], "all-linear"), (["q_proj", "v_proj"], ["q_proj", "v_proj"]),
     ("q_proj", "q_proj"), ("all-linear", "all-linear"), (None, None), ([], [])],
)  # fmt: skip
def test_one_lora_target_stays_a_list(targets: Any, kept: Any) -> None:
    """TRL makes a one-item list its string (for "all-linear"); peft would read "q_proj" as a whole-name regex."""
    config = C.ModelConfig(lora_target_modules=targets)
    assert (config.lora_target_modules, type(config.lora_target_modules)) == (kept, type(kept))


def test_model_config_checks_its_own_fields_first() -> None:
    with pytest.raises(ConfigError) as info:
        C.ModelConfig(lora_r=0, load_in_8bit=True, load_in_4bit=True)
    assert str(info.value) == "ModelConfig.lora_r: 0 is out of range (allowed: >= 1)"
    assert C.ModelConfig(model_name_or_path="m", lora_alpha=1).lora_alpha == 1


def test_peft_config_only_with_use_peft() -> None:
    import trl

    assert C.peft_config(None) is None
    assert C.peft_config(C.ModelConfig()) is None
    assert C.peft_config(trl.ModelConfig(use_peft=False)) is None
    lora = C.peft_config(C.ModelConfig(use_peft=True, lora_r=2, lora_target_modules=["q_proj"]))
    assert (type(lora).__name__, lora.r, lora.lora_alpha, lora.lora_dropout) == ("LoraConfig", 2, 32, 0.05)
    assert lora.target_modules == {"q_proj"}
    assert C.peft_config(trl.ModelConfig(use_peft=True, lora_r=4)).r == 4  # TRL's own class too
