"""rlsuite.alignment.compare.run's stages, its training runs and ``run_compare`` wired to the letter, in seconds
(mutation testing): the trainers, samplers and evaluators are spies that record what they are given. The real
comparison, which trains, runs in tests/alignment/test_compare.py (minutes a mutant)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from recording import RecordingListener as _Listener
from recording import Spy

from rlsuite.alignment import data as D
from rlsuite.alignment import evaluate, judge, methods, models, training
from rlsuite.alignment.compare import run as R
from rlsuite.alignment.compare.plan import CompareConfig, Run, plan, run_name, trainer_config
from rlsuite.common import device
from rlsuite.common.errors import DataError, UsageError

METRICS = {"wall_seconds": 1.25, "peak_memory_mb": 3.0, "peak_memory_kind": "rss", "tokens": 40, "global_steps": 5}


def _finish(folder: Path, metrics: dict[str, Any] = METRICS) -> None:
    """A training folder as a finished training leaves it (read_metrics reads it)."""
    (folder / "model").mkdir(parents=True, exist_ok=True)
    (folder / "model" / "config.json").write_text("{}")
    (folder / training.METRICS).write_text(json.dumps(metrics))


INPUTS = {"train_pairs": [{"prompt": "a", "chosen": " good", "rejected": " bad"}],
          "held_pairs": [{"prompt": "h", "chosen": " nice", "rejected": " awful"}],
          "train_prompts": ["a", "b"], "held_prompts": ["h"]}  # fmt: skip
REFERENCE = {"samples": ["x"]}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "inputs.json").write_text(json.dumps(INPUTS))
    (tmp_path / "stages" / "reference.json").write_text(json.dumps(REFERENCE))
    return tmp_path


@pytest.fixture
def spies(monkeypatch: pytest.MonkeyPatch) -> dict[str, Spy]:
    """The training, placement, judges and measurements of ``execute``, each a spy."""
    found = {
        "train": Spy(METRICS),
        "evaluate_policy": Spy(lambda *a, **k: {"reward": 1.5}),
        "implicit_reward_accuracy": Spy(0.625),
        "placement_of": Spy("placed"),
        "load_rm": Spy("rm judge"),
        "load_judge": Spy("pairwise judge"),
    }
    monkeypatch.setattr(methods, "train", found["train"])
    monkeypatch.setattr(evaluate, "evaluate_policy", found["evaluate_policy"])
    monkeypatch.setattr(evaluate, "implicit_reward_accuracy", found["implicit_reward_accuracy"])
    monkeypatch.setattr(models, "placement_of", found["placement_of"])
    monkeypatch.setattr(models.RewardModelFunc, "load", found["load_rm"])
    monkeypatch.setattr(judge, "load_judge", found["load_judge"])
    return found


RUN_CONFIG = dataclasses.replace(CompareConfig.quick(), seed=1)  # the comparison's settings every run here carries


def _run(root: Path, key: str, value: float, seed: int, judge: str = "gold", pairwise: str | None = None) -> Run:
    return Run(run_name(key, value, seed), key, value, seed, str(root), "/sft", "/rm", judge, 2,
               dataclasses.asdict(RUN_CONFIG), pairwise)  # fmt: skip


def test_a_table_dpo_run_trains_on_the_pairs_and_is_measured_with_its_implicit_accuracy(
    root: Path, spies: dict[str, Spy]
) -> None:
    cfg = RUN_CONFIG
    run = _run(root, "dpo", cfg.dpo_beta, 1)
    stage = root / "stages" / run.name
    result = R.execute(run, where="ray worker")
    config = spies["train"].calls[0][0][0]
    assert spies["train"].calls == [((config, "/sft", INPUTS["train_pairs"]), {"reward": None, "resume": True})]
    expected = trainer_config(run, str(stage))
    assert (config.output_dir, config.seed, config.beta) == (expected.output_dir, 1, cfg.dpo_beta)
    assert spies["placement_of"].calls == [((config,), {})]
    assert spies["evaluate_policy"].calls == [(
        (stage / "model", "/sft", INPUTS["held_prompts"], cfg.eval_samples),
        {"judge": None, "max_new_tokens": cfg.max_new_tokens, "reference": REFERENCE, "pairwise": None,
         "where": "placed"})]  # fmt: skip
    assert spies["implicit_reward_accuracy"].calls == [((stage / "model", "/sft", INPUTS["held_pairs"], "placed"), {})]
    assert result == {"reward": 1.5, "dpo_implicit_reward_accuracy": 0.625, "cost": R._cost(METRICS),
                      "ran_on": R.where_here("ray worker")}  # fmt: skip
    assert json.loads((stage / "eval.json").read_text()) == result
    assert R.execute(run)["ran_on"]["where"] == "main process"  # eval.json without a finished training: again


@pytest.mark.parametrize(("key", "reward"), [("rloo", "/rm"), ("grpo_gold", "gold")])
def test_an_online_run_trains_on_the_prompts_with_its_reward_and_its_judges(
    root: Path, spies: dict[str, Spy], key: str, reward: str
) -> None:
    cfg = RUN_CONFIG
    run = _run(root, key, 0.5, 2, judge="/rm-judge", pairwise="/pairwise")
    result = R.execute(run)
    args, kwargs = spies["train"].calls[0]
    assert args[1:] == ("/sft", INPUTS["train_prompts"]) and kwargs == {"reward": reward, "resume": True}
    assert spies["load_rm"].calls == [(("/rm-judge", "placed"), {})]
    assert spies["load_judge"].calls == [(("/pairwise", "placed"), {})]
    assert spies["evaluate_policy"].calls[0][1]["judge"] == "rm judge"
    assert spies["evaluate_policy"].calls[0][1]["pairwise"] == "pairwise judge"
    assert spies["evaluate_policy"].calls[0][0][3] == cfg.eval_samples
    assert spies["implicit_reward_accuracy"].calls == [] and "dpo_implicit_reward_accuracy" not in result


@pytest.mark.parametrize(("value", "seed"), [(1.0, 1), (0.1, 2)])
def test_a_dpo_run_off_the_table_has_no_implicit_accuracy(
    root: Path, spies: dict[str, Spy], value: float, seed: int
) -> None:
    assert "dpo_implicit_reward_accuracy" not in R.execute(_run(root, "dpo", value, seed))
    assert spies["implicit_reward_accuracy"].calls == []


def test_a_finished_run_is_read_back_and_a_trained_one_only_measured(root: Path, spies: dict[str, Spy]) -> None:
    run = _run(root, "dpo", 1.0, 1)
    stage = root / "stages" / run.name
    _finish(stage, {**METRICS, "tokens": 7})
    result = R.execute(run)  # trained before, not measured: measured now, the cost read from its metrics
    assert spies["train"].calls == [] and result["cost"]["tokens"] == 7
    (stage / "eval.json").write_text(json.dumps({"reward": -3.0}))
    assert R.execute(run) == {"reward": -3.0, "skipped": True}
    assert len(spies["evaluate_policy"].calls) == 1


# ---------------------------------------------------------------------------------------------
# The shared stages


def _job(root: Path, cfg: CompareConfig | None = None) -> R._Job:
    return R._Job(root, cfg or dataclasses.replace(CompareConfig.quick(), seed=3, sft_examples=6), _Listener(), 2,
                  {"where": "here"})  # fmt: skip


@pytest.mark.parametrize("conversational", [False, True])
def test_the_sft_stage_trains_the_given_model_on_the_synthetic_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conversational: bool
) -> None:
    spy = Spy(METRICS)
    monkeypatch.setattr(training, "train_sft", spy)
    job = _job(tmp_path)
    assert R._sft_stage(job, "/model", False, None, conversational) == tmp_path / "stages" / "sft" / "model"
    (model, records, config), kwargs = spy.calls[0]
    assert model == "/model" and kwargs == {"resume": True}
    assert records == D.SentimentTask().sft_dataset(6, seed=3, conversational=conversational)
    assert (config.output_dir, config.seed, config.torch_threads) == (str(tmp_path / "stages" / "sft"), 3, 2)
    assert job.stage_costs == {"sft": {**R._cost(METRICS), "ran_on": {"where": "here"}}}
    assert job.listener.calls == [("stage", "sft"), ("done", "sft", "5 steps (1.2 s)")]  # type: ignore[attr-defined]


def test_the_sft_stage_trains_on_the_users_chosen_replies_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(METRICS)
    monkeypatch.setattr(training, "train_sft", spy)
    pairs = [{"prompt": "p", "chosen": " yes", "rejected": " no"}, {"prompt": "q", "chosen": " ok", "rejected": " x"}]
    R._sft_stage(_job(tmp_path), "/model", False, pairs, False)
    assert spy.calls[0][0][1] == [{"prompt": "p", "completion": " yes"}, {"prompt": "q", "completion": " ok"}]
    _finish(tmp_path / "stages" / "sft", {**METRICS, "global_steps": 9})
    job = _job(tmp_path)
    R._sft_stage(job, "/model", False, pairs, False)  # finished: read back, not trained again
    assert len(spy.calls) == 1 and job.stage_costs["sft"]["global_steps"] == 9


def test_without_a_model_the_embedded_one_is_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlsuite.alignment import embedded

    monkeypatch.setattr(embedded, "default_model_dir", Spy(tmp_path / "embedded"))
    job = _job(tmp_path)
    assert R._sft_stage(job, None, False, None, False) == tmp_path / "embedded"
    assert job.stage_costs == {"sft": {"note": "embedded tiny model, SFT'd once and cached",
                                       "path": str(tmp_path / "embedded")}}  # fmt: skip
    assert job.listener.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("conversational", [False, True])
def test_the_synthetic_pairs_are_sampled_from_the_sft_policy_and_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conversational: bool
) -> None:
    pairs = [{"prompt": f"p{i}", "chosen": " good", "rejected": " bad"} for i in range(10)]
    spy = Spy(pairs)
    monkeypatch.setattr(evaluate, "sample_pairs", spy)
    cfg = dataclasses.replace(CompareConfig.quick(), seed=4, heldout_fraction=0.3, pair_rule="bradley-terry")
    job = _job(tmp_path, cfg)
    (tmp_path / "stages").mkdir()
    inputs = R._pairs_stage(job, tmp_path / "sft", None, conversational)
    train, held = D.SentimentTask().split_prompts()
    if conversational:
        train, held = [D.user_turn(p) for p in train], [D.user_turn(p) for p in held]
    assert spy.calls == [((tmp_path / "sft", train, cfg.pair_copies),
                          {"rule": "bradley-terry", "seed": 4, "max_new_tokens": cfg.max_new_tokens})]  # fmt: skip
    train_pairs, held_pairs = D.split_heldout(pairs, 0.3, seed=4)
    assert inputs == {"train_pairs": train_pairs, "held_pairs": held_pairs, "train_prompts": train,
                      "held_prompts": held}  # fmt: skip
    assert json.loads((tmp_path / "stages" / "inputs.json").read_text()) == inputs


def test_the_reward_stage_trains_the_reward_model_and_measures_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train, accuracy = Spy(METRICS), Spy(0.75)
    monkeypatch.setattr(training, "train_reward", train)
    monkeypatch.setattr(evaluate, "reward_model_accuracy", accuracy)
    cfg = dataclasses.replace(CompareConfig.quick(), seed=3, rm_epochs=4)
    job = _job(tmp_path, cfg)
    rm, acc = R._reward_stage(job, tmp_path / "sft", INPUTS)
    assert (rm, acc) == (tmp_path / "stages" / "reward" / "model", 0.75)
    (sft, pairs, config), kwargs = train.calls[0]
    assert (sft, pairs, kwargs) == (tmp_path / "sft", INPUTS["train_pairs"], {"resume": True})
    assert (config.output_dir, config.num_train_epochs, config.seed, config.torch_threads) == (
        str(tmp_path / "stages" / "reward"), 4, 3, 2)  # fmt: skip
    assert accuracy.calls == [((rm, INPUTS["held_pairs"]), {})]
    assert json.loads((tmp_path / "stages" / "eval_rm_accuracy.json").read_text()) == 0.75
    assert job.stage_costs == {"reward": {**R._cost(METRICS), "ran_on": {"where": "here"}}}
    assert job.listener.calls == [("stage", "reward"), ("done", "reward", "held-out accuracy 0.75 (1.2 s)")]  # type: ignore[attr-defined]


def test_a_finished_reward_stage_is_not_trained_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rerun finds the reward model's metrics in its own stage folder and trains nothing."""
    train = Spy(METRICS)
    monkeypatch.setattr(training, "train_reward", train)
    monkeypatch.setattr(evaluate, "reward_model_accuracy", Spy(0.75))
    job = _job(tmp_path)
    _finish(job.path("reward"), {**METRICS, "wall_seconds": 9.0})
    assert R._reward_stage(job, tmp_path / "sft", INPUTS) == (tmp_path / "stages" / "reward" / "model", 0.75)
    assert train.calls == [] and job.stage_costs["reward"]["wall_seconds"] == 9.0


@pytest.mark.parametrize(("judge_spec", "pairwise"), [("gold", None), ("/rm", "/pairwise")])
def test_the_sft_baseline_is_sampled_and_measured_against_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, judge_spec: str, pairwise: str | None
) -> None:
    reference, measure = Spy({"samples": [1]}), Spy({"reward": 0.5, "n_samples": 8})
    load_rm, load_judge = Spy("rm judge"), Spy("pairwise judge")
    monkeypatch.setattr(evaluate, "reference_samples", reference)
    monkeypatch.setattr(evaluate, "evaluate_policy", measure)
    monkeypatch.setattr(models.RewardModelFunc, "load", load_rm)
    monkeypatch.setattr(judge, "load_judge", load_judge)
    cfg = CompareConfig.quick()
    job = _job(tmp_path, cfg)
    (tmp_path / "stages").mkdir()
    row = R._baseline_stage(job, tmp_path / "sft", INPUTS, judge_spec, pairwise)
    judged = None if judge_spec == "gold" else "rm judge"
    assert reference.calls == [((tmp_path / "sft", ["h"], cfg.eval_samples, judged),
                                {"max_new_tokens": cfg.max_new_tokens})]  # fmt: skip
    assert measure.calls == [((tmp_path / "sft", tmp_path / "sft", ["h"], cfg.eval_samples),
                              {"judge": judged, "max_new_tokens": cfg.max_new_tokens, "reference": {"samples": [1]},
                               "pairwise": None if pairwise is None else "pairwise judge"})]  # fmt: skip
    if judge_spec != "gold":
        assert load_rm.calls == [(("/rm", models.placement()), {})] * 2
        assert load_judge.calls == [(("/pairwise", None), {})]
    assert row == {"reward": 0.5, "n_samples": 8}
    assert json.loads((tmp_path / "stages" / "reference.json").read_text()) == {"samples": [1]}
    assert json.loads((tmp_path / "stages" / "eval_sft.json").read_text()) == row
    assert job.listener.calls == [("stage", "sft baseline"), ("done", "sft baseline", "reward +0.50 over 8 samples")]  # type: ignore[attr-defined]


def test_more_than_one_worker_or_a_cluster_runs_on_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlsuite.alignment import workers

    def on_ray(fn: Any, runs: list[Any], n: int, address: str | None, on_result: Any, log_file: Any) -> dict:
        on_result("a", {"reward": 1.0, "kl_to_sft": 0.5, "win_rate_vs_sft": 0.25, "cost": {"wall_seconds": 2.0}})
        return {"fn": fn, "runs": runs, "n": n, "address": address, "log": log_file(type("Run", (), {"name": "a"})())}

    monkeypatch.setattr(workers, "run_on_ray", on_ray)
    runs: list[Any] = ["run"]
    for n, address in ((2, None), (1, "ray://head:10001")):
        job = _job(tmp_path)
        got = R._training_runs(job, runs, n, address)
        assert got == {"fn": R.execute, "runs": runs, "n": n, "address": address,
                       "log": str(tmp_path / "stages" / "a" / "log.txt")}  # fmt: skip
        assert job.listener.calls == [("stage", "a"), ("done", "a", "judge +1.00  KL 0.50  win 0.25  (2.0 s, )")]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# run_compare: the stages in order, the runs of the plan, the results


@pytest.fixture
def stages(monkeypatch: pytest.MonkeyPatch) -> dict[str, Spy]:
    """Every stage of ``run_compare`` a spy; the training runs answer a result per run."""

    def runs(job: R._Job, runs: list[Run], workers: int, address: str | None) -> dict[str, dict[str, Any]]:
        return {r.name: {"reward": r.value + r.seed, "kl_to_sft": r.value, "cost": {"tokens": 1}, "ran_on": "w"}
                for r in runs}  # fmt: skip

    def reward(job: R._Job, sft: Path, inputs: dict[str, Any]) -> tuple[Path, float]:
        job.stage_costs["reward"] = {"wall_seconds": 1.0, "tokens": 3}
        return job.root / "rm", 0.8

    found = {
        "check_inputs": Spy((None, False)),
        "_sft_stage": Spy(Path("/sft")),
        "_pairs_stage": Spy({"train_pairs": [1, 2, 3], "held_pairs": [4], "train_prompts": [], "held_prompts": [5, 6]}),
        "_reward_stage": Spy(reward),
        "_baseline_stage": Spy({"reward": 0.0}),
        "_training_runs": Spy(runs),
    }
    for name, spy in found.items():
        monkeypatch.setattr(R, name, spy)
    found["threads"] = Spy(lambda n=0, workers=1, default=1: 1)
    monkeypatch.setattr(device, "set_torch_threads", found["threads"])
    found["judge_kind"] = Spy("reward model")
    monkeypatch.setattr(judge, "judge_kind", found["judge_kind"])
    return found


def test_run_compare_runs_the_stages_in_order_and_every_run_of_the_plan(tmp_path: Path, stages: dict[str, Spy]) -> None:
    cfg = dataclasses.replace(CompareConfig.quick(), seeds=2, frontier=["dpo", "rloo"], torch_threads=3)
    listener = _Listener()
    out = R.run_compare(tmp_path / "c", cfg, workers=2, ray_address="ray://x", max_unknown_rate=0.2,
                        listener=listener, columns="cols", trust_pickle=False)  # fmt: skip
    root = (tmp_path / "c").resolve()
    assert stages["check_inputs"].calls == [((cfg, None, None, False, 0.2, "cols", False), {})]
    job = stages["_sft_stage"].calls[0][0][0]
    assert (job.root, job.cfg, job.listener, job.threads) == (root, cfg, listener, 3)
    assert job.here == R.where_here("main process")
    assert stages["_sft_stage"].calls == [((job, None, False, None, False), {})]
    assert stages["threads"].calls == [((3,), {})]
    assert stages["_pairs_stage"].calls == [((job, Path("/sft"), None, False), {})]
    inputs = stages["_pairs_stage"].value
    assert stages["_reward_stage"].calls == [((job, Path("/sft"), inputs), {})]
    assert stages["_baseline_stage"].calls == [((job, Path("/sft"), inputs, "gold", str(root / "rm")), {})]
    runs = [Run(name, key, value, seed, str(root), "/sft", str(root / "rm"), "gold", 3, dataclasses.asdict(cfg),
                str(root / "rm")) for name, key, value, seed in plan(cfg)]  # fmt: skip
    assert stages["_training_runs"].calls == [((job, runs, 2, "ray://x"), {})]
    results = R._training_runs.value(job, runs, 2, None)  # type: ignore[attr-defined]
    assert stages["judge_kind"].calls == [((str(root / "rm"),), {})]
    settings = json.loads((root / "settings.json").read_text())
    assert settings["model"] == "embedded tiny Llama" and settings["config"]["seeds"] == 2
    assert out["settings"] == settings
    assert out["reward_kind"] == "gold reward (#positive - #negative words)"
    assert out["error_bars"] == "frontier: standard error across 2 seeds; table: standard error across samples"
    assert out["judge"] == {"kind": "reward model", "path": str(root / "rm")}
    assert out["methods"] == R._table(cfg, {"reward": 0.0}, results, 0.8, {"wall_seconds": 1.0, "tokens": 3})
    assert out["frontier"] == R._frontier(cfg, results)
    assert out["stage_costs"] == {"reward": {"wall_seconds": 1.0, "tokens": 3},
                                  **{name: {"tokens": 1, "ran_on": "w"} for name in results}}  # fmt: skip
    assert out["heldout"] == {"prompts": 2, "pairs": 1, "train_pairs": 3}
    assert out["workers"] == {"count": 2, "ray_address": "ray://x", "torch_threads_per_process": 3}
    assert out["kl_estimator"].startswith("Monte Carlo: mean over samples y~pi(.|x) at temperature 1 of sum_t")
    assert 0 <= out["total_wall_seconds_this_run"] < 60 and out["machine"]["cpus"] == os.cpu_count()


def test_run_compare_on_the_users_pairs_judges_with_the_reward_model(tmp_path: Path, stages: dict[str, Spy]) -> None:
    pairs = [{"prompt": "p", "chosen": " a", "rejected": " b"}]
    stages["check_inputs"].value = (pairs, True)
    cfg = dataclasses.replace(CompareConfig.quick(), methods=["dpo", "grpo_gold"], frontier=["dpo"], judge="none")
    out = R.run_compare(tmp_path, cfg, model="/m", data="/d", skip_sft=True)
    gold_free = R.without_gold(cfg)
    job = stages["_sft_stage"].calls[0][0][0]
    assert job.cfg == gold_free and job.threads == device.choose_threads(0, 1)
    assert stages["_sft_stage"].calls == [((job, "/m", True, pairs, True), {})]
    assert stages["_pairs_stage"].calls[0][0][2:] == (pairs, True)
    rm = str(tmp_path.resolve() / "rm")
    assert stages["_baseline_stage"].calls[0][0][3:] == (rm, None)
    runs = stages["_training_runs"].calls[0][0][1]
    assert {r.judge for r in runs} == {rm} and {r.pairwise for r in runs} == {None}
    assert stages["_training_runs"].calls[0][0][2:] == (1, None)
    assert out["reward_kind"] == "trained reward model as judge (the data has no gold reward)"
    assert out["judge"] is None and list(out["methods"]) == ["SFT", "DPO"]
    assert out["error_bars"] == "frontier: one seed, no error bars; table: standard error across samples"
    assert json.loads((tmp_path / "settings.json").read_text())["conversational"] is True


def test_trusted_pickled_model_and_judge_are_copied_once_into_the_stages(
    tmp_path: Path, stages: dict[str, Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = Spy(lambda path, dest, trust: Path(dest))
    monkeypatch.setattr(models, "trusted_copy", copy)
    cfg = dataclasses.replace(CompareConfig.quick(), judge="/judge-lm")
    R.run_compare(tmp_path, cfg, model="/m", trust_pickle=True)
    stages_dir = tmp_path.resolve() / "stages"
    assert copy.calls == [(("/m", stages_dir / "model", True), {}), (("/judge-lm", stages_dir / "judge", True), {})]
    assert stages["_sft_stage"].calls[0][0][1] == stages_dir / "model"
    assert stages["_sft_stage"].calls[0][0][0].cfg.judge == str(stages_dir / "judge")
    assert stages["check_inputs"].calls[0][0][-1] is True
    copy.calls.clear()
    R.run_compare(tmp_path / "rm", dataclasses.replace(cfg, judge="rm"), model=None, trust_pickle=True)
    assert copy.calls == []  # nothing to copy: the embedded model, the reward model as judge


# ---------------------------------------------------------------------------------------------
# check_inputs: what the user gave, before any work


def test_skip_sft_needs_a_model() -> None:
    with pytest.raises(UsageError, match=r"^--skip_sft needs --model \(the embedded model is SFT'd already\)$"):
        R.check_inputs(CompareConfig.quick(), None, None, True)


@pytest.mark.parametrize("chat", [None, False])
def test_the_embedded_model_takes_plain_prompts(chat: bool | None) -> None:
    assert R.check_inputs(dataclasses.replace(CompareConfig.quick(), chat=chat)) == (None, False)


def test_conversations_without_a_chat_template_are_refused_naming_the_model() -> None:
    with pytest.raises(DataError) as caught:
        R.check_inputs(dataclasses.replace(CompareConfig.quick(), chat=True))
    assert str(caught.value) == ("the embedded model: conversations need a tokenizer with a chat template, and this "
                                 "one has none")  # fmt: skip


class _Tokenizer:
    def __init__(self, template: str | None) -> None:
        self.chat_template = template


@pytest.fixture
def model_checks(monkeypatch: pytest.MonkeyPatch) -> dict[str, Spy]:
    found = {"check_causal_lm": Spy(), "load_tokenizer": Spy(_Tokenizer("{{ x }}")), "check_data_for": Spy(),
             "check_vocabulary": Spy(), "load_preferences": Spy(), "load_judge": Spy()}  # fmt: skip
    for name in ("check_causal_lm", "load_tokenizer", "check_data_for", "check_vocabulary"):
        monkeypatch.setattr(models, name, found[name])
    monkeypatch.setattr(D, "load_preferences", found["load_preferences"])
    monkeypatch.setattr(judge, "load_judge", found["load_judge"])
    return found


@pytest.mark.parametrize("conversational", [False, True])
def test_the_users_data_is_checked_against_the_models_tokenizer(
    model_checks: dict[str, Spy], conversational: bool
) -> None:
    prompt: Any = [{"role": "user", "content": "p"}] if conversational else "p"
    pairs = [{"prompt": "q", "chosen": " a", "rejected": " b"}, {"prompt": prompt, "chosen": " a", "rejected": " b"}]
    model_checks["load_preferences"].value = pairs
    cfg = dataclasses.replace(CompareConfig.quick(), chat=not conversational, judge="/judge")
    got = R.check_inputs(cfg, "/m", Path("/d.jsonl"), False, 0.3, "cols", True)
    assert got == (pairs, conversational)  # the data's form wins over the config's chat
    tok = model_checks["load_tokenizer"].value
    assert model_checks["load_preferences"].calls == [((Path("/d.jsonl"),), {"columns": "cols"})]
    assert model_checks["check_causal_lm"].calls == [(("/m",), {"trust_pickle": True})]
    assert model_checks["load_tokenizer"].calls == [(("/m",), {})]
    assert model_checks["load_judge"].calls == [(("/judge",), {"trust_pickle": True})]
    assert model_checks["check_data_for"].calls == [((tok, pairs, "/d.jsonl"), {})]
    assert model_checks["check_vocabulary"].calls == [((tok, pairs, "/d.jsonl", 0.3), {})]


@pytest.mark.parametrize(
    ("template", "chat", "expected"),
    [("{{ x }}", None, True), (None, None, False), ("{{ x }}", False, False), ("", None, False)],
)
def test_a_models_chat_template_decides_the_synthetic_prompts_form(
    model_checks: dict[str, Spy], template: str | None, chat: bool | None, expected: bool
) -> None:
    model_checks["load_tokenizer"].value = _Tokenizer(template)
    cfg = dataclasses.replace(CompareConfig.quick(), chat=chat)
    assert R.check_inputs(cfg, "/m") == (None, expected)
    assert model_checks["check_causal_lm"].calls == [(("/m",), {"trust_pickle": False})]
    assert model_checks["load_judge"].calls == [] and model_checks["check_vocabulary"].calls == []


def test_a_model_without_a_template_refuses_conversations_naming_its_folder(model_checks: dict[str, Spy]) -> None:
    model_checks["load_tokenizer"].value = _Tokenizer(None)
    with pytest.raises(DataError, match=r"^/m: conversations need a tokenizer with a chat template, and this one"):
        R.check_inputs(dataclasses.replace(CompareConfig.quick(), chat=True, judge="none"), "/m")
    assert model_checks["load_judge"].calls == []


def test_run_compare_by_default_checks_5_percent_unknown_and_times_itself(
    tmp_path: Path, stages: dict[str, Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defaults and the run's own record: the inputs checked with a 5% unknown-token limit, the model, data and
    skip_sft in settings.json, the wall time to a tenth of a second, the machine, and a result without a cost
    (an older run's) costing only where it ran."""
    import platform
    from types import SimpleNamespace

    clock = iter([10.0, 12.26])
    monkeypatch.setattr(R, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    stages["_training_runs"].value = lambda job, runs, workers, address: {r.name: {"reward": 1.0, "kl_to_sft": 0.1,
                                                                                   "ran_on": "w"} for r in runs}
    (tmp_path / "m").mkdir()
    cfg = dataclasses.replace(CompareConfig.quick(), methods=["dpo"], frontier=[])
    out = R.run_compare(tmp_path / "c", cfg, model=tmp_path / "m", data=tmp_path / "d.jsonl", skip_sft=True)
    assert stages["check_inputs"].calls == [((cfg, tmp_path / "m", tmp_path / "d.jsonl", True, 0.05, None, False), {})]
    settings = json.loads((tmp_path / "c" / "settings.json").read_text())
    assert (settings["model"], settings["data"], settings["skip_sft"]) == (
        str((tmp_path / "m").resolve()), str((tmp_path / "d.jsonl").resolve()), True)  # fmt: skip
    assert out["total_wall_seconds_this_run"] == 2.3
    assert out["machine"] == {"python": platform.python_version(), "platform": platform.platform(),
                              "cpus": os.cpu_count()}  # fmt: skip
    assert {k: v for k, v in out["stage_costs"].items() if k != "reward"} == {
        run_name("dpo", cfg.headline("dpo"), cfg.seed): {"ran_on": "w"}}  # fmt: skip


def test_run_compare_splits_the_threads_between_its_workers(
    tmp_path: Path, stages: dict[str, Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OMP_NUM_THREADS=2 on two CPUs: one worker gets both, each of two workers one."""
    mask = os.sched_getaffinity(0)
    if len(mask) < 2:
        pytest.skip("needs 2 CPUs")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    os.sched_setaffinity(0, sorted(mask)[:2])
    try:
        for workers, threads in ((1, 2), (2, 1)):
            R.run_compare(tmp_path / str(workers), CompareConfig.quick(), workers=workers)
            assert stages["_sft_stage"].calls[-1][0][0].threads == threads
    finally:
        os.sched_setaffinity(0, mask)


def test_a_trusted_comparison_without_a_judge_copies_only_the_model(
    tmp_path: Path, stages: dict[str, Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = Spy(lambda path, dest, trust: Path(dest))
    monkeypatch.setattr(models, "trusted_copy", copy)
    R.run_compare(tmp_path, dataclasses.replace(CompareConfig.quick(), judge="none"), model="/m", trust_pickle=True)
    assert copy.calls == [(("/m", tmp_path.resolve() / "stages" / "model", True), {})]


def test_without_a_judge_nothing_is_loaded_and_5_percent_unknown_is_the_limit(model_checks: dict[str, Spy]) -> None:
    pairs = [{"prompt": "q", "chosen": " a", "rejected": " b"}]
    model_checks["load_preferences"].value = pairs
    R.check_inputs(dataclasses.replace(CompareConfig.quick(), judge="none"), "/m", "/d.jsonl")
    tok = model_checks["load_tokenizer"].value
    assert model_checks["load_judge"].calls == []
    assert model_checks["check_vocabulary"].calls == [((tok, pairs, "/d.jsonl", 0.05), {})]
