"""Reasoning before the action (RL4VLM): free text, then an action read with a fixed grammar.

The policy generates up to ``max_new_tokens`` tokens after its prompt. :class:`ActionGrammar` reads
the action from the text: the **last** match of any of its templates (``'"action": "{action}"'``,
``'Action: {action}'``: case-insensitive, any whitespace between words and punctuation, so a
word-level tokenizer's ``"action : up"`` matches). Text no template matches gets the fallback
action (a fixed action word, or a uniformly random one) and is counted as unparsed.

The log-probability PPO uses is RL4VLM's (Zhai et al. 2024, eq. 4)::

    log pi(a | s) = lambda * sum(log p(reasoning tokens)) + sum(log p(action tokens))

where the action tokens are the generated tokens from the one where the grammar's match starts to
the end (the end-of-text token included), and the reasoning tokens those before it. An unparsed
answer has no action tokens: all its tokens count as reasoning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rlsuite.common.config import Config, config_error, option

REASONING_PROMPT = (
    "<image> question : what action should the agent do next to reach the target ? "
    "think , then answer action : up , down , left , right or stay . answer :"
)


@dataclass
class AnswerConfig(Config):
    """Whether the policy answers in generated text, and how an answer is read (``eval-vlm`` takes these)."""

    reasoning: bool = option(False, help="generate free text then an action (off: score the action words)")
    grammar: list[str] = option(
        default_factory=lambda: ['"action": "{action}"', "Action: {action}"],
        help="templates an answer's action is read with ({action}: an action word; the last match wins)",
    )
    fallback: str = option("random", help="action of an unparsable answer: random, or one of the action words")
    max_new_tokens: int = option(8, help="tokens generated per step (reasoning and action)", ge=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.grammar:
            raise config_error(self, "grammar", "no template: an answer's action could never be read")
        for template in self.grammar:
            if template.count("{action}") != 1:
                raise config_error(self, "grammar", f"{template!r} must hold {{action}} exactly once")

    def grammar_for(self, actions: Sequence[str]) -> ActionGrammar:
        """The grammar over ``actions``; a template an action does not read back through, or a bad fallback:
        ``ConfigError`` naming the setting."""
        grammar = ActionGrammar(actions, self.grammar, self.fallback)
        for template in self.grammar:
            for i, a in enumerate(actions):
                if grammar.parse(template.replace("{action}", a)) != i:
                    raise config_error(self, "grammar", f"{template!r} does not read back the action {a!r}")
        if self.fallback != "random" and self.fallback.lower() not in [a.lower() for a in actions]:
            raise config_error(self, "fallback", f"{self.fallback!r} is neither 'random' nor one of {list(actions)}")
        return grammar


@dataclass
class ReasoningConfig(AnswerConfig):
    """Generation before the action (RL4VLM's prompt): how the text is read and how its log-prob is weighted."""

    reasoning_scale: float = option(
        0.5, help="lambda: weight of the reasoning tokens' log-probs in the action's log-prob (RL4VLM)", ge=0.0, le=1.0
    )
    prompt: str = option(REASONING_PROMPT, help="the prompt asking for reasoning then an action (<image>: the frame)")


def _template_regex(template: str, alternatives: str) -> str:
    def loose(literal: str) -> str:
        return r"\s*".join(re.escape(t) for t in re.findall(r"\w+|[^\w\s]", literal))

    before, after = template.split("{action}")
    parts = [p for p in (loose(before), f"(?P<action>{alternatives})", loose(after)) if p]
    return r"\s*".join(parts)


@dataclass
class ActionGrammar:
    """Reads an action index from generated text: the last match of any template."""

    actions: Sequence[str]
    templates: Sequence[str]
    fallback: str = "random"
    _patterns: list[re.Pattern[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        words = sorted((a.lower() for a in self.actions), key=len, reverse=True)
        alternatives = "|".join(re.escape(w) for w in words)
        self._patterns = [re.compile(_template_regex(t.lower(), alternatives) + r"(?!\w)") for t in self.templates]

    def match(self, text: str) -> tuple[int, int] | None:
        """``(action index, character where the match starts)`` of the last match, or None."""
        best: tuple[int, int] | None = None
        lowered = text.lower()
        for pattern in self._patterns:
            for m in pattern.finditer(lowered):
                if best is None or m.start() > best[1]:
                    best = ([a.lower() for a in self.actions].index(m.group("action")), m.start())
        return best

    def parse(self, text: str) -> int | None:
        found = self.match(text)
        return None if found is None else found[0]

    def fallback_action(self, rng: np.random.Generator) -> int:
        if self.fallback == "random":
            return int(rng.integers(len(self.actions)))
        return [a.lower() for a in self.actions].index(self.fallback.lower())


def generated_mask(tokens: torch.Tensor, eos_id: int | None) -> torch.Tensor:
    """1 for the generated tokens up to and including the first end-of-text token, 0 after it (padding)."""
    if eos_id is None:
        return torch.ones_like(tokens)
    is_eos = (tokens == eos_id).long()
    after = torch.cumsum(is_eos, 1) - is_eos  # end-of-text tokens seen before this position
    return (after == 0).long()


def action_token_start(tokenizer: Any, tokens: Sequence[int], char_start: int) -> int:
    """How many leading tokens decode to text ending at or before ``char_start`` (the reasoning tokens)."""
    k = 0
    for n in range(1, len(tokens) + 1):
        if len(tokenizer.decode(list(tokens[:n]), skip_special_tokens=True)) <= char_start:
            k = n
        else:
            break
    return k


@dataclass
class ReasonedActions:
    """A batch of generated answers: tokens ``[B, G]``, mask and action mask ``[B, G]``, actions, texts."""

    tokens: torch.Tensor
    mask: torch.Tensor
    action_mask: torch.Tensor
    actions: np.ndarray
    parsed: np.ndarray
    texts: list[str]


def read_answers(
    tokenizer: Any, tokens: torch.Tensor, grammar: ActionGrammar, rng: np.random.Generator
) -> ReasonedActions:
    """Parse generated tokens ``[B, G]`` (right-padded) into actions and the reasoning/action split."""
    mask = generated_mask(tokens, tokenizer.eos_token_id)
    action_mask = torch.zeros_like(mask)
    actions, parsed, texts = [], [], []
    for b in range(tokens.shape[0]):
        ids = tokens[b][mask[b].bool()].tolist()
        text = tokenizer.decode(ids, skip_special_tokens=True)
        found = grammar.match(text)
        texts.append(text)
        parsed.append(found is not None)
        if found is None:
            actions.append(grammar.fallback_action(rng))
            continue
        actions.append(found[0])
        action_mask[b, action_token_start(tokenizer, ids, found[1]) : len(ids)] = 1
    return ReasonedActions(tokens, mask, action_mask, np.array(actions), np.array(parsed), texts)


def scaled_log_prob(token_log_probs: torch.Tensor, mask: torch.Tensor, action_mask: torch.Tensor,
                    scale: float) -> torch.Tensor:  # fmt: skip
    """RL4VLM's ``lambda * sum(reasoning log-probs) + sum(action log-probs)`` per row."""
    reasoning = (mask * (1 - action_mask)).to(token_log_probs.dtype)
    action = (mask * action_mask).to(token_log_probs.dtype)
    return scale * (token_log_probs * reasoning).sum(-1) + (token_log_probs * action).sum(-1)


def media_token_ids(policy: Any) -> list[int]:
    """Token ids a generated answer may not hold: the image/video placeholders and their markers
    (teacher forcing an answer that holds one would ask the model for another image)."""
    config, ids = policy.model.config, set()
    for name in ("image_token_id", "image_token_index", "video_token_id", "vision_start_token_id",
                 "vision_end_token_id"):  # fmt: skip
        value = getattr(config, name, None)
        if isinstance(value, int) and value >= 0:
            ids.add(value)
    token = getattr(policy.processor, "image_token", None)
    if isinstance(token, str):
        ids.add(int(policy.processor.tokenizer.convert_tokens_to_ids(token)))
    return sorted(ids)


class ReasoningActor:
    """A :class:`~rlsuite.vision.policies.VLMPolicy` acting by reasoned answers, for behaviour cloning and PPO.

    ``act`` samples answers (temperature 1, no top-k/top-p: the log-prob is of the distribution
    sampled from), ``evaluate`` re-scores stored answers by teacher forcing, ``greedy`` decodes
    greedily, ``bc_loss`` teaches the canonical answer (the last template with an optimal action).
    ``unparsed`` / ``answers`` count the answers that fell back.
    """

    def __init__(self, policy: Any, config: ReasoningConfig, seed: int = 0) -> None:
        self.policy, self.config = policy, config
        self.grammar = config.grammar_for(policy.actions)
        self.rng = np.random.default_rng(seed)
        self.unparsed = 0
        self.answers = 0
        self.suppressed = media_token_ids(policy)

    @torch.no_grad()
    def generate(self, obs: Any, sample: bool) -> ReasonedActions:
        policy, tok = self.policy, self.policy.processor.tokenizer
        images, texts = policy._frames_and_prompts(obs)
        enc = policy._encode(images, texts)
        how = {"do_sample": True, "temperature": 1.0, "top_k": 0, "top_p": 1.0} if sample else {"do_sample": False}
        out = policy.model.generate(**enc, max_new_tokens=self.config.max_new_tokens, pad_token_id=tok.pad_token_id,
                                    suppress_tokens=self.suppressed, **how)  # fmt: skip
        gen = out[:, enc["input_ids"].shape[1] :].cpu()
        tokens = torch.full((gen.shape[0], self.config.max_new_tokens), tok.pad_token_id, dtype=torch.long)
        tokens[:, : gen.shape[1]] = gen
        answers = read_answers(tok, tokens, self.grammar, self.rng)
        self.unparsed += int((~answers.parsed).sum())
        self.answers += len(answers.parsed)
        return answers

    def evaluate(self, obs: Any, memo: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Teacher-forced RL4VLM log-prob [B] of stored answers, the value [B] (differentiable), no entropy."""
        policy, dev = self.policy, self.policy.device
        images, texts = policy._frames_and_prompts(obs)
        mask, action_mask = memo["mask"].to(dev), memo["action_mask"].to(dev)
        tok_lp, hidden = policy.continuation_log_probs(policy._encode(images, texts), memo["tokens"].to(dev), mask)
        logp = scaled_log_prob(tok_lp, mask, action_mask, self.config.reasoning_scale)
        return logp, policy.value_head(hidden)[:, 0], None

    def act(self, obs: Any) -> tuple[np.ndarray, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Sampled actions (numpy), their log-probs and values (on the device), and the answers to re-score
        (``memo``). The generated tokens are the one read of the device: the text is parsed on the host."""
        answers = self.generate(obs, sample=True)
        memo = {"tokens": answers.tokens, "mask": answers.mask, "action_mask": answers.action_mask}
        with torch.no_grad():
            logp, value, _ = self.evaluate(obs, memo)
        return answers.actions, logp, value, memo

    def greedy(self, obs: Any) -> np.ndarray:
        return self.generate(obs, sample=False).actions

    def bc_loss(self, frames: np.ndarray, targets: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Negative log-likelihood of the canonical answer for one optimal action per frame, and the value."""
        tok = self.policy.processor.tokenizer
        picks = [int(self.rng.choice(len(t), p=t)) for t in targets]
        answers = [tok(" " + self.grammar.templates[-1].replace("{action}", self.policy.actions[a]),
                       add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for a in picks]  # fmt: skip
        G = max(len(a) for a in answers)
        tokens = torch.full((len(answers), G), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(answers), G), dtype=torch.long)
        for b, ids in enumerate(answers):
            tokens[b, : len(ids)], mask[b, : len(ids)] = torch.tensor(ids), 1
        memo = {"tokens": tokens, "mask": mask, "action_mask": mask}
        logp, value, _ = self.evaluate(frames, memo)
        return -logp.mean(), value
