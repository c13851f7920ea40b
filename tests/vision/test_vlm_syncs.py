"""No host-device sync of rlsuite's own per training step of a VLM policy (issue 22), counted on simulated CUDA.

The tiny Llava's own forward pass reads the device (transformers checks the image tokens with ``.item()``
and builds its attention mask with an ``if`` on a tensor), and on the simulation ``clip_grad_norm_`` moves
its coefficient to the grads' real (CPU) device, which a GPU would not: that is the model's and the
simulation's part, measured here on one forward pass and one hand-written training step. The tests
assert that a cloning step costs exactly that, and a PPO update exactly that per forward pass and
minibatch plus one read of the sampled actions per env step (the envs run on the host) and one read
of the update's statistics. The reasoning actor (``generate``, whose stopping checks read the device
every token, and whose text is parsed on the host) is not counted here.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import numpy as np
import pytest
import torch

from rlsuite.vision.finetune import (
    ScoringActor,
    VLMTrainConfig,
    behaviour_clone,
    load_policy_to_train,
    ppo_finetune,
    trainable,
)

# ppo: 2 envs x 2 steps, 2 passes of 2 minibatches; 50-step episodes: no truncation (no extra forward pass)
BASE = dict(size=3, hidden=16, layers=1, bc_layouts=3, bc_batch=4, bc_warmup=1, eval_episodes=1, device="cuda",
            ppo_envs=2, ppo_steps=2, ppo_epochs=2, ppo_minibatches=2, max_episode_steps=50, value_warmup=1)  # fmt: skip


def per_unit(run: Callable[[int], object], small: int, big: int) -> collections.Counter[str]:
    """Syncs by kind per unit of ``run(n)``: a long run's minus a short run's, over the extra units."""
    from cuda_sim import count_syncs

    with count_syncs() as few:
        run(small)
    with count_syncs() as many:
        run(big)
    extra = collections.Counter(many)
    extra.subtract(few)
    assert all(v % (big - small) == 0 for v in extra.values()), (few, many)
    return collections.Counter({k: v // (big - small) for k, v in extra.items() if v})


def times(counter: collections.Counter[str], n: int) -> collections.Counter[str]:
    return collections.Counter({k: v * n for k, v in counter.items()})


@pytest.fixture
def sim():
    from cuda_sim import is_simulated, simulate_cuda

    if torch.cuda.is_available() and not is_simulated():
        pytest.skip("counts syncs on simulated CUDA")
    with simulate_cuda():
        yield


def model_syncs(policy) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """The model's own syncs: one no-grad forward pass, and one training step written out by hand."""
    from cuda_sim import count_syncs

    frames, targets = np.zeros((4, 48, 48, 3), np.uint8), np.full((4, 5), 0.2, np.float32)
    opt = torch.optim.AdamW(trainable(policy))
    with count_syncs() as forward, torch.no_grad():
        policy(frames)
    with count_syncs() as step:
        loss, v = ScoringActor(policy).bc_loss(frames, targets)
        (loss + (v**2).mean()).backward()
        torch.nn.utils.clip_grad_norm_(trainable(policy), 1.0)
        opt.step()
    return collections.Counter(forward), collections.Counter(step)


def test_a_cloning_step_reads_the_device_only_inside_the_model(sim):
    policy, _ = load_policy_to_train(VLMTrainConfig(**BASE))
    _, step = model_syncs(policy)
    assert sum(step.values()) <= 3, step  # transformers' two checks and the simulation's clip_grad_norm_ copy
    cloning = per_unit(lambda n: behaviour_clone(policy, VLMTrainConfig(**BASE, bc_steps=n)), 2, 6)
    assert cloning == step, (cloning, step)


def test_a_ppo_update_reads_the_actions_and_its_statistics_once(sim):
    policy, _ = load_policy_to_train(VLMTrainConfig(**BASE))
    forward, step = model_syncs(policy)
    T, passes, minibatches = BASE["ppo_steps"], BASE["ppo_epochs"], BASE["ppo_minibatches"]
    update = per_unit(lambda n: ppo_finetune(policy, VLMTrainConfig(**BASE, ppo_updates=n)), 1, 3)
    # T + 1 forward passes (the last for the bootstrap value), T action reads, one statistics read
    expected = times(forward, T + 1) + times(step, passes * minibatches) + collections.Counter({"cpu": T + 1})
    assert update == expected, (update, expected)
