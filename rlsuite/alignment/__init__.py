"""Alignment: SFT, reward models, DPO and its loss family, KTO, ORPO, SimPO, BCO, RLOO, GRPO, Online DPO and
PPO with TRL on a local causal LM.

Modules: ``methods`` (the table of methods: config class, train function, data, reward, help), ``configs``
(TRL's config classes with rlsuite's defaults), ``training`` (one run path for every trainer), ``data``
(the synthetic task with a gold reward; loading and checking data in TRL's public formats), ``models``
(local loading and checks), ``embedded`` (the embedded tiny model), ``evaluate`` (gold reward, win rate,
Monte Carlo KL, accuracies), ``judge`` (pairwise judges), ``export`` (the task's data for other tools),
``compare`` (``align compare``: ``plan``, ``run``, ``report``), ``workers`` (Ray). Heavy libraries are
imported lazily.
"""
