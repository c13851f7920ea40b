"""rlsuite.alignment.compare.run's bookkeeping to the letter, in milliseconds (mutation testing): costs added up, the
table's rows and the frontier's points from given run results, the settings file, the judge's folder, the serial
runs' listener calls. The stages that train run in tests/alignment/test_compare.py."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from recording import RecordingListener as _Listener

from rlsuite.alignment.compare import run as R
from rlsuite.alignment.compare.plan import CompareConfig, run_name
from rlsuite.common.errors import UsageError

COSTS = [
    {"wall_seconds": 1.234, "peak_memory_mb": 10, "peak_memory_kind": None, "tokens": 7.0},
    {"wall_seconds": None, "peak_memory_mb": None, "tokens": None},
    {"wall_seconds": 2.0, "peak_memory_mb": 30, "peak_memory_kind": "rss", "tokens": 5},
    {"wall_seconds": 0.003, "peak_memory_mb": 20, "peak_memory_kind": "cuda", "tokens": 1},
]


def test_costs_add_up_times_and_tokens_and_keep_the_peak_and_first_kind() -> None:
    total = R._total_cost(COSTS)
    assert total == {"wall_seconds": 3.24, "peak_memory_mb": 30, "peak_memory_kind": "rss", "tokens": 13}
    assert type(total["tokens"]) is int
    assert R._total_cost([]) == {"wall_seconds": 0, "peak_memory_mb": 0, "peak_memory_kind": None, "tokens": 0}
    assert R._total_cost([COSTS[1]])["peak_memory_mb"] == 0  # no peak measured: none, not one megabyte


def test_a_runs_cost_is_read_from_its_metrics() -> None:
    metrics = {"wall_seconds": 1.5, "peak_memory_mb": 2.5, "peak_memory_kind": "rss", "tokens": 3, "global_steps": 4,
               "loss": [1.0]}  # fmt: skip
    assert R._cost(metrics) == {k: v for k, v in metrics.items() if k != "loss"}
    assert R._cost({}) == dict.fromkeys(("wall_seconds", "peak_memory_mb", "peak_memory_kind", "tokens",
                                         "global_steps"))  # fmt: skip


def test_the_standard_error_uses_the_sample_deviation() -> None:
    assert R._sem([1.0, 2.0, 4.0]) == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1) / np.sqrt(3), abs=0)
    assert R._sem([1.0, 3.0]) == 1.0 and R._sem([5.0]) == 0.0 and R._sem([]) == 0.0
    assert type(R._sem([1.0, 3.0])) is float


def test_unique_prompts_keep_their_first_order_and_compare_as_json() -> None:
    a, b = [{"role": "user", "content": "x"}], "y"
    assert R._unique([b, a, "y", [{"content": "x", "role": "user"}], "z"]) == [b, a, "z"]


def test_a_cached_value_is_computed_once(tmp_path: Path) -> None:
    calls: list[int] = []
    path = tmp_path / "value.json"
    assert R._cached(path, lambda: calls.append(1) or {"a": 1}) == {"a": 1}
    assert json.loads(path.read_text()) == {"a": 1}
    assert R._cached(path, lambda: calls.append(2) or {"a": 2}) == {"a": 1} and calls == [1]


def test_the_pairwise_judge_is_the_reward_model_only_beside_a_gold_reward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rm = tmp_path / "rm"
    assert R.pairwise_judge(CompareConfig(judge="rm"), rm, gold=True) == str(rm)
    assert R.pairwise_judge(CompareConfig(judge="rm"), rm, gold=False) is None
    assert R.pairwise_judge(CompareConfig(judge="none"), rm, gold=True) is None
    monkeypatch.chdir(tmp_path)  # a judge folder is made absolute (workers run elsewhere)
    assert R.pairwise_judge(CompareConfig(judge="judge-lm"), rm, gold=True) == str(tmp_path.resolve() / "judge-lm")
    assert R._judge("gold") is None and R._pairwise(None) is None


def test_where_here_names_this_process() -> None:
    assert R.where_here("ray worker") == {
        "where": "ray worker", "host": socket.gethostname(), "pid": os.getpid(),
        "device": "cuda" if torch.cuda.is_available() else "cpu", "torch_threads": torch.get_num_threads()}  # fmt: skip


def test_where_here_says_cuda_where_there_is_a_gpu() -> None:
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        assert R.where_here("main process")["device"] == "cuda"


def _result(reward: float, kl: float, seconds: float = 1.0) -> dict[str, Any]:
    return {"reward": reward, "kl_to_sft": kl, "win_rate_vs_sft": 0.5, "skipped": True,
            "cost": {"wall_seconds": seconds, "peak_memory_mb": 1, "peak_memory_kind": "rss", "tokens": 2}}  # fmt: skip


def test_the_table_has_sft_first_then_each_method_at_its_headline_strength() -> None:
    cfg = CompareConfig(methods=["dpo", "grpo", "grpo_gold"], seed=2, dpo_beta=0.2, kl_coef=0.07)
    results = {
        run_name("dpo", 0.2, 2): _result(1.0, 0.1),
        run_name("grpo", 0.07, 2): _result(2.0, 0.2, 3.0),
        run_name("grpo_gold", 0.07, 2): _result(3.0, 0.3),
        run_name("dpo", 0.2, 3): _result(9.0, 9.0),
    }
    reward_cost = {"wall_seconds": 0.5, "peak_memory_mb": 4, "peak_memory_kind": "cuda", "tokens": 10}
    table = R._table(cfg, {"reward": 0.0}, results, 0.75, reward_cost)
    assert list(table) == ["SFT", "DPO", "GRPO", "GRPO (gold)"]
    assert table["SFT"] == {"reward": 0.0, "signal": "-", "method": "sft"}
    dpo = {k: v for k, v in _result(1.0, 0.1).items() if k != "skipped"}
    assert table["DPO"] == {**dpo, "method": "dpo", "signal": "preference pairs, offline", "kl_strength": 0.2,
                            "strength_name": "beta"}  # fmt: skip
    grpo = {k: v for k, v in _result(2.0, 0.2).items() if k != "skipped"}
    cost = {"wall_seconds": 3.5, "peak_memory_mb": 4, "peak_memory_kind": "rss", "tokens": 12}
    assert table["GRPO"] == {**grpo, "method": "grpo", "signal": "reward model, online", "kl_strength": 0.07,
                             "strength_name": "KL coef", "reward_model_accuracy": 0.75,
                             "cost_includes_reward_model": True, "cost": cost}  # fmt: skip
    assert "reward_model_accuracy" not in table["GRPO (gold)"] and table["GRPO (gold)"]["cost"]["tokens"] == 2
    assert results[run_name("dpo", 0.2, 2)]["skipped"] is True  # the run's own result is left as it was


def test_a_frontier_point_averages_its_seeds_with_error_bars() -> None:
    cfg = CompareConfig(frontier=["dpo", "rloo"], seed=1, seeds=2, dpo_betas=[0.1, 1.0], kl_coefs=[0.5])
    results = {run_name("dpo", b, s): _result(b + s, 2 * s) for b in (0.1, 1.0) for s in (1, 2)}
    results |= {run_name("rloo", 0.5, s): _result(-s, 3 * s) for s in (1, 2)}
    frontier = R._frontier(cfg, results)
    assert list(frontier) == ["DPO", "RLOO"]
    per_seed = [{"reward": -1, "kl": 3}, {"reward": -2, "kl": 6}]
    assert frontier["RLOO"] == [{"kl_strength": 0.5, "seeds": 2, "reward": -1.5, "reward_err": 0.5, "kl": 4.5,
                                 "kl_err": pytest.approx(1.5), "per_seed": per_seed}]  # fmt: skip
    assert [p["kl_strength"] for p in frontier["DPO"]] == [0.1, 1.0]
    assert frontier["DPO"][1]["reward"] == pytest.approx(2.5) and frontier["DPO"][1]["kl"] == 3.0
    assert type(frontier["DPO"][0]["reward"]) is float and type(frontier["DPO"][0]["kl"]) is float


def test_the_settings_are_written_once_and_a_folder_with_other_settings_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = CompareConfig.quick()
    monkeypatch.chdir(tmp_path)
    settings = R._settings(tmp_path / "c", cfg, "model", "pairs.jsonl", True, False)
    config = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "torch_threads"}
    assert settings == {"model": str(tmp_path / "model"), "data": str(tmp_path / "pairs.jsonl"), "skip_sft": True,
                        "conversational": False, "config": config}  # fmt: skip
    assert json.loads((tmp_path / "c" / "settings.json").read_text()) == settings
    assert (tmp_path / "c" / "stages").is_dir()
    other_threads = dataclasses.replace(cfg, torch_threads=3)  # threads do not change the numbers
    assert R._settings(tmp_path / "c", other_threads, "model", "pairs.jsonl", True, False) == settings
    with pytest.raises(UsageError) as caught:
        R._settings(tmp_path / "c", cfg, "model", "pairs.jsonl", True, True)
    assert str(caught.value) == (f"{tmp_path / 'c'}: holds a comparison with other settings; use a new --out folder "
                                 "(or --overwrite)")  # fmt: skip
    defaults = R._settings(tmp_path / "d", cfg, None, None, False, True)
    assert (defaults["model"], defaults["data"]) == ("embedded tiny Llama", "synthetic sentiment task")


def test_serial_runs_tell_the_listener_each_stage_and_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R, "execute", lambda run: {**_result(len(run.name), 0.5), "skipped": False})
    runs = [type("Run", (), {"name": name})() for name in ("a", "bb")]
    listener = _Listener()
    job = R._Job(Path("."), CompareConfig.quick(), listener, 1, {})
    results = R._training_runs(job, runs, workers=1, ray_address=None)  # type: ignore[arg-type]
    assert list(results) == ["a", "bb"] and results["bb"]["reward"] == 2
    assert listener.calls == [("stage", "a"), ("done", "a", "judge +1.00  KL 0.50  win 0.50  (1.0 s, )"),
                              ("stage", "bb"), ("done", "bb", "judge +2.00  KL 0.50  win 0.50  (1.0 s, )")]  # fmt: skip


def test_the_quiet_listener_logs_each_finished_stage(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=R.log.name):
        R._Quiet().stage("sft")
        R._Quiet().done("sft", "done")
    assert [r.getMessage() for r in caplog.records if r.name == R.log.name] == [f"{'sft':24} done"]
    assert R._Job(Path("/r"), CompareConfig.quick(), R._Quiet(), 1, {}).path("x") == Path("/r/stages/x")


def test_a_given_sft_model_is_the_policy_without_a_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    listener = _Listener()
    job = R._Job(tmp_path / "c", CompareConfig.quick(), listener, 1, {})
    assert R._sft_stage(job, "policy", True, None, False) == tmp_path / "policy"
    assert job.stage_costs == {"sft": {"note": "the given model is the SFT policy", "path": str(tmp_path / "policy")}}
    assert listener.calls == []


def test_the_users_pairs_are_split_and_their_prompts_kept_once(tmp_path: Path) -> None:
    from rlsuite.alignment.data import split_heldout

    pairs = [{"prompt": f"p{i % 7}", "chosen": " good", "rejected": " bad"} for i in range(20)]
    cfg = dataclasses.replace(CompareConfig.quick(), heldout_fraction=0.25, seed=3)
    listener = _Listener()
    job = R._Job(tmp_path, cfg, listener, 1, {})
    (tmp_path / "stages").mkdir()
    inputs = R._pairs_stage(job, tmp_path / "sft", pairs, False)
    train, held = split_heldout(pairs, 0.25, seed=3)
    prompts = [list(dict.fromkeys(p["prompt"] for p in part)) for part in (train, held)]  # each once, in order
    assert inputs == {"train_pairs": train, "held_pairs": held, "train_prompts": prompts[0],
                      "held_prompts": prompts[1]}  # fmt: skip
    assert json.loads((tmp_path / "stages" / "inputs.json").read_text()) == inputs
    assert listener.calls == [("stage", "pairs"), ("done", "pairs", f"{len(train)} train, {len(held)} held-out pairs")]
    again = R._pairs_stage(job, tmp_path / "sft", [], False)  # a rerun reads the stage's file
    assert again == inputs
