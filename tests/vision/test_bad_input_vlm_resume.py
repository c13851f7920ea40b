"""Bad input of train-vlm-policy --resume and of eval-vlm's answer grammar: one line naming the folder or the
setting, before any training or loading."""

from __future__ import annotations

import shutil

from rlsuite.vision.checkpoints import Checkpointer, VLMCheckpointOptions
from rlsuite.vision.defaults import config_key
from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train

TINY = ["--size", "3", "--hidden", "16", "--layers", "1", "--bc_layouts", "3", "--bc_steps", "2", "--bc_batch", "4",
        "--bc_warmup", "1", "--ppo_updates", "0", "--eval_episodes", "1", "--max_episode_steps", "2", "--device", "cpu"]
EVAL = ["--episodes", "1", "--size", "3", "--device", "cpu"]


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_resume_refuses_a_checkpoint_of_other_settings(cli, tmp_path):
    """A checkpoint saved by a run with another seed: refused on --resume, naming it; nothing trains."""
    out = tmp_path / "run"
    other = VLMTrainConfig(size=3, hidden=16, layers=1, seed=5, device="cpu")
    import torch

    policy, _ = load_policy_to_train(other)
    saver = Checkpointer(out, VLMCheckpointOptions(), config_key(other))
    saver.save("bc", 1, policy, {"bc": torch.optim.AdamW(policy.parameters())}, {}, {}, {})
    code, _, err = cli("vision", "train-vlm-policy", *TINY, "--out", str(out), "--resume")
    assert code == 2
    line = one_line(err)
    assert "step_0000001: a checkpoint of other settings" in line and "--resume continues" in line
    assert not (out / "metrics.json").exists()


def test_resume_refuses_a_finished_run_of_other_settings(cli, tmp_path):
    out = tmp_path / "run"
    assert cli("vision", "train-vlm-policy", *TINY, "--out", str(out))[0] == 0
    assert not (out / "checkpoints").exists()  # removed once the run finished
    code, _, err = cli("vision", "train-vlm-policy", *TINY, "--seed", "3", "--out", str(out), "--resume")
    assert code == 2
    assert f"{out}: holds a finished run of other settings" in one_line(err)
    code, out_text, err = cli("vision", "train-vlm-policy", *TINY, "--out", str(out), "--resume")
    assert code == 0 and "trained earlier, reused" in out_text  # the same settings: the finished run is reused
    shutil.rmtree(out)


def test_eval_vlm_refuses_a_grammar_no_action_fits_before_loading(cli, tmp_path):
    code, _, err = cli("vision", "eval-vlm", str(tmp_path / "nowhere"), *EVAL, "--reasoning", "--grammar", "Action: up")
    assert code == 2
    assert "grammar" in one_line(err) and "{action} exactly once" in err
    code, _, err = cli("vision", "eval-vlm", str(tmp_path / "nowhere"), *EVAL, "--reasoning", "--fallback", "jump")
    assert code == 2
    assert "fallback" in one_line(err) and "'jump'" in err
