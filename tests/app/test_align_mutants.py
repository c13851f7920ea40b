"""``rlsuite align``'s wiring, to the letter and in seconds (mutation testing): what ``compare`` hands the library's
input check and run, and in which order against the folder. The library's own stages run in tests/alignment."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from recording import close_new_log_handlers

import rlsuite.alignment.compare as library
from rlsuite.alignment.compare import CompareConfig
from rlsuite.alignment.data import Columns
from rlsuite.app.align import CompareOptions, compare
from rlsuite.app.cli import main


class Stop(Exception):
    """Raised by a spy: the call it records is as far as the test goes."""


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The arguments of every check_inputs call; the check stops the command."""
    seen: list[tuple[Any, ...]] = []

    def check_inputs(*args: Any) -> None:
        seen.append(args)
        raise Stop

    monkeypatch.setattr(library, "check_inputs", check_inputs)
    return seen


@pytest.mark.parametrize("quick", [False, True])
def test_compare_checks_every_input_before_the_folder(tmp_path: Path, checked: list, quick: bool) -> None:
    out = tmp_path / "cmp"
    opts = CompareOptions(out=str(out), model="m", data="d.jsonl", skip_sft=True, max_unknown_rate=0.25,
                          trust_pickle=True, quick=quick)  # fmt: skip
    columns = Columns(prompt_column="q")
    with pytest.raises(Stop):
        compare(out, None, opts, columns)
    config = CompareConfig.quick() if quick else CompareConfig()
    assert checked == [(config, "m", "d.jsonl", True, 0.25, columns, True)]
    assert not out.exists()


def test_compare_without_options_uses_the_default_ones_and_the_config_given(tmp_path: Path, checked: list) -> None:
    config = CompareConfig.quick()
    with pytest.raises(Stop):
        compare(tmp_path / "cmp", config)
    defaults = CompareOptions()
    assert checked == [(config, None, None, False, defaults.max_unknown_rate, None, False)]


def test_the_command_runs_the_comparison_into_its_out_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[Path] = []

    def run_compare(folder: Path, *args: Any, **kwargs: Any) -> None:
        ran.append(folder)
        raise Stop

    monkeypatch.setattr(library, "check_inputs", lambda *args: None)
    monkeypatch.setattr(library, "run_compare", run_compare)
    out = tmp_path / "cmp"
    with pytest.raises(Stop):
        main(["--debug", "align", "compare", "--quick", "--out", str(out)])
    assert ran == [out] and (out / "log.txt").is_file()


def test_quick_and_a_config_file_are_layers_named_where_they_came_from(tmp_path: Path) -> None:
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser

    config = tmp_path / "compare.yaml"
    config.write_text("seeds: 2\n")
    parsed = parse(build_parser("align"), ["align", "compare", "--quick", "--config", str(config)])
    assert parsed.get(CompareConfig) == dataclasses.replace(CompareConfig.quick(), seeds=2)
    assert parsed.sources["sft_examples"] == "--quick" and parsed.sources["seeds"] == str(config)
    plain = parse(build_parser("align"), ["align", "compare"])
    assert plain.get(CompareConfig) == CompareConfig() and plain.sources == {}


def test_the_command_hands_the_comparison_its_columns_and_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:  # fmt: skip
    seen: list[dict[str, Any]] = []

    def run_compare(folder: Path, cfg: CompareConfig, **kwargs: Any) -> None:
        seen.append({"cfg": cfg, **kwargs})
        raise Stop

    monkeypatch.setattr(library, "check_inputs", lambda *args: None)
    monkeypatch.setattr(library, "run_compare", run_compare)
    with pytest.raises(Stop):
        main(["--debug", "align", "compare", "--out", str(tmp_path / "c"), "--seeds", "2", "--prompt_column", "q"])
    assert seen[0]["cfg"] == CompareConfig(seeds=2) and seen[0]["columns"] == Columns(prompt_column="q")


@pytest.mark.parametrize("model", [None, "sft-model"])
def test_data_export_passes_every_setting_on_and_says_where_the_files_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], model: str | None
) -> None:
    import rlsuite.alignment.export as export
    import rlsuite.alignment.models as models

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(models, "check_causal_lm", lambda folder, **kw: calls.append(("check", folder, kw)))
    monkeypatch.setattr(export, "export_task", lambda out, **kw: calls.append(("export", out, kw)) or
                        {"train": 9, "test": 2})  # fmt: skip
    out = tmp_path / "data"
    argv = ["align", "data", "export", "--out", str(out), "--pair_copies", "3", "--seed", "4",
            "--heldout_fraction", "0.25", "--chat", "--trust_pickle"]  # fmt: skip
    argv += ["--model", model] if model else []
    assert main(argv) == 0
    settings = {"model": model, "pair_copies": 3, "seed": 4, "heldout_fraction": 0.25, "conversational": True,
                "trust_pickle": True}  # fmt: skip
    checks = [("check", model, {"trust_pickle": True})] if model else []
    assert calls == [*checks, ("export", out, settings)]
    assert capsys.readouterr().out == (
        f"9 train and 2 held-out pairs in {out} (train.jsonl, test.jsonl; the gold reward: "
        f"{out / 'gold_reward.json'}); datasets.load_dataset({str(out)!r}) reads them\n"
    )


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    from rlsuite.testing.alignment import tiny_pairs

    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in tiny_pairs()[0][:8]))
    return path


def test_a_training_command_checks_trains_records_and_says_so(
    tmp_path: Path, pairs_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``align dpo``: the run's settings and finished marker in its folder, what train gets, the result line (the
    trainer itself is a spy: the trainers run in tests/alignment/test_training.py)."""
    import rlsuite.alignment.methods as methods
    import rlsuite.alignment.models as models
    from rlsuite.alignment.configs import ModelConfig
    from rlsuite.testing.alignment import tiny_base

    base, out = tiny_base(), tmp_path / "dpo"
    seen: list[tuple[Any, ...]] = []
    metrics = {"global_steps": 3, "wall_seconds": 1.25, "log_history": [
        {"loss": 2.0, "rewards/margins": 0.1}, {"loss": 1.5}, {"loss": 1.25, "rewards/margins": 0.3}]}  # fmt: skip

    def train(cfg: Any, model: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append((cfg, model, len(data), kwargs))
        assert (out / "run_config.json").is_file() and not (out / "finished.json").exists()
        return metrics

    monkeypatch.setattr(methods, "train", train)
    checked = []
    real_check = models.check_causal_lm
    monkeypatch.setattr(models, "check_causal_lm", lambda folder, **kw: checked.append(kw) or real_check(folder, **kw))
    argv = ["align", "dpo", "--model", str(base), "--data", str(pairs_file), "--out", str(out), "--beta", "0.2",
            "--max_steps", "3", "--seed", "5", "--trust_pickle"]  # fmt: skip
    assert main(argv) == 0
    ((cfg, model, n, kwargs),) = seen
    assert (cfg.output_dir, cfg.beta, cfg.max_steps, cfg.seed, model, n) == (str(out), 0.2, 3, 5, base, 8)
    assert checked == [{"trust_pickle": True}]
    mcfg = ModelConfig(model_name_or_path=str(base), trust_pickle=True)
    assert kwargs == {"reward": None, "model_config": mcfg, "resume": False}
    assert json.loads((out / "run_config.json").read_text()) == json.loads(json.dumps({
        "method": "dpo", "model": str(base), "data": str(pairs_file), "reward": None, "config": cfg.to_dict(),
        "model_config": dataclasses.asdict(mcfg)}))  # fmt: skip
    finished = json.loads((out / "finished.json").read_text())
    assert {k: v for k, v in finished.items() if k != "finished_at"} == {"method": "dpo", "global_steps": 3}
    assert " ".join(capsys.readouterr().out.split()) == (  # wrapped to the terminal's width
        "dpo: 3 steps in 1.2 s, loss 2.000 -> 1.250, implicit reward margin (chosen - rejected) 0.100 -> 0.300 "
        f"(training batches); model in {out / 'model'}"
    )
    (out / "metrics.json").write_text(json.dumps(metrics))  # what train writes
    (out / "model").mkdir()
    (out / "model" / "config.json").write_text("{}")
    assert main([*argv, "--resume"]) == 0 and len(seen) == 1
    said = capsys.readouterr().out
    assert said == f"dpo: {out} is finished (3 steps); nothing to resume (--overwrite trains again)\n"


@pytest.mark.parametrize(("losses", "said"), [([3.0], ""), ([3.0, 2.5], ", loss 3.000 -> 2.500")])
def test_a_training_command_without_out_writes_runs_align_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], losses: list[float], said: str
) -> None:
    import rlsuite.alignment.methods as methods
    from rlsuite.testing.alignment import tiny_base

    seen: list[Any] = []
    metrics = {"global_steps": 1, "wall_seconds": 0.5, "log_history": [{"loss": x} for x in losses]}  # one: no trend
    monkeypatch.setattr(methods, "train", lambda cfg, *a, **kw: seen.append(cfg) or metrics)
    monkeypatch.chdir(tmp_path)
    assert main(["align", "sft", "--model", str(tiny_base()), "--max_steps", "1"]) == 0
    assert seen[0].output_dir == "runs/align-sft" and (tmp_path / "runs" / "align-sft" / "finished.json").is_file()
    assert capsys.readouterr().out == f"sft: 1 steps in 0.5 s{said}; model in {Path('runs/align-sft/model')}\n"
    settings = json.loads((tmp_path / "runs" / "align-sft" / "run_config.json").read_text())
    assert settings["data"] == "synthetic task"


def test_a_full_disk_while_saving_is_an_os_error_naming_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from safetensors import SafetensorError

    import rlsuite.alignment.methods as methods
    from rlsuite.testing.alignment import tiny_base

    def train(*args: Any, **kwargs: Any) -> None:
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(methods, "train", train)
    out = tmp_path / "sft"
    with pytest.raises(OSError) as caught:
        main(["--debug", "align", "sft", "--model", str(tiny_base()), "--out", str(out), "--max_steps", "1"])
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(out))


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every training_data call's arguments (the real one runs) and train calls (a spy: no training)."""
    import rlsuite.alignment.methods as methods

    calls: list[dict[str, Any]] = []
    real = methods.training_data

    def training_data(method: Any, records: Any, model: Any, conversational: bool, seed: int,
                      trust_pickle: bool = False) -> Any:  # fmt: skip
        calls.append({"method": method.name, "records": records, "model": model, "conversational": conversational,
                      "seed": seed, "trust_pickle": trust_pickle})  # fmt: skip
        return real(method, records, model, conversational, seed, trust_pickle)

    monkeypatch.setattr(methods, "training_data", training_data)
    monkeypatch.setattr(
        methods, "train", lambda *a, **kw: calls.append({"train": kw}) or {"global_steps": 1, "wall_seconds": 0.1}
    )
    return calls


def test_the_data_reach_training_with_the_models_chat_template_seed_and_trust(
    tmp_path: Path, pairs_file: Path, trained: list[dict[str, Any]]
) -> None:
    from rlsuite.testing.alignment import tiny_base, tiny_chat_base

    records = [json.loads(line) for line in pairs_file.read_text().splitlines()]
    for model, chat in ((tiny_base(), False), (tiny_chat_base(), True)):
        out = tmp_path / f"run-{chat}"
        assert main(["align", "dpo", "--model", str(model), "--data", str(pairs_file), "--out", str(out),
                     "--seed", "7", "--trust_pickle", "--max_unknown_rate", "1.0"]) == 0  # fmt: skip
        assert trained[-2] == {"method": "dpo", "records": records, "model": model, "conversational": chat, "seed": 7,
                               "trust_pickle": True}  # fmt: skip


def test_a_second_run_into_a_folder_needs_overwrite(tmp_path: Path, pairs_file: Path, trained: list[Any]) -> None:
    from rlsuite.common.errors import OutputDirError
    from rlsuite.testing.alignment import tiny_base

    argv = ["align", "dpo", "--model", str(tiny_base()), "--data", str(pairs_file), "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    with pytest.raises(OutputDirError):
        main(["--debug", *argv])
    assert main([*argv, "--overwrite"]) == 0 and main([*argv, "--overwrite", "--resume"]) == 0
    assert sum("train" in c for c in trained) == 3  # the first run, then --overwrite twice (with --resume too)


def test_the_data_checks_name_the_file(tmp_path: Path, trained: list[Any]) -> None:
    from rlsuite.common.errors import DataError
    from rlsuite.testing.alignment import tiny_base

    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps({"prompt": "zq xv", "chosen": " wj kk", "rejected": " good"}) + "\n")
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"prompt": [{"role": "user", "content": "good"}],
                                "chosen": [{"role": "assistant", "content": "good"}],
                                "rejected": [{"role": "assistant", "content": "bad"}]}) + "\n")  # fmt: skip
    base = ["--debug", "align", "dpo", "--model", str(tiny_base()), "--out", str(tmp_path / "o")]
    with pytest.raises(DataError, match=f"^{re.escape(str(unknown))}: "):
        main([*base, "--data", str(unknown)])
    with pytest.raises(DataError, match=f"^{re.escape(str(chat))}: conversational records, but the model's "):
        main([*base, "--data", str(chat)])
    assert main([*base, "--data", str(unknown), "--max_unknown_rate", "1.0"]) == 0 and "train" in trained[-1]


@pytest.mark.parametrize(
    ("flags", "yaml", "layer"),
    [
        ([], None, None),
        (["--device", "cpu"], None, "--device cpu"),
        ([], "device: cpu\nbeta: 0.3\n", "--device cpu"),  # the file's device, mapped as the flag's
        (["--device", "auto"], "beta: 0.3\n", None),
    ],
)
def test_the_device_maps_onto_trls_settings_as_a_named_layer(
    tmp_path: Path, flags: list[str], yaml: str | None, layer: str | None
) -> None:
    from rlsuite.alignment.configs import DPOConfig
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser

    config = tmp_path / "dpo.yaml"
    if yaml is not None:
        config.write_text(yaml)
    argv = ["align", "dpo", *flags, *(["--config", str(config)] if yaml is not None else [])]
    parsed = parse(build_parser("align"), argv)
    cfg = parsed.get(DPOConfig)
    assert (parsed.sources.get("use_cpu"), parsed.sources.get("bf16")) == (layer, layer)
    if layer is not None:
        assert (cfg.use_cpu, cfg.bf16) == (True, False)
    if yaml is not None:
        assert parsed.sources["beta"] == str(config) and cfg.beta == 0.3


def test_a_gpu_other_than_the_first_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """accelerate places a process on a GPU by its rank (a two-GPU machine stood in for: device checks spied)."""
    import torch

    import rlsuite.common.device as device
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser
    from rlsuite.common.errors import ConfigError

    monkeypatch.setattr(device, "device_problem", lambda name: None)
    monkeypatch.setattr(device, "select_device", lambda name: torch.device(name))
    with pytest.raises(ConfigError) as caught:
        parse(build_parser("align"), ["align", "dpo", "--device", "cuda:1"])
    assert str(caught.value) == ("--device cuda:1: accelerate puts each process on a GPU by its rank; use --device "
                                 "cuda with CUDA_VISIBLE_DEVICES=1")  # fmt: skip
    assert (caught.value.field, caught.value.value) == ("device", "cuda:1")
    parsed = parse(build_parser("align"), ["align", "dpo", "--device", "cuda:0"])
    assert parsed.sources["use_cpu"] == "--device cuda:0" and "bf16" not in parsed.sources


def test_the_method_commands_are_listed_as_method_and_parse_as_rlsuites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser
    from rlsuite.common.errors import ConfigError

    with pytest.raises(SystemExit):
        main(["align", "--help"])
    assert capsys.readouterr().out.startswith("usage: rlsuite align [-h] METHOD ...\n")
    with pytest.raises(ConfigError, match=r"^rlsuite align dpo: argument --beta: invalid float value: 'abc'$"):
        parse(build_parser("align"), ["align", "dpo", "--beta", "abc"])
    monkeypatch.chdir(tmp_path)  # no file named dpo here: the shipped alignment/dpo.yaml
    parsed = parse(build_parser("align"), ["align", "dpo", "--config", "dpo"])
    assert Path(parsed.sources["beta"]).parts[-2:] == ("alignment", "dpo.yaml")


def test_align_and_align_data_list_their_commands_with_their_help(capsys: pytest.CaptureFixture[str]) -> None:
    said = {}
    for argv in (["align", "--help"], ["align", "data", "--help"], ["align", "model-path", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        said[argv[-2]] = " ".join(capsys.readouterr().out.split())  # wrapped to the terminal's width
    for line in ("data the embedded task's data for other tools",
                 "model-path print the embedded model's folder (the default --model)",
                 "compare the methods side by side from one model and one preference set, with a report"):  # fmt: skip
        assert line in said["align"]
    assert said["data"].startswith("usage: rlsuite align data [-h] ACTION ...")
    assert ("export write the embedded task's train and held-out pairs in TRL's format (train.jsonl, test.jsonl) and "
            "its gold reward (gold_reward.json)") in said["data"]  # fmt: skip
    assert "--config" not in said["model-path"]


def test_an_online_method_trains_on_its_reward_and_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rlsuite.alignment.methods as methods
    from rlsuite.testing.alignment import tiny_base

    seen: list[dict[str, Any]] = []
    checked: list[tuple[Any, ...]] = []
    real_check = methods.Method.check_reward
    monkeypatch.setattr(methods.Method, "check_reward", lambda self, *a: checked.append(a) or real_check(self, *a))
    metrics = {"global_steps": 2, "wall_seconds": 0.5, "log_history": [{"reward": 0.1}, {"reward": 0.2},
                                                                       {"reward": 0.3}]}  # fmt: skip
    monkeypatch.setattr(methods, "train", lambda *a, **kw: seen.append(kw) or metrics)
    out = tmp_path / "grpo"
    argv = ["align", "grpo", "--model", str(tiny_base()), "--reward_model_path", "gold", "--out", str(out),
            "--max_steps", "2", "--trust_pickle"]  # fmt: skip
    assert main(argv) == 0
    assert seen[0]["reward"] == "gold" and checked == [("gold", True)]
    assert " ".join(capsys.readouterr().out.split()) == (
        f"grpo: 2 steps in 0.5 s, reward 0.100 -> 0.300 (training batches, gold); model in {out / 'model'}"
    )


def test_a_reward_logged_once_has_no_trend() -> None:
    from rlsuite.app.align import reward_phrase

    assert reward_phrase({"log_history": [{"reward": 0.25}]}, "gold") == ", reward 0.250 (training batches, gold)"


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``compare``'s library calls recorded: Ray's check, the output folder's settings, the stages' names, the run
    (which answers two rows) and the report; the log file and progress display it opens are undone afterwards."""
    import logging

    import rlsuite.alignment.workers as workers
    import rlsuite.common.io as io
    from rlsuite.common import progress

    seen: dict[str, list[Any]] = {"ray": [], "dirs": [], "stages": [], "run": [], "report": []}

    class Recorded(io.OutputDir):
        def __init__(self, path: Any, **kwargs: Any) -> None:
            seen["dirs"].append((path, kwargs))
            super().__init__(path, **kwargs)

    def run_compare(folder: Path, cfg: CompareConfig, **kwargs: Any) -> dict[str, Any]:
        seen["run"].append((folder, cfg, kwargs))
        return {"methods": {"SFT": {}, "DPO": {}}}

    monkeypatch.setattr(library, "check_inputs", lambda *args: None)
    monkeypatch.setattr(workers, "require_ray", lambda: seen["ray"].append(True))
    monkeypatch.setattr(io, "OutputDir", Recorded)
    monkeypatch.setattr(library, "stage_names", lambda cfg, needs_sft: seen["stages"].append((cfg, needs_sft)) or [])
    monkeypatch.setattr(library, "run_compare", run_compare)
    monkeypatch.setattr(library, "write_report", lambda folder, results: seen["report"].append((folder, results)))
    handlers = list(logging.getLogger().handlers)
    yield seen
    close_new_log_handlers(handlers)
    progress.set_reporter(None)


def test_compare_hands_the_run_every_option_and_finishes_the_folder(tmp_path: Path, wired: Any) -> None:
    from rlsuite.app import console
    from rlsuite.common.io import OutputDir

    out, cfg = tmp_path / "cmp", CompareConfig.quick()
    opts = CompareOptions(out=str(out), model="m", data="d.jsonl", workers=3, ray_address="ray://head:1",
                          max_unknown_rate=0.25, trust_pickle=True, overwrite=True)  # fmt: skip
    results = compare(out, cfg, opts, "columns")
    assert wired["dirs"] == [(out, {"overwrite": True, "resume": True, "allow_existing": True})]
    assert wired["stages"] == [(cfg, True)]
    (folder, got, kwargs), = wired["run"]  # fmt: skip
    assert isinstance(kwargs.pop("listener"), console.Job)
    assert (folder, got) == (out, cfg)
    assert kwargs == {"model": "m", "data": "d.jsonl", "skip_sft": False, "workers": 3, "ray_address": "ray://head:1",
                      "max_unknown_rate": 0.25, "columns": "columns", "trust_pickle": True}  # fmt: skip
    assert wired["report"] == [(out, results)]
    assert OutputDir(out).finished_info()["methods"] == ["SFT", "DPO"] and (out / "log.txt").is_file()
    compare(out, cfg, CompareOptions(out=str(out), skip_sft=True))  # a rerun into the finished folder: resumed
    assert wired["dirs"][-1] == (out, {"overwrite": False, "resume": True, "allow_existing": True})
    assert wired["run"][1][2]["skip_sft"] is True and wired["run"][1][2]["trust_pickle"] is False


@pytest.mark.parametrize(("model", "skip_sft", "needs_sft"), [(None, False, False), ("m", True, False),
                                                             ("m", False, True)])  # fmt: skip
@pytest.mark.parametrize(("workers", "address", "ray"), [(1, None, False), (2, None, True), (1, "ray://h:1", True)])
def test_compare_trains_sft_only_for_a_given_model_and_asks_for_ray_only_to_use_it(
    tmp_path: Path, wired: Any, model: str | None, skip_sft: bool, needs_sft: bool, workers: int,
    address: str | None, ray: bool,
) -> None:  # fmt: skip
    opts = CompareOptions(out=str(tmp_path), model=model, skip_sft=skip_sft, workers=workers, ray_address=address)
    compare(tmp_path, CompareConfig.quick(), opts)
    assert wired["stages"][0][1] is needs_sft and wired["ray"] == ([True] if ray else [])


@pytest.mark.parametrize(("command", "starts_from"), [("sft", "base"), ("grpo", "sft")])
def test_without_model_a_method_starts_from_its_embedded_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, starts_from: str
) -> None:
    import rlsuite.alignment.embedded as embedded
    import rlsuite.alignment.methods as methods
    from rlsuite.testing.alignment import tiny_base

    asked: list[str] = []
    monkeypatch.setattr(embedded, "default_base_dir", lambda: asked.append("base") or tiny_base())
    monkeypatch.setattr(embedded, "default_model_dir", lambda: asked.append("sft") or tiny_base())
    seen: list[Any] = []
    metrics = {"global_steps": 1, "wall_seconds": 0.5, "log_history": []}
    monkeypatch.setattr(methods, "train", lambda cfg, model, *a, **kw: seen.append(model) or metrics)
    argv = ["align", command, "--out", str(tmp_path / command), "--max_steps", "1"]
    assert main([*argv, "--reward_model_path", "gold"] if command == "grpo" else argv) == 0
    assert asked == [starts_from] and seen == [tiny_base()]


def test_another_accelerate_rank_trains_and_leaves_the_folder_to_the_main_one(
    tmp_path: Path, pairs_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rlsuite.alignment.methods as methods
    from rlsuite.alignment.configs import ModelConfig
    from rlsuite.app import console
    from rlsuite.testing.alignment import tiny_base

    seen: list[tuple[Any, ...]] = []
    monkeypatch.setattr(methods, "train", lambda cfg, model, data, **kw: seen.append((cfg, model, len(data), kw)))
    monkeypatch.setattr(console, "is_main_process", lambda: False)
    out = tmp_path / "dpo"
    argv = ["align", "dpo", "--model", str(tiny_base()), "--data", str(pairs_file), "--out", str(out), "--resume"]
    assert main(argv) == 0
    ((cfg, model, n, kwargs),) = seen
    assert (cfg.output_dir, model, n) == (str(out), tiny_base(), 8)
    mcfg = ModelConfig(model_name_or_path=str(tiny_base()))
    assert kwargs == {"reward": None, "model_config": mcfg, "resume": True}
    assert not out.exists() and capsys.readouterr().out == ""
