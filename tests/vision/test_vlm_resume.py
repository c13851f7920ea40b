"""Checkpoints of train-vlm-policy and --resume (issue 27): a run killed mid-training continues to the same result.

What is tested: on the CPU (float32, one thread; the same on simulated CUDA) a run resumed from any
checkpoint, in behaviour cloning or in PPO, ends with the same trained weights, bit for bit, and the same
report (success rates, value gaps, losses, PPO history) as the run that was not interrupted: the weights,
both optimisers, the learning-rate schedule, every generator (torch, numpy's, ``random``, the cloning minibatch stream,
a reasoning actor's) and the step are restored, and the PPO envs are put back by replaying the actions
taken. On a GPU, kernels that are not deterministic (atomic adds in backward passes) may make the two
differ in the last bits; a resumed run is then another draw of the same run, not the same numbers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.checkpoints import Checkpointer, VLMCheckpointOptions, trainable_state
from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train, train_vlm_policy
from rlsuite.vision.reasoning import ReasoningConfig


def _device() -> str:
    """"auto": the CPU, or simulated CUDA in the simulated job; the CPU on a real GPU, where atomic adds make
    two runs of the same training differ in the last bits (the exact equality tested here is the CPU's)."""
    from cuda_sim import is_simulated

    return "cpu" if torch.cuda.is_available() and not is_simulated() else "auto"


# 12 cloning steps, 3 PPO updates (the first fits the value head only), 4-step episodes (truncations bootstrap).
TINY = dict(size=3, hidden=16, layers=1, bc_layouts=5, bc_steps=12, bc_batch=8, bc_warmup=2, ppo_updates=3,
            value_warmup=1, ppo_envs=4, ppo_steps=3, ppo_epochs=1, ppo_minibatches=2, eval_episodes=3,
            max_episode_steps=4, device=_device())  # fmt: skip


def without_times(report: dict) -> str:
    """The report as JSON without what differs between runs of the same training (wall times, where it resumed)."""
    text = json.dumps({k: v for k, v in report.items() if k != "resumed_from"}, sort_keys=True, default=str)
    return re.sub(r'"seconds": [0-9.]+', '"seconds": -', text)


def test_checkpoint_round_trip(tmp_path):
    """Weights, value head, optimiser state, every generator and the step come back as saved."""
    config = VLMTrainConfig(**TINY)
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(config)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-2)
    frames = np.zeros((2, 48, 48, 3), np.uint8)
    policy(frames)[1].sum().backward()
    opt.step()
    rng = np.random.default_rng(3)
    saver = Checkpointer(tmp_path, VLMCheckpointOptions(), key="k")
    saver.report = {"success_untrained": 0.25}
    saver.save("bc", 7, policy, {"bc": opt}, {"bc": rng}, {"scheduler": {"last_epoch": 7}}, {"losses": torch.ones(3)})
    expected = (torch.rand(3), np.random.rand(2), rng.random(2))
    weights = trainable_state(policy)

    torch.manual_seed(1)  # another model, optimiser and generators
    again, _ = load_policy_to_train(config)
    opt2, rng2 = torch.optim.AdamW(again.parameters(), lr=1e-2), np.random.default_rng(99)
    ckpt = Checkpointer(tmp_path, VLMCheckpointOptions(resume=True), key="k").latest()
    assert ckpt is not None and (ckpt.stage, ckpt.step, ckpt.path.name) == ("bc", 7, "step_0000007")
    assert ckpt.state["report"] == {"success_untrained": 0.25} and ckpt.state["scheduler"] == {"last_epoch": 7}
    from rlsuite.vision.checkpoints import load_trainable_state

    load_trainable_state(again, ckpt.weights)
    ckpt.restore_optimizer("bc", opt2)
    ckpt.restore_rng({"bc": rng2}, torch.device("cpu"))
    for name, value in trainable_state(again).items():
        assert torch.equal(value, weights[name]), name
    assert any(n.startswith("value_head.") for n in weights)
    state, state2 = opt.state_dict(), opt2.state_dict()
    assert state["param_groups"] == state2["param_groups"]
    for i, entry in state["state"].items():
        for k, v in entry.items():
            assert torch.equal(v, state2["state"][i][k]), (i, k)
    assert state2["state"][0]["step"].device.type == "cpu"  # Adam's step counters stay on the host
    assert torch.equal(torch.rand(3), expected[0])
    np.testing.assert_array_equal(np.random.rand(2), expected[1])
    np.testing.assert_array_equal(rng2.random(2), expected[2])
    assert torch.equal(ckpt.tensors["losses"], torch.ones(3))


def test_checkpoints_are_whole_and_pruned(tmp_path):
    """Only the newest ``keep_checkpoints`` stay; a save killed half-way (its temporary) is ignored and removed."""
    config = VLMTrainConfig(**TINY)
    policy, _ = load_policy_to_train(config)
    opt = torch.optim.AdamW(policy.parameters())
    saver = Checkpointer(tmp_path, VLMCheckpointOptions(keep_checkpoints=2), key="k")
    saver.bc_steps = 12
    for step in (4, 8):
        saver.save("bc", step, policy, {"bc": opt}, {}, {}, {})
    saver.save("ppo", 1, policy, {"ppo": opt}, {}, {}, {})
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step_0000008", "step_0000013"]
    half = tmp_path / "checkpoints" / ".step_0000014.abc" / "step_0000014"
    half.mkdir(parents=True)
    (half / "weights.safetensors").write_bytes(b"")
    broken = tmp_path / "checkpoints" / "step_0000020"  # no state.json: not whole
    shutil.copytree(tmp_path / "checkpoints" / "step_0000013", broken)
    (broken / "state.json").unlink()
    latest = Checkpointer(tmp_path, key="k").latest()
    assert latest is not None and (latest.stage, latest.step) == ("ppo", 1)
    assert not half.parent.exists()


@pytest.mark.parametrize(("reasoning", "finetune"), [(False, "full"), (True, "full"), (False, "lora")],
                         ids=["scoring", "reasoning", "lora"])  # fmt: skip
def test_resuming_from_any_checkpoint_ends_where_the_uninterrupted_run_ends(tmp_path, reasoning, finetune):
    """Every checkpoint of one run (cloning steps 5, 10 and 12, PPO updates 1-3) resumed in a folder of its
    own: each ends with the uninterrupted run's weights (bit for bit) and report. With LoRA the checkpoints
    hold the adapters and the value head only."""
    rcfg = ReasoningConfig(reasoning=reasoning, max_new_tokens=4)
    options = VLMModelOptions(finetune=finetune)
    config = VLMTrainConfig(**{**TINY, "bc_steps": 6 if reasoning else 12, "ppo_updates": 2 if reasoning else 3})
    every = VLMCheckpointOptions(bc_checkpoint_every=5, checkpoint_every=1, keep_checkpoints=100)
    policy, report = train_vlm_policy(config, options, rcfg, checkpoints=Checkpointer(tmp_path / "full", every, "k"))
    weights = trainable_state(policy)
    assert (finetune == "lora") == all("lora_" in n or n.startswith("value_head.") for n in weights)
    saved = sorted((tmp_path / "full" / "checkpoints").iterdir())
    steps = [5, 6, 7, 8] if reasoning else [5, 10, 12, 13, 14, 15]
    assert [p.name for p in saved] == [f"step_{k:07d}" for k in steps]
    for path in saved[1:-1] if not reasoning else saved[1:3]:
        run = tmp_path / path.name
        shutil.copytree(path, run / "checkpoints" / path.name)
        resumed, again = train_vlm_policy(config, options, rcfg, checkpoints=Checkpointer(
            run, VLMCheckpointOptions(resume=True, bc_checkpoint_every=5), "k"))  # fmt: skip
        assert again["resumed_from"] == path.name
        assert without_times(again) == without_times(report)
        for name, value in trainable_state(resumed).items():
            assert torch.equal(value, weights[name]), (path.name, name)


# ----------------------------------------------------------------------------- a real kill -9
FLAGS = ["--size", "3", "--hidden", "16", "--layers", "1", "--bc_layouts", "5", "--bc_steps", "120", "--bc_batch", "8",
         "--bc_warmup", "2", "--ppo_updates", "3", "--value_warmup", "1", "--ppo_envs", "4", "--ppo_steps", "3",
         "--ppo_epochs", "1", "--ppo_minibatches", "2", "--eval_episodes", "3", "--max_episode_steps", "4",
         "--bc_checkpoint_every", "20", "--checkpoint_every", "1", "--device", "cpu", "--threads", "1"]  # fmt: skip


def rlsuite(*args: str) -> list[str]:
    return [sys.executable, "-m", "rlsuite.app.cli", "vision", "train-vlm-policy", *args, *FLAGS]


@pytest.mark.slow
def test_a_run_killed_mid_training_resumes_to_the_uninterrupted_result(tmp_path):
    """``train-vlm-policy --out A`` is killed (SIGKILL) once it has saved its second cloning checkpoint;
    ``--resume`` continues it; its metrics and trained weights equal those of an uninterrupted run in B.
    (About 90 s on the shared 2-core machine: four processes, 26 s of CPU.)"""
    env = dict(os.environ, OMP_NUM_THREADS="1", RLSUITE_CACHE=str(tmp_path / "cache"))
    a, b = tmp_path / "A", tmp_path / "B"
    proc = subprocess.Popen(rlsuite("--out", str(a)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list((a / "checkpoints").glob("step_0000040")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (a / "finished.json").exists() and not (a / "metrics.json").exists()
    killed_at = sorted(p.name for p in (a / "checkpoints").glob("step_*"))[-1]
    assert killed_at < "step_0000120"  # killed in behaviour cloning, not after it

    refused = subprocess.run(rlsuite("--out", str(a)), env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "holds files but no finished model" in refused.stderr
    assert "pass --resume to continue it" in refused.stderr
    done = subprocess.run(rlsuite("--out", str(a), "--resume"), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resumed from {killed_at}" in done.stdout
    subprocess.run(rlsuite("--out", str(b)), env=env, check=True, capture_output=True)

    resumed, whole = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert resumed["resumed_from"] == killed_at
    assert without_times(resumed) == without_times(whole)
    from safetensors.torch import load_file

    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not (a / "checkpoints").exists()  # removed once the run is finished
