"""Exact checks of rlsuite.agents.sb3_io that mutation testing found unchecked: what a replay buffer's file
may hold before it is loaded, a full buffer coming back full, and the trusted SB3 .zip loader."""

from __future__ import annotations

import json
import logging
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rlsuite.agents import sb3, sb3_io
from rlsuite.agents.sb3_config import A2CConfig, ARSConfig, DQNConfig
from rlsuite.common.errors import ModelFolderError, UnsafeLoadError
from rlsuite.common.memory import human, physical_memory

GRID = "rlsuite/GridWorld-v0"


@pytest.fixture(scope="module")
def dqn():
    """A DQN whose 8-transition buffer has wrapped (3 rollouts of train_freq 4: full, pos 4), and a fresh one."""
    config = DQNConfig(buffer_size=8, learning_starts=100, policy_kwargs={"net_arch": [4]})
    models = [sb3.build_model(config, sb3.make_train_env(GRID, None, config, seed), seed, "cpu") for seed in (0, 1)]
    models[0].learn(10)
    return models


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def _claiming(path: Path, shape: tuple[int, ...]) -> Path:
    """An npz whose one member's header claims ``shape`` float64, with no data behind it."""
    with zipfile.ZipFile(path, "w") as archive, archive.open("observations.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return path


def test_a_full_replay_buffer_comes_back_full(tmp_path, dqn):
    model, fresh = dqn
    assert (model.num_timesteps, model.replay_buffer.pos, model.replay_buffer.full) == (12, 4, True)
    sb3_io.save_replay_buffer(model.replay_buffer, tmp_path / "rb.npz")
    names = ["observations", "next_observations", "actions", "rewards", "dones", "timeouts"]
    with np.load(tmp_path / "rb.npz", allow_pickle=False) as data:
        assert sorted(data.files) == sorted([*names, "pos", "full"])
        assert {name: len(data[name]) for name in names} == dict.fromkeys(names, 8)  # every row of a full buffer
    sb3_io.load_replay_buffer(fresh.replay_buffer, tmp_path / "rb.npz")
    assert (fresh.replay_buffer.pos, fresh.replay_buffer.full) == (4, True)
    for name in names:
        np.testing.assert_array_equal(getattr(fresh.replay_buffer, name), getattr(model.replay_buffer, name))


@pytest.mark.parametrize(
    ("arrays", "problem"),
    [({"observations": np.zeros((3, 1, 2))}, "observations does not fit this replay buffer ((3, 1, 2) vs (8, 1, 1))"),
     ({"observations": np.zeros((9, 1, 1))}, "observations does not fit this replay buffer ((9, 1, 1) vs (8, 1, 1))"),
     ({"foo": np.zeros(3)}, "foo does not fit this replay buffer ((3,) vs None)"),
     ({}, None)],
    ids=["other shape", "more rows", "unknown array", "no arrays"],
)  # fmt: skip
def test_a_replay_buffer_file_must_fit_the_buffer(tmp_path, dqn, arrays, problem):
    path = _npz(tmp_path / "rb.npz", pos=np.int64(0), full=np.bool_(False), **arrays)
    buffer = dqn[1].replay_buffer
    sb3_io.check_replay_buffer(path)  # without a buffer only the headers' own sense is checked
    if problem is None:
        sb3_io.check_replay_buffer(path, buffer)
        return
    with pytest.raises(ModelFolderError) as info:
        sb3_io.load_replay_buffer(buffer, path)
    assert str(info.value) == f"{path}: {problem}"


def test_a_replay_buffer_file_needs_pos_and_full_only_for_a_buffer(tmp_path, dqn):
    path = _npz(tmp_path / "rb.npz", observations=np.zeros((3, 1, 1)))
    sb3_io.check_replay_buffer(path)  # as is_valid reads it: arrays that could be loaded
    with pytest.raises(ModelFolderError) as info:
        sb3_io.check_replay_buffer(path, dqn[1].replay_buffer)
    assert str(info.value) == f"{path}: not a replay buffer saved by rlsuite (no pos or full)"


def test_a_replay_buffer_file_that_is_not_an_archive_is_named(tmp_path):
    path = tmp_path / "rb.npz"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ModelFolderError) as info:
        sb3_io.check_replay_buffer(path)
    assert str(info.value) == f"{path}: not a readable npz archive (File is not a zip file); truncated or corrupt?"


@pytest.mark.parametrize("elements", [lambda memory: (2**32, 2**32), lambda memory: (memory // 4,)],
                         ids=["2^64 elements", "twice the memory in bytes"])  # fmt: skip
def test_a_header_claiming_more_than_the_memory_is_refused(tmp_path, elements):
    """Counted in bytes (8 per float64), without int64 overflow (2^64 elements would wrap to 0)."""
    total = physical_memory()
    if total is None:
        pytest.skip("this machine does not say its memory")
    shape = elements(total)
    path = _claiming(tmp_path / "rb.npz", shape)
    with pytest.raises(ModelFolderError) as info:
        sb3_io.check_replay_buffer(path)
    claimed = int(np.prod(shape, dtype=object)) * 8
    assert str(info.value) == f"{path}: its arrays claim {human(claimed)}, more than this machine's memory"


def _built(config, seed: int):
    return sb3.build_model(config, sb3.make_train_env(GRID, None, config, seed), seed, "cpu")


def test_ars_restore_sets_the_search_point_to_the_checkpoint(tmp_path):
    """Without zero_policy a fresh ARS's parameters are not views into its search point (``weights``): the
    restore must set that too, or the search would go on around the fresh model's random start."""
    config = ARSConfig(zero_policy=False, n_delta=2, policy_kwargs={"net_arch": []})
    saved, fresh = _built(config, 0), _built(config, 1)
    folder = sb3.save_checkpoint(saved, config, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["policy.json", "policy.safetensors"]  # ARS: no optimiser
    assert not torch.equal(fresh.weights, saved.weights)
    sb3_io.restore(fresh, folder)
    torch.testing.assert_close(fresh.weights, saved.weights, rtol=0, atol=0)
    torch.testing.assert_close(fresh.weights, torch.nn.utils.parameters_to_vector(fresh.policy.parameters()))


@pytest.mark.parametrize(
    "config", [ARSConfig(n_delta=2, policy_kwargs={"net_arch": []}), A2CConfig(policy_kwargs={"net_arch": [4]})],
    ids=["ars", "a2c"],
)  # fmt: skip
def test_a_checkpoint_missing_a_tensor_is_not_half_restored(tmp_path, config):
    from safetensors.torch import load_file, save_file

    folder = sb3.save_checkpoint(_built(config, 0), config, tmp_path)
    tensors = load_file(str(folder / sb3_io.POLICY_WEIGHTS))
    dropped = sorted(tensors)[-1]
    save_file({k: v for k, v in tensors.items() if k != dropped}, str(folder / sb3_io.POLICY_WEIGHTS))
    with pytest.raises(RuntimeError, match=f"Missing key\\(s\\).*{re.escape(dropped)}"):
        sb3_io.restore(_built(config, 1), folder)


@pytest.fixture(scope="module")
def sb3_zip(tmp_path_factory) -> Path:
    import stable_baselines3

    path = tmp_path_factory.mktemp("zip") / "model.zip"
    model = stable_baselines3.A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    model.save(path)
    return path


def test_an_sb3_zip_is_refused_with_the_hint_unless_trusted(sb3_zip, caplog):
    with pytest.raises(UnsafeLoadError) as info:
        sb3_io.load_pickled_zip(sb3_zip, "a2c", "cpu", trust_pickle=False)
    assert str(info.value) == f"{sb3_zip}: {sb3_io.PICKLE_HINT}"
    caplog.set_level(logging.WARNING, logger="rlsuite.agents.sb3_io")
    model = sb3_io.load_pickled_zip(sb3_zip, "a2c", "cpu", trust_pickle=True)
    assert [r.getMessage() for r in caplog.records] == [
        f"{sb3_zip}: unpickling an SB3 .zip because --trust_pickle was given"
    ]
    assert type(model).__name__ == "A2C" and model.n_steps == 4


def test_an_sb3_zip_loads_on_the_device_asked_for(sb3_zip):
    """On a machine with CUDA, asking for the CPU gives the CPU (SB3's own default would be the GPU)."""
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        assert torch.cuda.is_available()
        model = sb3_io.load_pickled_zip(sb3_zip, "a2c", "cpu", trust_pickle=True)
        assert model.device == torch.device("cpu")
        assert all(not p.is_cuda for p in model.policy.parameters())


# ----- spaces and policy.json as data -----
def _spaces():
    from gymnasium import spaces

    return [
        (spaces.Discrete(3, start=1), {"type": "Discrete", "n": 3, "start": 1}),
        (spaces.Box(-1.0, 2.0, (2, 3), np.float32),
         {"type": "Box", "low": -1.0, "high": 2.0, "shape": [2, 3], "dtype": "float32"}),
        (spaces.Box(np.array([0, 1]), np.array([1, 3]), dtype=np.int64),
         {"type": "Box", "low": [0, 1], "high": [1, 3], "shape": [2], "dtype": "int64"}),
        (spaces.Box(0.5, 2.0, (1,), np.float64),
         {"type": "Box", "low": 0.5, "high": 2.0, "shape": [1], "dtype": "float64"}),
        (spaces.MultiDiscrete([3, 4]), {"type": "MultiDiscrete", "nvec": [3, 4]}),
        (spaces.MultiBinary([2, 3]), {"type": "MultiBinary", "n": [2, 3]}),
        (spaces.Dict({"a": spaces.Discrete(2), "b": spaces.MultiBinary(4)}),
         {"type": "Dict", "spaces": {"a": {"type": "Discrete", "n": 2, "start": 0},
                                     "b": {"type": "MultiBinary", "n": 4}}}),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(7), ids=["discrete", "box", "box-bounds", "box-one", "multidiscrete",
                                                  "multibinary", "dict"])  # fmt: skip
def test_spaces_round_trip_through_json(index):
    space, data = _spaces()[index]
    assert sb3_io.space_to_json(space) == data
    back = sb3_io.space_from_json(json.loads(json.dumps(data)))
    assert back == space and type(back) is type(space)
    if hasattr(space, "dtype") and space.dtype is not None:
        assert back.dtype == space.dtype


def test_spaces_that_are_not_data_are_refused():
    from gymnasium import spaces

    with pytest.raises(ValueError, match=r"^cannot save a policy for a Tuple space$"):
        sb3_io.space_to_json(spaces.Tuple([spaces.Discrete(2)]))
    with pytest.raises(ValueError, match=r"^unknown space type 'Tuple'$"):
        sb3_io.space_from_json({"type": "Tuple"})
    box = {"type": "Box", "low": 0, "high": 1, "shape": [2], "dtype": "object"}
    with pytest.raises(ValueError, match=r"^unknown dtype 'object'$"):
        sb3_io.space_from_json(box)
    assert sb3_io.space_from_json({"type": "Discrete", "n": 4}) == spaces.Discrete(4)  # start 0 by default


@pytest.mark.parametrize(
    ("text", "problem"),
    [("[]", "not an rlsuite SB3 policy (format 'rlsuite-sb3-policy' expected)"),
     ('{"format": "other"}', "not an rlsuite SB3 policy (format 'rlsuite-sb3-policy' expected)"),
     ('{"format": "rlsuite-sb3-policy", "algo": "sac"}',
      "unknown algorithm 'sac' (known: ppo, a2c, dqn, qrdqn, trpo, maskable_ppo, recurrent_ppo, ars)"),
     ('{"format": "rlsuite-sb3-policy", "algo": "ppo", "policy": "LstmPolicy"}',
      "policy 'LstmPolicy' is not one of MlpPolicy, CnnPolicy, MultiInputPolicy")],
    ids=["a list", "another format", "unknown algorithm", "unknown policy"],
)  # fmt: skip
def test_policy_json_is_checked_naming_the_file(tmp_path, text, problem):
    (tmp_path / "policy.json").write_text(text)
    with pytest.raises(ModelFolderError) as info:
        sb3_io.read_meta(tmp_path)
    assert str(info.value) == f"{tmp_path / 'policy.json'}: {problem}"
    assert not sb3_io.is_valid(tmp_path)


@pytest.mark.parametrize(("data", "problem"), [(b"{", "Expecting property name enclosed in double quotes: line 1"),
                                               (b"\xff", "'utf-8' codec can't decode byte 0xff")])
def test_a_policy_json_that_is_not_json_is_named_in_one_line(tmp_path, data, problem):
    (tmp_path / "policy.json").write_bytes(data)
    with pytest.raises(ModelFolderError) as info:
        sb3_io.read_meta(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'policy.json'}: not valid JSON ({problem}")


def test_policy_meta_of_an_on_policy_model_has_no_calls_to_count():
    """PPO has no ``_n_calls`` (the off-policy algorithms' train-frequency counter): 0 is saved."""
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", GRID, n_steps=8, batch_size=8, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    assert not hasattr(model, "_n_calls")
    assert sb3_io.policy_meta(model, "ppo", "MlpPolicy", {"net_arch": [4]})["n_calls"] == 0


def test_a_folder_without_policy_json_says_what_it_is_not(tmp_path):
    with pytest.raises(ModelFolderError) as info:
        sb3_io.read_meta(tmp_path)
    assert str(info.value) == f"{tmp_path}: no policy.json (not a saved rlsuite SB3 policy)"


# ----- finding checkpoints -----
def test_checkpoints_are_step_folders_in_step_order_and_only_the_newest_keep_buffers(tmp_path, dqn):
    config = DQNConfig(buffer_size=8, learning_starts=100, policy_kwargs={"net_arch": [4]})
    model = dqn[0]
    for steps in (9, 10, 100):
        model.num_timesteps = steps
        sb3.save_checkpoint(model, config, tmp_path)
    model.num_timesteps = 12
    root = tmp_path / "checkpoints"
    (root / "step_5x").mkdir()
    (root / "step_7").write_text("a file, not a folder")
    (root / "Step_8").mkdir()
    assert sb3_io.checkpoints(tmp_path) == [(9, root / "step_9"), (10, root / "step_10"), (100, root / "step_100")]
    assert [(root / f"step_{s}" / "replay_buffer.npz").is_file() for s in (9, 10, 100)] == [False, True, True]
    sb3_io.prune_replay_buffers(tmp_path, keep=1)
    assert [(root / f"step_{s}" / "replay_buffer.npz").is_file() for s in (9, 10, 100)] == [False, False, True]
    (root / "step_100" / "optimizer.json").write_text('{"param_groups": []}')  # no scalars: not an optimiser state
    assert sb3_io.newest_checkpoint(tmp_path) == ((10, root / "step_10"), [root / "step_100"])
    with pytest.raises(ModelFolderError) as info:
        sb3_io.read_optimizer_json(root / "step_100")
    problem = "not an optimiser state (needs param_groups and scalars)"
    assert str(info.value) == f"{root / 'step_100' / 'optimizer.json'}: {problem}"


def test_is_valid_needs_every_file_a_checkpoint_names(tmp_path, dqn):
    config = DQNConfig(buffer_size=8, learning_starts=100, policy_kwargs={"net_arch": [4]})
    folder = sb3.save_checkpoint(dqn[0], config, tmp_path)
    assert folder == tmp_path / "checkpoints" / "step_12" and sb3_io.is_valid(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["optimizer.json", "optimizer.safetensors", "policy.json",
                                                        "policy.safetensors", "replay_buffer.npz"]  # fmt: skip
    text = (folder / "policy.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"  # readable, one key a line
    buffer = (folder / "replay_buffer.npz").read_bytes()
    (folder / "replay_buffer.npz").write_bytes(buffer[: len(buffer) // 2])
    assert not sb3_io.is_valid(folder)
    (folder / "replay_buffer.npz").unlink()
    assert sb3_io.is_valid(folder)  # a checkpoint without a buffer is whole (older ones are pruned)
    (folder / "optimizer.safetensors").unlink()
    assert not sb3_io.is_valid(folder)  # optimizer.json without its tensors
    (folder / "optimizer.json").unlink()
    assert sb3_io.is_valid(folder)
    (folder / "policy.json").write_text("{")
    assert not sb3_io.is_valid(folder)


def test_optimizer_state_with_scalars_round_trips():
    state = {"state": {0: {"step": 3, "exp_avg": torch.ones(2)}, 1: {"momentum_buffer": torch.zeros(1)}},
             "param_groups": [{"lr": 0.1, "params": [0, 1]}]}  # fmt: skip
    tensors, data = sb3_io._flatten_optimizer(state)
    assert sorted(tensors) == ["0.exp_avg", "1.momentum_buffer"]
    assert data == {"param_groups": [{"lr": 0.1, "params": [0, 1]}], "scalars": {"0.step": 3}}
    back = sb3_io._unflatten_optimizer(tensors, json.loads(json.dumps(data)))
    assert back["param_groups"] == state["param_groups"] and back["state"][0]["step"] == 3
    assert torch.equal(back["state"][0]["exp_avg"], torch.ones(2)) and sorted(back["state"]) == [0, 1]


def test_policy_meta_counts_what_a_resume_continues(dqn):
    meta = sb3_io.policy_meta(dqn[0], "dqn", "MlpPolicy", {"net_arch": [4]})
    assert {k: meta[k] for k in ("format", "version", "algo", "policy", "policy_kwargs", "gamma")} == {
        "format": "rlsuite-sb3-policy", "version": 1, "algo": "dqn", "policy": "MlpPolicy",
        "policy_kwargs": {"net_arch": [4]}, "gamma": 0.99}  # fmt: skip
    assert (meta["num_timesteps"], meta["n_updates"], meta["episode_num"], meta["n_calls"]) == (
        dqn[0].num_timesteps, 0, dqn[0]._episode_num, 12)  # fmt: skip
    assert meta["action_space"] == {"type": "Discrete", "n": 5, "start": 0}


# ----- loading a saved policy -----
def test_saved_policy_predicts_greedily_by_default_and_passes_the_state(tmp_path):
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", GRID, n_steps=8, batch_size=8, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    with torch.no_grad():
        model.policy.action_net.weight.zero_()
        model.policy.action_net.bias.copy_(torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0]))  # "right" 41% of samples
    config = sb3.CONFIGS["ppo"](policy_kwargs={"net_arch": [4]})
    sb3.save_policy(model, config, tmp_path / "model")
    saved = sb3_io.load_policy(tmp_path / "model")
    assert not saved.policy.training  # in evaluation mode as loaded (SB3's predict would set it again)
    torch.manual_seed(0)
    actions, state = saved.predict(np.arange(25).repeat(4), state="kept")
    assert actions.tolist() == [1] * 100 and state == "kept"
    assert (saved.algo, saved.gamma, saved.num_timesteps) == ("ppo", 0.99, 0)
    assert not saved.policy.training and {p.device for p in saved.policy.parameters()} == {torch.device("cpu")}


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [(lambda m: {**m, "observation_space": {"type": "Tuple"}},
      "policy.json: cannot rebuild the policy (ValueError: unknown space type 'Tuple')"),
     (lambda m: {k: v for k, v in m.items() if k != "action_space"},
      "policy.json: cannot rebuild the policy (KeyError: 'action_space')"),
     (lambda m: {**m, "policy_kwargs": {"net_arch": "wide"}}, "policy.json: cannot rebuild MlpPolicy (TypeError: ")],
    ids=["space", "missing space", "policy_kwargs"],
)  # fmt: skip
def test_a_policy_json_that_does_not_rebuild_names_the_file(tmp_path, spoil, problem):
    from stable_baselines3 import A2C

    model = A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    sb3.save_policy(model, A2CConfig(policy_kwargs={"net_arch": [4]}), tmp_path / "model")
    path = tmp_path / "model" / "policy.json"
    path.write_text(json.dumps(spoil(json.loads(path.read_text()))))
    with pytest.raises(ModelFolderError) as info:
        sb3_io.load_policy(tmp_path / "model")
    assert str(info.value).startswith(f"{tmp_path / 'model' / problem}")


def test_missing_or_unreadable_weights_name_the_file(tmp_path):
    from stable_baselines3 import A2C

    model = A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    folder = sb3.save_policy(model, A2CConfig(policy_kwargs={"net_arch": [4]}), tmp_path / "model")
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(folder / "policy.safetensors"))
    save_file({k: v for k, v in tensors.items() if k != "action_net.bias"}, str(folder / "policy.safetensors"))
    with pytest.raises(ModelFolderError) as info:  # not half loaded
        sb3_io.load_policy(folder)
    assert str(info.value).startswith(f"{folder / 'policy.safetensors'}: does not match {folder / 'policy.json'} (")
    assert "action_net.bias" in str(info.value)
    (folder / "policy.safetensors").write_bytes(b"\0" * 10)
    with pytest.raises(ModelFolderError) as info:
        sb3_io.load_policy(folder)
    assert str(info.value).startswith(f"{folder / 'policy.safetensors'}: unreadable (")
    (folder / "policy.safetensors").unlink()
    with pytest.raises(ModelFolderError) as info:
        sb3_io.load_policy(folder)
    assert str(info.value) == f"{folder}: no policy.safetensors"


def test_weights_that_do_not_fit_are_named_in_one_line_of_at_most_200_characters(tmp_path):
    """safetensors' error lists every missing key on an indented second line: the message keeps its first 200
    characters, on one line, single-spaced."""
    from safetensors.torch import load_file, load_model, save_file
    from stable_baselines3 import A2C

    model = A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    folder = sb3.save_policy(model, A2CConfig(policy_kwargs={"net_arch": [4]}), tmp_path / "model")
    tensors = load_file(str(folder / "policy.safetensors"))
    save_file({"action_net.bias": tensors["action_net.bias"]}, str(folder / "policy.safetensors"))
    try:
        load_model(model.policy, str(folder / "policy.safetensors"), strict=True)
    except RuntimeError as exc:
        safetensors_says = str(exc)
    assert "\n    " in safetensors_says and len(" ".join(safetensors_says.split())) > 200
    with pytest.raises(ModelFolderError) as info:
        sb3_io.load_policy(folder)
    head = f"{folder / 'policy.safetensors'}: does not match {folder / 'policy.json'} ("
    assert str(info.value) == head + " ".join(safetensors_says.split())[:200] + ")"


def test_a_saved_recurrent_policy_starts_its_state_afresh_where_an_episode_starts(tmp_path):
    """SavedPolicy.predict passes episode_start on: a start resets the LSTM state (the same state as from none),
    no start carries it."""
    from rlsuite.agents.sb3_config import RecurrentPPOConfig

    config = RecurrentPPOConfig(n_envs=1, n_steps=8, batch_size=8, policy_kwargs={"net_arch": [4]})
    model = _built(config, 0)
    saved = sb3_io.load_policy(sb3.save_policy(model, config, tmp_path / "model"))
    obs = model.env.reset()
    _, first = saved.predict(obs, None, np.ones(1, bool))
    _, restarted = saved.predict(obs, first, np.ones(1, bool))
    _, carried = saved.predict(obs, first, np.zeros(1, bool))
    assert all(np.array_equal(a, b) for a, b in zip(restarted, first, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(carried, first, strict=True))


def test_a_saved_policy_is_only_the_policy_unless_a_checkpoint_is_asked_for(tmp_path):
    from stable_baselines3 import A2C

    model = A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    meta = sb3_io.policy_meta(model, "a2c", "MlpPolicy", {"net_arch": [4]})
    assert sorted(p.name for p in sb3_io.save_policy(model, tmp_path / "p", meta).iterdir()) == [
        "policy.json", "policy.safetensors"]  # fmt: skip
    assert {"optimizer.json", "optimizer.safetensors"} <= {
        p.name for p in sb3_io.save_policy(model, tmp_path / "c", meta, checkpoint=True).iterdir()}  # fmt: skip


def test_a_saved_policy_loads_onto_the_device_asked_for(tmp_path):
    """load_policy(device="cuda") gives a policy on the (simulated) GPU, whose predictions match the CPU's."""
    from cuda_sim import simulate_cuda
    from stable_baselines3 import A2C

    model = A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    sb3.save_policy(model, sb3.CONFIGS["a2c"](policy_kwargs={"net_arch": [4]}), tmp_path / "model")
    on_cpu = sb3_io.load_policy(tmp_path / "model").predict(np.arange(25))[0]
    with simulate_cuda():
        saved = sb3_io.load_policy(tmp_path / "model", device="cuda")
        assert {p.device.type for p in saved.policy.parameters()} == {"cuda"}
        assert saved.predict(np.arange(25))[0].tolist() == on_cpu.tolist()


def test_a_full_disk_while_saving_a_policy_names_the_folder_and_leaves_nothing(tmp_path, monkeypatch):
    """safetensors keeps only the errno of an OS error: save_policy turns it into an OSError naming the folder,
    and no folder, complete or not, is left."""
    from safetensors import SafetensorError

    def full(*args):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    from stable_baselines3 import A2C

    model = A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu", policy_kwargs={"net_arch": [4]})
    monkeypatch.setattr(sb3_io, "save_policy_tensors", full)
    with pytest.raises(OSError) as caught:
        sb3_io.save_policy(model, tmp_path / "p", {"algo": "a2c"})
    assert (caught.value.errno, caught.value.filename) == (28, str(tmp_path / "p"))
    assert list(tmp_path.iterdir()) == []
