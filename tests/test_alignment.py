"""Alignment layer: TRL trainers on a tiny Llama built in fixtures (TRL's own test pattern).

Each trainer runs a few steps, logs its loss and changes the parameters; the reward model beats
chance on held-out pairs; DPO raises the gold reward over SFT; compare writes a complete report;
malformed input gives one-line errors naming file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from rlsuite.alignment.data import SentimentTask, load_preferences, split_heldout
from rlsuite.common.errors import UsageError

TASK = SentimentTask()


def _params(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path / "model.safetensors"))


def _changed(a: Path, b: Path) -> bool:
    pa, pb = _params(a), _params(b)
    shared = [k for k in pa if k in pb and pa[k].shape == pb[k].shape]
    assert shared
    return any(not np.allclose(pa[k], pb[k]) for k in shared)


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer

    path = tmp_path_factory.mktemp("align") / "base"
    tok = build_tokenizer(TASK.vocabulary())
    model = build_tiny_causal_lm(tok, "llama", hidden_size=64, layers=2, seed=0)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def sft(base: Path) -> tuple[Path, dict]:
    from rlsuite.alignment.sft import train_sft

    out = base.parent / "sft"
    metrics = train_sft(
        base,
        TASK.sft_dataset(768, seed=0),
        out,
        overrides={
            "num_train_epochs": 2,
            "per_device_train_batch_size": 64,
            "save_strategy": "no",
            "logging_steps": 2,
        },
    )
    return out / "model", metrics


@pytest.fixture(scope="session")
def pairs(sft: tuple[Path, dict]) -> tuple[list, list]:
    from rlsuite.alignment.evaluate import sample_pairs

    train_prompts, _ = TASK.split_prompts()
    return split_heldout(sample_pairs(sft[0], train_prompts, copies=24, seed=0), 0.1, seed=0)


@pytest.fixture(scope="session")
def reward_model(sft: tuple[Path, dict], pairs: tuple[list, list]) -> tuple[Path, dict]:
    from rlsuite.alignment.rlhf import train_reward

    out = sft[0].parent.parent / "rm"
    metrics = train_reward(
        sft[0], pairs[0], out, overrides={"num_train_epochs": 4, "logging_steps": 4, "save_strategy": "no"}
    )
    return out / "model", metrics


def _losses(metrics: dict, key: str = "loss") -> list[float]:
    return [h[key] for h in metrics["log_history"] if key in h]


# --- the embedded pieces --------------------------------------------------------------------


def test_tokenizer_splits_like_trl_expects(base: Path) -> None:
    from rlsuite.alignment.models import load_tokenizer

    tok = load_tokenizer(base)
    prompt, completion = "the hotel was", " very good but dull"
    assert tok(prompt)["input_ids"] + tok(completion)["input_ids"] == tok(prompt + completion)["input_ids"]
    assert tok.unk_token_id not in tok(prompt + completion)["input_ids"]
    assert TASK.gold_reward([" good great bad", " the plot", " awful sad"]) == [1.0, 0.0, -2.0]


def test_sft_logs_loss_and_changes_parameters(base: Path, sft: tuple[Path, dict]) -> None:
    losses = _losses(sft[1])
    assert len(losses) >= 2 and losses[-1] < losses[0]
    assert _changed(base, sft[0])
    assert sft[1]["tokens"] > 0 and sft[1]["peak_memory_mb"] > 0


def test_reward_model_beats_chance(
    sft: tuple[Path, dict], pairs: tuple[list, list], reward_model: tuple[Path, dict]
) -> None:
    from rlsuite.alignment.evaluate import reward_model_accuracy

    assert _losses(reward_model[1])
    acc = reward_model_accuracy(reward_model[0], pairs[1])
    assert len(pairs[1]) >= 20
    assert acc > 0.7, acc


def test_dpo_trains_and_raises_gold_reward(sft: tuple[Path, dict], pairs: tuple[list, list]) -> None:
    from rlsuite.alignment.dpo import train_dpo
    from rlsuite.alignment.evaluate import evaluate_policy, implicit_reward_accuracy

    out = sft[0].parent.parent / "dpo"
    metrics = train_dpo(
        sft[0],
        pairs[0],
        out,
        overrides={"num_train_epochs": 3, "beta": 0.1, "logging_steps": 2, "save_strategy": "no"},
    )
    assert _losses(metrics) and _losses(metrics)[-1] < _losses(metrics)[0]
    assert _changed(sft[0], out / "model")
    _, held = TASK.split_prompts()
    before = evaluate_policy(sft[0], sft[0], held, 16)
    after = evaluate_policy(out / "model", sft[0], held, 16)
    assert after["reward"] > before["reward"] + 0.5, (before["reward"], after["reward"])
    assert after["kl_to_sft"] > 0
    assert implicit_reward_accuracy(out / "model", sft[0], pairs[1]) > 0.6


def test_rloo_trains_against_the_reward_model(
    sft: tuple[Path, dict], reward_model: tuple[Path, dict]
) -> None:
    from rlsuite.alignment.rlhf import train_rloo

    out = sft[0].parent.parent / "rloo"
    train_prompts, _ = TASK.split_prompts()
    metrics = train_rloo(
        sft[0],
        train_prompts,
        out,
        reward_model[0],
        overrides={"max_steps": 4, "logging_steps": 1, "save_strategy": "no"},
    )
    assert len(_losses(metrics)) >= 2
    assert any("reward" in h for h in metrics["log_history"])
    assert _changed(sft[0], out / "model")


@pytest.mark.slow
def test_ppo_trains_and_raises_gold_reward(sft: tuple[Path, dict], reward_model: tuple[Path, dict]) -> None:
    from rlsuite.alignment.evaluate import evaluate_policy
    from rlsuite.alignment.rlhf import train_ppo

    out = sft[0].parent.parent / "ppo"
    train_prompts, held = TASK.split_prompts()
    metrics = train_ppo(
        sft[0],
        train_prompts,
        out,
        reward_model[0],
        overrides={"total_episodes": 512, "num_ppo_epochs": 4, "learning_rate": 3e-3, "logging_steps": 1,
                   "kl_coef": 0.01},
    )
    assert any("loss/policy_avg" in h for h in metrics["log_history"])
    assert _changed(sft[0], out / "model")
    before = evaluate_policy(sft[0], sft[0], held, 16)
    after = evaluate_policy(out / "model", sft[0], held, 16)
    assert after["reward"] > before["reward"] + 0.5, (before["reward"], after["reward"])


def test_ppo_runs_a_few_updates(sft: tuple[Path, dict], reward_model: tuple[Path, dict]) -> None:
    from rlsuite.alignment.rlhf import train_ppo

    out = sft[0].parent.parent / "ppo_short"
    train_prompts, _ = TASK.split_prompts()
    metrics = train_ppo(
        sft[0], train_prompts, out, reward_model[0], overrides={"total_episodes": 64, "logging_steps": 1}
    )
    assert any("loss/policy_avg" in h for h in metrics["log_history"])
    assert _changed(sft[0], out / "model")


def test_sft_resumes_from_checkpoint(base: Path, tmp_path: Path) -> None:
    from rlsuite.alignment.sft import train_sft

    records = TASK.sft_dataset(128, seed=1)
    first = train_sft(
        base,
        records,
        tmp_path,
        overrides={
            "max_steps": 2,
            "per_device_train_batch_size": 32,
            "save_strategy": "steps",
            "save_steps": 2,
        },
    )
    assert first["resumed_from"] is None and (tmp_path / "checkpoint-2").is_dir()
    second = train_sft(
        base,
        records,
        tmp_path,
        overrides={
            "max_steps": 4,
            "per_device_train_batch_size": 32,
            "save_strategy": "steps",
            "save_steps": 2,
        },
        resume=True,
    )
    assert second["resumed_from"].endswith("checkpoint-2") and second["global_steps"] == 4


def test_compare_writes_a_complete_report_and_skips_finished_stages(
    sft: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from rlsuite.alignment.compare import CompareConfig, run_compare

    cfg = CompareConfig(
        seeds=1,
        dpo_betas=[0.1],
        rlhf_kl_coefs=[0.1],
        pair_copies=4,
        eval_samples=2,
        rm_epochs=1,
        dpo_epochs=1,
        rloo_steps=2,
        ppo_episodes=32,
    )
    results = run_compare(tmp_path, model=str(sft[0]), config=cfg, skip_sft=True)
    for name in ("results.json", "report.md", "frontier.png"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["methods"]) == {"SFT", "PPO", "RLOO", "DPO"}
    for row in saved["methods"].values():
        assert {"reward", "win_rate_vs_sft", "kl_to_sft"} <= set(row)
    assert 0 <= saved["methods"]["DPO"]["dpo_implicit_reward_accuracy"] <= 1
    assert 0 <= saved["methods"]["PPO"]["reward_model_accuracy"] <= 1
    assert saved["methods"]["PPO"]["cost"]["wall_seconds"] > 0
    assert len(saved["frontier"]["DPO"]) == 1 and len(saved["frontier"]["RLOO"]) == 1
    assert len(saved["frontier"]["PPO"]) == 1  # PPO's kl_coef sweep is on the frontier by default
    assert "| DPO |" in (tmp_path / "report.md").read_text()
    capsys.readouterr()
    again = run_compare(tmp_path, model=str(sft[0]), config=cfg, skip_sft=True)
    out = capsys.readouterr().out
    assert out.count("finished earlier, skipped") == 6  # reward, ppo, rloo, dpo, rloo_k0.1_s0, ppo_k0.1_s0
    assert again["methods"]["DPO"]["reward"] == results["methods"]["DPO"]["reward"]
    with pytest.raises(UsageError, match="other settings"):
        run_compare(tmp_path, model=str(sft[0]), config=CompareConfig(seeds=2), skip_sft=True)


# --- bad input: one line, naming what and where ------------------------------------------------

GOOD = {"prompt": "the hotel was", "chosen": " good", "rejected": " bad"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "x", "chosen": " a"', "bad JSON"),
        (json.dumps({"prompt": "x", "chosen": " a"}), "missing field 'rejected'"),
        (json.dumps({"prompt": "x", "chosen": "  ", "rejected": " b"}), "field 'chosen' is empty"),
        (
            json.dumps({"prompt": "x", "chosen": " a", "rejected": " a"}),
            "'chosen' is identical to 'rejected'",
        ),
        (
            json.dumps({"prompt": "x", "chosen": 3, "rejected": " a"}),
            "must be a string or a list of messages, got int",
        ),
        (json.dumps(["x", "a", "b"]), "expected a JSON object, got list"),
        (
            json.dumps({"prompt": [{"role": "user", "content": "hi"}], "chosen": " a", "rejected": " b"}),
            "mix strings",
        ),
        (
            json.dumps({"prompt": [{"role": "user"}], "chosen": [], "rejected": []}),
            "not a {'role', 'content'}",
        ),
    ],
)
def test_malformed_jsonl_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + line + "\n")
    with pytest.raises(UsageError) as info:
        load_preferences(path)
    text = str(info.value)
    assert text.startswith(f"{path}:3: ") and message in text and "\n" not in text


def test_datasets_folder_and_conversational_pairs(tmp_path: Path) -> None:
    import datasets

    conv = {
        "prompt": [{"role": "user", "content": "hi"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    }
    datasets.Dataset.from_list([conv, conv]).save_to_disk(str(tmp_path / "ok"))
    assert len(load_preferences(tmp_path / "ok")) == 2
    datasets.Dataset.from_list([GOOD, {**GOOD, "rejected": GOOD["chosen"]}]).save_to_disk(
        str(tmp_path / "bad")
    )
    with pytest.raises(UsageError, match=r"bad: row 1: 'chosen' is identical"):
        load_preferences(tmp_path / "bad")
    with pytest.raises(UsageError, match="not found"):
        load_preferences(tmp_path / "missing.jsonl")


def test_model_loading_errors(base: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from rlsuite.alignment.models import build_tokenizer, load_causal_lm

    with pytest.raises(UsageError, match="model folder not found"):
        load_causal_lm(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"no config\.json"):
        load_causal_lm(tmp_path / "empty")
    (tmp_path / "vit").mkdir()
    (tmp_path / "vit" / "config.json").write_text(json.dumps({"model_type": "vit"}))
    with pytest.raises(UsageError, match="'vit' is not a causal language model"):
        load_causal_lm(tmp_path / "vit")
    clf = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    clf.save_pretrained(tmp_path / "clf")
    with pytest.raises(UsageError, match="is not a causal LM head"):
        load_causal_lm(tmp_path / "clf")
    tok = build_tokenizer(TASK.vocabulary())
    tok.eos_token = None
    model, _ = load_causal_lm(base)
    model.save_pretrained(tmp_path / "noeos")
    tok.save_pretrained(tmp_path / "noeos")
    with pytest.raises(UsageError, match="tokenizer has no eos token"):
        load_causal_lm(tmp_path / "noeos")


def test_config_keys_map_onto_trl_dataclasses(tmp_path: Path) -> None:
    from trl import DPOConfig

    from rlsuite.alignment.configs import build_trl_config

    good = tmp_path / "dpo.yaml"
    good.write_text("beta: 0.3\nlearning_rate: 0.01\nuse_peft: true\nlora_r: 4\n")
    cfg, mcfg = build_trl_config(DPOConfig, tmp_path / "out", str(good))
    assert cfg.beta == 0.3 and cfg.learning_rate == 0.01 and mcfg.use_peft and mcfg.lora_r == 4
    assert cfg.gradient_checkpointing is False and cfg.report_to in ([], "none", ["none"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("betta: 0.3\n")
    with pytest.raises(UsageError, match=r"bad.yaml: unknown key 'betta' for DPOConfig"):
        build_trl_config(DPOConfig, tmp_path / "out", str(bad))
    for path in sorted(Path("rlsuite/app/configs/alignment").glob("*.yaml")):
        from trl import RewardConfig, RLOOConfig, SFTConfig
        from trl.experimental.ppo import PPOConfig

        cls = {
            "sft": SFTConfig,
            "reward": RewardConfig,
            "dpo": DPOConfig,
            "rloo": RLOOConfig,
            "ppo": PPOConfig,
        }
        build_trl_config(cls[path.stem], tmp_path / "out", str(path))


def test_accelerate_launch_two_cpu_processes(sft: tuple[Path, dict], tmp_path: Path) -> None:
    """The multi-process path: `accelerate launch` with 2 processes on CPU (DDP over gloo)."""
    import os
    import shutil
    import subprocess
    import sys

    accelerate = shutil.which("accelerate") or str(Path(sys.executable).parent / "accelerate")
    pairs = tmp_path / "pairs.jsonl"
    rng = np.random.default_rng(0)
    rows = [
        {
            "prompt": p,
            "chosen": " good great " + TASK.sample_completion(rng),
            "rejected": " bad awful " + TASK.sample_completion(rng),
        }
        for p in TASK.all_prompts() * 4
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [
        accelerate,
        "launch",
        "--config_file",
        str(root / "rlsuite/app/configs/accelerate/multi_cpu.yaml"),
        "-m",
        "rlsuite",
        "align",
        "dpo",
        "--model",
        str(sft[0]),
        "--data",
        str(pairs),
        "--out",
        str(tmp_path / "dpo"),
        "--set",
        "num_train_epochs=1",
        "save_strategy=no",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "dpo" / "metrics.json").read_text())
    assert metrics["num_processes"] == 2
    assert metrics["global_steps"] == int(np.ceil(len(rows) / (2 * 32)))  # global batch = 2 x 32
    assert _changed(sft[0], tmp_path / "dpo" / "model")


@pytest.mark.parametrize("command", ["dpo", "reward", "sft"])
def test_bad_data_fails_before_any_model_is_built(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from rlsuite.app.cli import main

    cache = tmp_path / "cache"
    monkeypatch.setenv("RLSUITE_CACHE", str(cache))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "chosen": "b", "rejected": "c", "completion": "d"}\n{"prompt": "a"}\n')
    assert main(["align", command, "--data", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    assert not cache.exists() and not (tmp_path / "out").exists()  # nothing trained, nothing written
