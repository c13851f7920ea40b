"""``train_vlm_policy``'s report, log lines and settings exactly, against a replay of its stages (mutation testing).

The replay builds the same policy (``seed_everything`` then ``load_policy_to_train``), measures it, clones,
measures, runs PPO and measures, with the actor the run uses (scored words, or reasoned answers seeded with
``config.seed``); the run's report must equal it but for wall times. With LoRA the stages' learning rates are
read from the checkpoints' optimiser settings; a resumed run logs where it resumed from. Also here:
``success_rate``'s progress task, ``VLMTrainConfig.held_out`` and ``ScoringActor.bc_loss`` by hand.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from recording import RecordingReporter, reporting_to

from rlsuite.common.seeding import seed_everything
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.checkpoints import Checkpointer, VLMCheckpointOptions
from rlsuite.vision.finetune import (
    ScoringActor,
    VLMEvalConfig,
    VLMTrainConfig,
    behaviour_clone,
    exact_value_gap,
    load_policy_to_train,
    ppo_finetune,
    success_rate,
    train_vlm_policy,
)
from rlsuite.vision.reasoning import ReasoningActor, ReasoningConfig
from rlsuite.vision.runtime import torch_threads

# seed 1 (not the actor's default 0), gamma 0.8 (not exact_value_gap's default 0.9), bc_lr 5e-3 (not lora_lr's 1e-3)
CONFIG = VLMTrainConfig(size=3, hidden=16, layers=1, bc_layouts=3, bc_steps=2, bc_batch=4, bc_warmup=1, bc_lr=5e-3,
                        ppo_updates=1, value_warmup=0, ppo_envs=2, ppo_steps=2, ppo_epochs=1, ppo_minibatches=1,
                        eval_episodes=2, max_episode_steps=3, device="cpu", gamma=0.8, seed=1)  # fmt: skip
REASONING = ReasoningConfig(reasoning=True, max_new_tokens=2)  # unparsed answers take a random (seeded) action
STAGES = ("untrained", "after_bc", "after_ppo")


def without_seconds(report: Any) -> str:
    """The report as JSON (where NaN equals NaN: a rollout that ended no episode), wall times left out."""

    def drop(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: drop(v) for k, v in x.items() if k != "seconds"}
        return [drop(v) for v in x] if isinstance(x, list) else x

    return json.dumps(drop(report))


def replay(config: VLMTrainConfig, reasoning: ReasoningConfig) -> tuple[dict[str, Any], str]:
    """The report a run of ``config`` should give (without wall times), and its policy's prompt.

    Run with the torch thread count the run uses (``torch_threads``): sums over 1 and 2 threads differ in the last
    bits, so a replay on torch's default (every CPU, without OMP_NUM_THREADS) differed from the run on 2 CPUs.
    """
    with torch_threads(config.threads):
        seed_everything(config.seed)
        held_out = config.held_out()
        policy, info = load_policy_to_train(config, None, reasoning)
        actor = ReasoningActor(policy, reasoning, config.seed) if reasoning.reasoning else ScoringActor(policy)
        report: dict[str, Any] = {"model": info}
        for stage, train in zip(STAGES, (None, behaviour_clone, ppo_finetune), strict=True):
            if train is not None:
                report[train.__name__] = train(policy, config, actor, None, None)
            report[f"success_{stage}"] = success_rate(policy, held_out, actor=actor)
            if not reasoning.reasoning:
                report[f"value_gap_{stage}"] = exact_value_gap(policy, held_out, config.gamma)
        if reasoning.reasoning:
            report["answers"], report["unparsed_answers"] = actor.answers, actor.unparsed
    return report, policy.prompt


def timed_run(caplog: pytest.LogCaptureFixture, **kwargs: Any) -> tuple[Any, dict[str, Any], float]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rlsuite.vision.finetune"):
        t0 = time.perf_counter()
        policy, report = train_vlm_policy(CONFIG, **kwargs)
        wall = time.perf_counter() - t0
    return policy, report, wall


def check_seconds(report: dict[str, Any], wall: float) -> None:
    seconds = report["seconds"]
    assert type(seconds) is float and seconds == round(seconds, 1) and 0 <= seconds <= round(wall, 1) + 0.05


def stage_lines(report: dict[str, Any]) -> list[str]:
    return [f"{s.replace('_', ' ')}: greedy success {report[f'success_{s}']:.2f}" for s in STAGES]


def test_a_scoring_run_reports_each_stage_measured_as_a_replay_measures_it(caplog) -> None:
    """No reasoning config and no checkpointer given: scored words, a value gap per stage, no answer counts."""
    policy, report, wall = timed_run(caplog)
    expected, prompt = replay(CONFIG, ReasoningConfig())
    assert list(report) == ["model", "success_untrained", "value_gap_untrained", "behaviour_clone",
                            "success_after_bc", "value_gap_after_bc", "ppo_finetune", "success_after_ppo",
                            "value_gap_after_ppo", "seconds"]  # fmt: skip
    assert without_seconds(report) == without_seconds(expected) and policy.prompt == prompt
    assert expected["model"] == {"model": "tiny Llava (built from configs)", "parameters": 12544, "finetune": "full",
                                 "trainable_parameters": 12561}  # fmt: skip
    check_seconds(report, wall)
    lines = [m for m in caplog.messages if "greedy success" in m]
    assert lines == stage_lines(report)


def test_a_reasoning_run_counts_the_answers_of_every_measurement(caplog) -> None:
    """Reasoned answers: the actor (seeded with config.seed) measures each stage; answers counted, no value gap."""
    policy, report, wall = timed_run(caplog, reasoning=REASONING)
    expected, prompt = replay(CONFIG, REASONING)
    assert list(report) == ["model", "success_untrained", "behaviour_clone", "success_after_bc", "ppo_finetune",
                            "success_after_ppo", "answers", "unparsed_answers", "seconds"]  # fmt: skip
    assert without_seconds(report) == without_seconds(expected)
    assert policy.prompt == prompt == REASONING.prompt
    assert expected["answers"] > 0 and expected["unparsed_answers"] > 0
    check_seconds(report, wall)
    assert [m for m in caplog.messages if "greedy success" in m] == stage_lines(report)


def test_lora_trains_at_lora_lr_then_at_full_fine_tunings_ratio_and_a_resumed_run_says_where(
    tmp_path: Path, caplog
) -> None:
    """The checkpoints' optimiser settings: cloning peaks at lora_lr, PPO at lora_lr * ppo_lr / bc_lr; full
    fine-tuning keeps bc_lr. Run again with resume, the run logs the checkpoint it continues from."""
    every = VLMCheckpointOptions(bc_checkpoint_every=2, checkpoint_every=1, keep_checkpoints=5)

    def lrs(folder: Path) -> tuple[float, float]:
        bc = json.loads((folder / "checkpoints" / "step_0000002" / "optimizer.json").read_text())["bc"]
        ppo = json.loads((folder / "checkpoints" / "step_0000003" / "optimizer.json").read_text())["ppo"]
        return bc["param_groups"][0]["initial_lr"], ppo["param_groups"][0]["lr"]

    lora = VLMModelOptions(finetune="lora", lora_lr=0.02)
    _, report, _ = timed_run(caplog, options=lora, checkpoints=Checkpointer(tmp_path / "lora", every, "k"))
    assert report["model"]["finetune"] == "lora"
    assert lrs(tmp_path / "lora") == (0.02, pytest.approx(0.02 * 1e-4 / 5e-3, rel=1e-12))
    full = VLMModelOptions(finetune="full", lora_lr=0.02)
    timed_run(caplog, options=full, checkpoints=Checkpointer(tmp_path / "full", every, "k"))
    assert lrs(tmp_path / "full") == (5e-3, pytest.approx(1e-4, rel=1e-12))

    resume = dataclasses.replace(every, resume=True)
    _, again, _ = timed_run(caplog, options=lora, checkpoints=Checkpointer(tmp_path / "lora", resume, "k"))
    path = tmp_path / "lora" / "checkpoints" / "step_0000003"
    assert f"resuming from {path} (ppo step 1)" in caplog.messages and again["resumed_from"] == path.name


def test_the_device_given_is_the_one_trained_on(tmp_path: Path) -> None:
    """Resolved by the caller once: a run on simulated CUDA's "auto" given the CPU stays on the CPU."""
    from cuda_sim import simulate_cuda

    config = dataclasses.replace(CONFIG, device="auto", ppo_updates=0, bc_steps=1)
    with simulate_cuda():
        policy, _ = train_vlm_policy(config, device=torch.device("cpu"))
    assert policy.device == torch.device("cpu") and {p.device.type for p in policy.parameters()} == {"cpu"}


def test_success_rate_reports_one_progress_task_of_held_out_steps() -> None:
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(CONFIG)
    with reporting_to(RecordingReporter()) as reporter:
        success_rate(policy, VLMEvalConfig(size=3, episodes=2, max_episode_steps=3))
    assert reporter.started == [("held-out layouts", 3, "step")] and reporter.stopped == 1


def test_held_out_takes_the_training_configs_layouts_episodes_and_step_limit() -> None:
    config = VLMTrainConfig(size=5, forbidden_fraction=0.25, eval_episodes=7, max_episode_steps=11)
    assert config.held_out() == VLMEvalConfig(size=5, forbidden_fraction=0.25, episodes=7, max_episode_steps=11)


def test_bc_loss_is_the_mean_over_frames_of_each_frames_cross_entropy() -> None:
    """Three frames (not five: a sum over the batch would then differ from one over the actions)."""
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(CONFIG)
    frames = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 3), dtype=np.uint8)
    targets = np.array([[1, 0, 0, 0, 0], [0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 1]], np.float32)
    loss, value = ScoringActor(policy).bc_loss(frames, targets)
    dist, v = policy(frames)
    logp = torch.log_softmax(dist.logits, -1)
    by_hand = -(logp[0, 0] + 0.5 * logp[1, 1] + 0.5 * logp[1, 2] + logp[2, 4]) / 3
    torch.testing.assert_close(loss, by_hand, rtol=1e-6, atol=0)
    assert torch.equal(value, v)


def test_ppo_reports_one_progress_task_of_updates() -> None:
    """Advanced by the updates a resumed run had done (0 here), then one per update."""
    torch.manual_seed(0)
    config = dataclasses.replace(CONFIG, ppo_updates=2)
    policy, _ = load_policy_to_train(config)
    with reporting_to(RecordingReporter()) as reporter:
        ppo_finetune(policy, config, ScoringActor(policy), None, None)
    assert reporter.started == [("PPO updates", 2, "update")] and reporter.stopped == 1
    assert reporter.advances == [0, 1, 1]


class RandomActor:
    """Uniformly random moves (seeded): on a 3 x 3 grid in 60 steps every episode reaches its target."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.batches: list[int] = []  # the episodes still going at each step

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        self.batches.append(len(obs))
        return self.rng.integers(0, 5, len(obs))


class StayActor:
    def greedy(self, obs: np.ndarray) -> np.ndarray:
        return np.full(len(obs), 4)  # "stay": the target is never the start


class ShortActor:
    def greedy(self, obs: np.ndarray) -> np.ndarray:
        return np.zeros(len(obs) - 1, np.int64)  # one action too few


def test_success_rate_counts_the_episodes_that_reach_their_target() -> None:
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(CONFIG)
    held_out = VLMEvalConfig(size=3, episodes=6, max_episode_steps=60)
    walker = RandomActor()
    assert success_rate(policy, held_out, actor=walker) == 1.0
    # an episode that ended is not stepped again: the batches shrink, and the loop stops when all have ended
    assert walker.batches[0] == 6 and walker.batches == sorted(walker.batches, reverse=True)
    assert walker.batches[-1] < 6 and len(walker.batches) < 60
    assert success_rate(policy, held_out, actor=StayActor()) == 0.0
    with pytest.raises(ValueError, match="zip"):
        success_rate(policy, held_out, actor=ShortActor())


def test_training_on_simulated_cuda_keeps_every_tensor_there() -> None:
    """Cloning and PPO on "cuda" (simulated: an op mixing a CPU and a cuda tensor raises, as on a GPU)."""
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        policy, report = train_vlm_policy(dataclasses.replace(CONFIG, device="cuda"))
    assert policy.device == torch.device("cuda") and report["ppo_finetune"]["updates"] == 1


class CountingActor(ScoringActor):
    """A ScoringActor that counts the frames of every minibatch it evaluates."""

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        self.minibatches: list[int] = []

    def evaluate(self, obs: Any, memo: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self.minibatches.append(len(obs))
        return super().evaluate(obs, memo)


@pytest.mark.parametrize(("steps", "minibatches", "sizes"), [(1, 1, [2]), (2, 4, [1, 1, 1, 1]), (2, 8, [1] * 4)])
def test_each_epoch_splits_the_rollout_into_minibatches_of_at_least_one_frame(steps, minibatches, sizes) -> None:
    """A rollout of one step (one memo) works; 2 envs x 2 steps in 4 or 8 minibatches are 4 of one frame each."""
    torch.manual_seed(0)
    config = dataclasses.replace(CONFIG, ppo_steps=steps, ppo_minibatches=minibatches, ppo_epochs=1)
    policy, _ = load_policy_to_train(config)
    actor = CountingActor(policy)
    ppo_finetune(policy, config, actor, None, None)
    assert actor.minibatches == sizes


def test_ppo_epochs_lower_the_value_loss_on_one_rollout() -> None:
    """The value term is minimised with the policy term (vf_coef > 0): over 20 epochs of one rollout the value loss
    falls (0.59 to 0.32 at this seed; it rises when the term's sign is flipped)."""
    torch.manual_seed(0)
    config = dataclasses.replace(CONFIG, ppo_epochs=20, ppo_steps=4, vf_coef=5.0)
    policy, _ = load_policy_to_train(config)
    [row] = ppo_finetune(policy, config, ScoringActor(policy), None, None)["history"]
    assert row["phase"] == "ppo" and row["value_loss"] < 0.75 * row["value_loss_first_epoch"]


def _layout(config: VLMTrainConfig | VLMEvalConfig, seed: int) -> bytes:
    """The cell kinds of the layout an env of ``config`` draws at ``seed``."""
    from rlsuite.vision.finetune import _env

    env = _env(config)
    env.reset(seed=seed)
    return env.unwrapped.world.kinds.tobytes()


def test_the_layouts_left_out_of_cloning_are_those_success_rate_measures_on() -> None:
    from rlsuite.vision.finetune import EVAL_SEED, held_out_layouts

    config = VLMTrainConfig(size=4, eval_episodes=5)
    # success_rate's envs, reset with seeds EVAL_SEED + i
    measured = {_layout(config.held_out(), EVAL_SEED + i) for i in range(config.eval_episodes)}
    assert held_out_layouts(config) == measured and len(measured) == 5


def test_cloning_data_skips_the_excluded_layouts_and_goes_on_to_the_next_seeds() -> None:
    from rlsuite.vision.finetune import optimal_action_dataset

    config = VLMTrainConfig(size=3)
    skipped = optimal_action_dataset(config, range(10), 2, exclude={_layout(config, 0)})
    later = optimal_action_dataset(config, [1, 2], 2)
    for got, expected in zip(skipped, later, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_cloning_data_has_a_frame_per_agent_cell_and_v_star_at_the_configs_gamma() -> None:
    """Each frame shows the agent in its own cell (no two alike); values are v* at config.gamma, as float32."""
    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.model import tabular_model
    from rlsuite.vision.finetune import _env, optimal_action_dataset

    config = VLMTrainConfig(size=3, gamma=0.5)
    frames, targets, values = optimal_action_dataset(config, [0], 1)
    assert len({f.tobytes() for f in frames}) == len(frames) == len(targets) == 8  # 9 cells but the target's
    env = _env(config)
    env.reset(seed=0)
    v_star = value_iteration(tabular_model(env.unwrapped), gamma=0.5)[0]
    assert values.dtype == np.float32  # in state order, the target's left out
    np.testing.assert_allclose(values, np.delete(v_star, env.unwrapped.world.target_state), rtol=1e-6)


def test_cloning_leaves_the_held_out_layouts_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import rlsuite.vision.finetune as finetune
    from rlsuite.vision.finetune import held_out_layouts, optimal_action_dataset

    excluded: list[Any] = []

    def spy(config: VLMTrainConfig, seeds: Any, n_layouts: int, exclude: Any = ()) -> Any:
        excluded.append(set(exclude))
        return optimal_action_dataset(config, seeds, n_layouts, exclude)

    monkeypatch.setattr(finetune, "optimal_action_dataset", spy)
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(CONFIG)
    behaviour_clone(policy, CONFIG, ScoringActor(policy), None, None)
    assert excluded == [held_out_layouts(CONFIG), set()] and excluded[0]  # the training set, then the held-out one
