"""Mutation testing of the vision layer, second batch: answers' grammar, read answers, the actors, losses on the host.

- ``AnswerConfig.grammar_for``: the grammar keeps the fallback; a template an action does not read back through,
  or an unknown fallback, is one exact ``ConfigError`` line naming the field.
- ``ActionGrammar``: a longer action word wins over its prefix; of two matches at the same character the first
  template's wins; the last match of several is read.
- ``read_answers`` / ``ReasoningActor``: the decoded texts without special tokens; greedy answers draw no random
  numbers; an unparsed answer's fallback is drawn from the actor's generator, seeded 0 by default.
- ``ScoringActor.evaluate``: the stored actions are moved to the policy's (simulated) CUDA device.
- ``restore_actor``: a checkpoint without an actor's state leaves the actor as it is.
- ``DeviceLosses.host``: all losses, or exactly the last few.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_reasoning_loss_mutants import _actor, _frames

from rlsuite.common.errors import ConfigError
from rlsuite.envs.gridworld import ACTION_NAMES
from rlsuite.vision.finetune import ScoringActor, restore_actor
from rlsuite.vision.reasoning import ActionGrammar, AnswerConfig, read_answers
from rlsuite.vision.runtime import DeviceLosses


# ----------------------------------------------------------------------------- the grammar
def test_the_grammar_keeps_a_fixed_fallback() -> None:
    grammar = AnswerConfig(fallback="Stay").grammar_for(ACTION_NAMES)
    assert grammar.fallback == "Stay"
    assert grammar.fallback_action(np.random.default_rng(0)) == ACTION_NAMES.index("stay")


def test_a_template_an_action_does_not_read_back_through_is_one_line_naming_the_grammar() -> None:
    """``"up then left"``: the first template's last match is ``left``, so ``up`` does not read back."""
    config = AnswerConfig(grammar=["{action}", "{action} then left"])
    with pytest.raises(ConfigError) as err:
        config.grammar_for(ACTION_NAMES)
    assert str(err.value) == "AnswerConfig.grammar: '{action} then left' does not read back the action 'up'"
    assert (err.value.field, err.value.value) == ("grammar", ["{action}", "{action} then left"])


def test_an_unknown_fallback_is_one_line_naming_the_fallback() -> None:
    with pytest.raises(ConfigError) as err:
        AnswerConfig(fallback="north").grammar_for(ACTION_NAMES)
    assert str(err.value) == (
        "AnswerConfig.fallback: 'north' is neither 'random' nor one of ['up', 'right', 'down', 'left', 'stay']"
    )
    assert (err.value.field, err.value.value) == ("fallback", "north")


def test_a_longer_action_word_wins_over_its_prefix() -> None:
    grammar = ActionGrammar(("go", "go-left"), ["Action: {action}"])
    assert grammar.match("Action: go-left") == (1, 0)
    assert grammar.match("Action: go") == (0, 0)


def test_of_two_matches_at_the_same_character_the_first_templates_wins() -> None:
    grammar = ActionGrammar(("go", "left"), ["Action: {action}", "Action: go {action}"])
    assert grammar.match("Action: go left") == (0, 0)


def test_the_last_of_several_matches_is_read() -> None:
    grammar = AnswerConfig().grammar_for(ACTION_NAMES)
    assert grammar.match('Action: up, then "action": "down" and Action: left') == (3, 38)
    assert grammar.match("Action: up. Action: down") == (2, 12)


# ----------------------------------------------------------------------------- the reasoning actor
@pytest.fixture(scope="module")
def actor():
    return _actor()


def test_read_answers_keeps_each_answers_text_without_special_tokens(actor) -> None:
    tok = actor.policy.processor.tokenizer
    texts = ["go up . action : right", "left . action : stay"]
    tokens = torch.full((2, 9), tok.pad_token_id, dtype=torch.long)
    for b, text in enumerate(texts):
        ids = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        tokens[b, : len(ids)] = torch.tensor(ids)
    answers = read_answers(tok, tokens, actor.grammar, np.random.default_rng(0))
    assert answers.texts == texts
    assert (answers.actions.tolist(), answers.parsed.tolist()) == ([1, 4], [True, True])


def test_greedy_answers_draw_no_random_numbers_and_fall_back_with_the_actors_seed_0_generator() -> None:
    """The untrained tiny Llava's greedy answers read no action: each falls back to a uniformly random action,
    drawn from ``default_rng(0)``; torch's generator is not touched (sampled answers would draw from it)."""
    fresh = _actor()
    torch.manual_seed(11)
    before = torch.get_rng_state()
    actions = fresh.greedy(_frames(3))
    assert torch.equal(torch.get_rng_state(), before)
    assert (fresh.unparsed, fresh.answers) == (3, 3)
    rng = np.random.default_rng(0)
    assert actions.tolist() == [int(rng.integers(5)) for _ in range(3)]


def test_restoring_a_checkpoint_without_an_actor_state_leaves_the_actor_as_it_is() -> None:
    actor = SimpleNamespace(unparsed=2, answers=5)
    restore_actor(actor, {"stage": "ppo"})
    assert vars(actor) == {"unparsed": 2, "answers": 5}
    restore_actor(actor, {"actor": {"unparsed": 7}})
    assert vars(actor) == {"unparsed": 7, "answers": 5}


def test_scoring_evaluate_moves_the_stored_actions_to_the_policys_cuda_device() -> None:
    """Actions stored on the host, the policy on CUDA (simulated where there is none): the CPU's log-probs."""
    from cuda_sim import cuda_or_simulated

    frames, stored = _frames(2), {"action": torch.tensor([1, 4])}
    with torch.no_grad():
        expected = [t.cpu() for t in ScoringActor(_actor().policy).evaluate(frames, stored)]
    with cuda_or_simulated(), torch.no_grad():
        logp, value, entropy = ScoringActor(_actor(device="cuda").policy).evaluate(frames, stored)
        assert (logp.device.type, value.device.type, entropy.device.type) == ("cuda", "cuda", "cuda")
        got = [logp.cpu(), value.cpu(), entropy.cpu()]
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=0)


# ----------------------------------------------------------------------------- losses on the host
def test_device_losses_on_the_host_all_or_the_last_few() -> None:
    losses = DeviceLosses(5, torch.device("cpu"))
    for v in (0.5, 1.5, 2.5):
        losses.add(torch.tensor(v))
    np.testing.assert_array_equal(losses.host(), np.array([0.5, 1.5, 2.5], np.float32))
    np.testing.assert_array_equal(losses.host(2), np.array([1.5, 2.5], np.float32))
    np.testing.assert_array_equal(losses.host(3), np.array([0.5, 1.5, 2.5], np.float32))
    np.testing.assert_array_equal(losses.host(10), np.array([0.5, 1.5, 2.5], np.float32))
    assert losses.host(2).dtype == np.float32
