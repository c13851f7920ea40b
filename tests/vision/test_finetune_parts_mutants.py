"""Small parts of VLM fine-tuning, exactly: the optimal-action targets from value iteration (the book's gamma by
default), an actor's counters kept in a checkpoint and restored, and the LoRA adapters' settings as given."""

from __future__ import annotations

import types

import gymnasium as gym
import numpy as np

import rlsuite.envs  # noqa: F401  (registers the env ids)
from rlsuite.agents.tabular.solvers import value_iteration
from rlsuite.envs.model import tabular_model
from rlsuite.vision.finetune import actor_state, optimal_actions_and_values, restore_actor


def test_optimal_actions_and_values_are_value_iterations() -> None:
    env = gym.make("rlsuite/GridWorld-v0")
    for gamma, given in ((0.9, ()), (0.5, (0.5,))):
        optimal, v = optimal_actions_and_values(env, *given)
        v_star, q, _ = value_iteration(tabular_model(env.unwrapped), gamma=gamma)
        assert np.array_equal(v, v_star) and optimal.dtype == np.float32
        assert np.array_equal(optimal, (q >= q.max(1, keepdims=True) - 1e-9).astype(np.float32))
    assert optimal_actions_and_values(env)[1][0] != optimal_actions_and_values(env, 0.5)[1][0]


def test_an_actors_counters_go_into_a_checkpoint_and_come_back() -> None:
    actor = types.SimpleNamespace(answers=7, unparsed=2, other=1)
    state = actor_state(actor)  # type: ignore[arg-type]
    assert state == {"actor": {"answers": 7, "unparsed": 2}}
    fresh = types.SimpleNamespace(answers=0, unparsed=0, other=5)
    restore_actor(fresh, state)  # type: ignore[arg-type]
    assert vars(fresh) == {"answers": 7, "unparsed": 2, "other": 5}
    assert actor_state(types.SimpleNamespace(unparsed=3)) == {"actor": {"unparsed": 3}}  # type: ignore[arg-type]
    assert actor_state(object()) == {"actor": {}}  # type: ignore[arg-type]  # a scoring actor keeps none
    restore_actor(fresh, {})  # type: ignore[arg-type]  # a checkpoint of a scoring run: nothing to restore
    assert vars(fresh) == {"answers": 7, "unparsed": 2, "other": 5}


def test_lora_adapters_take_the_options_given() -> None:
    from rlsuite.vision.adapters import VLMModelOptions
    from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train

    options = VLMModelOptions(finetune="lora", lora_rank=3, lora_alpha=6.0, lora_dropout=0.25)
    model = load_policy_to_train(VLMTrainConfig(size=3, hidden=24, layers=2, device="cpu"), options)[0].model
    config = model.peft_config["default"]
    assert (config.r, config.lora_alpha, config.lora_dropout, config.bias) == (3, 6.0, 0.25, "none")
    assert config.target_modules == "all-linear" or "lm_head" not in config.target_modules
    names = [n for n, _ in model.named_parameters() if "lora_A" in n]
    assert names and not any("lm_head" in n for n in names)  # every linear layer but the output one
    assert all(not p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)
