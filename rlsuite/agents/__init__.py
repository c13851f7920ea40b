"""Agents: tabular algorithms (Zhao ch. 4-7, Sutton & Barto ch. 2) and stable-baselines3 glue."""
