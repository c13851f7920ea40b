"""Training a VLMPolicy on the pixel grid world: behaviour cloning, then PPO on action log-probs.

RL4VLM's recipe at toy scale: the policy's action distribution is the VLM's scores of the action
words (:class:`~rlsuite.vision.policies.VLMPolicy`), the value a linear head on the prompt's last
hidden state. Behaviour cloning fits the scores to the optimal actions from exact value
iteration, on a data set of frames built once (every non-target cell of a few hundred random
layouts); PPO (clipped surrogate, GAE) then fine-tunes on the env's own reward, after a few
rollouts that fit only the value head (behaviour cloning leaves it untrained).

:func:`train_vlm_policy` trains the tiny Llava or any local VLM folder, fully or with LoRA adapters
(:mod:`rlsuite.vision.adapters`), acting by scored action words (:class:`ScoringActor`) or by
reasoned answers (:class:`~rlsuite.vision.reasoning.ReasoningActor`, RL4VLM's log-prob).

The success rate is measured with the greedy policy on ``eval_episodes`` random layouts drawn
with seeds that training never uses, and behaviour cloning skips any drawn layout that equals
one of them, so they are held out as layouts, not only as seeds.

Both stages save checkpoints and continue from one (:mod:`rlsuite.vision.checkpoints`), and keep
their losses and statistics on the device, read once per update (no host-device sync of their own
per step). :func:`evaluate_vlm` measures a policy by scored words or by reasoned answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.dp import value_iteration
from rlsuite.common import progress
from rlsuite.common.config import Config, config_error, option
from rlsuite.common.device import DEVICE_HELP, check_device_field
from rlsuite.envs.model import tabular_model
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.checkpoints import Checkpoint, Checkpointer
from rlsuite.vision.policies import VLMPolicy
from rlsuite.vision.reasoning import AnswerConfig, ReasoningConfig

log = logging.getLogger(__name__)

ENV_ID = "rlsuite/PixelGridWorldRandom-v0"
EVAL_SEED = 10_000  # the held-out layouts are env.reset(seed=EVAL_SEED + i)


@dataclass
class RandomLayouts(Config):
    """The random pixel grid worlds a VLM policy trains and is measured on."""

    size: int = option(4, help="grid side of the layouts (training and held-out)", ge=2, le=32)
    forbidden_fraction: float = option(0.15, help="forbidden fraction of each layout", ge=0.0, le=0.5)


@dataclass
class VLMEvalConfig(RandomLayouts):
    """The held-out random layouts a VLM policy's success rate is measured on."""

    episodes: int = option(50, help="held-out layouts (env seeds 10000, 10001, ...)", ge=1)
    max_episode_steps: int = option(20, help="step limit of an episode", ge=1)


@dataclass
class VLMTrainConfig(RandomLayouts):
    """Behaviour cloning then PPO for a tiny VLMPolicy (a Llava built from configs) on random pixel grid worlds."""

    hidden: int = option(64, help="width of the tiny Llava's language model (vision: half; a multiple of 8)", ge=8)
    layers: int = option(2, help="language-model layers of the tiny Llava", ge=1)
    bc_layouts: int = option(
        600, help="random layouts in the behaviour-cloning set (one frame per non-target cell)", ge=1
    )
    bc_steps: int = option(600, help="behaviour-cloning steps", ge=1, aliases=["--budget"])
    bc_batch: int = option(64, help="frames per behaviour-cloning step", ge=1)
    bc_lr: float = option(
        1e-3, help="behaviour-cloning peak learning rate (2e-3 stalled at chance in a test run)", gt=0
    )
    bc_value_coef: float = option(
        0.5, help="weight of fitting the value head to v* (value iteration) during cloning", ge=0
    )
    bc_warmup: int = option(50, help="linear warm-up steps, then linear decay to zero", ge=1)
    ppo_updates: int = option(30, help="PPO updates, each a rollout and its epochs (0: behaviour cloning only)", ge=0)
    value_warmup: int = option(4, help="first PPO updates that fit only the value head (policy unchanged)", ge=0)
    ppo_envs: int = option(64, help="parallel episodes per rollout", ge=1)
    ppo_steps: int = option(8, help="steps per env per rollout", ge=1)
    ppo_epochs: int = option(4, help="passes over each rollout", ge=1)
    ppo_minibatches: int = option(4, help="minibatches per pass", ge=1)
    ppo_lr: float = option(1e-4, help="PPO learning rate (whole model)", gt=0)
    value_lr: float = option(1e-2, help="learning rate of the value head during the warm-up", gt=0)
    clip: float = option(0.2, help="PPO clip range", gt=0)
    gamma: float = option(0.9, help="discount", ge=0.0, lt=1.0)
    gae_lambda: float = option(0.95, help="GAE lambda", ge=0.0, le=1.0)
    vf_coef: float = option(0.5, help="value loss weight", ge=0)
    ent_coef: float = option(0.0, help="entropy bonus weight", ge=0)
    eval_episodes: int = option(50, help="held-out layouts for the success rate", ge=1)
    max_episode_steps: int = option(20, help="step limit of an episode", ge=1)
    seed: int = option(0, help="seed of layouts and weights", ge=0)
    device: str = option("auto", help=DEVICE_HELP)
    threads: int = option(
        0,
        help="torch CPU threads (0: one, or OMP_NUM_THREADS when set; 1 ran 3-6x faster than 2 on 2 shared cores)",
        ge=0,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device_field(self)
        if self.hidden % 8:
            raise config_error(self, "hidden", f"{self.hidden} is not a multiple of 8 (4 heads of even size)")

    def held_out(self) -> VLMEvalConfig:
        """The held-out layouts of this training's evaluation."""
        return VLMEvalConfig(self.size, self.forbidden_fraction, self.eval_episodes, self.max_episode_steps)


def _env(config: VLMTrainConfig | VLMEvalConfig) -> gym.Env[Any, Any]:
    return gym.make(
        ENV_ID,
        n_rows=config.size,
        n_cols=config.size,
        forbidden_fraction=config.forbidden_fraction,
        max_episode_steps=config.max_episode_steps,
    )


def optimal_actions_and_values(env: gym.Env[Any, Any], gamma: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The env's current layout solved by value iteration: optimal-action indicator [S, A] and ``v*`` [S]."""
    v, q, _ = value_iteration(tabular_model(env.unwrapped), gamma=gamma)
    return (q >= q.max(1, keepdims=True) - 1e-9).astype(np.float32), v


def held_out_layouts(config: VLMTrainConfig) -> set[bytes]:
    """The cell kinds (as bytes) of the evaluation layouts, which behaviour cloning leaves out."""
    env = _env(config)
    keys = set()
    for i in range(config.eval_episodes):
        env.reset(seed=EVAL_SEED + i)
        keys.add(env.unwrapped.world.kinds.tobytes())
    return keys


def optimal_action_dataset(
    config: VLMTrainConfig, seeds: Iterable[int], n_layouts: int, exclude: Collection[bytes] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames of every non-target agent cell of random layouts, and their optimal-action targets.

    Args:
        config: grid size and forbidden fraction of the layouts.
        seeds: ``env.reset`` seeds, one layout each, taken in order until ``n_layouts`` are kept.
        n_layouts: how many layouts to keep.
        exclude: cell kinds (``kinds.tobytes()``) of layouts to skip (not counted).

    Returns:
        ``(frames [N, H, W, 3] uint8, targets [N, A] float32, values [N] float32)``: each target
        is uniform over the optimal actions of that cell, each value its ``v*`` (exact value
        iteration on the layout).
    """
    env = _env(config)
    frames, targets, values = [], [], []
    kept = 0
    for seed in seeds:
        if kept == n_layouts:
            break
        env.reset(seed=int(seed))
        if env.unwrapped.world.kinds.tobytes() in exclude:
            continue
        kept += 1
        states, layout_frames = _agent_frames(env)
        best, v_star = optimal_actions_and_values(env, config.gamma)
        frames.append(layout_frames)
        targets.append(best[states] / best[states].sum(1, keepdims=True))
        values.append(v_star[states])
    return np.concatenate(frames), np.concatenate(targets), np.concatenate(values).astype(np.float32)


def _agent_frames(env: gym.Env[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The non-target states of the env's current layout and a frame of the agent in each."""
    world = env.unwrapped.world
    states = np.array([s for s in range(world.n_states) if s != world.target_state])
    return states, np.stack([world.render_rgb(state=int(s)) for s in states])


class ScoringActor:
    """A :class:`VLMPolicy` acting by its action-word scores (a Categorical), for behaviour cloning and PPO.

    :class:`~rlsuite.vision.reasoning.ReasoningActor` is the same interface for reasoned answers.
    """

    def __init__(self, policy: VLMPolicy) -> None:
        self.policy = policy

    def act(self, obs: Any) -> tuple[np.ndarray, torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Sampled actions (numpy: the one read of the device), their log-probs and values (on the device),
        and what ``evaluate`` needs again (``memo``)."""
        with torch.no_grad():
            dist, v = self.policy(obs)
            a = dist.sample()
        return a.cpu().numpy(), dist.log_prob(a), v, {"action": a}

    def evaluate(self, obs: Any, memo: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probs of the stored actions, values and entropies (differentiable)."""
        dist, v = self.policy(obs)
        return dist.log_prob(memo["action"].to(self.policy.device)), v, dist.entropy()

    @torch.no_grad()
    def greedy(self, obs: Any) -> np.ndarray:
        return self.policy(obs)[0].logits.argmax(-1).cpu().numpy()

    def bc_loss(self, frames: np.ndarray, targets: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy of the scores to the (uniform over optimal actions) targets, and the value."""
        dist, v = self.policy(frames)
        target = torch.as_tensor(targets, device=self.policy.device)
        return -(target * torch.log_softmax(dist.logits, -1)).sum(-1).mean(), v


Actor = Any  # ScoringActor or rlsuite.vision.reasoning.ReasoningActor


@torch.no_grad()
def action_accuracy(
    policy: VLMPolicy, frames: np.ndarray, targets: np.ndarray, batch: int = 256, actor: Actor | None = None
) -> float:
    """Fraction of frames whose greedy action is one of the optimal ones (``targets > 0``)."""
    policy.eval()
    actor = actor or ScoringActor(policy)
    hits = []
    for i in range(0, len(frames), batch):
        greedy = np.asarray(actor.greedy(frames[i : i + batch]))
        hits.append(targets[i : i + batch][np.arange(len(greedy)), greedy] > 0)
    return float(np.concatenate(hits).mean())


@torch.no_grad()
def exact_value_gap(policy: VLMPolicy, config: VLMEvalConfig, gamma: float = 0.9, seed: int = EVAL_SEED) -> float:
    """Mean ``v*(s) - v_pi(s)`` over the start cells of the held-out layouts, for the sampling policy.

    Exact, not sampled: the policy's action probabilities in every cell of a layout (one batched
    forward pass) are evaluated by :func:`~rlsuite.agents.tabular.dp.policy_evaluation` against
    value iteration's ``v*``. 0 means the stochastic policy is optimal; it shows what PPO changes
    once the greedy success rate is already 1.
    """
    from rlsuite.agents.tabular.dp import policy_evaluation

    env, gaps = _env(config), []
    policy.eval()
    for i in range(config.episodes):
        env.reset(seed=seed + i)
        model = tabular_model(env.unwrapped)
        states, frames = _agent_frames(env)
        pi = np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)  # the target is absorbing
        pi[states] = policy(frames)[0].probs.double().cpu().numpy()
        v_star, _, _ = value_iteration(model, gamma=gamma)
        v_pi = policy_evaluation(model, pi, gamma=gamma)
        starts = env.unwrapped.world.random_start_states
        gaps.append((v_star - v_pi)[starts].mean())
    return float(np.mean(gaps))


def success_rate(policy: VLMPolicy, config: VLMEvalConfig, seed: int = EVAL_SEED, actor: Actor | None = None) -> float:
    """Fraction of held-out random layouts whose target the (greedy) policy reaches, batched over episodes."""
    act = actor.greedy if actor is not None else (lambda obs: policy.predict(obs)[0])
    envs = [_env(config) for _ in range(config.episodes)]
    obs = [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]
    done = np.zeros(len(envs), bool)
    solved = np.zeros(len(envs), bool)
    with progress.task("held-out layouts", total=config.max_episode_steps, unit="step") as bar:
        for _ in range(config.max_episode_steps):
            live = np.flatnonzero(~done)
            if not len(live):
                break
            actions = act(np.stack([obs[i] for i in live]))
            for i, a in zip(live, np.atleast_1d(actions), strict=True):
                obs[i], _, term, trunc, _ = envs[i].step(int(a))
                solved[i] |= term
                done[i] = term or trunc
            bar.advance()
    return float(solved.mean())


def evaluate_vlm(
    policy: VLMPolicy, config: VLMEvalConfig, answers: AnswerConfig | None = None, seed: int = 0
) -> dict[str, Any]:
    """Greedy success on the held-out layouts, by scored action words or, with ``answers.reasoning``, by
    generated answers read with the grammar (RL4VLM): ``{"success", "mode"}``, and for generated answers
    ``answers`` and ``unparsed_answers`` (the ones no template matched, which took the fallback; ``seed``
    seeds a random fallback)."""
    from rlsuite.vision.reasoning import ReasoningActor

    if answers is None or not answers.reasoning:
        return {"success": success_rate(policy, config), "mode": "scoring"}
    actor = ReasoningActor(policy, ReasoningConfig(**answers.to_dict()), seed)
    rate = success_rate(policy, config, actor=actor)
    log.info("reasoned answers: %d of %d unparsed", actor.unparsed, actor.answers)
    return {"success": rate, "mode": "reasoning", "answers": actor.answers, "unparsed_answers": actor.unparsed}


def trained_answers(folder: str | Path) -> dict[str, Any] | None:
    """How a ``train-vlm-policy`` folder's policy answers (its ``metrics.json`` ``reasoning`` settings, as
    :class:`~rlsuite.vision.reasoning.ReasoningConfig` fields), or None for another folder or a scoring run."""
    import json

    try:
        settings = json.loads((Path(folder) / "metrics.json").read_text()).get("reasoning")
    except (OSError, ValueError, AttributeError):
        return None
    return settings if isinstance(settings, dict) and settings.get("reasoning") else None


def behaviour_clone(
    policy: VLMPolicy, config: VLMTrainConfig, actor: Actor | None = None, checkpoints: Checkpointer | None = None,
    resume: Checkpoint | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Fit the action scores to the optimal action sets (cross-entropy to uniform over optimal actions).

    The value head is fitted to ``v*`` at the same time (weight ``bc_value_coef``): a warm start
    for PPO's critic, which the untrained head would otherwise give noise advantages from.

    The data set is built once: every non-target cell of ``bc_layouts`` random layouts (the
    held-out evaluation layouts excluded), 15 frames per 4x4 layout. Minibatches are drawn from
    it with replacement; the learning rate warms up linearly, then decays linearly to zero.
    The report's ``held_out_accuracy`` is over every non-target cell of the evaluation layouts.

    The losses stay on the device and are read at the end (and every 100 steps when debug logging
    is on): a step makes no host-device sync of its own. ``checkpoints`` saves one every
    ``bc_checkpoint_every`` steps; ``resume`` (a ``"bc"`` checkpoint, its weights already loaded)
    continues after its step with its optimiser, schedule, losses and generators.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    train_seeds = iter(lambda: int(rng.integers(EVAL_SEED + config.eval_episodes, 2**31)), None)
    frames, targets, values = optimal_action_dataset(config, train_seeds, config.bc_layouts, held_out_layouts(config))
    eval_seeds = range(EVAL_SEED, EVAL_SEED + config.eval_episodes)
    test_frames, test_targets, _ = optimal_action_dataset(config, eval_seeds, config.eval_episodes)
    log.debug("bc data: %d frames from %d layouts (%.1f s)", len(frames), config.bc_layouts, time.perf_counter() - t0)
    actor = actor or ScoringActor(policy)
    opt = torch.optim.AdamW(trainable(policy), lr=config.bc_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / config.bc_warmup) * (1.0 - s / config.bc_steps)
    )
    losses = torch.zeros(config.bc_steps, device=policy.device)  # read once, at the end
    generators = {"bc": rng, **actor_generators(actor)}
    if resume is None:
        initial_accuracy, start = action_accuracy(policy, frames[:1000], targets[:1000], actor=actor), 0
    else:
        resume.restore_optimizer("bc", opt)
        sched.load_state_dict(resume.state["scheduler"])
        losses[: resume.step] = resume.tensors["losses"][: resume.step].to(policy.device)
        resume.restore_rng(generators, policy.device)
        restore_actor(actor, resume.state)
        initial_accuracy, start = resume.state["initial_accuracy"], resume.step
    debug = log.isEnabledFor(logging.DEBUG)
    with progress.task("behaviour cloning", total=config.bc_steps, unit="step") as bar:
        bar.advance(start)
        for step in range(start + 1, config.bc_steps + 1):
            policy.train()
            idx = rng.integers(len(frames), size=config.bc_batch)
            loss, v = actor.bc_loss(frames[idx], targets[idx])
            v_star = torch.as_tensor(values[idx], device=policy.device)
            loss = loss + config.bc_value_coef * 0.5 * ((v - v_star) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable(policy), 1.0)
            opt.step()
            sched.step()
            losses[step - 1] = loss.detach()
            bar.advance()
            if debug and step % 100 == 0:  # one read per 100 steps, only when it is logged
                log.debug("bc step %d: loss %.3f (%.0f s)", step, losses[step - 100 : step].mean().item(),
                          time.perf_counter() - t0)  # fmt: skip
            if checkpoints is not None and checkpoints.due("bc", step, config.bc_steps):
                checkpoints.save("bc", step, policy, {"bc": opt}, generators,
                                 {"scheduler": sched.state_dict(), "initial_accuracy": initial_accuracy,
                                  **actor_state(actor)}, {"losses": losses})  # fmt: skip
    policy.eval()
    host_losses = losses.cpu().numpy()
    report = {
        "steps": config.bc_steps,
        "frames": len(frames),
        "first_loss": float(np.mean(host_losses[:20])),
        "final_loss": float(np.mean(host_losses[-20:])),
        "initial_train_accuracy": initial_accuracy,
        "train_accuracy": action_accuracy(policy, frames[:1000], targets[:1000], actor=actor),
        "held_out_accuracy": action_accuracy(policy, test_frames, test_targets, actor=actor),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    log.info("behaviour cloning: %d steps, loss %.3f -> %.3f, accuracy train %.3f, held-out layouts %.3f",
             config.bc_steps, report["first_loss"], report["final_loss"], report["train_accuracy"],
             report["held_out_accuracy"])  # fmt: skip
    return report


def actor_generators(actor: Actor) -> dict[str, np.random.Generator]:
    """The actor's own numpy generator (a reasoning actor's fallbacks and cloning answers), by name."""
    rng = getattr(actor, "rng", None)
    return {} if rng is None else {"actor": rng}


def actor_state(actor: Actor) -> dict[str, Any]:
    """The actor's counters a checkpoint keeps (a reasoning actor's answers and unparsed answers)."""
    return {"actor": {k: getattr(actor, k) for k in ("answers", "unparsed") if hasattr(actor, k)}}


def restore_actor(actor: Actor, state: dict[str, Any]) -> None:
    for k, v in state.get("actor", {}).items():
        setattr(actor, k, v)


def trainable(policy: VLMPolicy) -> list[torch.nn.Parameter]:
    """The parameters that train: all of them, or the LoRA adapters and the value head."""
    return [p for p in policy.parameters() if p.requires_grad]


def gae(rewards: torch.Tensor, values: torch.Tensor, ended: torch.Tensor, gamma: float,
        lam: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Generalised advantage estimates and the returns they imply (Schulman et al. 2016, eq. 16).

    ``rewards`` and ``ended`` are ``(T, N)``; ``values`` is ``(T + 1, N)``, its last row the value of the frame
    after the rollout. An episode that ended at step ``t`` (``ended[t] = 1``) neither bootstraps from
    ``values[t + 1]`` (the next episode's first frame) nor passes advantage back across its end; a truncated
    episode's bootstrap is already in its reward. Returns ``(advantages, returns = advantages + values[:T])``.
    """
    steps = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(steps)):
        going_on = 1.0 - ended[t]
        delta = rewards[t] + gamma * values[t + 1] * going_on - values[t]
        running = delta + gamma * lam * going_on * running
        adv[t] = running
    return adv, adv + values[:steps]


def explained_variance(returns: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``1 - Var(returns - values) / Var(returns)`` (population variances; 1e-8 keeps a constant return finite)."""
    return 1.0 - (returns - values).var(correction=0) / (returns.var(correction=0) + 1e-8)


def normalized(x: torch.Tensor) -> torch.Tensor:
    """``x`` less its mean, over its (sample) standard deviation: PPO's per-batch advantage normalisation."""
    return (x - x.mean()) / (x.std() + 1e-8)


def ppo_losses(new_logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, value: torch.Tensor,
               ret: torch.Tensor, clip: float) -> dict[str, torch.Tensor]:  # fmt: skip
    """One minibatch's PPO terms: the clipped surrogate's loss ``policy`` (Schulman et al. 2017, eq. 7, negated),
    the ``value`` loss ``0.5 (V - R)^2``, ``approx_kl`` (``(r - 1) - log r``, Schulman's low-variance estimator)
    and ``clip_fraction`` (the share of ratios ``r`` outside ``[1 - clip, 1 + clip]``); means over the batch."""
    log_ratio = new_logp - old_logp
    ratio = torch.exp(log_ratio)
    policy = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()
        clip_fraction = ((ratio - 1).abs() > clip).float().mean()
    return {"policy": policy, "value": 0.5 * ((value - ret) ** 2).mean(), "approx_kl": approx_kl,
            "clip_fraction": clip_fraction}  # fmt: skip


def ppo_finetune(
    policy: VLMPolicy, config: VLMTrainConfig, actor: Actor | None = None, checkpoints: Checkpointer | None = None,
    resume: Checkpoint | None = None,
) -> dict[str, Any]:  # fmt: skip
    """PPO on the action-word log-probs with the value head (clipped surrogate, GAE).

    The first ``value_warmup`` updates fit only the value head to the rollout returns, so the
    first policy updates see advantages from a fitted value, not from an untrained head. A
    truncated episode bootstraps from its own last frame's value; no return or advantage flows
    across an episode's end.

    Log-probs, values, rewards, GAE and the minibatch statistics stay on the device; an env step
    reads only the sampled actions back (the envs run on the host), a minibatch nothing, and the
    statistics are read once per update. ``checkpoints`` saves one every ``checkpoint_every``
    updates; ``resume`` (a ``"ppo"`` checkpoint, its weights loaded) replays the actions taken so
    far in freshly seeded envs (which puts them back in the same states) and continues.
    """
    N, T, dev = config.ppo_envs, config.ppo_steps, policy.device
    envs = gym.vector.SyncVectorEnv([partial(_env, config)] * N, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=config.seed * 7919 + EVAL_SEED + config.eval_episodes)
    value_opt = torch.optim.AdamW(policy.value_head.parameters(), lr=config.value_lr)
    opt = torch.optim.AdamW(trainable(policy), lr=config.ppo_lr)
    actor = actor or ScoringActor(policy)
    t0, history, start = time.perf_counter(), [], 0
    ep_return = np.zeros(N)
    taken: list[np.ndarray] = []  # every action so far: what a resumed run replays
    if resume is not None:
        for a in resume.tensors["actions"].numpy():
            obs, r, term, trunc, _ = envs.step(a)
            ep_return = np.where(term | trunc, 0.0, ep_return + r)
            taken.append(a)
        resume.restore_optimizer("ppo", opt)
        resume.restore_optimizer("value", value_opt)
        resume.restore_rng(actor_generators(actor), dev)
        restore_actor(actor, resume.state)
        history, start = resume.state["history"], resume.step
    with progress.task("PPO updates", total=config.ppo_updates, unit="update") as bar:
        bar.advance(start)
        for update in range(start + 1, config.ppo_updates + 1):
            # ----- rollout: one batched forward pass per step over all envs
            frames = np.zeros((T, *obs.shape), np.uint8)
            memos: list[dict[str, torch.Tensor]] = []
            logps, values = torch.zeros((T, N), device=dev), torch.zeros((T + 1, N), device=dev)
            rewards, ended = torch.zeros((T, N), device=dev), torch.zeros((T, N), device=dev)
            returns_seen, solved_seen = [], []
            policy.eval()
            with torch.no_grad():
                for t in range(T):
                    frames[t] = obs
                    acts, logps[t], values[t], memo = actor.act(obs)  # the actions: the step's one read
                    memos.append(memo)
                    taken.append(np.asarray(acts, np.int64))
                    obs, r, term, trunc, info = envs.step(acts)
                    ep_return += r
                    trunc = trunc & ~term
                    rewards[t] = torch.as_tensor(r, dtype=torch.float32, device=dev)
                    if trunc.any():  # the episode goes on beyond the time limit: bootstrap from its last frame
                        cut = torch.as_tensor(np.flatnonzero(trunc), device=dev)
                        rewards[t, cut] += config.gamma * policy(np.stack(info["final_obs"][trunc]))[1]
                    ended[t] = torch.as_tensor(term | trunc, dtype=torch.float32, device=dev)
                    for i in np.flatnonzero(term | trunc):
                        returns_seen.append(ep_return[i])
                        solved_seen.append(bool(term[i]))
                        ep_return[i] = 0.0
                values[T] = policy(obs)[1]
            # ----- GAE, cut at every episode end (on the device)
            adv, ret = gae(rewards, values, ended, config.gamma, config.gae_lambda)
            explained = explained_variance(ret, values[:T])

            # ----- epochs over the rollout (value head only during the warm-up)
            b_frames, b_logp = frames.reshape(T * N, *frames.shape[2:]), logps.reshape(T * N)
            b_memo = {k: torch.cat([m[k] for m in memos]) for k in memos[0]}
            b_adv, b_ret = adv.reshape(T * N), ret.reshape(T * N)
            b_adv = normalized(b_adv)
            warmup = update <= config.value_warmup
            policy.train()
            # per pass: summed value loss, KL and clipped fraction of its minibatches, and their count
            sums = torch.zeros((config.ppo_epochs, 3), device=dev)
            counts = torch.zeros(config.ppo_epochs, 1)
            for epoch in range(config.ppo_epochs):
                for idx in torch.randperm(T * N).split(max(1, T * N // config.ppo_minibatches)):
                    new_logp, v, entropy = actor.evaluate(b_frames[idx.numpy()], {k: m[idx] for k, m in b_memo.items()})
                    terms = ppo_losses(new_logp, b_logp[idx], b_adv[idx], v, b_ret[idx], config.clip)
                    if warmup:
                        loss, optimizer, params = terms["value"], value_opt, list(policy.value_head.parameters())
                    else:
                        loss = terms["policy"] + config.vf_coef * terms["value"]
                        if entropy is not None:  # reasoned answers have no closed-form entropy
                            loss = loss - config.ent_coef * entropy.mean()
                        optimizer, params = opt, trainable(policy)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    with torch.no_grad():
                        sums[epoch] += torch.stack([terms["value"], terms["approx_kl"], terms["clip_fraction"]])
                    counts[epoch] += 1
            # the update's one read of the device: the passes' means and the explained variance
            read = torch.cat([(sums / counts.to(dev)).flatten(), explained[None]]).cpu().numpy()
            means, explained_share = read[:-1].reshape(-1, 3), float(read[-1])
            row = {
                "update": update,
                "phase": "value" if warmup else "ppo",
                "episodes": len(returns_seen),
                "mean_return": float(np.mean(returns_seen)) if returns_seen else float("nan"),
                "success": float(np.mean(solved_seen)) if solved_seen else float("nan"),
                "value_loss_first_epoch": float(means[0, 0]),
                "value_loss": float(means[-1, 0]),
                "explained_variance": explained_share,
                "approx_kl": float(np.average(means[:, 1], weights=counts[:, 0].numpy())),
                "clip_fraction": float(np.average(means[:, 2], weights=counts[:, 0].numpy())),
            }
            history.append(row)
            bar.advance()
            log.debug(
                "ppo update %d (%s): %d episodes, return %.3f, success %.2f, value loss %.4f "
                "(explained variance %.2f), kl %.4f (%.0f s)",
                update, row["phase"], row["episodes"], row["mean_return"], row["success"],
                row["value_loss"], row["explained_variance"], row["approx_kl"], time.perf_counter() - t0,
            )  # fmt: skip
            if checkpoints is not None and checkpoints.due("ppo", update, config.ppo_updates):
                checkpoints.save("ppo", update, policy, {"ppo": opt, "value": value_opt}, actor_generators(actor),
                                 {"history": history, **actor_state(actor)},
                                 {"actions": torch.from_numpy(np.stack(taken))})  # fmt: skip
    envs.close()
    policy.eval()
    return {
        "updates": config.ppo_updates,
        "history": history,
        "return_history": [row["mean_return"] for row in history],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def load_policy_to_train(
    config: VLMTrainConfig,
    options: VLMModelOptions | None = None,
    reasoning: ReasoningConfig | None = None,
    device: torch.device | None = None,
) -> tuple[VLMPolicy, dict[str, Any]]:
    """The policy to train (the tiny Llava, or ``options.model``), with LoRA adapters when the options say so.

    Returns the policy and what was decided (``model``, ``parameters``, ``finetune``: lora/full,
    ``trainable_parameters``). A folder whose architecture cannot generate text, or a grammar or
    fallback no action matches, fails here, before any training, with one line.
    """
    from rlsuite.common.device import select_device
    from rlsuite.vision.adapters import add_lora, check_generative_folder, count_parameters
    from rlsuite.vision.models import build_tiny_llava
    from rlsuite.vision.policies import DEFAULT_PROMPT

    options = options or VLMModelOptions()
    reasoning = reasoning or ReasoningConfig()
    device = select_device(config.device) if device is None else device  # resolved by the caller, once
    prompt = reasoning.prompt if reasoning.reasoning else DEFAULT_PROMPT
    if options.model:
        check_generative_folder(options.model, options.trust_remote_code, options.trust_pickle)
        policy = VLMPolicy.from_pretrained(options.model, options.trust_remote_code, options.dtype, str(device),
                                           trust_pickle=options.trust_pickle, prompt=prompt)  # fmt: skip
    else:  # 16-pixel cells and 16-pixel patches: one image token per grid cell.
        model, processor = build_tiny_llava(
            image_size=16 * config.size, patch_size=16, hidden=config.hidden, layers=config.layers
        )
        model = model.to(device, getattr(torch, options.dtype))  # positional: what simulated CUDA follows
        policy = VLMPolicy(model, processor, device=device, prompt=prompt)
    if reasoning.reasoning:
        reasoning.grammar_for(policy.actions)
    n_params = count_parameters(policy.model)
    lora = options.uses_lora(n_params)
    if lora:
        policy.model = add_lora(policy.model, options)
    info = {
        "model": options.model or "tiny Llava (built from configs)",
        "parameters": n_params,
        "finetune": "lora" if lora else "full",
        "trainable_parameters": sum(p.numel() for p in trainable(policy)),
    }
    log.info("%s: %d parameters, %s fine-tuning of %d", info["model"], n_params, info["finetune"],
             info["trainable_parameters"])  # fmt: skip
    return policy, info


def train_vlm_policy(
    config: VLMTrainConfig,
    options: VLMModelOptions | None = None,
    reasoning: ReasoningConfig | None = None,
    device: torch.device | None = None,
    checkpoints: Checkpointer | None = None,
) -> tuple[VLMPolicy, dict[str, Any]]:
    """Behaviour cloning then PPO of the tiny Llava (or ``options.model``, full or LoRA) on ``config.device``:
    success before training, after behaviour cloning, after PPO (skipped with ``ppo_updates=0``).

    With ``reasoning.reasoning`` the policy generates text then an action (:mod:`rlsuite.vision.reasoning`):
    cloning teaches the canonical answer, PPO uses RL4VLM's scaled log-prob, the success rate is
    measured by greedy generation, and the report counts the unparsed answers (no value gap: a
    reasoned answer has no closed-form action distribution). With LoRA, ``options.lora_lr`` is cloning's
    peak learning rate and PPO's is ``options.lora_lr * config.ppo_lr / config.bc_lr``: the adapters keep
    full fine-tuning's ratio of the two stages (0.1 by default), as PPO starts a fresh AdamW without
    warm-up, whose first steps move every adapter weight by about the learning rate (measured: tiny
    Qwen2-VL at PPO 1e-2 after cloning at 1e-2, approx KL 0.94 in one update, held-out success 1.0 -> 0.0;
    at 1e-3, KL 0.012 and success kept).

    ``checkpoints`` (:class:`~rlsuite.vision.checkpoints.Checkpointer`) saves checkpoints while the
    stages train and, with ``options.resume``, continues from its newest one: the stages and
    measurements that checkpoint had finished are taken from it, the one it was in goes on from its
    step, and the report's ``resumed_from`` names it.
    """
    import dataclasses

    from rlsuite.common.seeding import seed_everything
    from rlsuite.vision.checkpoints import load_trainable_state
    from rlsuite.vision.reasoning import ReasoningActor
    from rlsuite.vision.runtime import torch_threads

    options = options or VLMModelOptions()
    reasoning = reasoning or ReasoningConfig()
    seed_everything(config.seed)
    held_out = config.held_out()
    with torch_threads(config.threads):
        t0 = time.perf_counter()
        policy, info = load_policy_to_train(config, options, reasoning, device)
        if info["finetune"] == "lora":
            ppo_lr = options.lora_lr * config.ppo_lr / config.bc_lr  # full fine-tuning's ratio of the stages
            config = dataclasses.replace(config, bc_lr=options.lora_lr, ppo_lr=ppo_lr)
        actor = ReasoningActor(policy, reasoning, config.seed) if reasoning.reasoning else ScoringActor(policy)
        resume = checkpoints.latest() if checkpoints is not None and checkpoints.options.resume else None
        report: dict[str, Any] = {"model": info}
        if resume is not None:
            load_trainable_state(policy, resume.weights)
            report = {**resume.state["report"], "resumed_from": resume.path.name}
            log.info("resuming from %s (%s step %d)", resume.path, resume.stage, resume.step)
        if checkpoints is not None:
            checkpoints.report, checkpoints.bc_steps = report, config.bc_steps
        stages = [("untrained", None), ("after_bc", behaviour_clone)]
        if config.ppo_updates:
            stages.append(("after_ppo", ppo_finetune))
        for stage, train in stages:
            if f"success_{stage}" in report:  # measured before the checkpoint this run resumes from
                continue
            if train is not None:
                here = resume if resume is not None and resume.stage == ("bc" if train is behaviour_clone else "ppo") \
                    else None  # fmt: skip
                report[train.__name__] = train(policy, config, actor, checkpoints, here)
            report[f"success_{stage}"] = success_rate(policy, held_out, actor=actor)
            if not reasoning.reasoning:
                report[f"value_gap_{stage}"] = exact_value_gap(policy, held_out, config.gamma)
            log.info("%s: greedy success %.2f", stage.replace("_", " "), report[f"success_{stage}"])
        if reasoning.reasoning:
            report["answers"], report["unparsed_answers"] = actor.answers, actor.unparsed
        report["seconds"] = round(time.perf_counter() - t0, 1)
    return policy, report
