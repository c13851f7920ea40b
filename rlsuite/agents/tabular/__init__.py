"""Tabular agents: dynamic programming, Monte Carlo, stochastic approximation, TD, bandits."""
