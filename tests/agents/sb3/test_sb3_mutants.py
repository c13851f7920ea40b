"""Exact checks of rlsuite.agents.sb3 and sb3_config that mutation testing found unchecked: the errors' fields,
SB3's tables in the log, trimming a crashed run's history, the masked policy, and the recorded videos."""

from __future__ import annotations

import csv
import inspect
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from recording import RecordingReporter, Spy, reporting_to

from rlsuite.agents import sb3, sb3_io
from rlsuite.agents.sb3 import plan_run
from rlsuite.agents.sb3_config import A2CConfig, ARSConfig, DQNConfig, MaskablePPOConfig, PPOConfig, TRPOConfig, shared
from rlsuite.common.config import BOUNDS_KEY, Bounds
from rlsuite.common.errors import ConfigError

EPISODIC = "rlsuite/GridWorldEpisodic-v0"
GRID = "rlsuite/GridWorld-v0"
ROW = {"grid_map": ["....T"]}  # one row of five cells, the target on the right: "right" (action 1) reaches it
ONE_HOT = "rlsuite.envs.wrappers.OneHotObservation"


def _fixed_logits(model, logits: list[float]):
    """``model`` with a policy whose action logits are ``logits`` in every state."""
    with torch.no_grad():
        model.policy.action_net.weight.zero_()
        model.policy.action_net.bias.copy_(torch.tensor(logits))
    return model


# ----- sb3_config -----
def test_shared_fields_carry_their_default_and_bounds():
    field = shared("gamma")
    assert field.default == 0.99 and field.metadata["help"] == "discount factor"
    assert field.metadata[BOUNDS_KEY] == Bounds(ge=0.0, le=1.0)
    assert shared("sde_sample_freq").default == -1


def test_trpo_rollout_is_n_steps_times_n_envs():
    assert TRPOConfig(n_steps=64, n_envs=3).rollout_steps() == 192


def test_ars_n_top_above_n_delta_names_the_class():
    with pytest.raises(ConfigError) as info:
        ARSConfig(n_delta=4, n_top=8)
    assert str(info.value) == "ARSConfig.n_top: 8 > n_delta 4: keep at most n_delta directions"
    assert (info.value.field, info.value.value) == ("n_top", 8)


# ----- env wrappers -----
@pytest.mark.parametrize(
    ("name", "message"),
    [("rlsuite.envs.wrappers.Nope", "env_wrapper: cannot import 'rlsuite.envs.wrappers.Nope'"),
     ("rlsuite.common.io.write_json", "env_wrapper: 'rlsuite.common.io.write_json' is not a gymnasium Wrapper class")],
)  # fmt: skip
def test_wrapper_errors_name_the_field_and_the_value(name, message):
    with pytest.raises(ConfigError) as info:
        sb3._wrapper_class(name, trusted=False)
    assert (str(info.value), info.value.field, info.value.value) == (message, "env_wrapper", name)


# ----- SB3's tables in the log -----
def test_log_stream_logs_each_line_as_written(caplog):
    caplog.set_level(logging.INFO, logger="rlsuite.agents.sb3")
    stream = sb3._LogStream()
    for text in ("| a |  \n\n", "| bX\n", "\n| 5% |\n"):  # trailing line breaks go, the rest stays
        stream.write(text)
    assert [r.getMessage() for r in caplog.records] == ["| a |  ", "| bX", "", "| 5% |"]


# ----- trimming what a crashed part logged -----
def _metrics(folder: Path, rows: list[dict[str, str]]) -> None:
    with open(folder / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "return_mean"])
        writer.writeheader()
        writer.writerows(rows)


def test_trim_history_drops_evaluations_after_the_checkpoint(tmp_path):
    history = sb3.EvalHistory()
    for step in (128, 256, 384):
        history.add(step, {"returns": [step / 128], "lengths": [step], "return_mean": step / 128, "return_std": 0.0})
    history.write(tmp_path)
    sb3.trim_history(tmp_path, 256)
    kept = sb3.EvalHistory.read(tmp_path)
    assert (kept.timesteps, kept.results, kept.lengths) == ([128, 256], [[1.0], [2.0]], [[128], [256]])
    assert kept.rows == [{"step": 128.0, "return_mean": 1.0, "return_std": 0.0},
                         {"step": 256.0, "return_mean": 2.0, "return_std": 0.0}]  # fmt: skip


def test_trim_history_of_metrics_alone_keeps_rows_without_a_step(tmp_path):
    """metrics.csv without evaluations.npz is trimmed too; a row without a step counts as step 0."""
    _metrics(tmp_path, [{"step": "128", "return_mean": "1.0"}, {"step": "", "return_mean": "0.5"}])
    sb3.trim_history(tmp_path, 0)
    assert sb3.EvalHistory.read(tmp_path).rows == [{"return_mean": 0.5}]


def test_trim_history_drops_progress_rows_after_the_checkpoint_and_keeps_the_rest_as_written(tmp_path):
    """Rows past the step, without one or cut short by the crash go; the others keep their bytes (a quoted
    field's own line break too). A file with nothing to drop, or without the step column, is left alone."""
    path = tmp_path / "progress.csv"
    header, kept = "eval/mean_reward,time/total_timesteps,note\n", '1.0,128,\n2.0,256,"a\r\nb"\n'
    path.write_bytes((header + kept + "3.0,,\n4.0,384,\n5.0\n").encode())
    sb3.trim_history(tmp_path, 256)
    assert path.read_bytes() == (header + kept).encode()
    path.write_bytes((header + kept + "4.0,384,\n").encode())  # one row to drop
    sb3.trim_history(tmp_path, 256)
    assert path.read_bytes() == (header + kept).encode()
    inode = path.stat().st_ino
    sb3.trim_history(tmp_path, 256)  # nothing past the step now: the file is not even rewritten
    assert (path.read_bytes(), path.stat().st_ino) == ((header + kept).encode(), inode)
    path.write_text("eval/mean_reward\n1.0\n")
    sb3.trim_history(tmp_path, 0)
    assert path.read_text() == "eval/mean_reward\n1.0\n"


# ----- the masked policy -----
@pytest.fixture(scope="module")
def masked_row_model():
    """MaskablePPO on one-hot observations of the one-row grid, preferring "down" (masked there), then "right"."""
    config = MaskablePPOConfig(n_steps=8, batch_size=8, action_mask="boundary", env_wrapper=ONE_HOT,
                               policy_kwargs={"net_arch": [4]})  # fmt: skip
    model = sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu")
    return _fixed_logits(model, [0.0, 1.0, 2.0, 0.0, 0.0]), config


def test_masked_policy_predicts_greedy_valid_actions_by_default(masked_row_model):
    model, config = masked_row_model
    masked = sb3.masked_policy(model, EPISODIC, ROW, config)
    assert (masked.gamma, masked.num_timesteps) == (0.99, 0)
    assert masked.flat.shape == (5, 5)
    obs = np.tile(np.eye(5, dtype=np.float32), (10, 1))  # each state ten times
    torch.manual_seed(0)
    actions, state = masked.predict(obs, state="kept")
    np.testing.assert_array_equal(actions, np.tile([1, 1, 1, 1, 3], 10))  # "down" masked: "right", at the target "left"
    assert state == "kept"  # SB3's recurrent state goes through
    assert sb3.masked_policy(masked, EPISODIC, ROW, config) is masked  # not wrapped twice
    off = MaskablePPOConfig(action_mask="off", env_wrapper=ONE_HOT)
    assert sb3.masked_policy(model, EPISODIC, ROW, off) is model
    assert sb3.masked_policy(model, EPISODIC, ROW, PPOConfig()) is model


# ----- videos -----
def _frames(folder: Path) -> dict[str, tuple[int, tuple[int, int]]]:
    """Each video's number of frames and its frame size (width, height)."""
    import imageio_ffmpeg

    out = {}
    for path in sorted(folder.glob("*.mp4")):
        reader = imageio_ffmpeg.read_frames(str(path))
        size = tuple(next(reader)["size"])
        reader.close()
        out[path.name] = (imageio_ffmpeg.count_frames_and_secs(str(path))[0], size)
    return out


def test_video_records_every_greedy_episode_from_the_seed_silently(tmp_path, capfd):
    """Four episodes of "right" from the starts that seed 8 draws (cells 2, 1, 0, 3): each video has the start
    frame and one frame per step, the episode ends at the target; moviepy prints nothing."""
    pytest.importorskip("moviepy")
    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    model = sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu")
    _fixed_logits(model, [0.0, 1.0, 0.0, 0.0, 0.0])  # greedy "right"; a sample is "right" 41% of the time
    capfd.readouterr()
    sb3.record_video(model, EPISODIC, ROW, config, tmp_path / "videos", episodes=4, seed=8)
    assert capfd.readouterr() == ("", "")
    assert _frames(tmp_path / "videos") == {f"rl-video-episode-{i}.mp4": (n, (160, 32))
                                            for i, n in enumerate([3, 4, 5, 2])}  # fmt: skip


def test_video_of_maskable_ppo_uses_the_env_s_mask(tmp_path, masked_row_model):
    pytest.importorskip("moviepy")
    model, config = masked_row_model
    sb3.record_video(model, EPISODIC, ROW, config, tmp_path / "videos", episodes=1, seed=8)
    assert _frames(tmp_path / "videos") == {"rl-video-episode-0.mp4": (3, (160, 32))}  # from cell 2: two steps


def test_video_of_an_env_without_a_time_limit_ends_at_the_evaluation_cap(tmp_path, monkeypatch):
    """The one-row grid registered without a time limit: "left" from cell 0 bumps the wall for ever, and the video
    stops at the cap (the start frame and one per step), as the evaluation does."""
    import gymnasium as gym

    pytest.importorskip("moviepy")
    if "rlsuite_test/RowWithoutLimit-v0" not in gym.registry:
        gym.register("rlsuite_test/RowWithoutLimit-v0", entry_point="rlsuite.envs.gridworld:GridWorldEnv",
                     kwargs={"terminate_at_target": True, "start": [1, 1]})  # fmt: skip
    monkeypatch.setattr(sb3, "EVAL_MAX_EPISODE_STEPS", 5)
    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    env_id = "rlsuite_test/RowWithoutLimit-v0"
    model = _fixed_logits(sb3.build_model(config, sb3.make_train_env(env_id, ROW, config, 0), 0, "cpu"),
                          [0.0, 0.0, 0.0, 1.0, 0.0])  # fmt: skip
    sb3.record_video(model, env_id, ROW, config, tmp_path / "videos", episodes=1, seed=0)
    assert _frames(tmp_path / "videos") == {"rl-video-episode-0.mp4": (6, (160, 32))}


def test_the_optimum_is_played_with_the_evaluation_cap_on_an_env_without_a_time_limit(monkeypatch):
    """Zhao's grid world is continuing: registered without a time limit, the optimum (which stays on the target)
    would play for ever; optimality_gap's env ends its episodes at the evaluation cap."""
    import gymnasium as gym

    if "rlsuite_test/ContinuingRowWithoutLimit-v0" not in gym.registry:
        gym.register("rlsuite_test/ContinuingRowWithoutLimit-v0", entry_point="rlsuite.envs.gridworld:GridWorldEnv")
    monkeypatch.setattr(sb3, "EVAL_MAX_EPISODE_STEPS", 5)
    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    env_id = "rlsuite_test/ContinuingRowWithoutLimit-v0"
    model = sb3.build_model(config, sb3.make_train_env(env_id, ROW, config, 0), 0, "cpu")
    env = sb3.greedy_table(model, env_id, ROW, config)["env"]
    assert isinstance(env, gym.wrappers.TimeLimit) and env._max_episode_steps == 5  # before playing: no hang
    env.close()
    gap = sb3.optimality_gap(model, env_id, ROW, config, episodes=3, seed=0)
    assert gap is not None and gap["optimal_return_mean"] == 2.0  # 3 steps right, into the target (+1), stay (+1)


# ----- the spaces an algorithm takes -----
def _space_cases():
    from gymnasium import spaces

    d5, box = spaces.Discrete(5), spaces.Box(-1.0, 1.0, (2,), np.float32)
    md = spaces.MultiDiscrete([2, 3])
    return [
        (DQNConfig(), d5, box, "algo", f"DQN does not take Box actions ({box}); the env needs Discrete actions"),
        (ARSConfig(), d5, md, "algo",
         "ARS does not take MultiDiscrete actions (MultiDiscrete([2 3])); the env needs Discrete or Box actions"),
        (PPOConfig(), d5, spaces.Tuple([d5]), "algo", "PPO does not take Tuple actions (Tuple(Discrete(5))); the "
         "env needs Discrete or Box or MultiDiscrete or MultiBinary actions"),
        (PPOConfig(use_sde=True), d5, d5, "use_sde",
         "PPOConfig.use_sde: gSDE needs Box actions, the env has Discrete(5)"),
        (PPOConfig(policy="MultiInputPolicy"), d5, d5, "policy",
         "PPOConfig.policy: MultiInputPolicy needs dict observations, got Discrete(5)"),
        (PPOConfig(), spaces.Dict({"a": d5}), d5, "policy",
         "PPOConfig.policy: dict observations need MultiInputPolicy"),
        (PPOConfig(policy="CnnPolicy"), d5, d5, "policy", "PPOConfig.policy: CnnPolicy needs image observations "
         "(uint8 HxWxC), got Discrete(5) (add a pixel env_wrapper, e.g. rlsuite.envs.wrappers.PixelObservation)"),
        (PPOConfig(policy="CnnPolicy"), _image(35, 40, 3), d5, "policy",
         "PPOConfig.policy: CnnPolicy's NatureCNN needs images of at least 36x36 pixels, got (35, 40, 3)"),
        (PPOConfig(policy="CnnPolicy"), _image(3, 40, 35), d5, "policy",
         "PPOConfig.policy: CnnPolicy's NatureCNN needs images of at least 36x36 pixels, got (3, 40, 35)"),
    ]  # fmt: skip


def _image(*shape: int):
    from gymnasium import spaces

    return spaces.Box(0, 255, shape, np.uint8)


@pytest.mark.parametrize("index", range(9), ids=["dqn-box", "ars-multidiscrete", "ppo-tuple", "sde-discrete",
                                                  "multiinput-flat", "dict-mlp", "cnn-index", "cnn-small-hwc",
                                                  "cnn-small-chw"])  # fmt: skip
def test_check_spaces_refuses_with_one_exact_line(index):
    config, observation_space, action_space, field, message = _space_cases()[index]
    with pytest.raises(ConfigError) as info:
        sb3.check_spaces(config, observation_space, action_space)
    assert (str(info.value), info.value.field) == (message, field)


def test_check_spaces_takes_images_of_36_pixels_either_way_round_and_other_extractors():
    from gymnasium import spaces

    d5 = spaces.Discrete(5)
    for shape in ((36, 36, 3), (4, 36, 36), (36, 40, 1), (36, 36, 4), (2, 36, 36)):  # any channel count first
        sb3.check_spaces(PPOConfig(policy="CnnPolicy"), _image(*shape), d5)
    sb3.check_spaces(PPOConfig(policy="MultiInputPolicy"), spaces.Dict({"a": d5}), d5)
    small = PPOConfig(policy="CnnPolicy", policy_kwargs={"features_extractor_class": "FlattenExtractor"})
    sb3.check_spaces(small, _image(8, 8, 3), d5)
    sb3.check_spaces(ARSConfig(), d5, spaces.Box(-1.0, 1.0, (2,), np.float32))
    sb3.check_spaces(MaskablePPOConfig(), d5, d5)


# ----- plans of the other algorithms -----
@pytest.mark.parametrize(
    ("config", "budget", "expected"),
    [(ARSConfig(n_envs=2, eval_freq=1000, checkpoint_freq=0), 5000, (None, None, 0, 500, 0)),
     (ARSConfig(n_envs=4, eval_freq=3), 5000, (None, None, 0, 1, 2500)),
     (DQNConfig(n_envs=2, train_freq=2, train_freq_unit="episode"), 1000, (1, None, 450, 5000, 5000)),
     (DQNConfig(n_envs=8, eval_freq=4, learning_starts=0), 80, (1, None, 3, 1, 1250)),
     (DQNConfig(n_envs=3, eval_freq=1000, checkpoint_freq=0), 1000, (1, None, 75, 333, 0)),
     (PPOConfig(n_envs=3, n_steps=64, eval_freq=1000), 1000, (64, 192, 6, 320, 64 * 52))],
    ids=["ars", "ars-often", "dqn-episodes", "dqn-often", "dqn-3", "ppo-3"],
)  # fmt: skip
def test_plan_of_ars_and_dqn(config, budget, expected):
    plan = plan_run(config, budget, quiet=True)
    got = (plan.n_steps, plan.rollout, plan.updates, plan.eval_every, plan.checkpoint_every)
    assert got == expected and all(x is None or type(x) is int for x in got)  # calls are whole vector steps


def test_five_updates_are_enough():
    assert plan_run(PPOConfig(n_steps=64), 320, quiet=True).warnings == []
    assert len(plan_run(PPOConfig(n_steps=64), 256, quiet=True).warnings) == 1


def test_few_dqn_updates_are_logged_unless_quiet(caplog):
    caplog.set_level(logging.WARNING, logger="rlsuite")
    config = DQNConfig(n_envs=2, learning_starts=100)  # 8 env steps per update
    assert plan_run(config, 132, quiet=True).warnings == ["a budget of 132 env steps allows only 4 DQN update(s)"]
    assert caplog.messages == []
    assert plan_run(config, 133).warnings == [] and plan_run(config, 140).updates == 5
    assert plan_run(config, 100).updates == 0
    assert caplog.messages == ["a budget of 100 env steps ends before learning_starts=100: DQN would never train"]
    assert plan_run(DQNConfig(train_freq=1, learning_starts=0), 10, quiet=True).updates == 10  # one per env step


# ----- evaluation against the exact optimum -----
def test_evaluation_of_a_policy_that_always_goes_left_against_the_exact_optimum():
    """On the one-row grid (gamma 0.99) "left" never reaches the target and bumps the wall (-1) from cell 0 on:
    v_pi(s) = -gamma^s / (1 - gamma), v*(s) = gamma^(3 - s), only the target's action is optimal. The episodes
    start where seed 8's resets put them (cells 1, 0, 3) and last the 100-step limit: returns -(100 - start)."""
    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    model = _fixed_logits(sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu"),
                          [0.0, 0.0, 0.0, 1.0, 0.0])  # fmt: skip
    report = sb3.evaluate_run(model, EPISODIC, ROW, config, episodes=3, seed=8, episode_details=True)
    g = 0.99
    v_star, v_pi = np.array([g**3, g**2, g, 1.0]), -(g ** np.arange(4)) / (1 - g)
    returns = [-99.0, -100.0, -97.0]
    assert report == {
        "episodes": 3, "return_mean": pytest.approx(np.mean(returns), rel=1e-12),
        "return_std": pytest.approx(np.std(returns), rel=1e-12), "length_mean": 100.0,
        "returns": returns, "lengths": [100, 100, 100],
        "optimum": {"gamma": g, "max_value_gap": pytest.approx(np.max(v_star - v_pi), rel=1e-12),
                    "optimal_action_fraction": 0.2, "v_star_start": pytest.approx(v_star.mean(), rel=1e-12),
                    "v_pi_start": pytest.approx(v_pi.mean(), rel=1e-12),
                    "value_gap_start": pytest.approx(v_star.mean() - v_pi.mean(), rel=1e-12),
                    "optimal_return_mean": 1.0},
    }  # fmt: skip
    assert "returns" not in sb3.evaluate_run(model, EPISODIC, ROW, config, episodes=1, seed=8)


def test_the_gap_at_the_start_on_an_mdp_with_random_starts():
    """S&B's 4x4 grid (example 4.1: -1 a step, terminal corners 0 and 15, off-grid moves stay) starts in any of
    its 14 other cells. Always "up": from row 0 the agent bumps forever (-1 / (1 - g)), from column 0 it walks to
    corner 0 in r steps, elsewhere it reaches row 0 and bumps. The optimum walks to the nearest corner in d steps;
    "up" is optimal where it shortens that walk. The values at the start are the means over the 14 cells."""
    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    env_id = "rlsuite/SBGridWorld4x4-v0"
    model = _fixed_logits(sb3.build_model(config, sb3.make_train_env(env_id, None, config, 0), 0, "cpu"),
                          [1.0, 0.0, 0.0, 0.0])  # fmt: skip
    g = 0.99
    cells = [(r, c) for r in range(4) for c in range(4)]
    d = np.array([min(r + c, 6 - r - c) for r, c in cells])
    v_star = -(1 - g**d) / (1 - g)
    v_pi = np.array([-(1 - g**r) / (1 - g) if c == 0 else -1 / (1 - g) for r, c in cells])
    v_pi[15] = 0.0
    up_optimal = [d[s] == 0 or (r > 0 and d[s - 4] == d[s] - 1) for s, (r, _) in enumerate(cells)]
    live = d > 0
    gap = sb3.optimality_gap(model, env_id, None, config, 2, 0)
    expected = {"gamma": g, "max_value_gap": np.max(v_star - v_pi), "optimal_action_fraction": np.mean(up_optimal),
                "v_star_start": v_star[live].mean(), "v_pi_start": v_pi[live].mean(),
                "value_gap_start": v_star[live].mean() - v_pi[live].mean()}  # fmt: skip
    assert gap.keys() == expected.keys() | {"optimal_return_mean"}
    for key, value in expected.items():
        assert gap[key] == pytest.approx(value, rel=1e-9), key


def test_evaluation_episodes_of_an_env_without_a_time_limit_end_at_the_cap(caplog: pytest.LogCaptureFixture):
    """CliffWalking-v1 registers no time limit: a greedy policy walking into the left wall from the start (-1 a
    step) would never end an evaluation. It is cut at EVAL_MAX_EPISODE_STEPS, said once per env id; training
    envs keep the env as registered, and an env with its own limit keeps it."""
    import gymnasium as gym

    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    sb3._say_episodes_are_cut.cache_clear()
    with caplog.at_level(logging.WARNING, logger=sb3.log.name):
        capped = sb3.make_env("CliffWalking-v1", None, config, evaluation=True)
        sb3.make_env("CliffWalking-v1", None, config, evaluation=True)
    assert isinstance(capped, gym.wrappers.TimeLimit) and capped.spec.max_episode_steps == 10_000
    assert sb3.EVAL_MAX_EPISODE_STEPS == 10_000
    assert caplog.messages == ["CliffWalking-v1 has no time limit: evaluation episodes end after 10000 steps"]
    assert sb3.make_env("CliffWalking-v1", None, config).spec.max_episode_steps is None
    assert sb3.make_env("FrozenLake-v1", None, config, evaluation=True).spec.max_episode_steps == 100
    model = _fixed_logits(sb3.build_model(config, sb3.make_train_env("CliffWalking-v1", None, config, 0), 0, "cpu"),
                          [0.0, 0.0, 0.0, 1.0])  # fmt: skip
    report = sb3.evaluate_run(model, "CliffWalking-v1", None, config, episodes=1, seed=0, episode_details=True)
    assert (report["returns"], report["lengths"]) == ([-10_000.0], [10_000])
    assert report["optimum"]["optimal_return_mean"] == -13.0  # the optimum ends its episode: 13 steps


def test_the_optimal_return_is_over_the_evaluations_own_starts_and_number_of_episodes():
    """With a cost of 1 per step the optimal return depends on the start: 1 - (3 - s) from cell s. Seed 8 starts
    three episodes in cells 1, 0 and 3: a mean of -2/3 (ten episodes: -1/2), and SB3's warning about an env
    without a Monitor is not asked for."""
    import warnings

    row = {**ROW, "r_other": -1.0}
    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    model = sb3.build_model(config, sb3.make_train_env(EPISODIC, row, config, 0), 0, "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sb3.optimality_gap(model, EPISODIC, row, config, 3, 8)["optimal_return_mean"] == pytest.approx(-2 / 3)
    assert sb3.optimality_gap(model, EPISODIC, row, config, 10, 8)["optimal_return_mean"] == -0.5


# ----- the evaluation history and the logs of a resumed run -----
def _report(mean: float, **optimum: float) -> dict:
    return {"returns": [mean, mean], "lengths": [3, 4], "return_mean": mean, "return_std": 0.0, "optimum": optimum}


def test_eval_history_marks_only_a_strictly_better_mean_as_best(tmp_path):
    history = sb3.EvalHistory()
    assert history.best == -np.inf
    assert [history.add(s, _report(m)) for s, m in [(10, -1.0), (20, 2.0), (30, 2.0), (40, 1.0)]] == [
        True, True, False, False]  # fmt: skip
    assert history.best == 2.0
    history.add(50, _report(0.5, value_gap_start=0.25, gamma=0.9, optimal_action_fraction=0.5, max_value_gap=0.75))
    assert history.rows[-1] == {"step": 50.0, "return_mean": 0.5, "return_std": 0.0, "value_gap_start": 0.25,
                                "max_value_gap": 0.75, "optimal_action_fraction": 0.5}  # fmt: skip
    history.write(tmp_path)
    back = sb3.EvalHistory.read(tmp_path)
    assert (back.timesteps, back.lengths, back.results[1], back.rows) == (
        [10, 20, 30, 40, 50], [[3, 4]] * 5, [2.0, 2.0], history.rows)  # fmt: skip
    with np.load(tmp_path / "eval" / "evaluations.npz") as data:
        assert (data["timesteps"].dtype, data["results"].dtype, data["ep_lengths"].dtype) == (
            np.int64, np.float64, np.int64)  # fmt: skip
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert header == "step,return_mean,return_std,value_gap_start,max_value_gap,optimal_action_fraction"


def test_an_empty_eval_history_is_written_in_sb3s_dtypes_too(tmp_path):
    sb3.EvalHistory().write(tmp_path)
    with np.load(tmp_path / "eval" / "evaluations.npz") as data:
        assert [(data[k].dtype, data[k].shape) for k in ("timesteps", "results", "ep_lengths")] == [
            (np.int64, (0,)), (np.float64, (0,)), (np.int64, (0,))]  # fmt: skip


def test_an_unreadable_evaluation_history_starts_again(tmp_path, caplog):
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "evaluations.npz").write_bytes(b"not an npz")
    _metrics(tmp_path, [{"step": "128", "return_mean": "1.0"}])
    caplog.set_level(logging.WARNING, logger="rlsuite.agents.sb3")
    history = sb3.EvalHistory.read(tmp_path)
    assert history == sb3.EvalHistory()
    assert caplog.messages == [f"{tmp_path / 'eval' / 'evaluations.npz'} is unreadable: the evaluation history "
                               "starts again"]  # fmt: skip


def test_progress_csv_continues_under_its_header(tmp_path):
    path = tmp_path / "progress.csv"
    path.write_text("a,b\n1,2\n")  # an earlier part's file: its columns, in its order
    for values in ({"b": 4, "a": 3}, {"a": 5, "b": 6}):
        out = sb3._resumable_csv(path)
        out.write(values, {k: None for k in values})
        out.close()
    assert path.read_text() == "a,b\n1,2\n3,4\n5,6\n"
    path.write_text("")
    out = sb3._resumable_csv(path)
    out.write({"a": 7}, {"a": None})
    out.close()
    assert path.read_text() == "a\n7\n"


@pytest.mark.parametrize(
    ("earlier", "keys", "at"),
    [("a,bX\n1,2\n", ["a", "bX"], 9),  # the header's keys to the letter (only its line break goes); written on at
     ("a,b \n1,2\n", ["a", "b "], 9),  # the end
     ("\n", [], 1)],  # a first line without keys: none, and the file is continued, not truncated
)  # fmt: skip
def test_progress_csv_reads_its_header_to_the_letter(tmp_path, earlier, keys, at):
    path = tmp_path / "progress.csv"
    path.write_text(earlier)
    out = sb3._resumable_csv(path)
    assert (out.keys, out.file.tell()) == (keys, at)
    out.close()


def test_progress_csv_pads_earlier_rows_for_a_new_column_and_quotes_text(tmp_path):
    path = tmp_path / "progress.csv"
    path.write_text("a\n1\n")
    out = sb3._resumable_csv(path)
    out.write({"a": 2, "b": 'say "hi", twice'}, {"a": None, "b": None})
    out.close()
    assert path.read_text() == 'a,b\n1,\n2,"say ""hi"", twice"\n'


def test_sb3_tables_go_to_the_log_only_when_asked(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="rlsuite.agents.sb3")
    for verbose in (0, 1):
        (tmp_path / str(verbose)).mkdir()
        logger = sb3._logger(tmp_path / str(verbose), verbose)
        assert logger.get_dir() == str(tmp_path / str(verbose))
        logger.record("train/loss", 0.5)
        logger.dump(8)
        logger.close()
        assert (tmp_path / str(verbose) / "progress.csv").read_text() == "train/loss\n0.5\n"
        assert list((tmp_path / str(verbose) / "tb").glob("events.out.tfevents.*"))
    line = "-" * 22
    assert caplog.messages == [line, "| train/  |          |", "|    loss | 0.5      |", line]  # from verbose 1 only


# ----- building envs and models from the config -----
def test_train_envs_of_each_kind():
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    from rlsuite.agents.sb3_vecenv import BatchedVecEnv

    config = PPOConfig(n_envs=3, env_wrapper=ONE_HOT)
    venv = sb3.make_train_env(EPISODIC, ROW, config, seed=0)
    assert isinstance(venv, DummyVecEnv) and venv.num_envs == 3 and venv.observation_space.shape == (5,)
    batched = sb3.make_train_env(EPISODIC, ROW, PPOConfig(n_envs=4, vec_env="batched", env_wrapper=ONE_HOT), seed=0)
    assert isinstance(batched, VecMonitor) and isinstance(batched.venv, BatchedVecEnv) and batched.num_envs == 4
    assert batched.observation_space.shape == (5,) and batched.reset().shape == (4, 5)
    for config, message in [
        (MaskablePPOConfig(vec_env="batched"),
         "MaskablePPOConfig.vec_env: batched: MaskablePPO's action masks need the dummy vec env"),
        (PPOConfig(vec_env="batched"),
         "PPOConfig.vec_env: batched: FrozenLake-v1 has no vector entry point (use dummy)"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError) as info:
            sb3.make_train_env("FrozenLake-v1" if "PPOConfig." in message else EPISODIC, None, config, seed=0)
        assert (str(info.value), info.value.field) == (message, "vec_env")


def test_the_wrappers_of_a_config_in_order():
    from rlsuite.envs.wrappers import OneHotObservation, ValidActionMask

    assert sb3.wrapper_fn(PPOConfig()) is None
    env = sb3.make_env(EPISODIC, ROW, MaskablePPOConfig(action_mask="boundary", env_wrapper=ONE_HOT), "rgb_array")
    assert isinstance(env, ValidActionMask) and isinstance(env.env, OneHotObservation)  # the mask outermost
    obs, _ = env.reset(seed=0)  # cell 3 of the row: up, down off the grid
    assert obs.tolist() == [0, 0, 0, 1, 0] and env.action_masks().tolist() == [False, True, False, True, True]
    assert env.render_mode == "rgb_array" and env.unwrapped.n_cols == 5
    kwargs = {"grid_map": ["....T"]}
    sb3.make_env(EPISODIC, kwargs, PPOConfig(), "ansi")
    assert kwargs == {"grid_map": ["....T"]}  # the caller's dict is not changed


def test_build_model_uses_the_plan_and_ars_keeps_the_config_s_gamma():
    config = PPOConfig(n_envs=4, batch_size=8)
    model = sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu")
    assert (model.n_steps, model.n_envs, model.seed) == (512, 4, 0)  # SB3's 2048 per update split over 4 envs
    ars = ARSConfig(gamma=0.5, n_delta=2)
    assert sb3.build_model(ars, sb3.make_train_env(EPISODIC, ROW, ars, 0), 0, "cpu").gamma == 0.5


def test_unknown_policy_kwargs_name_the_policy_and_what_it_knows():
    from stable_baselines3.common.policies import ActorCriticPolicy

    config = PPOConfig(policy_kwargs={"net_arch": [4], "dropout": 0.5})
    with pytest.raises(ConfigError) as info:
        sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu")
    known = sorted(set(inspect.signature(ActorCriticPolicy.__init__).parameters)
                   - {"self", "observation_space", "action_space", "lr_schedule"})  # fmt: skip
    assert "net_arch" in known and "ortho_init" in known
    assert str(info.value) == (f"PPOConfig.policy_kwargs: unknown key 'dropout' for ActorCriticPolicy (known: "
                               f"{', '.join(known)})")  # fmt: skip


# ----- learn: progress, checkpoints, the final policy -----
class Updates(RecordingReporter):
    """Records each progress update's step count."""

    def update(self, completed=None, total=None, **info):
        self.advances.append(completed)


def test_learn_reports_progress_every_step_of_a_small_budget_and_saves_the_end(tmp_path):
    """A budget of 7 with A2C's rollouts of 5: training runs 10 steps; progress is reported at every step (a
    budget under 400 steps) up to the budget, the last checkpoint and model/ hold step 10."""
    config = A2CConfig(eval_freq=0, checkpoint_freq=0, policy_kwargs={"net_arch": [4]})
    model = sb3.build_model(config, sb3.make_train_env("rlsuite/GridWorld-v0", None, config, 0), 0, "cpu")
    with reporting_to(Updates()) as reporter:
        steps = sb3.learn(model, config, "rlsuite/GridWorld-v0", None, tmp_path, budget=7, seed=0)
    assert (steps, reporter.started, reporter.stopped) == (10, [("a2c on rlsuite/GridWorld-v0", 7, "step")], 1)
    assert reporter.advances == [1, 2, 3, 4, 5, 6, 7, 7, 7, 7]
    assert [s for s, _ in sb3_io.checkpoints(tmp_path)] == [10]
    assert sb3_io.read_meta(tmp_path / "model")["num_timesteps"] == 10
    assert not (tmp_path / "eval").exists()


def test_learn_reports_progress_every_budget_over_200_steps(tmp_path):
    """A budget of 1001: progress every 1001 // 200 = 5 steps (not every 5.005, not every 1001 // 201 = 4)."""
    config = A2CConfig(eval_freq=0, checkpoint_freq=0, policy_kwargs={"net_arch": [4]})
    model = sb3.build_model(config, sb3.make_train_env("rlsuite/GridWorld-v0", None, config, 0), 0, "cpu")
    with reporting_to(Updates()) as reporter:
        steps = sb3.learn(model, config, "rlsuite/GridWorld-v0", None, tmp_path, budget=1001, seed=0)
    assert steps == 1005 and reporter.advances == list(range(1, 1002, 5))  # 1, 6, ..., 996, 1001


def test_evaluations_on_an_env_without_an_exact_model_log_no_gap(tmp_path):
    """CartPole has no exact model: the evaluation's report has no "optimum", and its rows no gap columns."""
    config = A2CConfig(eval_freq=10, n_eval_episodes=1, checkpoint_freq=0, progress_bar=False,
                       policy_kwargs={"net_arch": [4]})  # fmt: skip
    model = sb3.build_model(config, sb3.make_train_env("CartPole-v1", None, config, 0), 0, "cpu")
    assert sb3.learn(model, config, "CartPole-v1", None, tmp_path, budget=10, seed=0) == 10
    with open(tmp_path / "progress.csv") as f:
        header = next(csv.reader(f))
    assert {"eval/mean_reward", "eval/mean_ep_length", "time/total_timesteps"} <= set(header)
    assert not [key for key in header if "gap" in key or "optimal" in key]


def test_learn_trains_what_is_left_of_the_budget_and_counts_afresh_unless_resumed(tmp_path):
    """A2C steps 5 at a time. At the budget a resumed part trains nothing (no progress task); one step short, a
    rollout more. Without resume (the default) SB3 counts this part's steps from 0 (reset_num_timesteps)."""
    assert inspect.signature(sb3.learn).parameters["resume"].default is False
    config = A2CConfig(eval_freq=0, checkpoint_freq=0, policy_kwargs={"net_arch": [4]})
    model = sb3.build_model(config, sb3.make_train_env("rlsuite/GridWorld-v0", None, config, 0), 0, "cpu")
    assert sb3.learn(model, config, "rlsuite/GridWorld-v0", None, tmp_path, budget=10, seed=0) == 10
    with reporting_to(Updates()) as reporter:
        assert sb3.learn(model, config, "rlsuite/GridWorld-v0", None, tmp_path, budget=10, seed=0, resume=True) == 10
    assert reporter.started == []
    assert sb3.learn(model, config, "rlsuite/GridWorld-v0", None, tmp_path, budget=11, seed=0, resume=True) == 15
    assert sb3.learn(model, config, "rlsuite/GridWorld-v0", None, tmp_path, budget=20, seed=0) == 5


def test_a_maskable_policy_is_evaluated_with_its_mask(masked_row_model):
    """Unmasked, the policy would bump into the wall ("down"); masked it goes right to the target from the cells
    seed 8's resets start in (1, 0, 3): one reward of 1 each, in 3, 4 and 1 steps."""
    model, config = masked_row_model
    report = sb3.evaluate_run(model, EPISODIC, ROW, config, episodes=3, seed=8, episode_details=True)
    assert (report["returns"], report["lengths"]) == ([1.0, 1.0, 1.0], [3, 4, 1])
    assert sb3.greedy_table(model, EPISODIC, ROW, config)["actions"].tolist() == [1, 1, 1, 1, 3]  # masked too


def test_evaluate_run_compares_with_the_optimum_on_its_own_episodes(masked_row_model, monkeypatch):
    model, config = masked_row_model
    gap = Spy({"gamma": 0.99})
    monkeypatch.setattr(sb3, "optimality_gap", gap)
    assert sb3.evaluate_run(model, EPISODIC, ROW, config, episodes=2, seed=8)["optimum"] == {"gamma": 0.99}
    ((policy, *rest),) = [args for args, kwargs in gap.calls if not kwargs]
    assert isinstance(policy, sb3.MaskedPolicy) and rest == [EPISODIC, ROW, config, 2, 8]  # the masked policy's gap


def test_evaluations_during_learn_reach_the_logs_and_only_a_better_one_replaces_the_best_model(tmp_path):
    """A policy fixed on "left" (a learning rate of 1e-9 moves no greedy action), evaluated at steps 10 and 20 on
    the same seeds: the same returns, so the second is not better; both rows carry the exact gap."""
    config = A2CConfig(eval_freq=10, n_eval_episodes=2, checkpoint_freq=0, learning_rate=1e-9, progress_bar=False,
                       policy_kwargs={"net_arch": [4]})  # fmt: skip
    model = _fixed_logits(sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu"),
                          [0.0, 0.0, 0.0, 1.0, 0.0])  # fmt: skip
    assert sb3.learn(model, config, EPISODIC, ROW, tmp_path, budget=20, seed=0) == 20
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    g = 0.99
    v_star, v_pi = np.array([g**3, g**2, g, 1.0]), -(g ** np.arange(4)) / (1 - g)
    history = sb3.EvalHistory.read(tmp_path)
    assert history.timesteps == [10, 20] and history.results[0] == history.results[1]
    for row, metrics in zip(rows, history.rows, strict=True):
        assert float(row["time/total_timesteps"]) == metrics["step"]
        assert float(row["eval/mean_reward"]) == pytest.approx(metrics["return_mean"], rel=1e-6)
        assert float(row["eval/mean_ep_length"]) == 100.0
        assert float(row["eval/value_gap_start"]) == pytest.approx(v_star.mean() - v_pi.mean(), rel=1e-6)
        assert float(row["eval/max_value_gap"]) == pytest.approx(np.max(v_star - v_pi), rel=1e-6)
        assert float(row["eval/optimal_action_fraction"]) == 0.2
    assert sb3_io.read_meta(tmp_path / "eval" / "best_model")["num_timesteps"] == 10
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()  # the step count is TensorBoard's x axis, not a scalar of its own (SB3's exclude)
    assert "eval/mean_reward" in events.Tags()["scalars"] and "time/total_timesteps" not in events.Tags()["scalars"]
    assert [event.step for event in events.Scalars("eval/mean_reward")] == [10, 20]


@pytest.mark.parametrize(("below", "fraction"), [(1e-6, 1.0), (2e-6, 0.0)])
def test_an_action_within_1e_6_of_the_optimum_counts_as_optimal_at_the_bound(monkeypatch, below, fraction):
    """optimal_action_fraction counts an action whose q* is v* - 1e-6 exactly (ties within float noise), and
    not one further below: every greedy action's q* is put there."""
    real = sb3.greedy_table

    def at_the_bound(*args):
        exact = real(*args)
        states = np.arange(len(exact["v_star"]))
        exact["q_star"] = exact["q_star"].copy()
        exact["q_star"][states, exact["actions"]] = exact["v_star"] - below
        return exact

    monkeypatch.setattr(sb3, "greedy_table", at_the_bound)
    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    model = sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu")
    assert sb3.optimality_gap(model, EPISODIC, ROW, config, 1, 0)["optimal_action_fraction"] == fraction


def test_building_a_model_does_not_warn_about_its_budget(caplog):
    """build_model plans only to size the rollouts: the budget's warnings are the run's to give (once), not the
    model's; the same plan warns when asked."""
    config = DQNConfig(n_timesteps=50, learning_starts=100, policy_kwargs={"net_arch": [4]})
    with caplog.at_level(logging.WARNING, logger="rlsuite"):
        sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, "cpu")
    assert caplog.records == []
    with caplog.at_level(logging.WARNING, logger="rlsuite"):
        plan_run(config, config.n_timesteps)
    assert "ends before learning_starts=100" in caplog.text


@pytest.mark.filterwarnings("ignore:You are trying to run PPO on the GPU")
def test_a_model_is_built_on_the_device_asked_for_not_sb3s_auto():
    """On a machine with a (simulated) GPU, a model asked for on the CPU stays there (SB3's "auto" would pick the
    GPU), and one asked for on the GPU goes there."""
    from cuda_sim import simulate_cuda

    config = PPOConfig(n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    with simulate_cuda():
        for device, kind in (("cpu", "cpu"), ("cuda", "cuda")):
            model = sb3.build_model(config, sb3.make_train_env(EPISODIC, ROW, config, 0), 0, device)
            assert model.device.type == kind and {p.device.type for p in model.policy.parameters()} == {kind}


@pytest.mark.parametrize("vec_env", ["dummy", "batched"])
def test_the_training_envs_start_from_the_seed_given(vec_env):
    """Random starts: the same seed gives the same first observations, another seed others (before any model
    seeds the envs again)."""
    config = PPOConfig(vec_env=vec_env, n_envs=4, n_steps=8, batch_size=8)
    starts = [sb3.make_train_env(GRID, {"start": "random"}, config, s).reset().ravel().tolist() for s in (3, 3, 4)]
    assert starts[0] == starts[1] != starts[2]


def test_the_batched_training_env_holds_its_arrays_on_the_env_device():
    for device, is_torch in (("cpu", False), ("auto", True)):
        config = PPOConfig(vec_env="batched", env_device=device, n_envs=2, n_steps=8, batch_size=8)
        assert sb3.make_train_env(GRID, None, config, 0).venv.venv.unwrapped.backend.is_torch is is_torch


def test_a_channel_first_image_is_measured_by_its_height_and_width():
    """(C, H, W) images: NatureCNN needs H and W of 36 or more, so 3 x 20 x 100 is refused (its height)."""
    from gymnasium import spaces

    config = PPOConfig(policy="CnnPolicy")
    action = spaces.Discrete(2)
    sb3.check_spaces(config, spaces.Box(0, 255, (3, 40, 100), np.uint8), action)
    with pytest.raises(ConfigError, match=r"NatureCNN needs images of at least 36x36 pixels, got \(3, 20, 100\)"):
        sb3.check_spaces(config, spaces.Box(0, 255, (3, 20, 100), np.uint8), action)
