"""Tabular agents: dynamic programming, Monte Carlo, stochastic approximation, TD, bandits.

Importing this package imports every algorithm, so each is registered in
:data:`rlsuite.agents.base.AGENTS` (``Agent.load`` finds a saved agent's class there).
``ALGORITHMS`` maps each algorithm's name to its class, in the books' order; the config class
is ``cls.config_cls``.
"""

from __future__ import annotations

from rlsuite.agents.approx.dqn import DeepQLearning  # Zhao ch. 8-10; after the tabular agents they build on
from rlsuite.agents.approx.linear import LinearQLearning, LinearSarsa, TDLinear
from rlsuite.agents.approx.policy_gradient import A2C, QAC, DeterministicAC, OffPolicyAC, Reinforce
from rlsuite.agents.base import AGENTS, Agent
from rlsuite.agents.tabular.agent import TabularAgent
from rlsuite.agents.tabular.bandit import (
    UCB,
    BanditAgent,
    EpsilonGreedyBandit,
    GradientBandit,
    ThompsonSampling,
)
from rlsuite.agents.tabular.dp import PolicyIteration, TruncatedPolicyIteration, ValueIteration
from rlsuite.agents.tabular.episodic import DoubleQLearning
from rlsuite.agents.tabular.mc import MCBasic, MCEpsilonGreedy, MCExploringStarts
from rlsuite.agents.tabular.mc_prediction import BlackjackMCES, FirstVisitMCPrediction, OffPolicyMCPrediction
from rlsuite.agents.tabular.planning import DynaQ, DynaQPlus, PrioritizedSweeping
from rlsuite.agents.tabular.prediction import ConstantAlphaMC, NStepTD
from rlsuite.agents.tabular.td import TD0, ExpectedSarsa, NStepSarsa, QLearning, Sarsa

ALGORITHMS: dict[str, type] = {
    cls.name: cls
    for cls in (
        ValueIteration,
        PolicyIteration,
        TruncatedPolicyIteration,
        MCBasic,
        MCExploringStarts,
        MCEpsilonGreedy,
        TD0,
        Sarsa,
        ExpectedSarsa,
        NStepSarsa,
        QLearning,
        EpsilonGreedyBandit,
        UCB,
        GradientBandit,
        ThompsonSampling,
        FirstVisitMCPrediction,
        OffPolicyMCPrediction,
        BlackjackMCES,
        NStepTD,
        ConstantAlphaMC,
        DoubleQLearning,
        DynaQ,
        DynaQPlus,
        PrioritizedSweeping,
    )
}
ALGORITHMS.update({cls.name: cls for cls in (  # Zhao ch. 8-10 (rlsuite.agents.approx)
    TDLinear, LinearSarsa, LinearQLearning, DeepQLearning, Reinforce, QAC, A2C, OffPolicyAC, DeterministicAC
)})

__all__ = [
    "AGENTS", "ALGORITHMS", "Agent", "BanditAgent", "TabularAgent", *(cls.__name__ for cls in ALGORITHMS.values())
]
