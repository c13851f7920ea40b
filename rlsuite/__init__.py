"""rlsuite: a reinforcement-learning gym suite with agents.

Importing the package registers its environments with gymnasium, so
``gym.make("rlsuite/GridWorld-v0")`` works after ``import rlsuite``.
"""

from rlsuite import envs as envs  # registers the ids

__version__ = "0.1.0"
