"""The reasoning actor's log-prob, cloning loss and device handling, checked by hand (issue 26, mutation testing).

``scaled_log_prob`` on hand-written rows (several rows, leading batch axes, masks of another dtype);
``ReasoningActor.bc_loss`` against the canonical answers' log-probs from one forward pass per token on the
tiny Llava; ``ReasoningActor.evaluate`` with the policy on (simulated) CUDA and the stored answers on the host.
"""

from __future__ import annotations

import contextlib

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import VLMPolicy
from rlsuite.vision.reasoning import REASONING_PROMPT, ReasoningActor, ReasoningConfig, read_answers, scaled_log_prob

# two rows of four token log-probs; row 0: two reasoning tokens then two action tokens, row 1: one reasoning
# token, two action tokens and a padding token (whose log-prob must not count)
LOGP = torch.tensor([[-1.0, -2.0, -3.0, -4.0], [-0.5, -1.5, -2.5, -9.0]])
MASK = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
ACTION = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 0]])
SCALE = 0.25
EXPECTED = torch.tensor([SCALE * (-1.0 - 2.0) + (-3.0 - 4.0), SCALE * -0.5 + (-1.5 - 2.5)])  # [-7.75, -4.125]


def test_scaled_log_prob_sums_each_row_on_its_own() -> None:
    torch.testing.assert_close(scaled_log_prob(LOGP, MASK, ACTION, SCALE), EXPECTED, rtol=0, atol=0)


def test_scaled_log_prob_sums_the_last_axis_and_keeps_the_leading_ones() -> None:
    """``[envs, steps, G]`` rows: each ``[G]`` row summed alone (the token axis is the last)."""
    logp, mask, action = (torch.stack([t, t.flip(0)]) for t in (LOGP, MASK, ACTION))
    out = scaled_log_prob(logp, mask, action, SCALE)
    torch.testing.assert_close(out, torch.stack([EXPECTED, EXPECTED.flip(0)]), rtol=0, atol=0)


@pytest.mark.parametrize("logp_dtype", [torch.float32, torch.bfloat16])
def test_scaled_log_prob_is_in_the_log_probs_dtype_whatever_the_masks_dtype(logp_dtype: torch.dtype) -> None:
    out = scaled_log_prob(LOGP.to(logp_dtype), MASK.double(), ACTION.double(), SCALE)
    assert out.dtype == logp_dtype
    torch.testing.assert_close(out, EXPECTED.to(logp_dtype), rtol=0, atol=0)


# ----------------------------------------------------------------------------- the tiny Llava's actor
def _actor(grammar: list[str] | None = None, device: str = "cpu", scale: float = 0.3) -> ReasoningActor:
    torch.manual_seed(0)
    model, processor = build_tiny_llava(image_size=64, hidden=16, layers=1)
    policy = VLMPolicy(model.eval().to(device), processor, device=device, prompt=REASONING_PROMPT)
    config = ReasoningConfig(reasoning=True, reasoning_scale=scale, **({"grammar": grammar} if grammar else {}))
    return ReasoningActor(policy, config)


def _frames(n: int) -> np.ndarray:
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=3, n_cols=3)
    return np.stack([env.reset(seed=s)[0] for s in range(n)])


def _by_hand(policy: VLMPolicy, frame: np.ndarray, text: str) -> tuple[float, float]:
    """Sum of the log-probs of ``text``'s tokens then end-of-text, each from its own forward pass on the prompt
    and the tokens before it; and the value head on the prompt's last hidden state."""
    tok = policy.processor.tokenizer
    ids = [int(i) for i in tok(text, add_special_tokens=False)["input_ids"]] + [tok.eos_token_id]
    enc = policy._encode(*policy._frames_and_prompts(frame))
    total = 0.0
    for j, token in enumerate(ids):
        inputs = dict(enc)
        inputs["input_ids"] = torch.cat([enc["input_ids"], torch.tensor([ids[:j]], dtype=torch.long)], 1)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        out = policy.model(**inputs, output_hidden_states=True)
        total += torch.log_softmax(out.logits[0, -1].float(), -1)[token].item()
        if j == 0:
            value = policy.value_head(out.hidden_states[-1][0, -1].float()).item()
    return total, value


@pytest.mark.parametrize(
    ("grammar", "canonical"),
    [
        (None, " Action: {}"),  # the default grammar's last template
        (['"action": "{action}"', "Action: {action}", "go {action}"], " go {}"),
        (["action : {action}"], " action : {}"),
    ],
)
def test_bc_loss_is_the_mean_nll_of_the_last_templates_answer_for_the_target_action(grammar, canonical) -> None:
    actor = _actor(grammar)
    frames, picks = _frames(3), [0, 3, 4]  # up, left, stay: one-hot targets, so no draw decides them
    targets = np.eye(5, dtype=np.float32)[picks]
    loss, value = actor.bc_loss(frames, targets)
    with torch.no_grad():
        hand = [
            _by_hand(actor.policy, frames[b], canonical.format(actor.policy.actions[a])) for b, a in enumerate(picks)
        ]
    torch.testing.assert_close(loss.detach(), torch.tensor(-np.mean([lp for lp, _ in hand]), dtype=torch.float32))
    torch.testing.assert_close(value.detach(), torch.tensor([v for _, v in hand]))
    assert loss.requires_grad and value.shape == (3,)


def test_bc_loss_draws_the_target_action_from_a_mixed_target() -> None:
    """A target of two optimal actions: the actor's seeded generator picks one with the target's probabilities."""
    actor = _actor()
    frames = _frames(4)
    targets = np.array([[0.0, 0.5, 0.5, 0.0, 0.0]] * 4, np.float32)
    rng = np.random.default_rng(0)  # the actor's generator (seed 0), drawn once per frame
    picks = [int(rng.choice(5, p=t)) for t in targets]
    assert picks == [2, 1, 1, 1]  # both optimal actions, never another
    loss, _ = actor.bc_loss(frames, targets)
    with torch.no_grad():
        hand = [
            _by_hand(actor.policy, frames[b], f" Action: {actor.policy.actions[a]}")[0] for b, a in enumerate(picks)
        ]
    torch.testing.assert_close(loss.detach(), torch.tensor(-np.mean(hand), dtype=torch.float32))


# ----------------------------------------------------------------------------- evaluate on another device
def test_evaluate_moves_the_stored_answers_to_the_policys_device() -> None:
    """Answers stored on the host, the policy on CUDA (simulated where there is none): the same log-probs as on
    the CPU, on the policy's device."""
    from cuda_sim import simulate_cuda

    frames = _frames(2)
    cpu = _actor()
    tok = cpu.policy.processor.tokenizer
    texts = ["go up . action : right", "left . action : stay"]
    ids = [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in texts]
    tokens = torch.full((2, 9), tok.pad_token_id, dtype=torch.long)
    for b, row in enumerate(ids):
        tokens[b, : len(row)] = torch.tensor(row)
    answers = read_answers(tok, tokens, cpu.grammar, np.random.default_rng(0))
    assert answers.actions.tolist() == [1, 4] and answers.action_mask.sum(1).tolist() == [4, 4]
    memo = {"tokens": answers.tokens, "mask": answers.mask, "action_mask": answers.action_mask}
    with torch.no_grad():
        expected, expected_value, _ = cpu.evaluate(frames, memo)
    on_gpu = torch.cuda.is_available()
    with contextlib.nullcontext() if on_gpu else simulate_cuda(), torch.no_grad():
        actor = _actor(device="cuda")
        logp, value, entropy = actor.evaluate(frames, memo)
        assert logp.is_cuda and value.is_cuda and entropy is None
        logp, value = logp.cpu(), value.cpu()
    tol = {"rtol": 1e-4, "atol": 1e-4} if on_gpu else {"rtol": 0, "atol": 0}
    torch.testing.assert_close(logp, expected, **tol)
    torch.testing.assert_close(value, expected_value, **tol)
