"""rlsuite.alignment.training.run_trainer's record of a run to the letter (mutation testing): metrics.json and the
returned metrics, the saved model folder, what resume starts from and says. Two SFT steps of a tiny Qwen2 (seconds);
the trainers' learning is checked in test_training.py."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

import torch

from rlsuite.alignment import configs as C
from rlsuite.alignment import training as T
from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer

TASK = SentimentTask()


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run_trainer") / "policy"
    tok = build_tokenizer(TASK.vocabulary())
    build_tiny_causal_lm(tok, "qwen2", hidden_size=16, layers=1, seed=0).save_pretrained(root)
    tok.save_pretrained(root)
    return root


def _config(out: Path, max_steps: int = 2) -> C.SFTConfig:
    """On the CPU whatever the machine has: the peak memory measured is the process's RSS."""
    return C.SFTConfig(output_dir=str(out), max_steps=max_steps, per_device_train_batch_size=4, save_strategy="steps",
                       save_steps=1, logging_steps=1, use_cpu=True)  # fmt: skip


def _trainer(config: Any, policy: Path) -> Any:
    import datasets
    from trl import SFTTrainer

    model, tok = T._policy(config, policy, None)
    records = TASK.sft_dataset(16, seed=0)
    return SFTTrainer(model=model, args=config, train_dataset=datasets.Dataset.from_list(list(records)),
                      processing_class=tok)  # fmt: skip


def _trl_config(out: Path, **settings: Any) -> Any:
    """TRL's own SFTConfig (no METHOD, none of rlsuite's defaults) on the CPU, saving nothing: ``settings`` on top."""
    import trl

    return trl.SFTConfig(output_dir=str(out), per_device_train_batch_size=4, save_strategy="no", use_cpu=True,
                         bf16=False, **settings)  # fmt: skip


def test_a_run_records_its_metrics_model_and_steps(policy: Path, tmp_path: Path) -> None:
    out = tmp_path / "sft"
    metrics = T.train_sft(policy, TASK.sft_dataset(16, seed=0), _config(out))
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert sorted(metrics) == ["global_steps", "log_history", "method", "num_processes", "peak_memory_kind",
                               "peak_memory_mb", "resumed_from", "tokens", "tokens_per_second", "torch_threads",
                               "wall_seconds"]  # fmt: skip
    assert (metrics["method"], metrics["global_steps"], metrics["resumed_from"], metrics["num_processes"]) == (
        "sft", 2, None, 1)  # fmt: skip
    assert metrics["torch_threads"] == torch.get_num_threads()
    assert metrics["peak_memory_kind"] == "process peak RSS during the stage" and metrics["peak_memory_mb"] > 10
    assert metrics["peak_memory_mb"] == round(metrics["peak_memory_mb"], 1)
    assert metrics["tokens"] > 0 and metrics["tokens_per_second"] > 0 and metrics["wall_seconds"] > 0
    assert metrics["tokens_per_second"] == pytest.approx(metrics["tokens"] / metrics["wall_seconds"], rel=0.05)
    assert [h["step"] for h in metrics["log_history"] if "loss" in h] == [1, 2]
    assert T.losses(metrics) == [h["loss"] for h in metrics["log_history"] if "loss" in h]
    assert (out / "model" / "config.json").is_file() and (out / "model" / "tokenizer.json").is_file()
    assert not (out / ".model.partial").exists() and T.read_metrics(out) == metrics


def test_resume_starts_from_the_newest_valid_checkpoint_and_says_so(
    policy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "sft"
    records = TASK.sft_dataset(16, seed=0)
    T.train_sft(policy, records, _config(out, max_steps=1))
    with caplog.at_level(logging.INFO, logger=T.log.name):
        more = T.train_sft(policy, records, _config(out), resume=True)
    assert (more["global_steps"], more["resumed_from"]) == (2, str(out / "checkpoint-1"))
    assert f"{out}: resuming from checkpoint-1" in [r.getMessage() for r in caplog.records]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=T.log.name):
        done = T.train_sft(policy, records, _config(out), resume=True)  # checkpoint-2 holds the whole budget
    assert (done["global_steps"], done["resumed_from"]) == (2, str(out / "checkpoint-2"))
    assert [r.getMessage() for r in caplog.records if "budget" in r.getMessage()] == [
        f"{out}: checkpoint-2 already holds the whole budget; finishing from it"]  # fmt: skip


def test_trls_own_resume_flag_picks_that_checkpoint_not_the_newest(policy: Path, tmp_path: Path) -> None:
    out = tmp_path / "sft"
    records = TASK.sft_dataset(16, seed=0)
    T.train_sft(policy, records, _config(out))  # checkpoint-1 and checkpoint-2
    config = _config(out, max_steps=3)
    config.resume_from_checkpoint = str(out / "checkpoint-1")
    metrics = T.train_sft(policy, records, config)  # without resume: the flag alone
    assert (metrics["global_steps"], metrics["resumed_from"]) == (3, str(out / "checkpoint-1"))


def test_without_resume_a_run_starts_over_beside_its_checkpoints_and_says_nothing(
    policy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """run_trainer's default is a fresh start, even where valid checkpoints lie; only a resume that finds
    checkpoint folders but none valid says it starts from the beginning."""
    out = tmp_path / "sft"
    records = TASK.sft_dataset(16, seed=0)
    T.train_sft(policy, records, _config(out, max_steps=1))  # a valid checkpoint-1
    config = _config(out)
    with caplog.at_level(logging.INFO, logger=T.log.name):
        metrics = T.run_trainer(_trainer(config, policy), config)
        assert (metrics["global_steps"], metrics["resumed_from"]) == (2, None)
        T.train_sft(policy, records, _config(out, max_steps=3), resume=True)  # from checkpoint-2: valid
    assert not [r for r in caplog.records if "no valid checkpoint" in r.getMessage()]
    broken = tmp_path / "broken"
    (broken / "checkpoint-1").mkdir(parents=True)  # a folder with nothing in it: not a checkpoint
    with caplog.at_level(logging.INFO, logger=T.log.name):
        again = T.train_sft(policy, records, _config(broken, max_steps=1), resume=True)
    assert again["resumed_from"] is None
    assert [r.getMessage() for r in caplog.records if "no valid checkpoint" in r.getMessage()] == [
        f"{broken}: no valid checkpoint, training from the start"]  # fmt: skip


def test_the_peak_memory_on_the_cpu_is_the_processes_high_water_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    """VmHWM of /proc/self/status in MB (kB / 1024); where /proc cannot be read, getrusage's ru_maxrss (kB)."""
    import resource

    def hwm() -> float:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    before, got, after = hwm(), T._peak_rss_mb(), hwm()
    assert before <= got <= after

    class _NoProc:
        def __init__(self, path: str) -> None:
            self.path = path

        def read_text(self) -> str:
            raise PermissionError(f"{self.path}: not readable")

    monkeypatch.setattr(T, "Path", _NoProc)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert before <= T._peak_rss_mb() <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_config_without_a_method_name_is_named_by_its_class_and_counted_tokens_are_the_callers(
    policy: Path, tmp_path: Path
) -> None:
    """TRL's own SFTConfig (no METHOD) with token counting off: the metrics name the class and take the tokens
    the caller counted (PPO counts its own)."""
    config = _trl_config(tmp_path / "sft", max_steps=1, include_num_input_tokens_seen="no")
    metrics = T.run_trainer(_trainer(config, policy), config, tokens=77)
    assert (metrics["method"], metrics["tokens"], metrics["global_steps"]) == ("SFTConfig", 77, 1)
    assert metrics["wall_seconds"] == round(metrics["wall_seconds"], 2) > 0
    assert metrics["tokens_per_second"] == pytest.approx(77 / metrics["wall_seconds"], rel=0.05)


@pytest.mark.parametrize("use_cpu", [False, True])
def test_on_a_gpu_the_peak_memory_is_torchs_allocation_high_water_mark_in_mib(
    policy: Path, tmp_path: Path, use_cpu: bool
) -> None:
    """Under simulated CUDA: the GPU's max_memory_allocated (bytes / 2**20, one decimal), unless the run is told
    to use the CPU."""
    from cuda_sim import simulate_cuda

    with simulate_cuda(), pytest.MonkeyPatch.context() as mp:  # undone before the simulation ends
        mp.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: 3 * 2**20 + 123_456)  # 3.1177 MiB
        config = _config(tmp_path / "sft", max_steps=1)
        config.use_cpu = use_cpu
        metrics = T.run_trainer(_trainer(config, policy), config)
    if use_cpu:
        assert metrics["peak_memory_kind"] == "process peak RSS during the stage" and metrics["peak_memory_mb"] > 10
    else:
        assert (metrics["peak_memory_kind"], metrics["peak_memory_mb"]) == ("cuda max_memory_allocated", 3.1)


def test_a_budget_of_zero_steps_is_no_budget_so_a_checkpoint_is_trained_on_from(policy: Path, tmp_path: Path) -> None:
    """max_steps 0 (allowed by PPO's config and TRL's own configs) means epochs decide: a checkpoint given with it
    is resumed and trained on, not taken as already holding the budget (which would finish at its step 1)."""
    out = tmp_path / "sft"
    T.train_sft(policy, TASK.sft_dataset(16, seed=0), _config(out, max_steps=1))  # checkpoint-1
    config = _trl_config(out, max_steps=0, num_train_epochs=1, resume_from_checkpoint=str(out / "checkpoint-1"))
    metrics = T.run_trainer(_trainer(config, policy), config)
    assert metrics["resumed_from"] == str(out / "checkpoint-1") and metrics["global_steps"] > 1  # trained on


def test_the_leftovers_of_a_save_killed_half_way_do_not_reach_the_model(policy: Path, tmp_path: Path) -> None:
    out = tmp_path / "sft"
    (out / ".model.partial").mkdir(parents=True)
    (out / ".model.partial" / "adapter_model.safetensors").write_bytes(b"stale")  # from a killed run's save
    T.train_sft(policy, TASK.sft_dataset(16, seed=0), _config(out, max_steps=1))
    assert not (out / "model" / "adapter_model.safetensors").exists() and not (out / ".model.partial").exists()
    assert (out / "model" / "model.safetensors").is_file()


def test_rates_are_tokens_over_the_stage_clock_and_the_peak_says_what_it_measured(
    policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wall time is the clock around training (here 3 s: 77 tokens are 25.7 a second, a float with one
    decimal; none counted, 0.0; no time passed, no rate); where the peak cannot be reset (/proc not writable)
    it is the process's peak since start, and says so."""
    from types import SimpleNamespace

    def run(times: list[float], tokens: int | None) -> dict[str, Any]:
        clock = iter(times)
        monkeypatch.setattr(T, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
        config = _trl_config(tmp_path / "sft", max_steps=1, include_num_input_tokens_seen="no")
        return T.run_trainer(_trainer(config, policy), config, tokens=tokens)

    monkeypatch.setattr(T, "_reset_peak_rss", lambda: False)
    metrics = run([10.0, 13.0], 77)
    assert (metrics["wall_seconds"], metrics["tokens_per_second"]) == (3.0, 25.7)
    assert isinstance(metrics["tokens_per_second"], float)
    assert metrics["peak_memory_kind"] == "process peak RSS since start"
    assert run([10.0, 13.0], None)["tokens_per_second"] == 0.0
    assert run([5.0, 5.0], 77)["tokens_per_second"] is None


def test_progress_and_metric_lines_are_named_after_the_run_folder(
    policy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from recording import RecordingReporter, reporting_to

    class Reporter(RecordingReporter):
        def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None:
            pass

    out = tmp_path / "my-run"
    with reporting_to(Reporter()) as reporter, caplog.at_level(logging.INFO, logger="trl.metrics"):
        T.train_sft(policy, TASK.sft_dataset(16, seed=0), _config(out, max_steps=1))
    assert [s[0] for s in reporter.started] == ["my-run"]
    lines = [r.getMessage() for r in caplog.records if r.name == "trl.metrics"]
    assert lines and all(line.startswith("my-run step 1: {") for line in lines)


def test_a_run_whose_weights_hold_nan_names_its_folder_and_step(policy: Path, tmp_path: Path) -> None:
    from rlsuite.common.errors import TrainingDivergedError

    out = tmp_path / "sft"
    config = _config(out, max_steps=1)
    trainer = _trainer(config, policy)
    with torch.no_grad():
        next(trainer.model.parameters()).fill_(float("nan"))
    message = f"^{out}: training diverged: weight .* holds NaN/inf after step 1 "
    with pytest.raises(TrainingDivergedError, match=message):
        T.run_trainer(trainer, config)
    assert not (out / "model").exists()
