"""rlsuite.alignment.compare: a DPO-loss row's errors, and the log line of a comparison without gold rows."""

from __future__ import annotations

import logging

import pytest

from rlsuite.alignment.compare.plan import CompareConfig, dpo_loss_row
from rlsuite.alignment.compare.run import without_gold
from rlsuite.alignment.configs import DPO_LOSSES


def test_an_unknown_dpo_loss_names_every_known_one() -> None:
    with pytest.raises(ValueError) as caught:
        dpo_loss_row("dpo:sigmoid+nope")
    assert str(caught.value) == f"'dpo:sigmoid+nope': DPO loss 'nope' is not one of {', '.join(DPO_LOSSES)}"
    assert ", ipo, robust, " in str(caught.value)


def test_only_the_first_colon_separates_the_losses() -> None:
    """A second colon belongs to the losses' text (here a weight that is not a number)."""
    with pytest.raises(ValueError) as caught:
        dpo_loss_row("dpo:sigmoid=0.5:x")
    assert str(caught.value) == "'dpo:sigmoid=0.5:x': the weight of 'sigmoid' is not a number: '0.5:x'"


def test_leaving_the_gold_rows_out_says_which(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="rlsuite.alignment.compare.run"):
        cfg = without_gold(CompareConfig(methods=["dpo", "grpo_gold"], frontier=["grpo_gold"]))
    assert (cfg.methods, cfg.frontier) == (["dpo"], [])
    assert [r.getMessage() for r in caplog.records if r.name == "rlsuite.alignment.compare.run"] == [
        "the data has no gold reward: GRPO (gold) left out of the comparison"]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "settings"),
    [
        ("dpo:ipo", (("loss_type", ["ipo"]),)),
        ("dpo: sigmoid=0.75 + hinge=0.25", (("loss_type", ["sigmoid", "hinge"]), ("loss_weights", [0.75, 0.25]))),
    ],
)
def test_a_dpo_loss_row_carries_its_losses_and_weights(key: str, settings: tuple) -> None:
    from rlsuite.alignment.compare.plan import OFFLINE_SIGNAL, Row

    assert dpo_loss_row(key) == Row(key, "DPO " + key[4:], "dpo", OFFLINE_SIGNAL, settings)
