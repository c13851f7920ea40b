"""Batched envs: one array step for N copies, agreeing with N single envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401
from rlsuite.envs.batched import GridWorldVectorEnv, KArmedBanditVectorEnv


def _make_vec(env_id: str, n: int, **kwargs):
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)


def test_make_vec_returns_native_batched_env() -> None:
    envs = _make_vec("rlsuite/GridWorld-v0", 8)
    assert isinstance(envs.unwrapped, GridWorldVectorEnv)
    assert envs.unwrapped.max_episode_steps == 100  # from the registration
    bandits = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=5)  # vector entry point is the default
    assert isinstance(bandits.unwrapped, KArmedBanditVectorEnv)


@pytest.mark.parametrize("observation", ["index", "coords", "onehot"])
@pytest.mark.parametrize("episodic", [False, True])
def test_agrees_step_for_step_with_single_envs(observation: str, episodic: bool) -> None:
    """Deterministic dynamics: the batched env and N gym.make envs (TimeLimit included) agree exactly."""
    n, horizon = 6, 7
    kwargs = {"observation": observation, "terminate_at_target": episodic}
    starts = np.array([0, 3, 12, 17, 21, 24])
    vec = _make_vec("rlsuite/GridWorld-v0", n, max_episode_steps=horizon, **kwargs)
    singles = [gym.make("rlsuite/GridWorld-v0", max_episode_steps=horizon, **kwargs) for _ in range(n)]
    obs, _ = vec.reset(seed=0, options={"start": starts})
    pairs = enumerate(zip(singles, starts, strict=True))
    single_obs = [e.reset(seed=i, options={"start": int(s)})[0] for i, (e, s) in pairs]
    np.testing.assert_array_equal(obs, np.stack(single_obs))
    rng = np.random.default_rng(0)
    done_prev = np.zeros(n, dtype=bool)
    for _ in range(40):
        actions = rng.integers(5, size=n)
        obs, rew, term, trunc, _ = vec.step(actions)
        for i, env in enumerate(singles):
            if done_prev[i]:  # next-step autoreset to the default start, as SyncVectorEnv does
                o = env.reset()[0]
                r, te, tr = 0.0, False, False
            else:
                o, r, te, tr, _ = env.step(int(actions[i]))
            np.testing.assert_array_equal(obs[i], o)
            assert (rew[i], term[i], trunc[i]) == (r, te, tr)
        done_prev = term | trunc


def test_random_starts_and_seeding() -> None:
    vec = GridWorldVectorEnv(num_envs=5000, start="random", terminate_at_target=True)
    a, _ = vec.reset(seed=3)
    b, _ = vec.reset(seed=3)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == set(vec.single_env.random_start_states)


def test_torch_backend_matches_numpy_on_deterministic_dynamics() -> None:
    torch = pytest.importorskip("torch")
    n = 64
    np_env = GridWorldVectorEnv(num_envs=n, observation="onehot", device="cpu")
    th_env = GridWorldVectorEnv(num_envs=n, observation="onehot", device="auto")  # torch, CUDA if present
    starts = np.arange(n) % 25
    _o1, _ = np_env.reset(seed=0, options={"start": starts})
    o2, _ = th_env.reset(seed=0, options={"start": starts})
    assert isinstance(o2, torch.Tensor)
    rng = np.random.default_rng(0)
    for _ in range(150):  # crosses the 100-step truncation and its autoreset
        actions = rng.integers(5, size=n)
        r1 = np_env.step(actions)
        r2 = th_env.step(torch.as_tensor(actions, device=th_env.backend.device))
        for x, y in zip(r1[:4], r2[:4], strict=True):
            np.testing.assert_allclose(np.asarray(x, dtype=float), y.cpu().numpy().astype(float))


def test_bandit_batch_statistics_and_autoreset() -> None:
    n = 3000
    vec = KArmedBanditVectorEnv(num_envs=n, max_episode_steps=5)
    _, info = vec.reset(seed=0)
    q = vec.q_star.copy()
    bound = 4.5 / np.sqrt(q.size)  # q*(a) ~ N(0, 1): the mean within 4.5 standard errors, and the spread
    assert abs(q.mean()) < bound and abs(q.std() - 1) < 4.5 / np.sqrt(2 * q.size)
    np.testing.assert_array_equal(info["optimal_arm"], q.argmax(1))
    rewards = []
    for _t in range(5):
        _, r, term, trunc, info = vec.step(np.zeros(n, dtype=int))
        rewards.append(r - q[:, 0])  # the noise: N(0, 1)
        np.testing.assert_allclose(info["regret"], q.max(1) - q[:, 0])
        np.testing.assert_array_equal(info["optimal"], q[:, 0] == q.max(1))
    assert trunc.all() and not term.any()
    noise = np.concatenate(rewards)
    assert abs(noise.mean()) < 4.5 / np.sqrt(noise.size) and abs(noise.std() - 1) < 4.5 / np.sqrt(2 * noise.size)
    _, r, term, trunc, _ = vec.step(np.zeros(n, dtype=int))  # the autoreset step: reward 0, new problems
    assert (r == 0).all() and not trunc.any() and not term.any() and (vec.steps == 0).all()
    assert (vec.q_star != q).all()


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_bernoulli_arms_pay_one_with_their_probability(device: str) -> None:
    n, means = 6000, np.array([0.1, 0.5, 0.9])
    vec = KArmedBanditVectorEnv(num_envs=n, arms="bernoulli", means=means.tolist(), device=device)
    vec.reset(seed=0)
    arms = np.arange(n) % 3
    _, r, *_ = vec.step(arms)
    r = np.asarray(r.cpu() if hasattr(r, "cpu") else r)
    assert set(np.unique(r).tolist()) == {0.0, 1.0}
    wins = np.bincount(arms, weights=r, minlength=3)
    pulls = np.full(3, n // 3)
    assert (np.abs(wins - pulls * means) <= 4.5 * np.sqrt(pulls * means * (1 - means))).all()
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.array([0, 1]))


def test_bad_vector_arguments() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        GridWorldVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="target"):
        GridWorldVectorEnv(num_envs=2, target=(9, 9))


@pytest.mark.parametrize("nonstationary", [False, True])
def test_bandit_info_follows_q_star_through_walks_and_resets(nonstationary: bool) -> None:
    """The batched bandit keeps max q* and its arm between steps: they must follow every change of q*."""
    n = 50
    vec = KArmedBanditVectorEnv(num_envs=n, nonstationary=nonstationary, walk_std=0.5, max_episode_steps=3)
    vec.reset(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(8):  # crosses two autoresets
        q, a = vec.q_star.copy(), rng.integers(10, size=n)
        _, _, _, _, info = vec.step(a)
        np.testing.assert_array_equal(info["optimal_arm"], q.argmax(1))
        np.testing.assert_allclose(info["regret"], q.max(1) - q[np.arange(n), a])
