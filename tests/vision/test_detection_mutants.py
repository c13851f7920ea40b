"""The grid detector's training and loading on a (simulated where there is none) CUDA device, checked exactly
against the CPU (mutation-testing survivors)."""

from __future__ import annotations

import torch
from cuda_sim import cuda_or_simulated

from rlsuite.vision.detection import DetectorTrainConfig, GridDetector, train_detector

SMALL = {"max_steps": 3, "batch_size": 2, "width": 8, "min_size": 3, "max_size": 3, "seed": 0}


def _weights(model: GridDetector) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def test_training_on_cuda_keeps_everything_there_and_equals_the_cpus() -> None:
    """config.device="cuda": the detector, its batches and its losses live on the GPU (no host read per step:
    only the summary's one), and the weights and losses equal a CPU run's."""
    from cuda_sim import count_syncs

    expected, expected_info = train_detector(DetectorTrainConfig(**SMALL, device="cpu"))
    with cuda_or_simulated():
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
    with cuda_or_simulated():
        on_cpu, _ = train_detector(DetectorTrainConfig(**SMALL, device="auto"), device=torch.device("cpu"))
        assert {p.device.type for p in on_cpu.parameters()} == {"cpu"}
        configured, _ = train_detector(DetectorTrainConfig(**SMALL, device="cpu"))
        assert {p.device.type for p in configured.parameters()} == {"cpu"}
        given, _ = train_detector(DetectorTrainConfig(**SMALL, device="cpu"), device=torch.device("cuda"))
        assert {p.device.type for p in given.parameters()} == {"cuda"}


def test_a_saved_detector_loads_onto_cuda(tmp_path) -> None:
    model, _ = train_detector(DetectorTrainConfig(**SMALL, device="cpu"))
    model.save_pretrained(tmp_path)
    with cuda_or_simulated():
        loaded = GridDetector.from_pretrained(tmp_path, device="cuda")
        assert {p.device.type for p in loaded.parameters()} == {"cuda"} and not loaded.training
        got = _weights(loaded)
    for k, v in _weights(model).items():
        torch.testing.assert_close(got[k], v, rtol=0, atol=0)


def test_centernet_loss_divides_by_the_positives_or_one_when_there_are_none() -> None:
    """One positive: the focal sum over 1; no positive (an empty frame): over 1, not 0 (or 2)."""
    import numpy as np
    import pytest

    from rlsuite.vision.detection import centernet_loss

    logits = torch.tensor([0.0, 1.0, -1.0]).reshape(1, 1, 1, 3)
    zeros = torch.zeros(1, 2, 1, 1)
    p = 1 / (1 + np.exp(-np.array([0.0, 1.0, -1.0])))
    for gt, expected in (
        ([1.0, 0.0, 0.5], -(np.log(p[0]) * (1 - p[0]) ** 2 + np.log(1 - p[1]) * p[1] ** 2
                            + np.log(1 - p[2]) * p[2] ** 2 * 0.5**4)),
        ([0.0, 0.0, 0.5], -(np.log(1 - p[0]) * p[0] ** 2 + np.log(1 - p[1]) * p[1] ** 2
                            + np.log(1 - p[2]) * p[2] ** 2 * 0.5**4)),
    ):  # fmt: skip
        out = {"heatmap": logits, "size": zeros, "offset": zeros}
        tgt = {"heatmap": torch.tensor(gt).reshape(1, 1, 1, 3), "size": zeros, "offset": zeros, "mask": zeros}
        assert float(centernet_loss(out, tgt)) == pytest.approx(expected, rel=1e-6)


def test_training_logs_the_last_hundred_losses_and_the_seconds_every_hundred_steps(caplog, monkeypatch) -> None:
    """At DEBUG, step 100 and 200 log the mean of the 100 losses before them and the seconds since the start."""
    import logging
    import re
    import time

    import rlsuite.vision.runtime as runtime

    made: list[runtime.DeviceLosses] = []

    class Kept(runtime.DeviceLosses):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(runtime, "DeviceLosses", Kept)
    start = time.perf_counter()
    with caplog.at_level(logging.DEBUG, logger="rlsuite.vision.detection"):
        train_detector(DetectorTrainConfig(**{**SMALL, "max_steps": 200}, device="cpu"))
    elapsed = time.perf_counter() - start
    losses = made[0].host()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("step ")]
    assert [m.split(":")[0] for m in logged] == ["step 100", "step 200"]
    for message, last in zip(logged, (losses[:100], losses[100:200]), strict=True):
        loss, seconds = re.fullmatch(r"step \d+: loss (\S+) \((\S+) s\)", message).groups()
        assert loss == f"{last.mean():.4f}"
        assert 0 <= float(seconds) <= elapsed + 1
    # the window matters: the last 100 at step 200 are neither all 200 nor the last 101
    assert f"{losses[100:200].mean():.4f}" not in (f"{losses.mean():.4f}", f"{losses[99:200].mean():.4f}")


def test_padded_detections_stay_on_their_device() -> None:
    """Results on CUDA (simulated where there is none), of different lengths or all empty: the padded boxes,
    labels, scores and the keep mask are on that device, equal to the CPU's."""
    from rlsuite.vision.detection import padded_detections

    def results(device: str, lengths: tuple[int, ...]) -> list[dict[str, torch.Tensor]]:
        out = []
        for i, n in enumerate(lengths):
            out.append({"boxes": torch.arange(4.0 * n, device=device).reshape(n, 4) + i,
                        "labels": torch.arange(n, device=device) % 3,
                        "scores": torch.linspace(0.9, 0.5, n, device=device)})  # fmt: skip
        return out

    for lengths in ((2, 0, 3), (0, 0)):
        expected = padded_detections(results("cpu", lengths))
        with cuda_or_simulated():
            got = padded_detections(results("cuda", lengths))
            assert [t.device.type for t in got] == ["cuda"] * 4
            got = tuple(t.cpu() for t in got)
        assert got[3].tolist() == [[i < n for i in range(max(lengths))] for n in lengths]
        for g, e in zip(got, expected, strict=True):
            torch.testing.assert_close(g, e, rtol=0, atol=0)


class _RandomWalker:
    """Uniformly random actions from its own seeded generator (``policy_success_rate`` reads ``config.cell_px``
    and calls ``predict``): a policy whose successes depend on every setting of the measurement."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        import numpy as np

        self.config = SimpleNamespace(cell_px=4)
        self.rng = np.random.default_rng(0)

    def predict(self, observation: object) -> tuple[int, None]:
        return int(self.rng.integers(5)), None


def test_policy_success_rate_defaults_are_200_episodes_of_100_steps_on_4_to_7_grids() -> None:
    from rlsuite.vision.detection import policy_success_rate

    got = policy_success_rate(_RandomWalker())
    want = policy_success_rate(_RandomWalker(), episodes=200, seed=777, sizes=(4, 7), forbidden_fraction=0.25,
                               max_steps=100)  # fmt: skip
    assert got == want and got["episodes"] == 200 and 0 < got["success_rate"] < 1
