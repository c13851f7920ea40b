"""``behaviour_clone`` against a replay written out step by step (mutation testing).

The replay draws the training layouts from ``default_rng(config.seed)`` (seeds above the held-out ones, the held-out
layouts left out), the held-out set from seeds ``EVAL_SEED ...``, then each step's minibatch from the same
generator, and takes AdamW steps on the cross-entropy plus ``bc_value_coef * 0.5 (V - v*)^2`` with the gradient
norm clipped to 1 and the learning rate warmed up linearly over ``bc_warmup`` steps then decayed linearly to zero.
The run's weights, report and log line must equal the replay's.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch
from recording import RecordingReporter, reporting_to

from rlsuite.vision.finetune import (
    EVAL_SEED,
    ScoringActor,
    VLMTrainConfig,
    action_accuracy,
    behaviour_clone,
    held_out_layouts,
    load_policy_to_train,
    optimal_action_dataset,
    trainable,
)

CONFIG = VLMTrainConfig(size=3, hidden=16, layers=1, device="cpu", bc_layouts=2, bc_steps=25, bc_batch=4,
                        bc_warmup=3, bc_lr=5e-3, bc_value_coef=0.7, eval_episodes=3, seed=5)  # fmt: skip


def _start() -> tuple[object, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(CONFIG)
    return policy, {k: v.clone() for k, v in policy.state_dict().items()}


def test_behaviour_cloning_equals_its_replay(caplog: pytest.LogCaptureFixture) -> None:
    policy, start = _start()
    with caplog.at_level(logging.INFO, logger="rlsuite.vision.finetune"):
        report = behaviour_clone(policy, CONFIG, ScoringActor(policy))

    replayed, _ = load_policy_to_train(CONFIG)
    replayed.load_state_dict(start)
    actor = ScoringActor(replayed)
    rng = np.random.default_rng(CONFIG.seed)
    seeds = iter(lambda: int(rng.integers(EVAL_SEED + CONFIG.eval_episodes, 2**31)), None)
    frames, targets, values = optimal_action_dataset(CONFIG, seeds, CONFIG.bc_layouts, held_out_layouts(CONFIG))
    eval_seeds = range(EVAL_SEED, EVAL_SEED + CONFIG.eval_episodes)
    test_frames, test_targets, _ = optimal_action_dataset(CONFIG, eval_seeds, CONFIG.eval_episodes)
    initial = action_accuracy(replayed, frames, targets, actor=actor)
    opt = torch.optim.AdamW(trainable(replayed), lr=CONFIG.bc_lr)
    losses = []
    for step in range(CONFIG.bc_steps):
        for group in opt.param_groups:  # warm-up to the peak, then linear decay to zero
            group["lr"] = CONFIG.bc_lr * min(1.0, (step + 1) / CONFIG.bc_warmup) * (1.0 - step / CONFIG.bc_steps)
        replayed.train()
        idx = rng.integers(len(frames), size=CONFIG.bc_batch)
        loss, v = actor.bc_loss(frames[idx], targets[idx])
        loss = loss + CONFIG.bc_value_coef * 0.5 * ((v - torch.as_tensor(values[idx])) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable(replayed), 1.0)
        opt.step()
        losses.append(loss.item())
    for name, mine in replayed.state_dict().items():
        torch.testing.assert_close(policy.state_dict()[name], mine, rtol=1e-4, atol=1e-5)
    expected = {"steps": 25, "frames": len(frames), "first_loss": pytest.approx(np.mean(losses[:20]), rel=1e-5),
                "final_loss": pytest.approx(np.mean(losses[-20:]), rel=1e-5), "initial_train_accuracy": initial,
                "train_accuracy": action_accuracy(replayed, frames, targets, actor=actor),
                "held_out_accuracy": action_accuracy(replayed, test_frames, test_targets, actor=actor)}  # fmt: skip
    assert {k: v for k, v in report.items() if k != "seconds"} == expected
    assert report["first_loss"] != report["final_loss"] and len(frames) == 16  # 2 layouts of 8 agent cells
    assert type(report["seconds"]) is float and report["seconds"] == round(report["seconds"], 1)
    line = (
        f"behaviour cloning: 25 steps, loss {report['first_loss']:.3f} -> {report['final_loss']:.3f}, "
        f"accuracy train {report['train_accuracy']:.3f}, held-out layouts {report['held_out_accuracy']:.3f}"
    )
    assert line in caplog.messages


def test_behaviour_cloning_reports_one_progress_task_and_a_debug_line_per_100_steps(caplog) -> None:
    config = dataclasses.replace(CONFIG, bc_steps=200)
    policy, _ = _start()
    with caplog.at_level(logging.DEBUG, logger="rlsuite.vision.finetune"), reporting_to(RecordingReporter()) as rec:
        behaviour_clone(policy, config, ScoringActor(policy))
    assert rec.started == [("behaviour cloning", 200, "step")] and rec.advances == [0] + [1] * 200
    steps = [m for m in caplog.messages if m.startswith("bc step")]
    assert [m.split(":")[0] for m in steps] == ["bc step 100", "bc step 200"]
    assert all(m.split(": loss ")[1].split(" (")[0].replace(".", "").isdigit() for m in steps)
    assert any(m.startswith("bc data: 16 frames from 2 layouts (") for m in caplog.messages)


class GreedyCounter(ScoringActor):
    """A ScoringActor that counts the frames its greedy actions are asked for."""

    def __init__(self, policy: object) -> None:
        super().__init__(policy)
        self.asked: list[int] = []

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        self.asked.append(len(obs))
        return super().greedy(obs)


def test_every_accuracy_is_measured_through_the_actor_given() -> None:
    """Before cloning (16 training frames), after it (the same 16) and on the held-out layouts (3 x 8 frames)."""
    policy, _ = _start()
    actor = GreedyCounter(policy)
    behaviour_clone(policy, CONFIG, actor)
    assert actor.asked == [16, 16, 24]


def test_training_accuracy_is_measured_on_the_first_1000_frames() -> None:
    """126 layouts of 8 agent cells: 1008 training frames, of which the accuracies read 1000 (in batches of 256)."""
    policy, _ = _start()
    actor = GreedyCounter(policy)
    behaviour_clone(policy, dataclasses.replace(CONFIG, bc_layouts=126, bc_steps=1), actor)
    assert actor.asked == [256, 256, 256, 232] * 2 + [24]
