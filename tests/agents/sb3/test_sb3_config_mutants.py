"""Exact checks of rlsuite.agents.sb3_config: every refusal's whole line and field, the env_wrapper forms, the
policy_kwargs data, and the keyword arguments SB3 gets (schedules, renamed and dropped fields)."""

from __future__ import annotations

import pytest
import torch

from rlsuite.agents.sb3_config import (
    A2CConfig,
    ARSConfig,
    DQNConfig,
    PPOConfig,
    RecurrentPPOConfig,
    TRPOConfig,
    policy_kwargs_objects,
    wrapper_specs,
)
from rlsuite.common.errors import ConfigError
from rlsuite.common.memory import human, physical_memory

ONE_HOT = "rlsuite.envs.wrappers.OneHotObservation"


def _refused(cls, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)
    return info.value


@pytest.mark.parametrize(
    ("cls", "kwargs", "field", "message"),
    [(PPOConfig, {"learning_rate": "fast"}, "learning_rate",
      "PPOConfig.learning_rate: expected a number > 0 or 'lin_<number > 0>', got 'fast'"),
     (PPOConfig, {"clip_range": "lin_0"}, "clip_range",
      "PPOConfig.clip_range: expected a number > 0 or 'lin_<number > 0>', got 'lin_0'"),
     (PPOConfig, {"clip_range_vf": "lin_x"}, "clip_range_vf",
      "PPOConfig.clip_range_vf: expected a number > 0 or 'lin_<number > 0>', got 'lin_x'"),
     (PPOConfig, {"env_wrapper": {"a.B": 3}}, "env_wrapper", "PPOConfig.env_wrapper: expected {class name: {kwargs}}, "
      "got {'a.B': 3}"),
     (PPOConfig, {"env_wrapper": "os.system"}, "env_wrapper", "PPOConfig.env_wrapper: 'os.system' is outside rlsuite "
      "and gymnasium; importing it would run its module's code (pass --trust_env_wrapper on the command line if you "
      "trust it)"),
     (A2CConfig, {"env_device": "tpu"}, "env_device", "A2CConfig.env_device: expected cpu, auto, cuda or cuda:N, got "
      "'tpu'"),
     (PPOConfig, {"policy_kwargs": {1: 2}}, "policy_kwargs", "PPOConfig.policy_kwargs: keys must be names, got 1"),
     (PPOConfig, {"policy_kwargs": {"activation_fn": "os.system"}}, "policy_kwargs", "PPOConfig.policy_kwargs: "
      "activation_fn: expected one of ReLU, Tanh, ELU, LeakyReLU, GELU, SiLU, Sigmoid, Identity, got 'os.system'"),
     (PPOConfig, {"policy_kwargs": {"optimizer_class": "LBFGS"}}, "policy_kwargs", "PPOConfig.policy_kwargs: "
      "optimizer_class: expected one of Adam, AdamW, RMSprop, SGD, got 'LBFGS'"),
     (PPOConfig, {"policy_kwargs": {"features_extractor_class": "Mine"}}, "policy_kwargs", "PPOConfig.policy_kwargs: "
      "features_extractor_class: expected one of FlattenExtractor, NatureCNN, CombinedExtractor, got 'Mine'"),
     (PPOConfig, {"policy_kwargs": {"net_arch": {"pi": [8], 1: [8]}}}, "policy_kwargs",
      "PPOConfig.policy_kwargs: net_arch: expected plain data (numbers, lists, mappings)"),
     (PPOConfig, {"policy_kwargs": {"net_arch": [8, {8}]}}, "policy_kwargs",
      "PPOConfig.policy_kwargs: net_arch: expected plain data (numbers, lists, mappings)"),
     (PPOConfig, {"policy_kwargs": {"net_arch": {"pi": [8], "vf": {8}}}}, "policy_kwargs",
      "PPOConfig.policy_kwargs: net_arch: expected plain data (numbers, lists, mappings)"),
     (DQNConfig, {"gradient_steps": 0}, "gradient_steps", "DQNConfig.gradient_steps: 0 would never train; give >= 1 "
      "or -1")],
    ids=["lr word", "clip schedule 0", "clip_vf schedule word", "wrapper kwargs", "wrapper namespace", "env device",
         "kwargs key", "activation", "optimizer", "extractor", "nested key", "a set", "a set in a mapping",
         "dqn never trains"],
)  # fmt: skip
def test_refusals_are_one_exact_line_naming_the_field(cls, kwargs, field, message):
    error = _refused(cls, **kwargs)
    assert (str(error), error.field) == (message, field)


def test_too_many_env_copies_for_the_memory():
    total = physical_memory()
    if total is None:
        pytest.skip("this machine does not say its memory")
    n = total // 100_000 + 1
    error = _refused(PPOConfig, n_envs=n)
    assert str(error) == (f"PPOConfig.n_envs: {n} env copies need about {human(n * 100_000)} of memory; this machine "
                          f"has {human(total)}")  # fmt: skip


def test_accepted_settings():
    PPOConfig(learning_rate="lin_0.5", clip_range="lin_1e-1", clip_range_vf=0.2)
    PPOConfig(env_wrapper="thirdparty.Wrapper", trust_env_wrapper=True)  # the user's own flag
    PPOConfig(policy_kwargs={"net_arch": {"pi": [8, 8], "vf": (4,)}, "ortho_init": False, "log_std_init": -1.0,
                             "activation_fn": "Tanh", "optimizer_kwargs": {"eps": 1e-5}, "x": None})  # fmt: skip
    DQNConfig(gradient_steps=-1)


def test_wrapper_specs_forms():
    assert wrapper_specs(None) == []
    assert wrapper_specs(ONE_HOT) == [(ONE_HOT, {})]
    assert wrapper_specs([ONE_HOT, {"gymnasium.wrappers.TimeLimit": {"max_episode_steps": 5}}, {"a.B": None}]) == [
        (ONE_HOT, {}), ("gymnasium.wrappers.TimeLimit", {"max_episode_steps": 5}), ("a.B", {})]  # fmt: skip
    for spec, message in [
        ([{"a.B": {}, "c.D": {}}], "expected a class name or {name: kwargs}, got {'a.B': {}, 'c.D': {}}"),
        ([3], "expected a class name or {name: kwargs}, got 3"),
        ({3: {}}, "expected {class name: {kwargs}}, got {3: {}}"),
        ("OneHot", "'OneHot' is not a dotted class name such as rlsuite.envs.wrappers.OneHotObservation"),
        ("a.1b", "'a.1b' is not a dotted class name such as rlsuite.envs.wrappers.OneHotObservation"),
    ]:
        with pytest.raises(ValueError) as info:
            wrapper_specs(spec)
        assert str(info.value) == message


def test_policy_kwargs_names_become_the_allowed_classes():
    from stable_baselines3.common.torch_layers import NatureCNN

    assert policy_kwargs_objects(None) is None
    given = {"activation_fn": "Tanh", "optimizer_class": "AdamW", "features_extractor_class": "NatureCNN", "n": [4]}
    assert policy_kwargs_objects(given) == {"activation_fn": torch.nn.Tanh, "optimizer_class": torch.optim.AdamW,
                                            "features_extractor_class": NatureCNN, "n": [4]}  # fmt: skip
    assert given["activation_fn"] == "Tanh"  # a copy: the config keeps its names
    assert policy_kwargs_objects({"net_arch": [8]}) == {"net_arch": [8]}


def test_sb3_kwargs_of_each_family():
    kwargs = PPOConfig(learning_rate="lin_0.002", clip_range=0.3, policy_kwargs={"activation_fn": "ReLU"}).sb3_kwargs(
        n_steps=64)  # fmt: skip
    assert (kwargs["learning_rate"](1.0), kwargs["learning_rate"](0.5), kwargs["learning_rate"](0.0)) == (
        pytest.approx(0.002), pytest.approx(0.001), 0.0)  # fmt: skip
    assert (kwargs["clip_range"], kwargs["n_steps"], kwargs["policy"], kwargs["verbose"]) == (0.3, 64, "MlpPolicy", 0)
    assert kwargs["policy_kwargs"] == {"activation_fn": torch.nn.ReLU} and "n_envs" not in kwargs
    assert PPOConfig(n_steps=32).sb3_kwargs(n_steps=64)["n_steps"] == 32  # given: kept
    clips = PPOConfig(clip_range="lin_0.2", clip_range_vf="lin_0.1").sb3_kwargs()
    assert (clips["clip_range"](1.0), clips["clip_range_vf"](0.5)) == (pytest.approx(0.2), pytest.approx(0.05))
    assert RecurrentPPOConfig(policy="CnnPolicy").sb3_kwargs()["policy"] == "CnnLstmPolicy"
    ars = ARSConfig(candidate_episodes=3, gamma=0.5).sb3_kwargs()
    assert ars["n_eval_episodes"] == 3 and "candidate_episodes" not in ars and "gamma" not in ars
    assert DQNConfig(train_freq=2).sb3_kwargs()["train_freq"] == (2, "step")
    assert "train_freq_unit" not in DQNConfig().sb3_kwargs()


@pytest.mark.parametrize(
    ("config", "n_steps", "rollout"),
    [(PPOConfig(n_envs=3), 682, 2046), (PPOConfig(n_envs=300), 8, 2400), (PPOConfig(n_envs=4, n_steps=5), 5, 20),
     (RecurrentPPOConfig(n_envs=4), 32, 128), (RecurrentPPOConfig(n_envs=32), 8, 256)],
)  # fmt: skip
def test_rollout_lengths(config, n_steps, rollout):
    assert (config.rollout_n_steps(), config.rollout_steps()) == (n_steps, rollout)


def test_rollouts_of_the_other_on_policy_algorithms():
    assert A2CConfig(n_steps=7, n_envs=3).rollout_steps() == 21
    assert TRPOConfig(n_steps=64, n_envs=3).rollout_steps() == 192
    assert DQNConfig(n_envs=3).rollout_steps() is None and ARSConfig().rollout_steps() is None
