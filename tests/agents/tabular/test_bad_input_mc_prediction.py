"""Bad input to the MC prediction agents: one-line errors naming the problem."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular import FirstVisitMCPrediction, OffPolicyMCPrediction
from rlsuite.agents.tabular.mc_prediction import MCPredictionConfig, OffPolicyMCPredictionConfig
from rlsuite.common.errors import ConfigError, UsageError


def test_a_policy_the_env_cannot_give_is_refused() -> None:
    with pytest.raises(UsageError, match=r"^FirstVisitMCPrediction: policy 'optimal' needs an env with an exact model"):
        FirstVisitMCPrediction(gym.make("Blackjack-v1"), MCPredictionConfig(policy="optimal"))
    with pytest.raises(UsageError, match=r"^OffPolicyMCPrediction: policy 'stick_20' is Blackjack's \(Blackjack-v1\); "
                       r"on this env choose policy 'uniform' or 'optimal'$"):  # fmt: skip
        OffPolicyMCPrediction(gym.make("rlsuite/Gambler-v0"))
    for policy in ("uniform", "optimal"):  # the advice works when followed
        OffPolicyMCPrediction(gym.make("rlsuite/Gambler-v0"), OffPolicyMCPredictionConfig(policy=policy))
    from rlsuite.agents.tabular import BlackjackMCES

    with pytest.raises(UsageError, match=r"^BlackjackMCES: plays Blackjack \(Blackjack-v1\), not rlsuite/Gambler-v0$"):
        BlackjackMCES(gym.make("rlsuite/Gambler-v0"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"gamma": 1.5}, "gamma"), ({"batch": 0}, "batch"), ({"policy": "greedy"}, "policy"),
     ({"weighting": "both"}, "weighting")],
)
def test_bad_config_values_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        OffPolicyMCPredictionConfig(**kwargs)
