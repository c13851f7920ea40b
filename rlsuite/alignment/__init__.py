"""Alignment: RLHF (SFT, reward model, PPO, RLOO) and DPO with TRL on a local causal LM.

Modules: ``data`` (synthetic task with a gold reward, preference loading/validation), ``models``
(local loading, the embedded tiny model), ``configs`` (TRL configs from YAML, running a trainer),
``sft``, ``rlhf`` (reward model, PPO, RLOO), ``dpo``, ``evaluate`` (gold reward, win rate, MC KL,
accuracies), ``compare`` (``rlsuite align compare``), ``cli``. Heavy libraries are imported lazily.
"""
