"""``align compare`` from the CLI: the same numbers on 1 and 2 workers (Ray), error bars from 2 seeds, a
markdown report, resumable stages, one writer per folder, and a conversational run on a tiny chat model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from rlsuite.app.cli import main
from rlsuite.testing import alignment as T

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set", "pair_copies=8", "online_steps=3", "ppo_episodes=32", "eval_samples=2", "dpo_epochs=1",
         "rm_epochs=1", "seeds=2", "frontier=[dpo, grpo_gold]", "dpo_betas=[0.1]", "kl_coefs=[0.05]"]
NUMBERS = ("reward", "reward_sem", "win_rate_vs_sft", "kl_to_sft", "kl_sem", "reward_model_accuracy",
           "dpo_implicit_reward_accuracy")


@pytest.fixture(scope="module")
def sft() -> Path:
    return T.tiny_sft()


def _compare(out: Path, sft: Path, *extra: str) -> int:
    return main(["align", "compare", "--model", str(sft), "--skip_sft", "--out", str(out), "--quick", *SMALL, *extra])


def test_two_workers_give_the_numbers_of_one(sft: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    from cuda_sim import is_simulated

    if is_simulated():  # Ray's workers run without the simulation (no GPU there): both runs on the CPU, so that
        monkeypatch.setenv("ACCELERATE_USE_CPU", "true")  # their models train and are measured alike
    assert _compare(tmp_path / "w1", sft) == 0
    printed = capsys.readouterr()
    assert _compare(tmp_path / "w2", sft, "--workers", "2") == 0
    one = json.loads((tmp_path / "w1" / "results.json").read_text())
    two = json.loads((tmp_path / "w2" / "results.json").read_text())
    assert list(one["methods"]) == ["SFT", "DPO", "IPO", "rDPO", "Online DPO", "RLOO", "GRPO", "GRPO (gold)", "PPO"]
    for name, row in one["methods"].items():
        assert {k: row.get(k) for k in NUMBERS} == {k: two["methods"][name].get(k) for k in NUMBERS}, name
    assert one["frontier"] == two["frontier"]
    assert {r["ran_on"]["where"] for n, r in one["methods"].items() if n != "SFT"} == {"main process"}
    assert {r["ran_on"]["where"] for n, r in two["methods"].items() if n != "SFT"} == {"ray task"}
    assert two["workers"]["count"] == 2
    # the console: one result line per stage, the final table; no TRL metric dicts
    err = printed.err
    assert err.count("gold ") == 10 and "{'loss'" not in err and "{'loss'" not in printed.out
    assert "LOAD REPORT" not in err and "FutureWarning" not in err and "it/s]" not in err
    assert printed.out.splitlines()[0].split() == ["method", "signal", "reward", "win", "KL", "wall", "s"]
    assert '"loss"' in (tmp_path / "w1" / "log.txt").read_text()  # TRL's metrics went to the log


def test_two_seeds_give_error_bars_and_the_report_is_markdown(sft: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "c"
    assert _compare(out, sft) == 0
    results = json.loads((out / "results.json").read_text())
    [point] = results["frontier"]["GRPO (gold)"]
    per_seed = [p["reward"] for p in point["per_seed"]]
    assert point["seeds"] == 2 and len(per_seed) == 2
    assert point["reward_err"] == pytest.approx(np.std(per_seed, ddof=1) / np.sqrt(2))
    assert point["reward"] == pytest.approx(np.mean(per_seed))
    assert results["error_bars"].startswith("frontier: standard error across 2 seeds")
    report = (out / "report.md").read_text()
    assert "{'" not in report and "': " not in report  # tables, not Python dicts
    assert "| DPO (beta 0.1) | preference pairs, offline |" in report
    assert "| GRPO (gold) (KL coef 0.05) | gold reward, online (verifiable) |" in report
    assert "| Online DPO (beta 0.1) | reward model, online |" in report
    assert "| dpo_k0.1_s1 | main process |" in report
    assert (out / "frontier.png").stat().st_size > 10_000 and (out / "finished.json").is_file()
    # a rerun skips every finished stage and gives the same numbers; other settings are refused
    capsys.readouterr()
    assert _compare(out, sft) == 0
    assert capsys.readouterr().err.count("finished earlier") == 10
    again = json.loads((out / "results.json").read_text())
    assert again["methods"]["DPO"]["reward"] == results["methods"]["DPO"]["reward"]
    assert _compare(out, sft, "--set", "seeds=3") == 2
    assert "holds a comparison with other settings" in capsys.readouterr().err


def test_one_seed_claims_no_error_bars(sft: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert _compare(out, sft, "--set", "seeds=1", "methods=[dpo]", "frontier=[dpo]") == 0
    results = json.loads((out / "results.json").read_text())
    assert results["error_bars"].startswith("frontier: one seed, no error bars")
    assert list(results["methods"]) == ["SFT", "DPO"]


def test_a_second_compare_on_the_folder_is_refused_naming_the_first(
    sft: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "c"
    code = "import sys, time; from rlsuite.common.io import OutputDir; OutputDir(sys.argv[1]).open(); " \
           "print('locked', flush=True); time.sleep(300)"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert _compare(out, sft) == 2
        err = capsys.readouterr().err.strip()
        assert f"in use by process {holder.pid}" in err and len(err.splitlines()) == 1, err
        assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_conversational_compare_on_a_tiny_chat_model(tmp_path: Path) -> None:
    chat = T.tiny_chat_base()  # random weights: compare SFTs it on the task rendered as conversations
    out = tmp_path / "chat"
    argv = ["align", "compare", "--model", str(chat), "--out", str(out), "--quick", "--set", "sft_examples=512",
            "pair_copies=8", "online_steps=3", "ppo_episodes=32", "eval_samples=4", "dpo_epochs=1", "rm_epochs=1",
            "methods=[dpo, grpo, ppo]", "frontier=[dpo]", "dpo_betas=[0.1]"]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["conversational"] is True
    assert (out / "stages" / "sft" / "model" / "config.json").is_file()
    inputs = json.loads((out / "stages" / "inputs.json").read_text())
    pair = inputs["train_pairs"][0]
    assert pair["prompt"][0]["role"] == "user" and pair["chosen"][0]["role"] == "assistant"
    assert inputs["held_prompts"][0] == [{"role": "user", "content": "the hotel was"}]
    rows = results["methods"]
    assert list(rows) == ["SFT", "DPO", "GRPO", "PPO"]
    for row in rows.values():
        for example in row["examples"]:  # the replies, decoded without the template's markers
            assert "<|im_start|>" not in example and "<|im_end|>" not in example and " -> " in example
    assert rows["SFT"]["kl_to_sft"] == 0.0
    # SFT through the chat template taught the model to end its turn: replies stop before the cap of 12 tokens
    assert rows["SFT"]["mean_completion_tokens"] < 11
    rm_config = json.loads((out / "stages" / "reward" / "model" / "config.json").read_text())
    assert rm_config["architectures"] == ["Qwen2ForSequenceClassification"]


@pytest.mark.slow
def test_cost_benchmark_runs_in_its_quick_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks/alignment_cost.py"), "--quick", "--out",
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((tmp_path / "alignment_cost.json").read_text())
    assert list(result["curves"]) == ["DPO", "IPO", "rDPO", "Online DPO", "RLOO", "GRPO", "GRPO (gold)", "PPO"]
    assert result["signals"]["GRPO (gold)"] == "gold reward, online" and result["cost_seconds_to_target"]["DPO"] > 0
    assert "matched gold reward" in proc.stdout


def test_opt_in_methods_and_any_dpo_loss_are_rows(sft: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    rows = "methods=[dpo:hinge, dpo:sigmoid=1+sft=0.5, kto, orpo, simpo, bco]"
    assert _compare(out, sft, "--set", "seeds=1", rows, "frontier=[dpo:apo_zero]") == 0
    results = json.loads((out / "results.json").read_text())
    labels = ["SFT", "DPO hinge", "DPO sigmoid=1+sft=0.5", "KTO", "ORPO", "SimPO", "BCO"]
    assert list(results["methods"]) == labels
    for label in labels[1:]:
        row = results["methods"][label]
        assert row["kl_to_sft"] > 0 and 0 < row["win_rate_vs_sft"] < 1 and row["strength_name"] == "beta", label
        assert 0 < row["judge_win_rate_vs_sft"] < 1 and 0 < row["judge_agreement_with_gold"] <= 1, label
    assert results["judge"]["kind"] == "reward model"  # the trained reward model judges beside the gold reward
    assert [p["kl_strength"] for p in results["frontier"]["DPO apo_zero"]] == [0.1]
    assert (out / "stages" / "dpo-sigmoid-1-sft-0.5_k0.1_s0" / "model" / "config.json").is_file()
    report = (out / "report.md").read_text()
    assert "| DPO sigmoid=1+sft=0.5 (beta 0.1) | preference pairs, offline |" in report
    assert "| KTO (beta 0.1) | preference pairs unpaired, offline |" in report
    assert "| judge win rate | judge-gold agreement |" in report and "Judge: reward model (" in report
