"""Tabular agents: dynamic programming, Monte Carlo, stochastic approximation, TD, bandits.

Importing this package imports every algorithm, so each is registered in
:data:`rlsuite.agents.base.AGENTS` (``Agent.load`` finds a saved agent's class there).
``ALGORITHMS`` maps each algorithm's name to its class, in the books' order; the config class
is ``cls.config_cls``.
"""

from __future__ import annotations

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
        NStepTD,
        ConstantAlphaMC,
        DoubleQLearning,
        DynaQ,
        DynaQPlus,
        PrioritizedSweeping,
    )
}

__all__ = [
    "AGENTS", "ALGORITHMS", "Agent", "BanditAgent", "TabularAgent", *(cls.__name__ for cls in ALGORITHMS.values())
]
