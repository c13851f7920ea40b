"""``rlsuite vision eval-vlm`` on a LoRA adapter folder, in-process: every loading setting reaches
``load_trained_policy``, the printed line names the base class + LoRA, and an adapter folder is not checked as a
full model folder (mutation testing of rlsuite/app/vision.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from recording import Spy

import rlsuite.vision.adapters as adapters
from rlsuite.testing.vision_models import save_tiny_vlm
from rlsuite.vision.adapters import VLMModelOptions, save_adapter
from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train

EVAL = ["--episodes", "2", "--size", "3"]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny Llava folder and a LoRA adapter saved on it (no training: the adapter as initialised)."""
    base = save_tiny_vlm("llava", tmp_path_factory.mktemp("tiny-llava"))
    policy, _ = load_policy_to_train(VLMTrainConfig(size=3, hidden=24, layers=1, device="cpu"),
                                     VLMModelOptions(model=str(base), finetune="lora"))  # fmt: skip
    folder = tmp_path_factory.mktemp("adapter")
    save_adapter(policy, folder, base)
    return base, folder


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every call of ``load_trained_policy`` (its folder, base and keyword arguments), which then loads as usual."""
    calls: list[dict[str, Any]] = []
    real = adapters.load_trained_policy

    def spy(where: Any, base_folder: Any = None, **kwargs: Any) -> Any:
        calls.append({"folder": Path(where), "base": base_folder, **kwargs})
        return real(where, base_folder, **kwargs)

    monkeypatch.setattr(adapters, "load_trained_policy", spy)
    return calls


def test_eval_vlm_loads_an_adapter_with_every_setting_given(cli, adapter, loads) -> None:
    base, folder = adapter
    code, out, err = cli("vision", "eval-vlm", str(folder), *EVAL, "--base", str(base), "--dtype", "float32",
                         "--device", "cpu", "--actions", "up", "right", "down", "left", "stay",
                         "--prompt", "<image> where to?")  # fmt: skip
    assert code == 0, err
    assert loads == [{"folder": folder, "base": str(base), "trust_remote_code": False, "trust_pickle": False,
                      "dtype": "float32", "device": "cpu", "actions": ["up", "right", "down", "left", "stay"],
                      "prompt": "<image> where to?"}]  # fmt: skip
    assert out.startswith("success ") and out.rstrip().endswith(
        f"layouts: LlavaForConditionalGeneration + LoRA from {folder}")  # fmt: skip
    assert "2 held-out random 3x3 layouts" in out


@pytest.mark.parametrize("reasoning", [False, True])
def test_eval_vlm_of_an_adapter_takes_the_default_prompt(cli, adapter, loads, reasoning: bool) -> None:
    """The scoring prompt, or with --reasoning the prompt that asks for a reason before the action."""
    from rlsuite.vision.policies import DEFAULT_PROMPT
    from rlsuite.vision.reasoning import REASONING_PROMPT

    flags = ["--reasoning", "--max_new_tokens", "2"] if reasoning else []
    code, _, err = cli("vision", "eval-vlm", "--model", str(adapter[1]), *EVAL, "--device", "cpu", *flags)
    assert code == 0, err
    assert [call["prompt"] for call in loads] == [REASONING_PROMPT if reasoning else DEFAULT_PROMPT]


TINY_GRPO = ["--steps", "1", "--train_frames", "2", "--eval_frames", "2", "--prompts_per_step", "1",
             "--num_generations", "2", "--max_new_tokens", "2", "--save_steps", "0", "--device", "cpu"]  # fmt: skip


def test_vision_grpo_passes_its_folder_settings_on_and_logs_into_the_folder(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--overwrite reaches run_grpo (a finished run with other settings is replaced), the run's log goes to its
    folder's log.txt, and the result table prints the result once."""
    import rlsuite.vision.grpo as grpo

    base = save_tiny_vlm("qwen2_vl", tmp_path / "qwen")
    seen: list[dict[str, Any]] = []
    real = grpo.run_grpo

    def spy(config: Any, options: Any, **kwargs: Any) -> Any:
        seen.append({k: kwargs[k] for k in ("out", "overwrite", "resume")})
        return real(config, options, **kwargs)

    monkeypatch.setattr(grpo, "run_grpo", spy)
    out = tmp_path / "run"
    code, text, err = cli("vision", "grpo", "--model", str(base), *TINY_GRPO, "--out", str(out))
    assert code == 0, err
    assert "trained now" in text and text.count("model folder") == 1
    assert "before GRPO" in (out / "log.txt").read_text() and "before GRPO" not in err  # the table says it
    code, text, err = cli("vision", "grpo", "--model", str(base), *TINY_GRPO, "--seed", "1", "--out", str(out),
                          "--overwrite")  # fmt: skip
    assert code == 0, err
    assert seen == [{"out": str(out), "overwrite": False, "resume": False},
                    {"out": str(out), "overwrite": True, "resume": False}]  # fmt: skip


def test_eval_vlm_needs_one_model_folder(cli) -> None:
    from rlsuite.app.vision import _model_folder
    from rlsuite.common.errors import ConfigError

    code, out, err = cli("vision", "eval-vlm", *EVAL)
    assert (code, out, err.strip()) == (2, "", "rlsuite: error: eval-vlm: no model folder; give FOLDER or --model")
    code, _, err = cli("vision", "eval-vlm", "a", "--model", "b", *EVAL)
    two = "rlsuite: error: eval-vlm: two model folders, FOLDER 'a' and --model 'b'; give one"
    assert (code, err.strip()) == (2, two)
    for given in ((None, None), ("a", "b")):
        with pytest.raises(ConfigError) as caught:
            _model_folder(*given)
        assert caught.value.field == "model"
    assert _model_folder("a", "a") == _model_folder(None, "a") == _model_folder("a", None) == "a"


@pytest.mark.parametrize("command", ["train-vlm-policy", "train-detector", "train-reward"])
def test_a_training_command_logs_into_its_folder_and_prints_its_results_once(cli, tmp_path: Path,
                                                                             command: str) -> None:  # fmt: skip
    """The library's INFO results go to the folder's log.txt and not to the console: the command's table prints
    them."""
    import re

    from test_vision_cli import DETECTOR, REWARD, VLM

    argv = {"train-vlm-policy": VLM, "train-detector": DETECTOR, "train-reward": REWARD}[command]
    out = tmp_path / "run"
    code, _, err = cli("vision", command, *argv, "--out", str(out))
    assert code == 0, err
    results = re.findall(r" INFO (rlsuite\.vision\.[\w.]+): (.*)", (out / "log.txt").read_text())
    assert results and not [m for _, m in results if m in err], err


@pytest.mark.parametrize("reasoning", [False, True])
def test_train_vlm_policy_prints_its_stage_table_to_the_letter(cli, tmp_path: Path, reasoning: bool) -> None:
    """A row per stage: greedy success, and the value gap (a reasoning policy has none: "-")."""
    import json

    from test_vision_cli import VLM

    out = tmp_path / "run"
    flags = ["--reasoning", "--max_new_tokens", "2"] if reasoning else []
    code, text, err = cli("vision", "train-vlm-policy", *VLM, *flags, "--out", str(out))
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    lines = text.splitlines()
    assert lines[0] == f"{'stage':<12} {'greedy success':>15} {'v* - v_pi (sampling)':>21}"
    for line, stage in zip(lines[1:4], ("untrained", "after_bc", "after_ppo"), strict=True):
        gap = "-" if reasoning else f"{m[f'value_gap_{stage}']:.3f}"
        assert line == f"{stage.replace('_', ' '):<12} {m[f'success_{stage}']:>15.2f} {gap:>21}"
    assert ("value_gap_untrained" in m) is not reasoning


def test_eval_defaults_take_a_reasoning_folders_answer_settings_then_the_config(tmp_path: Path) -> None:
    """From FOLDER or --model: the folder's reasoning, grammar, fallback, max_new_tokens and prompt (nothing else),
    then a --config file's settings over them."""
    import argparse
    import json

    from rlsuite.app.vision import _eval_defaults

    settings = {"reasoning": True, "grammar": "Go {action}", "fallback": "random", "max_new_tokens": 7,
                "prompt": "<image> think", "temperature": 0.5}  # fmt: skip
    (tmp_path / "metrics.json").write_text(json.dumps({"reasoning": settings}))
    (tmp_path / "eval.yml").write_text("episodes: 3\n")
    taken = ({k: v for k, v in settings.items() if k != "temperature"}, f"{tmp_path}/metrics.json")
    for ns in (argparse.Namespace(folder=str(tmp_path), model=None), argparse.Namespace(model=str(tmp_path))):
        assert _eval_defaults(ns) == [taken]
    config = argparse.Namespace(folder=None, model=str(tmp_path), config=str(tmp_path / "eval.yml"))
    assert _eval_defaults(config) == [taken, ({"episodes": 3}, str(tmp_path / "eval.yml"))]


def test_vision_grpo_prints_its_result_table_to_the_letter(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rewards before and after, then the model, the task, the answers after, the training and the folder,
    the keys padded to the longest; a reused run says so."""
    from types import SimpleNamespace

    import rlsuite.vision.grpo as grpo

    scores = {"count": 0.25, "presence": 0.5, "total": 0.75, "parsed": 1.0}
    metrics = {
        "eval_frames": 4, "before": {k: v / 2 for k, v in scores.items()}, "after": {**scores, "examples": ["3", "x"]},
        "model": {"model": "tiny-qwen", "parameters": 12345, "finetune": "lora", "trainable_parameters": 678},
        "reference": "the env's cells", "steps": 2, "seconds": 1.5,
    }  # fmt: skip
    for reused, when in ((False, "trained now"), (True, "trained earlier with these settings, reused")):
        run = Spy(SimpleNamespace(metrics=metrics, reused=reused, folder=tmp_path / "run"))
        monkeypatch.setattr(grpo, "run_grpo", run)
        code, text, err = cli("vision", "grpo", "--model", str(tmp_path / "qwen"), "--out", str(tmp_path / "run"))
        assert code == 0, err
        assert text.splitlines() == [
            "reward       before    after   (greedy answers, 4 held-out frames)",
            "count         0.125    0.250",
            "presence      0.250    0.500",
            "total         0.375    0.750",
            "parsed        0.500    1.000",
            "model          tiny-qwen: 12,345 parameters, lora fine-tuning of 678",
            "task           count of the forbidden cells, reference: the env's cells",
            "answers after  '3' | 'x'",
            f"training       2 GRPO steps, 1.5 s ({when})",
            f"model folder   {tmp_path / 'run'}",
        ]


def test_vision_train_reward_prints_its_result_table_and_passes_overwrite_on(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    import rlsuite.vision.defaults as defaults

    rank = {"spearman_pooled": 0.5, "frames": 40, "episodes": 4, "spearman_per_episode_mean": 0.25}
    training = {"steps": 3, "seconds": 2, "params": 1234, "first_loss": 1.0, "final_loss": 0.5}
    result = SimpleNamespace(metrics={"rank_correlation": rank, "training": training}, reused=False,
                             folder=tmp_path / "reward")  # fmt: skip
    for flags, overwrite in (([], False), (["--overwrite"], True)):
        trained = Spy(result)
        monkeypatch.setattr(defaults, "default_clip_reward", trained)
        code, text, err = cli("vision", "train-reward", "--out", str(tmp_path / "reward"), *flags)
        assert code == 0, err
        assert trained.calls[0][1]["overwrite"] is overwrite and trained.calls[0][1]["out"] == str(tmp_path / "reward")
        assert text.splitlines() == [
            "Spearman(reward, -distance)  0.500 pooled over 40 frames of 4 held-out episodes (0.250 mean per episode)",
            "training                     3 steps, 2 s, 1,234 parameters, loss 1.000 -> 0.500 (trained now)",
            f"model folder                 {tmp_path / 'reward'}",
        ]


FULL_MODEL_ROW = "tiny-llava: 12,345 parameters, lora fine-tuning of 678"


@pytest.mark.parametrize(
    ("reused", "extra", "when", "model_row"),
    [
        (False, {}, "trained now", FULL_MODEL_ROW),
        (True, {"resumed_from": "step-40"}, "trained earlier, reused", FULL_MODEL_ROW),
        (False, {"resumed_from": "step-40"}, "resumed from step-40", FULL_MODEL_ROW),
        # a folder written before the metrics named the model: its row says what is not known
        (False, {"model": None}, "trained now", "None: 0 parameters, None fine-tuning of 0"),
        (False, {"model": {"model": "tiny-llava"}}, "trained now", "tiny-llava: 0 parameters, None fine-tuning of 0"),
    ],
)  # fmt: skip
def test_train_vlm_policy_prints_its_summary_rows_to_the_letter(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reused: bool, extra: dict[str, Any], when: str,
    model_row: str,
) -> None:  # fmt: skip
    """The stage table (a stage the run did not reach is left out, a missing gap is "-"), then the model, the
    unparsed reasoned answers and their fallback, the held-out layouts, cloning, the training time with how the
    folder came to be (now, reused, or resumed from a checkpoint) and the folder."""
    from types import SimpleNamespace

    import rlsuite.vision.defaults as defaults

    metrics: dict[str, Any] = {
        "success_untrained": 0.25, "value_gap_untrained": 1.5, "success_after_bc": 0.5,
        "behaviour_clone": {"steps": 7, "held_out_accuracy": 0.875}, "seconds": 3.5, "unparsed_answers": 2,
        "answers": 10, "model": {"model": "tiny-llava", "parameters": 12345, "finetune": "lora",
                                 "trainable_parameters": 678},
    }  # fmt: skip
    metrics.update(extra)
    if metrics["model"] is None:
        del metrics["model"]
    trained = Spy(SimpleNamespace(metrics=metrics, reused=reused, folder=tmp_path / "run"))
    monkeypatch.setattr(defaults, "default_vlm_policy", trained)
    code, text, err = cli("vision", "train-vlm-policy", "--size", "4", "--eval_episodes", "6", "--reasoning",
                          "--fallback", "random", "--out", str(tmp_path / "run"))  # fmt: skip
    assert code == 0, err
    assert text.splitlines() == [
        "stage         greedy success  v* - v_pi (sampling)",
        "untrained               0.25                 1.500",
        "after bc                0.50                     -",
        f"model              {model_row}",
        "reasoned answers   2 of 10 unparsed (fallback: random)",
        "held-out layouts   6 random 4x4 layouts",
        "behaviour cloning  7 steps, held-out action accuracy 0.875",
        f"training           3.5 s ({when})",
        f"model folder       {tmp_path / 'run'}",
    ]


def test_vision_help_names_its_commands_vision_command(capsys: pytest.CaptureFixture[str]) -> None:
    from rlsuite.app.cli import main

    with pytest.raises(SystemExit):
        main(["vision", "--help"])
    assert capsys.readouterr().out.startswith("usage: rlsuite vision [-h] VISION_COMMAND ...\n")


def test_a_training_row_without_losses_leaves_them_out() -> None:
    """A training report without the first and final losses (no step taken) prints none."""
    from rlsuite.app.vision import _training

    info = {"steps": 0, "seconds": 1, "params": 1234}
    assert _training(info, "steps", False) == "0 steps, 1 s, 1,234 parameters (trained now)"
    assert _training({**info, "first_loss": 2.0, "final_loss": 0.25}, "steps", True) == (
        "0 steps, 1 s, 1,234 parameters, loss 2.000 -> 0.250 (trained earlier with this config, reused)")


@pytest.mark.parametrize("command", ["train-vlm-policy", "grpo"])
def test_quick_and_config_layers_reach_the_commands_settings(tmp_path: Path, command: str) -> None:
    """``--quick`` sets the command's own small budget, a ``--config`` file goes over it, flags over both."""
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser
    from rlsuite.app.vision import QUICK_GRPO, QUICK_VLM

    quick = QUICK_VLM if command == "train-vlm-policy" else QUICK_GRPO
    path = tmp_path / "c.yaml"
    path.write_text("eval_episodes: 7\n" if command == "train-vlm-policy" else "eval_frames: 7\n")
    parsed = parse(build_parser("vision"), ["vision", command, "--quick", "--config", str(path), "--size", "4"])
    settings = {k: v for value in parsed.configs.values() for k, v in dataclasses.asdict(value).items()}
    evals = "eval_episodes" if command == "train-vlm-policy" else "eval_frames"
    assert {k: settings[k] for k in quick if k not in (evals, "size")} == {
        k: v for k, v in quick.items() if k not in (evals, "size")}
    assert (settings[evals], settings["size"]) == (7, 4)
    assert parsed.sources["bc_steps" if command == "train-vlm-policy" else "steps"] == "--quick"
    assert parsed.sources[evals] == str(path)


def test_the_vlm_commands_help_lines_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlsuite.app.cli import main
    from rlsuite.app.vision import TRAIN_COMMANDS

    monkeypatch.setenv("COLUMNS", "400")  # one line: argparse wraps at hyphens
    lines = {
        "train-vlm-policy": f"{TRAIN_COMMANDS['train-vlm-policy'][1]}; --model FOLDER trains any local VLM (LoRA above "
                            "--lora-min-params), --reasoning lets it reason before the action",
        "grpo": "GRPO (TRL) of a local VLM folder on pixel grid world frames with detection rewards (Visual-RFT): "
                "count / presence / IoU of its parsed answer against the env's or a detector's boxes",
        "eval-vlm": "load a local VLM folder as a VLMPolicy (action-word scoring, or reasoned answers: --reasoning, "
                    "or as the folder was trained) and report its success rate on held-out random pixel grid worlds",
    }  # fmt: skip
    for command, line in lines.items():
        with pytest.raises(SystemExit):
            main(["vision", command, "--help"])
        out = capsys.readouterr().out
        assert f"\n\n{line}\n\n" in out
    assert out.split("\n\n")[0].endswith(" [FOLDER]")  # eval-vlm's optional positional
    assert "\npositional arguments:\n  FOLDER                the model folder (or --model)\n" in out


def test_vision_without_a_command_prints_its_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from rlsuite.app.cli import main

    assert main(["vision"]) == 2
    assert capsys.readouterr().out.startswith("usage: rlsuite vision [-h] VISION_COMMAND ...\n")
