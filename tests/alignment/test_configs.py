"""Alignment configs: TRL's classes with rlsuite's defaults, checked values, the CLI generated from them."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

pytest.importorskip("trl")

from rlsuite.alignment import configs as C
from rlsuite.alignment.compare import CompareConfig
from rlsuite.alignment.methods import METHODS
from rlsuite.app.args import parse
from rlsuite.app.cli import build_parser, main
from rlsuite.common.errors import ConfigError
from rlsuite.testing import alignment as T

ROOT = Path(__file__).resolve().parents[2]


def test_bf16_only_where_the_gpu_has_it_natively() -> None:
    """``is_bf16_supported()`` counts emulation (V100, T4: slower than float32); the default must not."""
    from cuda_sim import simulate_cuda

    with simulate_cuda(native_bf16=False):
        assert C.DPOConfig(output_dir="x").bf16 is False
    with simulate_cuda():
        assert C.DPOConfig(output_dir="x").bf16 is True


def test_defaults_are_field_defaults_and_device_aware() -> None:
    import trl

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dpo = C.DPOConfig(output_dir="x")
        grpo = C.GRPOConfig(output_dir="x")
        ppo = C.PPOConfig(output_dir="x")
        old_name = C.SFTConfig(output_dir="x", gradient_checkpointing=True)  # the old name still works, silently
    assert old_name.activation_checkpointing is True
    assert isinstance(dpo, trl.DPOConfig) and isinstance(grpo, trl.GRPOConfig)
    # CPU and fp32 without CUDA, bf16 where CUDA supports it; never activation checkpointing (and no
    # FutureWarning about its old name)
    import torch

    cuda = torch.cuda.is_available()
    devices = (dpo.use_cpu, dpo.bf16, dpo.activation_checkpointing, dpo.gradient_checkpointing)
    assert devices == (not cuda, cuda and torch.cuda.is_bf16_supported(including_emulation=False), False, False)
    assert not [w for w in caught if "checkpointing" in str(w.message)], [str(w.message) for w in caught]
    assert (dpo.beta, dpo.loss_type, dpo.learning_rate, dpo.seed, dpo.max_length) == (0.1, ["sigmoid"], 1e-3, 0, 64)
    assert (grpo.beta, grpo.num_generations, grpo.max_steps, grpo.max_completion_length) == (0.05, 4, 30, 12)
    assert (ppo.total_episodes, ppo.kl_coef, ppo.stop_token) == (640, 0.05, "eos")
    assert C.SFTConfig(output_dir="x").lr_scheduler_type == "constant"
    assert T.with_changes(grpo, seed=3).seed == 3 and T.with_changes(grpo, seed=3).beta == 0.05


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (C.DPOConfig, {"beta": -1}, "DPOConfig.beta: -1 is out of range (allowed: > 0)"),
        (C.DPOConfig, {"beta": "abc"}, "DPOConfig.beta: expected a number, got 'abc'"),
        (C.DPOConfig, {"learning_rate": 0.0}, "DPOConfig.learning_rate: 0.0 is out of range (allowed: > 0)"),
        (C.DPOConfig, {"loss_type": "ipp"}, "DPOConfig.loss_type: 'ipp' is not one of sigmoid"),
        (C.DPOConfig, {"loss_type": "robust"}, "DPOConfig.label_smoothing: robust needs a label-flip rate"),
        (C.DPOConfig, {"label_smoothing": 0.5}, "DPOConfig.label_smoothing: 0.5 is out of range (allowed: [0, 0.5))"),
        (C.SFTConfig, {"max_steps": 0}, "SFTConfig.max_steps: 0 is not a budget"),
        (C.RLOOConfig, {"num_generations": 1}, "RLOOConfig.num_generations: 1 is out of range (allowed: >= 2)"),
        (C.GRPOConfig, {"beta": -0.1}, "GRPOConfig.beta: -0.1 is out of range (allowed: >= 0)"),
        (C.PPOConfig, {"total_episodes": 0}, "PPOConfig.total_episodes: 0 is out of range (allowed: >= 1)"),
        (C.OnlineDPOConfig, {"beta": [0.1, -1.0]}, "OnlineDPOConfig.beta: [0.1, -1.0] is out of range"),
        (C.RewardConfig, {"per_device_train_batch_size": 0}, "RewardConfig.per_device_train_batch_size: 0 is out"),
        (C.ModelConfig, {"lora_r": 0}, "ModelConfig.lora_r: 0 is out of range (allowed: >= 1)"),
        (CompareConfig, {"seeds": 0}, "CompareConfig.seeds: 0 is out of range (allowed: >= 1)"),
        (CompareConfig, {"methods": ["dpo", "sft"]}, "CompareConfig.methods: 'sft' is not one of dpo, ipo"),
        (CompareConfig, {"dpo_betas": [0.1, 0.0]}, "CompareConfig.dpo_betas: [0.1, 0.0] is out of range"),
        (CompareConfig, {"heldout_fraction": 1.0}, "CompareConfig.heldout_fraction: 1.0 is out of range"),
    ],
)
def test_bad_values_are_one_line_naming_the_field(cls: type, kwargs: dict, message: str) -> None:
    if cls is not CompareConfig and cls is not C.ModelConfig:
        kwargs = {"output_dir": "x", **kwargs}
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_flags_aliases_yaml_and_set_reach_the_typed_configs(tmp_path: Path) -> None:
    yaml_file = tmp_path / "dpo.yaml"
    yaml_file.write_text("beta: 0.3\nloss_type: ipo\nuse_peft: true\nlora_r: 4\nsave_strategy: no\n")
    argv = ["align", "dpo", "--model_name_or_path", "M", "--dataset_name", "D.jsonl", "--output_dir", "O",
            "--budget", "7", "--seed", "3", "--config", str(yaml_file), "--set", "learning_rate=0.01", "--resume"]
    parsed = parse(build_parser("align"), argv)
    dpo, model = parsed.get(C.DPOConfig), parsed.get(C.ModelConfig)
    from rlsuite.app.align import AlignOptions

    opts = parsed.get(AlignOptions)
    assert (dpo.beta, dpo.loss_type, dpo.max_steps, dpo.seed, dpo.output_dir) == (0.3, ["ipo"], 7, 3, "O")
    assert (dpo.learning_rate, dpo.save_strategy) == (0.01, "no")
    assert (model.model_name_or_path, model.use_peft, model.lora_r) == ("M", True, 4)
    assert (opts.data, opts.resume) == ("D.jsonl", True)
    ppo = parse(build_parser("align"), ["align", "ppo", "--out", "P", "--budget", "64", "--reward_model", "R"])
    assert (ppo.get(C.PPOConfig).total_episodes, ppo.get(C.PPOConfig).reward_model_path) == (64, "R")
    cmp = parse(build_parser("align"), ["align", "compare", "--quick", "--set", "seeds=2", "--workers", "2"])
    from rlsuite.app.align import CompareOptions

    assert (cmp.get(CompareConfig).seeds, cmp.get(CompareConfig).eval_samples) == (2, 8)  # --quick, then --set
    assert cmp.get(CompareOptions).workers == 2


def test_help_lists_the_fields(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["align", "grpo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--beta", "--num_generations", "--out", "--output_dir", "--budget", "--max_steps", "--model",
                 "--model_name_or_path", "--dataset_name", "--seed", "--resume", "--reward_model", "--use_peft",
                 "--config", "--set"):
        assert flag in text, flag
    line = text[text.index("KL coefficient to the reference (SFT) policy (0: no reference model)"):][:120]
    assert ">= 0" in line and "(default: 0.05)" in line, line  # the help, the range and the default


@pytest.mark.parametrize(
    ("args", "yaml_text", "message"),
    [
        (["--set", "beta=-1"], None, "--set beta=-1: DPOConfig.beta: -1.0 is out of range (allowed: > 0)"),
        (["--beta", "abc"], None, "argument --beta: invalid float value: 'abc'"),
        (["--loss_type", "ipp"], None, "DPOConfig.loss_type: 'ipp' is not one of"),
        ([], "betta: 0.3\n", "unknown key 'betta' for rlsuite align dpo (did you mean 'beta'?)"),
        ([], "beta: 0\n", "DPOConfig.beta: 0 is out of range (allowed: > 0)"),
        ([], "beta: [1\n", "not valid YAML"),
    ],
)
def test_bad_values_from_the_cli_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, args: list, yaml_text: str | None,
    message: str,
) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path / "cache"))
    if yaml_text is not None:
        (tmp_path / "c.yaml").write_text(yaml_text)
        args = [*args, "--config", str(tmp_path / "c.yaml")]
    assert main(["align", "dpo", "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("path", sorted((ROOT / "rlsuite/app/configs/alignment").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_yaml_configs_parse(path: Path) -> None:
    command = path.stem
    parsed = parse(build_parser("align"), ["align", command, "--config", str(path)])
    config = parsed.get(METHODS[path.stem].config)
    assert path.stem == config.METHOD


def test_accelerate_configs_say_what_they_assume() -> None:
    import yaml

    multi_gpu = (ROOT / "rlsuite/app/configs/accelerate/multi_gpu.yaml").read_text()
    assert yaml.safe_load(multi_gpu)["num_processes"] == 8
    assert "HARD-CODES 8 processes" in multi_gpu and "--num_processes N" in multi_gpu
    multi_cpu = yaml.safe_load((ROOT / "rlsuite/app/configs/accelerate/multi_cpu.yaml").read_text())
    assert multi_cpu["num_processes"] == 2 and multi_cpu["use_cpu"] is True


def test_the_launchers_cpu_choice_is_the_configs_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    assert C.DPOConfig(output_dir="x").use_cpu is True
    assert C.DPOConfig(output_dir="x", use_cpu=False).use_cpu is False  # an explicit value wins


def test_align_takes_device_mapped_onto_trls_use_cpu_and_bf16() -> None:
    """``--device`` has the vocabulary of every command; cpu means TRL's use_cpu and fp32, on any machine."""
    from cuda_sim import simulate_cuda

    def parsed(*argv: str) -> C.DPOConfig:
        return parse(build_parser("align"), ["align", "dpo", *argv]).get(C.DPOConfig)

    assert (parsed("--device", "cpu").use_cpu, parsed("--device", "cpu").bf16) == (True, False)
    with simulate_cuda():
        on_gpu, on_cpu, auto = parsed("--device", "cuda"), parsed("--device", "cpu"), parsed()
        assert (on_gpu.use_cpu, on_cpu.use_cpu, on_cpu.bf16, auto.use_cpu) == (False, True, False, False)
        assert parsed("--device", "cpu", "--use_cpu", "false").use_cpu is False  # TRL's own flag, given, wins
        with pytest.raises(ConfigError, match=r"--device cuda:1: accelerate puts each process on a GPU by its rank"):
            parsed("--device", "cuda:1")
    with pytest.raises(ConfigError, match=r"AlignOptions.device: 'torch:cpu' is not one of auto, cpu, cuda, cuda:N"):
        parsed("--device", "torch:cpu")


@pytest.mark.parametrize(
    ("targets", "adapted"),
    [(["q_proj"], {"q_proj"}), (["q_proj", "v_proj"], {"q_proj", "v_proj"}), (["all-linear"], None)],
)
def test_one_lora_target_module_still_adapts_that_module(targets: list[str], adapted: set[str] | None) -> None:
    # trl.ModelConfig turns a one-item list into a plain string, which peft reads as a regex over whole module
    # names: ["q_proj"] then adapted nothing and get_peft_model refused the model
    import peft
    from transformers import AutoModelForCausalLM

    model_config = C.ModelConfig(use_peft=True, lora_r=2, lora_target_modules=targets)
    wrapped = peft.get_peft_model(AutoModelForCausalLM.from_pretrained(T.tiny_base()), C.peft_config(model_config))
    lora = {name.rsplit(".", 2)[-2] for name, _ in wrapped.named_modules() if name.endswith(".lora_A")}
    layers = {name.rsplit(".", 1)[-1] for name, m in wrapped.named_modules() if isinstance(m, peft.tuners.lora.Linear)}
    assert lora == layers
    assert lora == (adapted or {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})
