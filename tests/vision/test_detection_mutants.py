"""The grid detector's training and loading on a (simulated where there is none) CUDA device, checked exactly
against the CPU (mutation-testing survivors)."""

from __future__ import annotations

import contextlib

import torch

from rlsuite.vision.detection import DetectorTrainConfig, GridDetector, train_detector

SMALL = {"max_steps": 3, "batch_size": 2, "width": 8, "min_size": 3, "max_size": 3, "seed": 0}


def _cuda() -> contextlib.AbstractContextManager[object]:
    from cuda_sim import simulate_cuda

    return contextlib.nullcontext() if torch.cuda.is_available() else simulate_cuda()


def _weights(model: GridDetector) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def test_training_on_cuda_keeps_everything_there_and_equals_the_cpus() -> None:
    """config.device="cuda": the detector, its batches and its losses live on the GPU (no host read per step:
    only the summary's one), and the weights and losses equal a CPU run's."""
    from cuda_sim import count_syncs

    expected, expected_info = train_detector(DetectorTrainConfig(**SMALL, device="cpu"))
    with _cuda():
        with count_syncs() as syncs:
            model, info = train_detector(DetectorTrainConfig(**SMALL, device="cuda"))
        assert {p.device.type for p in model.parameters()} == {"cuda"}
        got = _weights(model)
    assert sum(syncs.values()) <= 1, syncs  # the losses' summary, read once after training
    for k, v in _weights(expected).items():
        torch.testing.assert_close(got[k], v, rtol=1e-5, atol=1e-6)
    assert info["first_loss"] == expected_info["first_loss"] and info["steps"] == 3


def test_the_callers_device_wins_over_the_configs() -> None:
    """A device passed in (resolved once by the caller) is used as given; without one, config.device is
    resolved (a CPU asked for stays on the CPU where CUDA is there)."""
    with _cuda():
        on_cpu, _ = train_detector(DetectorTrainConfig(**SMALL, device="auto"), device=torch.device("cpu"))
        assert {p.device.type for p in on_cpu.parameters()} == {"cpu"}
        configured, _ = train_detector(DetectorTrainConfig(**SMALL, device="cpu"))
        assert {p.device.type for p in configured.parameters()} == {"cpu"}
        given, _ = train_detector(DetectorTrainConfig(**SMALL, device="cpu"), device=torch.device("cuda"))
        assert {p.device.type for p in given.parameters()} == {"cuda"}


def test_a_saved_detector_loads_onto_cuda(tmp_path) -> None:
    model, _ = train_detector(DetectorTrainConfig(**SMALL, device="cpu"))
    model.save_pretrained(tmp_path)
    with _cuda():
        loaded = GridDetector.from_pretrained(tmp_path, device="cuda")
        assert {p.device.type for p in loaded.parameters()} == {"cuda"} and not loaded.training
        got = _weights(loaded)
    for k, v in _weights(model).items():
        torch.testing.assert_close(got[k], v, rtol=0, atol=0)
