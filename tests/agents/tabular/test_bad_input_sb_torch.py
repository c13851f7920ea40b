"""Bad input to the S&B agents' devices: one line naming why (issue 21)."""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular import MCExploringStarts, PrioritizedSweeping
from rlsuite.common.errors import UsageError

HOST_ONLY = r"prioritized sweeping runs in numpy on the host only: its priority queue is sequential"
NOT_BLACKJACK = r"mc_exploring_starts: Blackjack-v1 cannot be reset to a chosen \(state, action\)"


def test_prioritized_sweeping_refuses_torch_with_the_reason() -> None:
    for device in ("torch:cpu", "cuda", "auto"):
        with pytest.raises(UsageError, match=rf"^device '{device}': {HOST_ONLY} .*use --backend numpy"):
            PrioritizedSweeping(gym.make("rlsuite/DynaMaze-v0"), device=device)


def test_mc_exploring_starts_on_blackjack_names_mc_es_blackjack() -> None:
    with pytest.raises(UsageError, match=rf"^{NOT_BLACKJACK} .* for Blackjack-v1 use mc_es_blackjack \("):
        MCExploringStarts(gym.make("Blackjack-v1"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["prioritized_sweeping", "--backend", "torch"], HOST_ONLY),
     (["mc_exploring_starts", "--env", "Blackjack-v1"], NOT_BLACKJACK)],
)
def test_the_cli_says_it_in_one_line(cli: Any, argv: list[str], message: str) -> None:
    code, _, err = cli("train", *argv, "--budget", "10")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err), err
