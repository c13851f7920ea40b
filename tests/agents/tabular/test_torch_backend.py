"""The torch backend is a first-class path, tested on every machine.

Every batched env, sample-based tabular agent, bandit agent and the SB3 batched adapter runs here on
three backends: ``"cpu"`` (numpy), ``"torch:cpu"`` (torch tensors on the CPU, on every machine) and
``"cuda"`` (a real GPU where there is one, else CUDA simulated on the CPU by ``tests/cuda_sim.py``,
which raises where real CUDA raises). Torch learns what numpy learns; the simulated GPU computes on
the CPU with the same random streams, so there it must learn exactly what torch on the CPU learns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from agent_checks import assert_learned_the_optimum
from cuda_sim import is_simulated, simulate_cuda

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import ApproxAgent
from rlsuite.agents.sb3_vecenv import make_batched_vec_env
from rlsuite.agents.tabular import ALGORITHMS
from rlsuite.agents.tabular.bandit import (
    UCB,
    EpsilonGreedyBandit,
    EpsilonGreedyBanditConfig,
    GradientBandit,
    GradientBanditConfig,
    ThompsonSampling,
    ThompsonSamplingConfig,
    UCBConfig,
)
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.device import to_numpy
from rlsuite.envs.batched import GridWorldVectorEnv, KArmedBanditVectorEnv

BACKENDS = ["cpu", "torch:cpu", "cuda"]
TORCH_BACKENDS = ["torch:cpu", "cuda"]


def real_cuda() -> bool:
    return torch.cuda.is_available() and not is_simulated()


@contextlib.contextmanager
def on(device: str) -> Iterator[None]:
    """Run a block on ``device``: "cuda" is simulated where there is no GPU."""
    with simulate_cuda() if device == "cuda" and not real_cuda() else contextlib.nullcontext():
        yield


def device_type(device: str) -> str | None:
    """The torch device type arrays of this backend live on (None: numpy)."""
    return None if device == "cpu" else device.removeprefix("torch:")


def assert_on(x: Any, device: str) -> None:
    if device == "cpu":
        assert isinstance(x, np.ndarray), type(x)
    else:
        assert isinstance(x, torch.Tensor) and x.device.type == device_type(device), (type(x), x.device)


def host(x: Any) -> np.ndarray:
    return to_numpy(x).astype(np.float64)


# ----- the backend itself -----


@pytest.mark.parametrize("device", BACKENDS)
def test_array_backend_places_arrays(device: str) -> None:
    with on(device):
        backend = ArrayBackend(device)
        backend.seed(np.random.default_rng(0))
        assert backend.is_torch == (device != "cpu")
        b = backend
        for x in (b.zeros(3), b.ones(3, "bool"), b.arange(4), b.asarray([1.5, 2.5]), b.as_index([0, 2]),
                  b.uniform((2,)), b.normal((2,)), b.integers(5, (3,)), b.gamma(b.asarray([0.5, 3.0])),
                  b.asarray(torch.tensor([1.0, 2.0]))):
            assert_on(x, device)
            assert ArrayBackend.of(x).is_torch == backend.is_torch and ArrayBackend.of(x).device == x.device
        twin = backend.spawn()
        assert twin.device == backend.device and (twin.gen is not backend.gen if backend.is_torch else True)


def test_torch_cpu_spelling_means_torch_on_the_cpu_everywhere() -> None:
    backend = ArrayBackend("torch:cpu")
    assert backend.is_torch and backend.device == torch.device("cpu")
    with simulate_cuda():  # even where CUDA is there, torch:cpu stays on the CPU ("auto" would not)
        assert ArrayBackend("torch:cpu").device == torch.device("cpu")
        assert ArrayBackend("auto").device.type == "cuda"


# ----- batched envs -----


@pytest.mark.parametrize("observation", ["index", "coords", "onehot"])
@pytest.mark.parametrize("device", TORCH_BACKENDS)
def test_gridworld_vector_env_steps_like_numpy(device: str, observation: str) -> None:
    n = 50
    ref = GridWorldVectorEnv(num_envs=n, observation=observation, terminate_at_target=True)
    starts = np.arange(n) % 25
    ref_obs, _ = ref.reset(seed=0, options={"start": starts})
    with on(device):
        env = GridWorldVectorEnv(num_envs=n, observation=observation, terminate_at_target=True, device=device)
        obs, _ = env.reset(seed=0, options={"start": starts})
        assert_on(obs, device)
        np.testing.assert_array_equal(host(obs), host(ref_obs))
        rng = np.random.default_rng(0)
        for t in range(120):  # crosses terminations and the 100-step truncation with their autoresets
            actions = rng.integers(5, size=n)
            given = actions if t % 2 else torch.as_tensor(actions, device=env.backend.device)  # numpy or device actions
            got, want = env.step(given), ref.step(actions)
            for x, y in zip(got[:4], want[:4], strict=True):
                assert_on(x, device)
                np.testing.assert_array_equal(host(x), host(y))


@pytest.mark.parametrize("device", BACKENDS)
def test_reset_takes_start_states_from_numpy_lists_ints_and_device_tensors(device: str) -> None:
    """Issue 15, bug 1: ``reset(options={"start": ...})`` with start states already on the device (as MC
    and TD agents pass them through ``reset_to``) must not go through numpy."""
    with on(device):
        env = GridWorldVectorEnv(num_envs=4, device=device)
        backend = env.backend
        for start in ([3, 1, 4, 1], np.array([3, 1, 4, 1]), backend.asarray([3, 1, 4, 1], dtype="int64"), 7):
            obs, _ = env.reset(seed=0, options={"start": start})
            assert_on(obs, device)
            want = [7] * 4 if isinstance(start, int) else [3, 1, 4, 1]
            assert to_numpy(obs).tolist() == want
        for bad in ([0, 1, 2, 25], backend.asarray([0, -1, 2, 3], dtype="int64")):
            # checked on the host before they move; on a GPU, on the GPU (a device-side assert, no sync)
            error = RuntimeError if device == "cuda" and not isinstance(bad, list) else ValueError
            with pytest.raises(error, match=r"options\['start'\] states must lie in \[0, 25\)"):
                env.reset(options={"start": bad})
        with pytest.raises(ValueError, match=r"options\['start'\] must be one state or 4 states, got shape \(2,\)"):
            env.reset(options={"start": [1, 2]})


@pytest.mark.parametrize("device", TORCH_BACKENDS)
def test_same_step_autoreset_like_numpy(device: str) -> None:
    kwargs = {"num_envs": 40, "terminate_at_target": True, "autoreset_mode": "SameStep", "start": (1, 1)}
    ref = GridWorldVectorEnv(**kwargs)
    ref.reset(seed=1)
    with on(device):
        env = GridWorldVectorEnv(**kwargs, device=device)
        env.reset(seed=1)
        rng = np.random.default_rng(1)
        finals = 0
        for _ in range(60):
            actions = rng.integers(5, size=40)
            got, want = env.step(actions), ref.step(actions)
            for x, y in zip(got[:4], want[:4], strict=True):
                np.testing.assert_array_equal(host(x), host(y))
            # torch never asks the device whether an episode ended: its info has final_obs on every step
            # where one may have, and the mask _final_obs says which rows hold one (numpy: only where one did)
            assert set(got[4]) == {"final_obs", "_final_obs"} and set(want[4]) <= set(got[4])
            mask = host(got[4]["_final_obs"]).astype(bool)
            assert_on(got[4]["final_obs"], device)
            if want[4]:
                np.testing.assert_array_equal(mask, want[4]["_final_obs"])
                np.testing.assert_array_equal(host(got[4]["final_obs"])[mask], want[4]["final_obs"][mask])
                finals += int(want[4]["_final_obs"].sum())
            else:
                assert not mask.any()
        assert finals > 0


@pytest.mark.parametrize("arms", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("device", TORCH_BACKENDS)
def test_bandit_vector_env_on_torch(device: str, arms: str) -> None:
    with on(device):
        env = KArmedBanditVectorEnv(num_envs=400, k=5, arms=arms, max_episode_steps=3, device=device)
        _, info = env.reset(seed=0)
        q = host(env.q_star)
        assert_on(env.q_star, device) and q.shape == (400, 5)
        np.testing.assert_array_equal(host(info["optimal_arm"]), q.argmax(1))
        env.reset(seed=0)
        np.testing.assert_array_equal(host(env.q_star), q)  # same seed, same problems
        actions = np.arange(400) % 5
        _, r, term, trunc, info = env.step(actions)
        for x in (r, term, trunc, info["regret"], info["optimal"]):
            assert_on(x, device)
        np.testing.assert_allclose(host(info["regret"]), q.max(1) - q[np.arange(400), actions], rtol=1e-6)
        if arms == "bernoulli":
            assert set(np.unique(host(r)).tolist()) <= {0.0, 1.0}
        env.step(actions)
        _, _, _, trunc, _ = env.step(actions)
        assert bool(trunc.all())
        _, r, _, trunc, _ = env.step(actions)  # next-step autoreset: fresh problems, reward 0
        assert not bool(trunc.any()) and float(abs(r).sum()) == 0.0 and not np.allclose(host(env.q_star), q)


# ----- tabular agents: torch on the CPU and (simulated) CUDA -----

# the grid-world agents (the Sutton & Barto ones have theirs in test_sb_torch.py)
SAMPLE_BASED = [name for name, c in ALGORITHMS.items()
                if c.uses_device and c.env_kind == "single" and not issubclass(c, ApproxAgent)
                and c.default_env == "rlsuite/GridWorld-v0"]
SMALL_BUDGET = {"iterations": 2, "episodes": 4000, "steps": 256 * 10 * 12}


def _learn(name: str, device: str, budget: int | None = None) -> Any:
    cls = ALGORITHMS[name]
    agent = cls(gym.make("rlsuite/GridWorld-v0"), device=device)
    agent.learn(budget if budget is not None else SMALL_BUDGET[cls.budget_unit], seed=0)
    return agent


@pytest.mark.parametrize("name", SAMPLE_BASED)
def test_sample_based_agent_on_simulated_cuda_learns_exactly_what_torch_on_the_cpu_learns(name: str) -> None:
    """The batched env, the rollouts and (TD) the tables on "cuda": every device placement is checked by
    the simulation, and the numbers equal torch's on the CPU (same arithmetic, same random streams)."""
    cpu = _learn(name, "torch:cpu")
    with simulate_cuda():
        cuda = _learn(name, "cuda")
    assert isinstance(cuda.q_values, np.ndarray) and isinstance(cuda.policy, np.ndarray)
    np.testing.assert_array_equal(cuda.q_values, cpu.q_values)
    np.testing.assert_array_equal(cuda.policy, cpu.policy)


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
@pytest.mark.parametrize("name", SAMPLE_BASED)
def test_sample_based_agent_learns_the_optimal_greedy_policy_on_numpy_and_torch(name: str, device: str) -> None:
    """The full default budget (slow: about 2 minutes for all agents in torch on 2 cores)."""
    cls = ALGORITHMS[name]
    agent = cls(gym.make("rlsuite/GridWorld-v0"), device=device)
    assert_learned_the_optimum(name, agent, agent.learn(seed=0).last(), f"on {device}")


def test_value_iteration_on_torch_and_cuda_equals_numpy() -> None:
    from rlsuite.agents.tabular.dp import _value_iteration_torch, value_iteration
    from rlsuite.envs.gridworld import GridWorldEnv
    from rlsuite.envs.model import tabular_model

    for kwargs in ({}, {"slip_prob": 0.2}):
        model = tabular_model(GridWorldEnv(n_rows=30, n_cols=30, random_layout=True, layout_seed=4, **kwargs))
        v, q, iters = value_iteration(model, 0.9, tol=1e-9)
        v_t, q_t, iters_t = _value_iteration_torch(model, 0.9, 1e-9, 100_000, torch.device("cpu"))
        v_s, _, iters_s = value_iteration(model, 0.9, tol=1e-9, device="torch:cpu")  # the public spelling
        assert iters_s == iters_t and np.array_equal(v_s, v_t)
        with on("cuda"):
            v_c, q_c, iters_c = value_iteration(model, 0.9, tol=1e-9, device="cuda")
        for other_v, other_q, other_iters in ((v_t, q_t, iters_t), (v_c, q_c, iters_c)):
            assert isinstance(other_v, np.ndarray) and isinstance(other_q, np.ndarray)
            np.testing.assert_allclose(other_v, v, atol=1e-8)
            np.testing.assert_allclose(other_q, q, atol=1e-8)
            assert abs(other_iters - iters) <= 1


# ----- bandit agents -----

BANDIT_CASES = [
    (EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1), "rlsuite/KArmedBandit-v0"),
    (UCB, UCBConfig(c=2.0), "rlsuite/KArmedBandit-v0"),
    (GradientBandit, GradientBanditConfig(alpha=0.1), "rlsuite/KArmedBandit-v0"),
    (ThompsonSampling, ThompsonSamplingConfig(model="gaussian"), "rlsuite/KArmedBandit-v0"),
    (ThompsonSampling, ThompsonSamplingConfig(model="bernoulli"), "rlsuite/BernoulliBandit-v0"),
]


def _bandit(cls: type, config: Any, env_id: str, device: str, runs: int = 300, steps: int = 500) -> tuple[Any, Any]:
    envs = gym.make_vec(env_id, num_envs=runs, vectorization_mode="vector_entry_point", device=device)
    agent = cls(envs, config)
    return agent, agent.learn(steps, seed=1)


@pytest.mark.parametrize(("cls", "config", "env_id"), BANDIT_CASES, ids=lambda x: getattr(x, "__name__", None))
def test_bandit_agents_learn_the_same_on_numpy_torch_and_cuda(cls: type, config: Any, env_id: str) -> None:
    _, numpy_h = _bandit(cls, config, env_id, "cpu")
    late_numpy = numpy_h["optimal_action"][-200:].mean()
    curves = {}
    for device in TORCH_BACKENDS:
        with on(device):
            agent, history = _bandit(cls, config, env_id, device)
            assert isinstance(agent.q, torch.Tensor) and agent.q.device.type == device_type(device)
            assert agent.device.startswith(device_type(device) or "cpu")
            assert isinstance(agent.q_values, np.ndarray) and agent.policy.shape == (300, 10)
            np.testing.assert_allclose(agent.policy.sum(axis=1), 1.0, atol=1e-5)
            curves[device] = history["optimal_action"]
        # other random numbers than numpy's: the late optimal-action fractions agree within noise
        # (300 runs: standard error about 0.02) and both have learned (well above 1/k = 0.1)
        late = curves[device][-200:].mean()
        assert abs(late - late_numpy) < 0.08 and min(late, late_numpy) > 0.6, (device, late, late_numpy)
    if not real_cuda():  # simulated: the same arithmetic and random streams as torch on the CPU
        np.testing.assert_array_equal(curves["cuda"], curves["torch:cpu"])


# ----- the SB3 batched adapter -----


@pytest.mark.parametrize("device", TORCH_BACKENDS)
def test_sb3_adapter_on_torch_steps_like_numpy_and_returns_numpy(device: str) -> None:
    kwargs = {"start": (2, 2)}
    ref = make_batched_vec_env("rlsuite/GridWorldEpisodic-v0", 16, seed=0, env_kwargs=kwargs)
    with on(device):
        venv = make_batched_vec_env("rlsuite/GridWorldEpisodic-v0", 16, seed=0, env_kwargs=kwargs, device=device)
        assert venv.venv.backend.is_torch
        np.testing.assert_array_equal(venv.reset(), ref.reset())
        rng = np.random.default_rng(0)
        n_done = 0
        for _ in range(150):
            actions = rng.integers(5, size=16)
            obs, rew, done, infos = venv.step(actions)
            obs_r, rew_r, done_r, infos_r = ref.step(actions)
            assert isinstance(obs, np.ndarray) and rew.dtype == np.float32 and done.dtype == bool
            np.testing.assert_array_equal(obs, obs_r)
            np.testing.assert_array_equal(rew, rew_r)
            np.testing.assert_array_equal(done, done_r)
            for i in np.flatnonzero(done_r):
                assert infos[i]["terminal_observation"] == infos_r[i]["terminal_observation"]
                n_done += 1
        assert n_done > 0


def test_sb3_ppo_trains_with_model_and_batched_env_on_cuda() -> None:
    """SB3's PPO on "cuda" beside the batched env on "cuda": observations go to the GPU, actions back."""
    from stable_baselines3 import PPO

    def train(device: str) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        venv = make_batched_vec_env("rlsuite/GridWorld-v0", 8, seed=0, device=device)
        model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=2, seed=0, device=device_type(device))
        model.learn(256)
        return {k: v.detach().cpu() for k, v in model.policy.state_dict().items()}

    cpu = train("torch:cpu")
    with simulate_cuda():
        cuda = train("cuda")
    assert cpu.keys() == cuda.keys()
    for key in cpu:
        torch.testing.assert_close(cuda[key], cpu[key], rtol=0, atol=0)


def test_one_device_vocabulary_resolved_once_with_the_backend_setting_and_the_auto_rule() -> None:
    """``--device`` is auto, cpu, cuda or cuda:N everywhere; ``--backend`` picks numpy or torch for the tabular
    agents; ``auto`` sends a sample-based agent to the GPU only from GPU_MIN_COPIES env copies on (docs/gpu.md)."""
    from rlsuite.agents.tabular.dp import ValueIteration
    from rlsuite.agents.tabular.td import QLearning
    from rlsuite.app.train_tabular import run_device
    from rlsuite.common.device import GPU_MIN_COPIES, array_device, device_problem, select_device
    from rlsuite.common.errors import ConfigError, UsageError

    for device in ("auto", "cpu", "cuda", "cuda:1"):
        assert device_problem(device) is None
    assert device_problem("torch:cpu") == "'torch:cpu' is not one of auto, cpu, cuda, cuda:N (torch on the CPU: " \
        "--device cpu --backend torch)"  # fmt: skip
    for device in ("tpu", "numpy", "cuda:", "cpu0", None):
        assert device_problem(device) == f"{device!r} is not one of auto, cpu, cuda, cuda:N"
    cpu = torch.device("cpu")
    assert (array_device(cpu), array_device(cpu, "numpy"), array_device(cpu, "torch")) == ("cpu", "cpu", "torch:cpu")
    assert run_device(QLearning, "auto", "torch", 256) == "torch:cpu"
    with simulate_cuda():
        assert select_device("auto").type == "cuda" and select_device("auto", gpu_pays=False).type == "cpu"
        assert run_device(QLearning, "auto", "auto", 256) == "cpu"  # the book's 256 copies: numpy beats a GPU
        assert run_device(QLearning, "auto", "auto", GPU_MIN_COPIES) == "cuda"
        assert run_device(QLearning, "cuda", "auto", 256) == "cuda"  # asked for: given
        assert run_device(ValueIteration, "auto", "auto", 10**6) == "cpu"
        with pytest.raises(UsageError, match=r"^--backend numpy runs on the CPU only, not on cuda; use --device cpu"):
            run_device(QLearning, "cuda", "numpy", 256)
        with pytest.raises(ConfigError, match="dynamic-programming agents sweep small exact tables in numpy"):
            run_device(ValueIteration, "cuda", "auto", 1)


# ----- zero host-device syncs per step in the hot loops (issue 22), counted by the CUDA simulation -----

needs_sim = pytest.mark.skipif(real_cuda(), reason="counts syncs on simulated CUDA")


def syncs_per_step(run: Any, small: int, big: int) -> float:
    """Syncs per step of ``run(steps)``: the difference between a long and a short run, per extra step
    (whatever the set-up and the end cost, e.g. copying the learned tables to the host, cancels)."""
    from cuda_sim import count_syncs

    with count_syncs() as few:
        run(small)
    with count_syncs() as many:
        run(big)
    assert set(many) >= set(few)
    return (sum(many.values()) - sum(few.values())) / (big - small)


@needs_sim
@pytest.mark.parametrize("autoreset", ["NextStep", "SameStep"])
@pytest.mark.parametrize("kwargs", [{}, {"terminate_at_target": True, "start": "random", "slip_prob": 0.1}])
def test_batched_env_steps_without_syncs(kwargs: dict[str, Any], autoreset: str) -> None:
    """Action checks, truncation and autoreset (every 5 steps here) with masks, never index lists."""
    from cuda_sim import count_syncs

    with simulate_cuda():
        env = GridWorldVectorEnv(num_envs=32, device="cuda", max_episode_steps=5, autoreset_mode=autoreset, **kwargs)
        env.reset(seed=0)
        actions = torch.randint(5, (32,), device="cuda")
        with count_syncs() as syncs:
            for _ in range(23):
                env.step(actions)
        assert not syncs, syncs
        bandit = KArmedBanditVectorEnv(num_envs=32, device="cuda", max_episode_steps=5, autoreset_mode=autoreset)
        bandit.reset(seed=0)
        with count_syncs() as syncs:
            for _ in range(12):
                bandit.step(actions)
        assert not syncs, syncs


@needs_sim
def test_a_bad_action_on_the_gpu_is_caught_there() -> None:
    with simulate_cuda():
        env = GridWorldVectorEnv(num_envs=3, device="cuda")
        env.reset(seed=0)
        with pytest.raises(RuntimeError, match=r"actions must lie in \[0, 5\)"):  # a device-side assert on a GPU
            env.step(torch.tensor([0, 5, 1], device="cuda"))
        with pytest.raises(ValueError, match=r"actions must lie in \[0, 5\), got \[-1\]"):  # host: checked before
            env.step(np.array([0, -1, 1]))


@needs_sim
@pytest.mark.parametrize("algo", ["td0", "sarsa", "expected_sarsa", "n_step_sarsa", "q_learning"])
def test_td_batched_steps_without_syncs(algo: str) -> None:
    cls = ALGORITHMS[algo]

    def learn(batches: int) -> None:
        config = cls.config_cls(num_envs=16, episode_length=4, log_every=10**6)
        cls(gym.make("rlsuite/GridWorldEpisodic-v0"), config, device="cuda").learn(16 * batches, seed=0)

    with simulate_cuda():
        assert syncs_per_step(learn, 4, 12) == 0.0  # restarts every 4 steps included


@needs_sim
def test_mc_rollout_steps_without_syncs() -> None:
    from rlsuite.agents.base import sample_actions
    from rlsuite.agents.tabular.batch import backend_of, make_batched, reset_to, rollout

    with simulate_cuda():
        venv = make_batched(gym.make("rlsuite/GridWorldEpisodic-v0"), 16, "cuda")
        venv.reset(seed=0)
        backend = backend_of(venv, 0)
        pi = backend.asarray(np.full((25, 5), 0.2))

        def run(length: int) -> None:
            states = reset_to(venv, backend.integers(24, (16,)))
            rollout(venv, states, length, lambda s: sample_actions(pi, s, backend), backend)

        assert syncs_per_step(run, 5, 25) == 0.0


@needs_sim
@pytest.mark.parametrize(
    ("cls", "config", "arms"),
    [
        (EpsilonGreedyBandit, EpsilonGreedyBanditConfig(), "gaussian"),
        (UCB, UCBConfig(), "gaussian"),
        (GradientBandit, GradientBanditConfig(), "gaussian"),
        (ThompsonSampling, ThompsonSamplingConfig(), "gaussian"),
        (ThompsonSampling, ThompsonSamplingConfig(model="bernoulli"), "bernoulli"),  # gamma draws
    ],
    ids=["epsilon_greedy", "ucb", "gradient", "thompson_gaussian", "thompson_bernoulli"],
)
def test_bandit_pulls_without_syncs(cls: Any, config: Any, arms: str) -> None:
    with simulate_cuda():
        agent = cls(KArmedBanditVectorEnv(num_envs=32, device="cuda", arms=arms), config)
        # learn(): the pulls, the curves kept on the device, copied to the host once at the end
        assert syncs_per_step(lambda steps: agent.learn(steps, seed=0), 5, 25) == 0.0


@needs_sim
def test_a_100x100_grid_on_the_gpu_places_no_s_by_s_array() -> None:
    """A float32 S x S identity on the device was 381 MiB at 100 x 100 whatever the observation kind."""
    with simulate_cuda():
        for observation in ("index", "coords", "onehot"):
            torch.cuda.reset_peak_memory_stats()
            env = GridWorldVectorEnv(num_envs=8, n_rows=100, n_cols=100, forbidden=[], target=(50, 50),
                                     observation=observation, device="cuda")
            env.reset(seed=0)
            env.step(torch.zeros(8, dtype=torch.int64, device="cuda"))
            assert torch.cuda.max_memory_allocated() < 4 * 2**20, observation  # tables S x A; one-hot obs 8 x S


@pytest.mark.parametrize("device", TORCH_BACKENDS)
def test_table_sums_do_not_depend_on_the_order_of_the_samples(device: str) -> None:
    """A GPU adds the samples of one entry in a varying order; the fixed-point sums give the same table."""
    rng = np.random.default_rng(0)
    index, weights = rng.integers(7, size=5000), rng.normal(size=5000).astype(np.float32)
    with on(device):
        backend = ArrayBackend(device)
        tables = []
        for order in (np.arange(5000), rng.permutation(5000), rng.permutation(5000)):
            tables.append(host(backend.bincount(backend.as_index(index[order]), backend.asarray(weights[order]), 9)))
        counts = host(backend.bincount(backend.as_index(index), None, 9))
    assert all(np.array_equal(t, tables[0]) for t in tables)  # bit for bit
    np.testing.assert_allclose(tables[0], np.bincount(index, weights.astype(np.float64), minlength=9), atol=1e-5)
    np.testing.assert_array_equal(counts, np.bincount(index, minlength=9))


@needs_sim
def test_agents_run_on_cuda_in_deterministic_mode() -> None:
    """Real CUDA raises at a float cumsum or a weighted bincount in deterministic mode: the agents use neither."""
    from rlsuite.common.seeding import deterministic_torch

    with simulate_cuda(), deterministic_torch():
        for algo in ("q_learning", "mc_epsilon_greedy"):
            cls = ALGORITHMS[algo]
            config = cls.config_cls(num_envs=16, episode_length=60 if algo.startswith("mc") else 4)
            cls(gym.make("rlsuite/GridWorld-v0"), config, device="cuda").learn(64, seed=0)
        GradientBandit(KArmedBanditVectorEnv(num_envs=8, device="cuda")).learn(5, seed=0)
