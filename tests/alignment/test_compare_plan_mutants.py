"""rlsuite.alignment.compare.plan to the letter, in milliseconds (mutation testing): the runs of a plan in order and
without duplicates, the stages' names, each run's TRL config (budget, strength, length, the row's settings), the quick
budget, and the config's refusals. The real comparison runs in tests/alignment/test_compare.py."""

from __future__ import annotations

import dataclasses

import pytest

from rlsuite.alignment.compare.plan import ROWS, CompareConfig, Run, plan, row, run_name, stage_names, trainer_config
from rlsuite.common.errors import ConfigError


def test_the_plan_is_the_tables_runs_then_the_frontiers_each_once() -> None:
    cfg = CompareConfig(methods=["dpo", "ppo"], frontier=["dpo"], seed=3, seeds=2, dpo_betas=[0.1, 0.5], kl_coef=0.07)
    assert plan(cfg) == [("dpo_k0.1_s3", "dpo", 0.1, 3), ("ppo_k0.07_s3", "ppo", 0.07, 3),
                         ("dpo_k0.1_s4", "dpo", 0.1, 4), ("dpo_k0.5_s3", "dpo", 0.5, 3),
                         ("dpo_k0.5_s4", "dpo", 0.5, 4)]  # fmt: skip
    assert cfg.seed_list() == [3, 4] and cfg.sweep("ppo") == [0.01, 0.05, 0.5] and cfg.sweep("dpo") == [0.1, 0.5]
    assert (cfg.headline("dpo"), cfg.headline("rloo"), cfg.headline("dpo:hinge")) == (0.1, 0.07, 0.1)
    assert run_name("dpo:sigmoid=1+sft=0.5", 0.25, 2) == "dpo-sigmoid-1-sft-0.5_k0.25_s2"


@pytest.mark.parametrize("needs_sft", [False, True])
def test_the_stages_are_the_shared_ones_then_every_run(needs_sft: bool) -> None:
    cfg = CompareConfig(methods=["rloo"], frontier=[], seed=1)
    first = ["sft"] if needs_sft else []
    assert stage_names(cfg, needs_sft) == [*first, "pairs", "reward", "sft baseline", "rloo_k0.05_s1"]


def _run(key: str, value: float, cfg: CompareConfig) -> Run:
    return Run(run_name(key, value, 5), key, value, 5, "/root", "/sft", "/rm", "gold", 3, dataclasses.asdict(cfg), None)


def test_an_offline_runs_config_has_its_epochs_strength_and_loss() -> None:
    cfg = dataclasses.replace(CompareConfig.quick(), dpo_epochs=3, robust_label_smoothing=0.2)
    dpo = trainer_config(_run("dpo", 0.3, cfg), "/out")
    assert (dpo.output_dir, dpo.seed, dpo.torch_threads, dpo.num_train_epochs, dpo.beta) == ("/out", 5, 3, 3, 0.3)
    assert dpo.loss_type == ["sigmoid"] and dpo.label_smoothing == 0.0
    robust = trainer_config(_run("rdpo", 0.3, cfg), "/out")
    assert robust.loss_type == ["robust"] and robust.label_smoothing == 0.2
    mixed = trainer_config(_run("dpo:sigmoid=1+sft=0.5", 0.3, cfg), "/out")
    assert mixed.loss_type == ["sigmoid", "sft"] and mixed.loss_weights == [1.0, 0.5]


def test_an_online_runs_config_has_its_steps_strength_and_completion_length() -> None:
    cfg = dataclasses.replace(CompareConfig.quick(), online_steps=7, max_new_tokens=9, ppo_episodes=33)
    rloo = trainer_config(_run("rloo", 0.4, cfg), "/out")
    assert (rloo.max_steps, rloo.beta, rloo.max_completion_length, rloo.seed) == (7, 0.4, 9, 5)
    ppo = trainer_config(_run("ppo", 0.2, cfg), "/out")
    assert (ppo.total_episodes, ppo.kl_coef, ppo.response_length) == (33, 0.2, 9)
    online = trainer_config(_run("online_dpo", 0.1, cfg), "/out")
    assert (online.max_steps, online.beta, online.max_new_tokens) == (7, 0.1, 9)


def test_the_quick_budget() -> None:
    quick, full = CompareConfig.quick(), CompareConfig()
    changed = {k: v for k, v in dataclasses.asdict(quick).items() if v != getattr(full, k)}
    assert changed == {"seeds": 1, "frontier": ["dpo", "ipo", "rdpo", "rloo", "grpo", "grpo_gold"],
                       "dpo_betas": [0.1, 1.0], "kl_coefs": [0.05, 0.5], "pair_copies": 24, "eval_samples": 8,
                       "online_steps": 20, "ppo_episodes": 192, "sft_examples": 512}  # fmt: skip
    assert (quick.rm_epochs, quick.dpo_epochs) == (3, 2)


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"methods": ["dpo", "nope"]}, "'nope' is not one of "),
     ({"frontier": ["sft"]}, "'sft' is not one of "),
     ({"methods": ["dpo", "dpo"]}, "lists a method twice"),
     ({"frontier": ["rloo", "rloo"]}, "lists a method twice"),
     ({"methods": []}, "needs at least one method")],
)  # fmt: skip
def test_a_config_with_bad_rows_is_refused_naming_the_field(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CompareConfig(**settings)
    field = next(iter(settings))
    assert caught.value.field == field and str(caught.value).startswith(f"CompareConfig.{field}: {message}")


def test_an_unknown_row_names_every_known_one() -> None:
    with pytest.raises(ValueError) as caught:
        row("nope")
    assert str(caught.value) == f"'nope' is not one of {', '.join(ROWS)}, or dpo:LOSS[=W][+LOSS[=W]...]"
    assert row("grpo_gold") is ROWS["grpo_gold"] and row("dpo:hinge").label == "DPO hinge"


def test_a_runs_config_holds_its_own_copy_of_the_rows_lists() -> None:
    """Changing a run's TRL config leaves the row (shared by every run of the comparison) as it was."""
    config = trainer_config(_run("dpo:sigmoid=1+sft=0.5", 0.3, CompareConfig.quick()), "/out")
    config.loss_type.append("hinge")
    config.loss_weights.append(2.0)
    assert row("dpo:sigmoid=1+sft=0.5").settings == (("loss_type", ["sigmoid", "sft"]), ("loss_weights", [1.0, 0.5]))
