"""Learning from one stream of experience, as Zhao's examples do (ch. 5.4, 5.5, 7.2-7.4).

The batched agents of ``mc.py`` and ``td.py`` run many episodes at once; the book's examples learn
from a single trajectory, sample by sample: MC epsilon-greedy from one episode of a million steps
per iteration (fig 5.5), Sarsa and on-policy Q-learning over episodes from one start state to the
target (figs 7.2, 7.3), off-policy Q-learning along one episode of a behaviour policy (figs 7.4,
7.5). These functions do that on an exact :class:`~rlsuite.envs.model.TabularModel`, in plain
Python loops over one sample at a time (the update order matters here, so nothing is batched).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rlsuite.agents.base import epsilon_greedy
from rlsuite.common.config import Config, option
from rlsuite.envs.model import TabularModel


@dataclass
class EpisodicTDConfig(Config):
    """What the episodic TD learners share (here and :mod:`rlsuite.agents.tabular.episodic`)."""

    gamma: float = option(0.9, help="discount factor", ge=0.0, le=1.0)
    alpha: float = option(0.1, help="step size (constant, as in the book)", gt=0.0, le=1.0)
    epsilon: float = option(0.1, help="exploration of the epsilon-greedy policy", ge=0.0, le=1.0)
    max_episode_steps: int = option(100_000, help="an episode still running after this many steps is cut", ge=1)


@dataclass
class StreamTDConfig(EpisodicTDConfig):
    """Sarsa / on-policy Q-learning over episodes from one start state (Zhao figs 7.2, 7.3)."""

    episodes: int = option(500, help="episodes, each from the start state until the target", ge=1)


@dataclass
class StreamResult:
    """What a stream learner returns: the action values, and per episode its total reward and length."""

    q: np.ndarray
    total_rewards: np.ndarray
    lengths: np.ndarray


def _step_tables(model: TabularModel) -> tuple[list[list[int]], list[list[float]]]:
    """``next_state[s][a]`` and ``reward[s][a]`` as lists (fast scalar access); deterministic models only."""
    if not model.deterministic or model.next_states is None:
        raise ValueError("model: the stream learners need a deterministic model (a grid world without slip)")
    return model.next_states[0].T.tolist(), model.expected_rewards.tolist()


def sample_trajectory(
    model: TabularModel, policy: np.ndarray, start: int, steps: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One trajectory of ``steps`` steps under ``policy`` [S, A] from ``start``.

    Returns:
        ``(states [steps + 1], actions [steps], rewards [steps])``.
    """
    nxt, rew = _step_tables(model)
    cdf = np.cumsum(np.asarray(policy, dtype=float), axis=1)
    cdf /= cdf[:, -1:]
    cdf_rows = cdf.tolist()
    u = rng.random(steps).tolist()
    n_actions = model.n_actions
    states, actions, rewards = [start], [], []
    s = start
    for t in range(steps):
        row, a = cdf_rows[s], 0
        while a < n_actions - 1 and u[t] >= row[a]:
            a += 1
        actions.append(a)
        rewards.append(rew[s][a])
        s = nxt[s][a]
        states.append(s)
    return np.array(states), np.array(actions), np.array(rewards)


def every_visit_q(
    states: np.ndarray, actions: np.ndarray, rewards: np.ndarray, gamma: float, n_states: int, n_actions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every-visit MC estimates from one episode (Algorithm 5.3's policy evaluation).

    ``g_t = r_{t+1} + gamma g_{t+1}`` backward from the episode's end (``g_T = 0``); ``q(s, a)`` is the
    mean of the returns of every visit to ``(s, a)`` (0 where never visited).

    Returns:
        ``(q [S, A], visits [S, A])``.
    """
    g, returns = 0.0, np.empty(len(rewards))
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g
        returns[t] = g
    pair = np.asarray(states[: len(actions)]) * n_actions + np.asarray(actions)
    sums = np.bincount(pair, returns, n_states * n_actions)
    visits = np.bincount(pair, None, n_states * n_actions)
    q = np.divide(sums, visits, out=np.zeros_like(sums), where=visits > 0)
    return q.reshape(n_states, n_actions), visits.reshape(n_states, n_actions)


def mc_epsilon_greedy_single_episodes(
    model: TabularModel,
    policy: np.ndarray,
    epsilon: float,
    gamma: float,
    iterations: int,
    steps: int,
    start: int,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """MC epsilon-greedy (Algorithm 5.3) with one episode of ``steps`` steps per iteration.

    Each iteration samples one episode under the current policy, estimates q by every-visit
    averaging, and makes the policy epsilon-greedy in q.

    Returns:
        The policies [S, A]: the given one, then one per iteration.
    """
    policies = [np.asarray(policy, dtype=float)]
    for _ in range(iterations):
        states, actions, rewards = sample_trajectory(model, policies[-1], start, steps, rng)
        q, _ = every_visit_q(states, actions, rewards, gamma, model.n_states, model.n_actions)
        policies.append(epsilon_greedy(q, epsilon))
    return policies


def _epsilon_greedy_action(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """An action of the epsilon-greedy policy in ``q_row`` (greedy ties toward the first action)."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q_row)))  # uniform over all actions: the greedy one gets epsilon / |A| more
    return int(np.argmax(q_row))


def td_control_episodes(
    model: TabularModel,
    start: int,
    terminal: int,
    config: StreamTDConfig,
    method: Literal["sarsa", "q_learning"],
    rng: np.random.Generator,
) -> StreamResult:
    """Sarsa (Algorithm 7.1) or on-policy Q-learning (Algorithm 7.2), episode by episode from ``start``.

    Every episode starts at ``start`` and ends on entering ``terminal`` (whose value is 0). The
    policy is epsilon-greedy in q throughout (its initial q = 0 makes it uniform up to ties). The
    update, at each step:

    * Sarsa (7.1): ``q(s, a) += alpha [r + gamma q(s', a') - q(s, a)]``, a' the next action taken;
    * Q-learning (7.18): ``q(s, a) += alpha [r + gamma max_a' q(s', a') - q(s, a)]``.

    Returns:
        The action values and, per episode, its (undiscounted) total reward and its length.
    """
    nxt, rew = _step_tables(model)
    q = np.zeros((model.n_states, model.n_actions))
    eps, alpha, gamma = config.epsilon, config.alpha, config.gamma
    totals, lengths = [], []
    for _ in range(config.episodes):
        s = start
        a = _epsilon_greedy_action(q[s], eps, rng)
        total, t = 0.0, 0
        while s != terminal and t < config.max_episode_steps:
            r, s2 = rew[s][a], nxt[s][a]
            a2 = _epsilon_greedy_action(q[s2], eps, rng)
            if s2 == terminal:
                bootstrap = 0.0
            elif method == "sarsa":
                bootstrap = q[s2, a2]
            else:
                bootstrap = q[s2].max()
            q[s, a] += alpha * (r + gamma * bootstrap - q[s, a])
            total += r
            t += 1
            s, a = s2, a2
        totals.append(total)
        lengths.append(t)
    return StreamResult(q, np.array(totals), np.array(lengths))


def q_learning_along(
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    q0: np.ndarray,
    alpha: float,
    gamma: float,
    v_star: np.ndarray,
    log_every: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Off-policy Q-learning (Algorithm 7.3) along one episode of a behaviour policy.

    ``q(s_t, a_t) += alpha [r_{t+1} + gamma max_a q(s_{t+1}, a) - q(s_t, a_t)]`` for t = 0, 1, ...

    Returns:
        ``(q [S, A], steps [n], rmse [n])``: the final values and, every ``log_every`` steps (and at
        step 0), the root-mean-square error of ``max_a q`` against ``v_star``.
    """
    q = np.array(q0, dtype=float)
    steps, rmse = [0], [float(np.sqrt(np.mean((q.max(axis=1) - v_star) ** 2)))]
    s_list, a_list, r_list = states.tolist(), actions.tolist(), rewards.tolist()
    for t in range(len(a_list)):
        s, a, s2 = s_list[t], a_list[t], s_list[t + 1]
        q[s, a] += alpha * (r_list[t] + gamma * q[s2].max() - q[s, a])
        if (t + 1) % log_every == 0:
            steps.append(t + 1)
            rmse.append(float(np.sqrt(np.mean((q.max(axis=1) - v_star) ** 2))))
    return q, np.array(steps), np.array(rmse)
