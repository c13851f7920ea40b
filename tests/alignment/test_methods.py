"""The table of alignment methods and what reads it: the CLI's subcommands, compare's rows (named, and any
DPO loss as ``dpo:LOSS[=W]+...``); KTO, ORPO, SimPO and BCO train on the tiny models (the embedded-style
Llama and a tiny chat model); the embedded task's export loads with ``datasets`` as the pairs it holds."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

from rlsuite.alignment import configs as C
from rlsuite.alignment.compare.plan import ROWS, CompareConfig, Run, row, run_name, trainer_config
from rlsuite.alignment.data import SentimentTask, to_conversational, unpair
from rlsuite.alignment.methods import METHODS, train
from rlsuite.alignment.training import losses
from rlsuite.app.cli import build_parser, main
from rlsuite.testing import alignment as T

NEW = ("kto", "orpo", "simpo", "bco")
_, HELD_PROMPTS = SentimentTask().split_prompts()


def _subcommands(parser: object, *path: str) -> list[str]:
    import argparse

    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # type: ignore[attr-defined]
        parser = action.choices[name]
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # type: ignore[attr-defined]
    return list(action.choices)


def test_the_cli_subcommands_are_the_table() -> None:
    assert _subcommands(build_parser("align"), "align") == [*METHODS, "data", "model-path", "compare"]
    assert _subcommands(build_parser("align"), "align", "data") == ["export"]
    for name, method in METHODS.items():
        assert name == method.config.METHOD  # one spelling: subcommand, config, compare key
    helps = {name: m.help for name, m in METHODS.items()}
    assert "TRL KTOTrainer, main" in helps["kto"] and "trl.experimental.orpo" in helps["orpo"]
    assert "trl.experimental.cpo" in helps["simpo"] and "trl.experimental.bco" in helps["bco"]
    simpo = C.SimPOConfig(output_dir="x")
    assert (simpo.loss_type, simpo.cpo_alpha) == ("simpo", 0.0)


def test_pairs_are_unpaired_as_trl_unpairs_them() -> None:
    import datasets
    from trl.data_utils import unpair_preference_dataset

    pairs = T.tiny_pairs()[0][:10]
    ours = unpair(pairs)
    theirs = unpair_preference_dataset(datasets.Dataset.from_list(pairs)).to_list()
    key = lambda r: (r["prompt"], r["completion"], r["label"])  # noqa: E731
    assert sorted(map(key, ours)) == sorted(map(key, theirs)) and len(ours) == 20
    assert [r["label"] for r in ours[:4]] == [True, False, True, False]  # every batch holds both labels
    assert unpair(ours) == ours  # unpaired records pass as they are


def test_any_dpo_loss_is_a_row_labelled_with_its_loss() -> None:
    mix = row("dpo:sigmoid=1+sft=0.5")
    assert (mix.label, mix.method) == ("DPO sigmoid=1+sft=0.5", "dpo")
    assert run_name("dpo:sigmoid=1+sft=0.5", 0.1, 0) == "dpo-sigmoid-1-sft-0.5_k0.1_s0"
    cfg = CompareConfig(methods=["dpo", "dpo:hinge", "dpo:sigmoid=1+sft=0.5", "kto"], frontier=["dpo:hinge"])

    def config_of(key: str, value: float, seed: int = 0) -> Any:
        return trainer_config(Run("r", key, value, seed, "/x", "/sft", "/rm", "gold", 1, dataclasses.asdict(cfg)),
                              "out")

    dpo = config_of("dpo:sigmoid=1+sft=0.5", 0.3, 1)
    assert (dpo.loss_type, dpo.loss_weights, dpo.beta, dpo.seed, dpo.num_train_epochs) == (
        ["sigmoid", "sft"], [1.0, 0.5], 0.3, 1, 2)
    hinge = config_of("dpo:hinge", 0.1)
    assert (hinge.loss_type, hinge.loss_weights) == (["hinge"], None)
    kto = config_of("kto", 0.1)
    assert isinstance(kto, C.KTOConfig) and kto.beta == 0.1
    # the named rows keep the configs they had (rDPO's label smoothing, Online DPO's budget)
    rdpo = config_of("rdpo", 0.1)
    assert (rdpo.loss_type, rdpo.label_smoothing) == (["robust"], cfg.robust_label_smoothing)
    odpo = config_of("online_dpo", 0.1)
    assert (odpo.beta, odpo.max_steps, odpo.max_new_tokens) == (0.1, cfg.online_steps, cfg.max_new_tokens)
    assert list(CompareConfig().methods) == list(ROWS)[:8]  # the new methods are opt-in


@pytest.mark.parametrize("method", NEW)
def test_new_methods_train_from_the_cli_on_the_tiny_model(method: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in T.tiny_pairs()[0][:64]))
    out = tmp_path / method
    argv = ["align", method, "--model", str(T.tiny_sft()), "--data", str(pairs), "--out", str(out), "--budget", "2",
            "--set", "logging_steps=1"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"{method}: 2 steps")
    assert json.loads((out / "finished.json").read_text())["global_steps"] == 2
    assert json.loads((out / "run_config.json").read_text())["config"]["beta"] == METHODS[method].config.beta
    assert (out / "model" / "model.safetensors").is_file()
    # resume of a finished run keeps it
    assert main([*argv, "--resume"]) == 0
    assert "is finished (2 steps); nothing to resume" in capsys.readouterr().out


@pytest.mark.parametrize("method", NEW)
def test_new_methods_train_on_a_tiny_chat_model(method: str, tmp_path: Path) -> None:
    chat = T.tiny_chat_base()
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in to_conversational(T.tiny_pairs()[0][:32])))
    out = tmp_path / method
    assert main(["align", method, "--model", str(chat), "--data", str(pairs), "--out", str(out), "--budget", "1"]) == 0
    assert json.loads((out / "finished.json").read_text())["global_steps"] == 1
    from rlsuite.alignment.models import load_tokenizer

    assert load_tokenizer(out / "model").chat_template  # trained through the template, saved with it


@pytest.mark.slow
@pytest.mark.parametrize(("method", "epochs"), [("kto", 2), ("orpo", 3), ("simpo", 3), ("bco", 3)])
def test_new_methods_raise_the_gold_reward(method: str, epochs: int, tmp_path: Path) -> None:
    from rlsuite.alignment.evaluate import evaluate_policy

    sft = T.tiny_sft()
    config = METHODS[method].config(output_dir=str(tmp_path), num_train_epochs=epochs, logging_steps=2,
                                    save_strategy="no")
    metrics = train(config, sft, T.tiny_pairs()[0])
    loss = losses(metrics)
    assert loss[-1] < loss[0], loss
    before = evaluate_policy(sft, sft, HELD_PROMPTS, 16)["reward"]
    after = evaluate_policy(tmp_path / "model", sft, HELD_PROMPTS, 16)["reward"]
    assert after > before + 0.5, (method, before, after)


def test_a_file_in_the_hh_rlhf_layout_trains_dpo(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    hh = tmp_path / "hh.jsonl"  # chosen and rejected as whole dialogues; the prompt is their shared beginning
    hh.write_text("".join(json.dumps({"chosen": f"\n\nHuman: {p['prompt']}\n\nAssistant:{p['chosen']}",
                                      "rejected": f"\n\nHuman: {p['prompt']}\n\nAssistant:{p['rejected']}"}) + "\n"
                          for p in T.tiny_pairs()[0][:32]))
    out = tmp_path / "dpo"
    argv = ["align", "dpo", "--model", str(T.tiny_sft()), "--data", str(hh), "--out", str(out), "--budget", "1",
            "--max_unknown_rate", "0.5"]  # "Human:" and "Assistant:" are not words of the tiny model
    assert main(argv) == 0
    assert json.loads((out / "finished.json").read_text())["global_steps"] == 1


def test_the_export_loads_with_datasets_as_the_pairs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import datasets

    out = tmp_path / "export"
    assert main(["align", "data", "export", "--out", str(out), "--model", str(T.tiny_sft()),
                 "--pair_copies", "24"]) == 0
    assert "train.jsonl" in capsys.readouterr().out
    ds = datasets.load_dataset(str(out))
    train, held = T.tiny_pairs()  # the same sampling and split (copies 24, seed 0, 10% held out)
    assert ds["train"].to_list() == train and ds["test"].to_list() == held
    gold = json.loads((out / "gold_reward.json").read_text())
    assert gold["positive"][0] == "good" and gold["negative"][0] == "bad"
    assert main(["align", "data", "export", "--out", str(out), "--model", str(T.tiny_sft())]) == 2  # not empty
    assert "pass --overwrite" in capsys.readouterr().err


@pytest.mark.slow
def test_trl_dpo_trains_on_the_export_unchanged(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    from rlsuite.alignment.export import export_task

    export_task(tmp_path / "data", model=T.tiny_sft(), pair_copies=4)
    trl = shutil.which("trl") or str(Path(sys.executable).parent / "trl")
    cmd = [trl, "dpo", "--model_name_or_path", str(T.tiny_sft()), "--dataset_name", str(tmp_path / "data"),
           "--output_dir", str(tmp_path / "dpo"), "--max_steps", "2", "--per_device_train_batch_size", "8",
           "--use_cpu", "true", "--bf16", "false", "--report_to", "none", "--gradient_checkpointing", "false",
           "--save_strategy", "no", "--max_length", "64"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "dpo" / "model.safetensors").is_file()


def test_model_path_prints_the_embedded_models_folder(capsys: pytest.CaptureFixture) -> None:
    from rlsuite.alignment.embedded import model_folder

    assert main(["align", "model-path"]) == 0
    assert capsys.readouterr().out.strip() == str(model_folder())
    assert model_folder().parts[-2:] == ("sft", "model")
