"""Alignment training: every TRL trainer on a tiny Llama (TRL's own test pattern), asserting that it learns.

SFT and DPO's losses fall; the reward model ranks held-out pairs; DPO and its loss family, RLOO, GRPO
(against the reward model and against the gold reward), Online DPO and PPO raise the gold reward over
the SFT policy; resume skips a half-written checkpoint; LoRA trains an adapter through peft; every
``align`` subcommand runs from the CLI; two processes under ``accelerate launch`` train one DPO run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from rlsuite.alignment import configs as C
from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.methods import METHODS
from rlsuite.alignment.training import losses
from rlsuite.app.cli import main
from rlsuite.testing import alignment as T

TASK = SentimentTask()
TRAIN_PROMPTS, HELD_PROMPTS = TASK.split_prompts()


def _params(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path / "model.safetensors"))


def _changed(a: Path, b: Path) -> bool:
    pa, pb = _params(a), _params(b)
    shared = [k for k in pa if k in pb and pa[k].shape == pb[k].shape]
    assert shared
    return any(not np.allclose(pa[k], pb[k]) for k in shared)


@pytest.fixture(scope="module")
def sft() -> Path:
    return T.tiny_sft()


@pytest.fixture(scope="module")
def rm() -> Path:
    return T.tiny_reward_model()


@pytest.fixture(scope="module")
def sft_gold(sft: Path) -> float:
    from rlsuite.alignment.evaluate import evaluate_policy

    return evaluate_policy(sft, sft, HELD_PROMPTS, 16)["reward"]


def _gold(policy: Path, sft: Path) -> float:
    from rlsuite.alignment.evaluate import evaluate_policy

    return evaluate_policy(policy, sft, HELD_PROMPTS, 16)["reward"]


def test_sft_loss_falls_and_parameters_change(sft: Path) -> None:
    metrics = json.loads((sft.parent / "metrics.json").read_text())
    loss = losses(metrics)
    assert len(loss) >= 5 and loss[-1] < loss[0] - 0.3, loss  # nats per token; the data's entropy bounds it
    assert _changed(T.tiny_base(), sft)
    assert metrics["tokens"] > 0 and metrics["peak_memory_mb"] > 0 and metrics["torch_threads"] == 1


def test_reward_model_ranks_held_out_pairs(rm: Path) -> None:
    from rlsuite.alignment.evaluate import reward_model_accuracy

    _, held = T.tiny_pairs()
    assert len(held) >= 20
    assert reward_model_accuracy(rm, held) > 0.75
    metrics = json.loads((rm.parent / "metrics.json").read_text())
    assert losses(metrics)[-1] < losses(metrics)[0] - 0.05, losses(metrics)


@pytest.mark.parametrize(("loss_type", "extra"), [("sigmoid", {}), ("ipo", {}), ("robust", {"label_smoothing": 0.1})])
def test_dpo_family_raises_gold_reward(sft: Path, sft_gold: float, tmp_path: Path, loss_type: str, extra: dict) -> None:
    from rlsuite.alignment.evaluate import implicit_reward_accuracy
    from rlsuite.alignment.training import train_dpo

    train, held = T.tiny_pairs()
    config = C.DPOConfig(output_dir=str(tmp_path), num_train_epochs=3, loss_type=loss_type, logging_steps=2,
                         save_strategy="no", **extra)
    metrics = train_dpo(sft, train, config)
    loss = losses(metrics)
    assert loss[-1] < loss[0], loss
    gold = _gold(tmp_path / "model", sft)
    assert gold > sft_gold + 0.5, (sft_gold, gold)
    assert implicit_reward_accuracy(tmp_path / "model", sft, held) > 0.6


@pytest.mark.parametrize(
    ("method", "reward"),
    [("rloo", "rm"), ("grpo", "rm"), ("grpo", "gold"), ("online_dpo", "rm")],
)
def test_online_methods_raise_gold_reward(
    sft: Path, rm: Path, sft_gold: float, tmp_path: Path, method: str, reward: str
) -> None:
    from rlsuite.alignment.methods import train

    cls = METHODS[method].config
    config = cls(output_dir=str(tmp_path), max_steps=20, logging_steps=2, save_strategy="no")
    metrics = train(config, sft, TRAIN_PROMPTS, reward=str(rm) if reward == "rm" else "gold")
    assert _changed(sft, tmp_path / "model")
    gold = _gold(tmp_path / "model", sft)
    assert gold > sft_gold + 0.5, (method, reward, sft_gold, gold)
    logged = [h for h in metrics["log_history"] if "reward" in h or "objective/scores" in h or "rewards/chosen" in h]
    assert logged


def test_ppo_raises_gold_reward(sft: Path, rm: Path, sft_gold: float, tmp_path: Path) -> None:
    from rlsuite.alignment.training import train_ppo

    config = C.PPOConfig(output_dir=str(tmp_path), total_episodes=256, num_ppo_epochs=4, learning_rate=3e-3,
                         kl_coef=0.01, logging_steps=1)
    metrics = train_ppo(sft, TRAIN_PROMPTS, config, rm)
    assert any("loss/policy_avg" in h for h in metrics["log_history"])
    gold = _gold(tmp_path / "model", sft)
    assert gold > sft_gold + 0.5, (sft_gold, gold)


def test_resume_skips_a_half_written_checkpoint(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from rlsuite.alignment.training import train_sft

    records = TASK.sft_dataset(128, seed=1)
    config = C.SFTConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=32, save_steps=2,
                         save_strategy="steps")
    assert train_sft(T.tiny_base(), records, config)["resumed_from"] is None
    crashed = tmp_path / "checkpoint-3"  # what kill -9 during a save leaves: config.json only
    crashed.mkdir()
    shutil.copy(tmp_path / "checkpoint-2" / "config.json", crashed / "config.json")
    with caplog.at_level(logging.WARNING, logger="rlsuite"):
        second = train_sft(T.tiny_base(), records, T.with_changes(config, max_steps=4), resume=True)
    assert second["resumed_from"].endswith("checkpoint-2") and second["global_steps"] == 4
    assert "skipped checkpoint-3 (incomplete" in caplog.text
    assert not crashed.exists() and (tmp_path / "checkpoint-3.incomplete").is_dir()


def test_resume_from_the_last_steps_checkpoint_trains_no_step_more(tmp_path: Path) -> None:
    """Killed after its last checkpoint (before finished.json): --resume finishes at the budget, with those weights."""
    from safetensors.numpy import load_file

    from rlsuite.alignment.training import train_sft

    records = TASK.sft_dataset(128, seed=1)
    config = C.SFTConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=32, save_steps=2,
                         save_strategy="steps")  # fmt: skip
    train_sft(T.tiny_base(), records, config)
    trained = load_file(str(tmp_path / "checkpoint-2" / "model.safetensors"))
    shutil.rmtree(tmp_path / "model")
    second = train_sft(T.tiny_base(), records, config, resume=True)
    assert second["resumed_from"].endswith("checkpoint-2") and second["global_steps"] == 2
    final = load_file(str(tmp_path / "model" / "model.safetensors"))
    assert all(np.array_equal(final[k], trained[k]) for k in trained)


def test_lora_trains_an_adapter_through_peft(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    from rlsuite.alignment.training import train_sft

    model_config = C.ModelConfig(use_peft=True, lora_r=8, lora_alpha=16, lora_target_modules=["q_proj", "v_proj"])
    config = C.SFTConfig(output_dir=str(tmp_path), max_steps=16, learning_rate=1e-2, logging_steps=2,
                         save_strategy="no")
    metrics = train_sft(T.tiny_base(), TASK.sft_dataset(1024, seed=2), config, model_config)
    adapter = json.loads((tmp_path / "model" / "adapter_config.json").read_text())
    assert adapter["r"] == 8 and sorted(adapter["target_modules"]) == ["q_proj", "v_proj"]
    weights = load_file(str(tmp_path / "model" / "adapter_model.safetensors"))
    assert weights and all("lora_" in k for k in weights)  # the adapter only, not the base weights
    assert any(np.abs(v).max() > 0 for k, v in weights.items() if "lora_B" in k)  # B starts at 0: it trained
    loss = losses(metrics)
    assert loss[-1] < loss[0] - 0.1, loss


# --- every subcommand from the CLI, at a small size ------------------------------------------------


def test_every_align_subcommand_runs_from_the_cli(sft: Path, rm: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in T.tiny_pairs()[0][:64]))
    common = ["--model", str(sft), "--set", "logging_steps=1"]
    runs = {
        "sft": ["--model", str(T.tiny_base()), "--budget", "2", "--set", "logging_steps=1"],
        "reward": [*common, "--data", str(pairs), "--budget", "2"],
        "dpo": [*common, "--data", str(pairs), "--budget", "2", "--loss_type", "ipo"],
        "rloo": [*common, "--reward_model", str(rm), "--budget", "2"],
        "grpo": [*common, "--reward_model", "gold", "--budget", "2"],
        "online_dpo": [*common, "--reward_model", str(rm), "--budget", "2"],
        "ppo": [*common, "--reward_model", str(rm), "--budget", "32"],
    }
    for command, args in runs.items():
        out = tmp_path / command
        assert main(["align", command, "--out", str(out), *args]) == 0, command
        printed = " ".join(capsys.readouterr().out.split())  # the result line wraps at 80 columns
        assert printed.startswith(f"{command.replace('-', '_')}: ") and f"model in {out / 'model'}" in printed
        finished = json.loads((out / "finished.json").read_text())
        assert finished["global_steps"] == (1 if command == "ppo" else 2), command
        assert (out / "model" / "config.json").is_file() and (out / "log.txt").is_file()
        assert "{'loss'" not in printed  # TRL's metric dicts go to the log, not the console
    assert '"loss"' in (tmp_path / "dpo" / "log.txt").read_text()


def test_resume_of_a_finished_run_keeps_its_results(sft: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "dpo"
    argv = ["align", "dpo", "--model", str(sft), "--out", str(out), "--budget", "2"]
    assert main(argv) == 0
    before = (out / "metrics.json").read_bytes(), (out / "finished.json").read_bytes()
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0
    assert "is finished (2 steps); nothing to resume" in capsys.readouterr().out
    assert ((out / "metrics.json").read_bytes(), (out / "finished.json").read_bytes()) == before
    assert main(argv) == 2  # without --resume or --overwrite a finished folder is refused
    assert "holds finished results; pass --overwrite" in capsys.readouterr().err


def test_accelerate_launch_two_cpu_processes(sft: Path, tmp_path: Path, free_port: int) -> None:
    """The multi-process path: `accelerate launch` with 2 processes, CPU forced (DDP over gloo)."""
    accelerate = shutil.which("accelerate") or str(Path(sys.executable).parent / "accelerate")
    pairs = tmp_path / "pairs.jsonl"
    rng = np.random.default_rng(0)
    rows = [
        {"prompt": p, "chosen": " good great " + TASK.sample_completion(rng),
         "rejected": " bad awful " + TASK.sample_completion(rng)}
        for p in TASK.all_prompts() * 4
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [
        accelerate, "launch", "--config_file", str(root / "rlsuite/app/configs/accelerate/multi_cpu.yaml"),
        "--main_process_port", str(free_port),
        "-m", "rlsuite", "align", "dpo", "--model", str(sft), "--data", str(pairs), "--out", str(tmp_path / "dpo"),
        "--use_cpu", "true", "--set", "num_train_epochs=1", "save_strategy=no",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "dpo" / "metrics.json").read_text())
    assert metrics["num_processes"] == 2
    assert metrics["global_steps"] == int(np.ceil(len(rows) / (2 * 32)))  # global batch = 2 x 32
    assert _changed(sft, tmp_path / "dpo" / "model")
    assert proc.stdout.count("dpo: ") == 1  # only the main process prints its result
