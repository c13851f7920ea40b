"""The alignment share of the bad-input catalogue: each case ends in one line from the CLI (exit 2), of the
right error type, naming the culprit (file and line, folder, field), with nothing written: no output folder,
no model built into the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from model_folders import pickled_copy

pytest.importorskip("trl")

from rlsuite.alignment.models import check_causal_lm, check_reward_model, load_causal_lm
from rlsuite.app.cli import main
from rlsuite.common.errors import ConfigError, DataError, ModelFolderError, OutputDirError, UnsafeLoadError, UsageError
from rlsuite.testing import alignment as T

GOOD = {"prompt": "the hotel was", "chosen": " good", "rejected": " bad"}


def _copy_model(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


PICKLED = "holds only pickled weights (pytorch_model.bin), which can run code when loaded; convert them to " \
    "safetensors (save_pretrained) or pass --trust-pickle if you trust the folder"


def _setup(case: str, tmp: Path) -> tuple[list[str], type, str]:
    """Build the bad input of ``case``; return (argv, error type, text the message must contain)."""
    sft = T.tiny_sft()
    pairs = tmp / "pairs.jsonl"
    pairs.write_text(json.dumps(GOOD) + "\n")
    dpo = ["align", "dpo", "--out", str(tmp / "out")]
    if case == "bad json":
        pairs.write_text(json.dumps(GOOD) + "\n" + '{"prompt": "x", "chosen": " a"\n')
        return [*dpo, "--data", str(pairs)], DataError, f"{pairs}:2: bad JSON"
    if case == "missing field":
        pairs.write_text(json.dumps({"prompt": "x", "chosen": " a"}) + "\n")
        return [*dpo, "--data", str(pairs)], DataError, f"{pairs}:1: missing field 'rejected'"
    if case == "chosen equals rejected":
        pairs.write_text(json.dumps({**GOOD, "rejected": " good"}) + "\n")
        return [*dpo, "--data", str(pairs)], DataError, f"{pairs}:1: 'chosen' is identical to 'rejected'"
    if case == "not utf-8":
        pairs.write_bytes(json.dumps(GOOD).encode() + b"\n\xff\xfe garbage\n")
        return [*dpo, "--data", str(pairs)], DataError, f"{pairs}:2: not UTF-8 text"
    if case == "empty file":
        pairs.write_text("\n\n")
        return [*dpo, "--data", str(pairs)], DataError, f"{pairs}: no preference pairs found"
    if case == "data not found":
        return [*dpo, "--data", str(tmp / "nope.jsonl")], DataError, f"{tmp / 'nope.jsonl'}: preference data not found"
    if case == "not a datasets folder":
        (tmp / "ds").mkdir()
        (tmp / "ds" / "junk.txt").write_text("x")
        return [*dpo, "--data", str(tmp / "ds")], DataError, f"{tmp / 'ds'}: not a datasets folder"
    if case == "sft record without completion":
        pairs.write_text(json.dumps({"prompt": "x"}) + "\n")
        return ["align", "sft", "--out", str(tmp / "out"), "--data", str(pairs)], DataError, \
            f"{pairs}:1: missing field 'completion'"
    if case == "unknown words above the limit":
        pairs.write_text(json.dumps({"prompt": "das Hotel war", "chosen": " sehr gut", "rejected": " schlecht"}) + "\n")
        return [*dpo, "--model", str(sft), "--data", str(pairs)], DataError, "of the tokens are outside the tokenizer"
    if case == "model folder missing":
        return [*dpo, "--model", str(tmp / "nope")], ModelFolderError, f"{tmp / 'nope'}: model folder not found"
    if case == "no config.json":
        (tmp / "m").mkdir()
        return [*dpo, "--model", str(tmp / "m")], ModelFolderError, f"{tmp / 'm'}: no config.json"
    if case == "config.json not JSON":
        m = _copy_model(sft, tmp / "m")
        (m / "config.json").write_text('{"model_type": "llama",')
        return [*dpo, "--model", str(m)], ModelFolderError, f"{m / 'config.json'}: not valid JSON"
    if case == "config.json without model_type":
        m = _copy_model(sft, tmp / "m")
        (m / "config.json").write_text("{}")
        return [*dpo, "--model", str(m)], ModelFolderError, f"{m / 'config.json'}: has no 'model_type'"
    if case == "truncated safetensors":
        m = _copy_model(sft, tmp / "m")
        weights = m / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        return [*dpo, "--model", str(m)], ModelFolderError, f"{weights}: truncated"
    if case == "corrupt safetensors header":
        m = _copy_model(sft, tmp / "m")
        (m / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!" + b"\x00" * 64)
        return [*dpo, "--model", str(m)], ModelFolderError, f"{m / 'model.safetensors'}: corrupt safetensors header"
    if case == "not a causal LM":
        (tmp / "vit").mkdir()
        (tmp / "vit" / "config.json").write_text(json.dumps({"model_type": "vit"}))
        return [*dpo, "--model", str(tmp / "vit")], ModelFolderError, "model type 'vit' is not a causal language model"
    if case == "reward model without a score head":
        rloo = ["align", "rloo", "--out", str(tmp / "out"), "--reward_model", str(sft)]
        return rloo, ModelFolderError, f"{sft}: a LlamaForCausalLM folder without a trained score head"
    if case == "ppo without a reward model":
        return ["align", "ppo", "--out", str(tmp / "out")], ConfigError, "ppo: --reward_model is required"
    if case == "ppo on the gold reward":
        argv = ["align", "ppo", "--out", str(tmp / "out"), "--reward_model", "gold"]
        return argv, ConfigError, "ppo: --reward_model must be a reward-model folder"
    if case == "output is a file":
        (tmp / "out").write_text("x")
        argv = [*dpo, "--model", str(sft), "--data", str(pairs)]
        return argv, OutputDirError, f"{tmp / 'out'}: exists and is not a folder"
    if case == "beta out of range":
        return [*dpo, "--set", "beta=-1"], ConfigError, "DPOConfig.beta: -1.0 is out of range (allowed: > 0)"
    if case == "beta not a number":
        return [*dpo, "--beta", "abc"], ConfigError, "argument --beta: invalid float value: 'abc'"
    if case == "yaml typo":
        (tmp / "c.yaml").write_text("learnin_rate: 0.1\n")
        return [*dpo, "--config", str(tmp / "c.yaml")], ConfigError, "unknown key 'learnin_rate'"
    if case == "incomplete checkpoint to resume from":
        (tmp / "checkpoint-4").mkdir()
        (tmp / "checkpoint-4" / "config.json").write_text("{}")
        argv = [*dpo, "--resume_from_checkpoint", str(tmp / "checkpoint-4")]
        return argv, ModelFolderError, f"{tmp / 'checkpoint-4'}: not a complete checkpoint"
    if case == "compare workers 0":
        return ["align", "compare", "--out", str(tmp / "out"), "--workers", "0"], ConfigError, \
            "CompareOptions.workers: 0 is out of range (allowed: >= 1)"
    if case == "compare conversational data on a model without a chat template":
        conv = {"prompt": [{"role": "user", "content": "the hotel was"}],
                "chosen": [{"role": "assistant", "content": "good"}],
                "rejected": [{"role": "assistant", "content": "bad"}]}
        pairs.write_text(json.dumps(conv) + "\n" + json.dumps(conv | {"chosen": conv["rejected"],
                                                                     "rejected": conv["chosen"]}) + "\n")
        argv = ["align", "compare", "--out", str(tmp / "out"), "--model", str(sft), "--skip_sft", "--data", str(pairs)]
        return argv, DataError, "conversations need a tokenizer with a chat template"
    if case == "compare unknown dpo loss":
        return ["align", "compare", "--out", str(tmp / "out"), "--set", "methods=[dpo, dpo:nope]"], ConfigError, \
            "CompareConfig.methods: 'dpo:nope': DPO loss 'nope' is not one of sigmoid"
    if case == "compare weights that do not match the losses":
        return ["align", "compare", "--out", str(tmp / "out"), "--set", "frontier=[dpo:sigmoid=1+sft]"], ConfigError, \
            "CompareConfig.frontier: 'dpo:sigmoid=1+sft': 1 weights for 2 losses (weight every loss, or none)"
    if case == "compare weight not a number":
        return ["align", "compare", "--out", str(tmp / "out"), "--set", "methods=[dpo:hinge=x]"], ConfigError, \
            "'dpo:hinge=x': the weight of 'hinge' is not a number: 'x'"
    if case == "mixed formats in one file":
        pairs.write_text(json.dumps(GOOD) + "\n" + json.dumps({"chosen": "the hotel was good",
                                                               "rejected": "the hotel was bad"}) + "\n")
        return [*dpo, "--data", str(pairs)], DataError, \
            f"{pairs}:2: string implicit-prompt pairs (chosen/rejected only) in a file of string prompt/chosen/rejected"
    if case == "column that does not exist":
        return [*dpo, "--data", str(pairs), "--chosen_column", "good"], DataError, \
            f"{pairs}: no column 'good' (--chosen_column); its columns: chosen, prompt, rejected"
    if case == "unpaired data for dpo":
        pairs.write_text(json.dumps({"prompt": "the hotel was", "completion": " good", "label": True}) + "\n")
        return [*dpo, "--data", str(pairs)], DataError, f"{pairs}:1: an unpaired prompt/completion/label record"
    if case == "kto label not a boolean":
        pairs.write_text(json.dumps({"prompt": "the hotel was", "completion": " good", "label": 2}) + "\n")
        return ["align", "kto", "--out", str(tmp / "out"), "--data", str(pairs)], DataError, \
            f"{pairs}:1: field 'label' must be true or false, got 2"
    if case == "compare judge that is no model":
        (tmp / "vit").mkdir()
        (tmp / "vit" / "config.json").write_text(json.dumps({"model_type": "vit"}))
        return ["align", "compare", "--out", str(tmp / "out"), "--judge", str(tmp / "vit")], ModelFolderError, \
            f"{tmp / 'vit'}: not a judge: neither a reward model nor a causal LM"
    if case == "reward model of pickled weights":
        rm = pickled_copy(T.tiny_reward_model(), tmp / "rm")
        return ["align", "grpo", "--out", str(tmp / "out"), "--reward_model", str(rm)], UnsafeLoadError, \
            f"{rm}: {PICKLED}"
    if case == "reward training from pickled weights":
        m = pickled_copy(sft, tmp / "m")
        return ["align", "reward", "--out", str(tmp / "out"), "--model", str(m)], UnsafeLoadError, f"{m}: {PICKLED}"
    if case == "compare model of pickled weights":
        m = pickled_copy(sft, tmp / "m")
        return ["align", "compare", "--out", str(tmp / "out"), "--model", str(m)], UnsafeLoadError, f"{m}: {PICKLED}"
    if case == "compare judge of pickled weights":
        rm = pickled_copy(T.tiny_reward_model(), tmp / "rm")
        return ["align", "compare", "--out", str(tmp / "out"), "--judge", str(rm)], UnsafeLoadError, \
            f"{rm}: {PICKLED}"
    if case == "export model of pickled weights":
        m = pickled_copy(sft, tmp / "m")
        return ["align", "data", "export", "--out", str(tmp / "out"), "--model", str(m)], UnsafeLoadError, \
            f"{m}: {PICKLED}"
    if case == "compare skip_sft without a model":
        return ["align", "compare", "--out", str(tmp / "out"), "--skip_sft"], UsageError, "--skip_sft needs --model"
    raise AssertionError(case)


CASES = [
    "bad json", "missing field", "chosen equals rejected", "not utf-8", "empty file", "data not found",
    "not a datasets folder", "sft record without completion", "unknown words above the limit",
    "model folder missing", "no config.json", "config.json not JSON", "config.json without model_type",
    "truncated safetensors", "corrupt safetensors header", "not a causal LM", "reward model without a score head",
    "ppo without a reward model", "ppo on the gold reward", "output is a file",
    "incomplete checkpoint to resume from", "beta out of range", "beta not a number", "yaml typo",
    "compare workers 0", "compare conversational data on a model without a chat template",
    "compare skip_sft without a model", "compare unknown dpo loss", "compare weights that do not match the losses",
    "compare weight not a number", "mixed formats in one file", "column that does not exist", "unpaired data for dpo",
    "kto label not a boolean", "compare judge that is no model", "reward model of pickled weights",
    "reward training from pickled weights", "compare model of pickled weights", "compare judge of pickled weights",
    "export model of pickled weights",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_naming_the_culprit_and_writes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv, kind, message = _setup(case, tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv("RLSUITE_CACHE", str(cache))  # nothing may be built there either
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("rlsuite: error: "), err
    assert message in err, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written
    with pytest.raises(kind):  # the same input, raised as the right kind (--debug keeps the exception)
        main([*argv, "--debug"])


@pytest.mark.parametrize(
    ("build", "check", "kind"),
    [
        (lambda p: (p / "config.json").write_text("[1, 2]"), check_causal_lm, ModelFolderError),
        (lambda p: (p / "model.safetensors").write_bytes(b"\x01"), check_causal_lm, ModelFolderError),
        (lambda p: None, check_reward_model, ModelFolderError),
    ],
)
def test_folder_checks_at_the_api(tmp_path: Path, build: Any, check: Any, kind: type) -> None:
    folder = _copy_model(T.tiny_sft(), tmp_path / "m")
    build(folder)
    with pytest.raises(kind, match=str(folder)):
        check(folder)


def test_the_real_loaders_accept_what_the_checks_pass() -> None:
    model, tok = load_causal_lm(T.tiny_sft())
    assert model.config.model_type == "llama" and tok.eos_token == "<eos>"
    check_reward_model(T.tiny_reward_model())


def test_trusted_copy_unpickles_a_trusted_folder_once_into_safetensors(tmp_path: Path) -> None:
    """``align compare --trust-pickle``: the pickled folder is read once, every stage reads the copy."""
    import torch
    from safetensors.torch import load_file

    from rlsuite.alignment.models import load_reward_model, trusted_copy

    rm = pickled_copy(T.tiny_reward_model(), tmp_path / "rm")
    with pytest.raises(UnsafeLoadError, match=PICKLED.replace("(", r"\(").replace(")", r"\)")):
        load_reward_model(rm)
    assert trusted_copy(rm, tmp_path / "copy", trust_pickle=False) == rm  # not trusted: as it is (refused later)
    assert trusted_copy(T.tiny_sft(), tmp_path / "copy", trust_pickle=True) == T.tiny_sft()  # safetensors already
    assert not (tmp_path / "copy").exists()
    copy = trusted_copy(rm, tmp_path / "copy", trust_pickle=True)
    assert copy == tmp_path / "copy" and not list(copy.glob("*.bin")) and not (tmp_path / "copy.partial").exists()
    check_reward_model(copy)
    original = load_file(str(T.tiny_reward_model() / "model.safetensors"))
    saved = load_file(str(copy / "model.safetensors"))
    assert sorted(saved) == sorted(original) and all(torch.equal(saved[k], original[k]) for k in original)
    (rm / "pytorch_model.bin").unlink()  # a rerun reuses the copy, without reading the folder again
    assert trusted_copy(rm, tmp_path / "copy", trust_pickle=True) == copy
    model, _ = load_reward_model(pickled_copy(T.tiny_reward_model(), tmp_path / "rm2"), trust_pickle=True)
    assert torch.equal(model.score.weight, original["score.weight"])


@pytest.mark.slow
def test_trust_pickle_loads_pickled_folders_in_every_command(tmp_path: Path) -> None:
    """Each refusal above, given --trust-pickle, loads the folder and runs (the catalogue's sft case: in
    tests/app/test_bad_input_catalogue.py)."""
    sft, rm = pickled_copy(T.tiny_sft(), tmp_path / "sft"), pickled_copy(T.tiny_reward_model(), tmp_path / "rm")
    small = ["--quick", "--set", "pair_copies=8", "eval_samples=2", "dpo_epochs=1", "rm_epochs=1", "seeds=1",
             "methods=[dpo]", "frontier=[dpo]", "dpo_betas=[0.1]"]
    commands = {
        "grpo": ["align", "grpo", "--reward_model", str(rm), "--budget", "1"],
        "ppo": ["align", "ppo", "--model", str(sft), "--reward_model", str(rm), "--budget", "1"],
        "reward": ["align", "reward", "--model", str(sft), "--budget", "1"],
        "export": ["align", "data", "export", "--model", str(sft), "--pair_copies", "1"],
        "compare": ["align", "compare", "--model", str(sft), "--skip_sft", "--judge", str(rm), *small],
    }
    for name, argv in commands.items():
        out = ["--out", str(tmp_path / name)]
        assert main([*argv, *out]) == 2, name  # refused without the flag
        assert main([*argv, *out, "--trust-pickle"]) == 0, name
    results = json.loads((tmp_path / "compare" / "results.json").read_text())
    assert results["judge"]["path"] == str(tmp_path / "compare" / "stages" / "judge")  # the safetensors copy
    assert results["settings"]["model"] == str(sft)  # the user's folder, though the stages read the copy
    assert (tmp_path / "export" / "train.jsonl").is_file()
