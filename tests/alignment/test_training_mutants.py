"""rlsuite.alignment.training: ORPO, SimPO, KTO and BCO pass the model settings (trusted pickles, LoRA) and resume on;
when a checkpoint holds the whole budget.

One step each on a tiny random-weight Qwen2 over the task's words (built in the module's fixture), from a
folder whose weights are only pickled.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

import torch
from safetensors.torch import load_file

from rlsuite.alignment import configs as C
from rlsuite.alignment import training as T
from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
from rlsuite.common.errors import UnsafeLoadError

TRAIN_PROMPTS, _ = SentimentTask().split_prompts()
PAIRS = [{"prompt": p, "chosen": " good great", "rejected": " bad sad"} for p in TRAIN_PROMPTS[:8]]
VOCAB = build_tokenizer(SentimentTask.vocabulary()).get_vocab()
METHODS: dict[str, tuple[Callable[..., dict[str, Any]], Any]] = {
    "orpo": (T.train_orpo, C.ORPOConfig),
    "simpo": (T.train_simpo, C.SimPOConfig),
    "kto": (T.train_kto, C.KTOConfig),
    "bco": (T.train_bco, C.BCOConfig),
}


@pytest.fixture(scope="module")
def pickled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2 policy whose only weights are ``pytorch_model.bin`` (a Qwen2 folder's word-level tokenizer is
    one that transformers' own loading would rebuild as a BPE: the trainers get rlsuite's)."""
    root = tmp_path_factory.mktemp("training")
    tok = build_tokenizer(SentimentTask.vocabulary())
    build_tiny_causal_lm(tok, "qwen2", hidden_size=16, layers=1, seed=0).save_pretrained(root / "policy")
    tok.save_pretrained(root / "policy")
    shutil.copytree(root / "policy", root / "pickled", ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(str(root / "policy" / "model.safetensors")), root / "pickled" / "pytorch_model.bin")
    return root / "pickled"


@pytest.mark.parametrize("name", sorted(METHODS))
def test_trusted_pickles_lora_and_resume_reach_the_trainer(name: str, pickled: Path, tmp_path: Path) -> None:
    train, config_cls = METHODS[name]
    config = config_cls(output_dir=str(tmp_path / name), max_steps=1, per_device_train_batch_size=8,
                        save_strategy="steps", save_steps=1, logging_steps=1)  # fmt: skip
    lora = C.ModelConfig(use_peft=True, lora_r=2, lora_alpha=4, lora_target_modules=["q_proj", "v_proj"],
                       trust_pickle=True)
    with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
        train(pickled, PAIRS, config)
    first = train(pickled, PAIRS, config, lora)
    model = tmp_path / name / "model"
    assert json.loads((model / "adapter_config.json").read_text())["r"] == 2  # LoRA: an adapter was trained
    assert json.loads((model / "tokenizer_config.json").read_text())["tokenizer_class"] == "TokenizersBackend"
    assert json.loads((model / "tokenizer.json").read_text())["model"]["vocab"] == VOCAB  # the policy's tokenizer
    assert (first["method"], first["global_steps"], first["resumed_from"]) == (name, 1, None)
    again = train(pickled, PAIRS, config, lora)  # resume is off unless asked
    assert (again["global_steps"], again["resumed_from"]) == (1, None)
    resumed = train(pickled, PAIRS, config, lora, resume=True)
    assert (resumed["global_steps"], resumed["resumed_from"]) == (1, str(tmp_path / name / "checkpoint-1"))


def _checkpoint(path: Path, state: dict[str, Any]) -> Path:
    path.mkdir()
    (path / "trainer_state.json").write_text(json.dumps(state))
    return path


def test_a_checkpoint_holds_the_budget_when_saved_at_or_past_a_positive_max_steps(tmp_path: Path) -> None:
    one = _checkpoint(tmp_path / "checkpoint-1", {"global_step": 1})
    assert T._budget_reached(one, 1) and not T._budget_reached(one, 2)
    assert not T._budget_reached(one, 0) and not T._budget_reached(one, -1)  # no budget: max_steps unset
    unknown = _checkpoint(tmp_path / "checkpoint-x", {})  # no global_step: step 0
    assert not T._budget_reached(unknown, 1)
