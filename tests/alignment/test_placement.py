"""Where the alignment models run (issue 22): the reward model that GRPO, RLOO and Online DPO call every step,
and every evaluation model of ``align`` (policies, references, reward models, judges), run on the training's
device and dtype (bf16 where the training uses it and the GPU has it natively), not on the CPU in float32.

Checked on simulated CUDA (tests/cuda_sim.py): a model left on the CPU meets CUDA inputs there and fails,
and the devices and dtypes are read off the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("trl")

from cuda_sim import simulate_cuda

from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.models import RewardModelFunc, load_reward_model, placement, placement_of
from rlsuite.testing import alignment as T

CUDA, CPU = torch.device("cuda", 0), torch.device("cpu")
PROMPTS = SentimentTask().split_prompts()[0][:4]


@pytest.fixture(autouse=True)
def fresh_accelerate_state() -> Any:
    """accelerate keeps one process state from the first trainer config on (CPU or GPU): each test starts anew."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def _where(model: Any) -> tuple[str, torch.dtype]:
    p = next(model.parameters())
    return p.device.type, p.dtype


@pytest.fixture(scope="module")
def rm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reward-model folder: the tiny base with a (seeded, untrained) score head; placement needs no training."""
    from transformers import AutoModelForSequenceClassification

    from rlsuite.alignment.models import load_tokenizer

    folder = tmp_path_factory.mktemp("rm")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(T.tiny_base()), num_labels=1)
    model.save_pretrained(folder)
    load_tokenizer(T.tiny_base()).save_pretrained(folder)
    return folder


def test_the_placement_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlsuite.alignment.configs import GRPOConfig

    assert placement() == (CPU, torch.float32) or torch.cuda.is_available()
    with simulate_cuda():
        assert placement() == (CUDA, torch.bfloat16)  # the configs' defaults: the GPU, bf16 where native
        assert placement(bf16=False) == (CUDA, torch.float32)  # training in float32: evaluated in float32
        assert placement(use_cpu=True) == (CPU, torch.float32)  # --device cpu
        assert placement_of(GRPOConfig(output_dir="x")) == (CUDA, torch.bfloat16)
        assert placement_of(GRPOConfig(output_dir="x", use_cpu=True)) == (CPU, torch.float32)
    with simulate_cuda(native_bf16=False):  # V100, T4: bf16 only emulated, so float32
        assert placement(bf16=True) == (CUDA, torch.float32)
        monkeypatch.setenv("ACCELERATE_USE_CPU", "true")  # accelerate launch --cpu
        assert placement() == (CPU, torch.float32)


class Recording(RewardModelFunc):
    """The reward model as TRL calls it, noting where it runs at each call."""

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        self.calls.append(_where(self.model))
        return super().__call__(prompts, completions, **kwargs)


@pytest.mark.parametrize("method", ["grpo", "rloo", "online_dpo"])
def test_online_trainers_score_on_the_training_device_and_dtype(rm: Path, tmp_path: Path, method: str) -> None:
    from rlsuite.alignment.methods import METHODS, train

    reward = Recording(*load_reward_model(rm))  # loaded on the CPU in float32, as a user would
    reward.calls = []
    with simulate_cuda():
        group = {} if method == "online_dpo" else {"num_generations": 2}
        config = METHODS[method].config(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=4,
                                        save_strategy="no", **group)
        assert (config.use_cpu, config.bf16) == (False, True)
        train(config, T.tiny_base(), PROMPTS, reward=reward)
    assert reward.calls and set(reward.calls) == {("cuda", torch.bfloat16)}


def test_evaluation_models_run_on_the_training_device(rm: Path) -> None:
    """evaluate_policy samples and scores with policy and reference on the GPU (a CPU model fed CUDA ids,
    or the reverse, fails on simulated CUDA); the judges load there, in bf16."""
    from rlsuite.alignment.evaluate import evaluate_policy, reward_model_accuracy
    from rlsuite.alignment.judge import LMJudge, load_judge

    base = T.tiny_base()
    pairs = [{"prompt": p, "chosen": " good", "rejected": " bad"} for p in PROMPTS]
    with simulate_cuda():
        torch.cuda.reset_peak_memory_stats()
        judge = load_judge(rm)
        result = evaluate_policy(base, base, PROMPTS, 2, judge=judge.score, pairwise=judge)
        assert torch.cuda.max_memory_allocated() > 0 and result["kl_to_sft"] == 0.0  # the policy is its reference
        assert _where(judge.score.model) == ("cuda", torch.bfloat16)
        assert 0.0 <= reward_model_accuracy(rm, pairs) <= 1.0
        lm = LMJudge(base, answers=("good", "bad"))
        assert _where(lm.model) == ("cuda", torch.bfloat16)
        assert lm(PROMPTS, [" good"] * 4, [" good"] * 4) == [0.5] * 4  # runs on the GPU; a reply ties itself
        where = (CPU, torch.float32)  # where a run trained on the CPU says so
        assert _where(RewardModelFunc.load(rm, where).model) == ("cpu", torch.float32)
