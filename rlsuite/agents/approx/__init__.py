"""Function-approximation agents of Zhao chapters 8-10 on the book's grid world.

``linear``: TD-Linear, Sarsa and Q-learning with linear features (ch. 8); ``dqn``: deep
Q-learning (Algorithm 8.3, figs 8.11-8.12); ``policy_gradient``: REINFORCE (9.1), QAC (10.1),
A2C (10.2), off-policy actor-critic (10.3), deterministic actor-critic (10.4).
"""

from __future__ import annotations

import rlsuite.agents.tabular  # noqa: F401  first: it imports the modules below once its own agents are defined
from rlsuite.agents.approx.agent import ApproxAgent
from rlsuite.agents.approx.dqn import DeepQLearning
from rlsuite.agents.approx.linear import LinearQLearning, LinearSarsa, TDLinear
from rlsuite.agents.approx.policy_gradient import A2C, QAC, DeterministicAC, OffPolicyAC, Reinforce

__all__ = [
    "A2C",
    "QAC",
    "ApproxAgent",
    "DeepQLearning",
    "DeterministicAC",
    "LinearQLearning",
    "LinearSarsa",
    "OffPolicyAC",
    "Reinforce",
    "TDLinear",
]
