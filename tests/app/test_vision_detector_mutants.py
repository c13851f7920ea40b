"""``rlsuite vision train-detector --out FOLDER`` to the letter: the rows it prints, the folder it was given,
a finished model reused, and ``--force`` training anew (mutation testing)."""

from __future__ import annotations

import re

DETECTOR = ["vision", "train-detector", "--budget", "3", "--batch_size", "4", "--max_size", "4", "--eval_frames", "8",
            "--eval_episodes", "2", "--device", "cpu", "--out", "det"]  # fmt: skip


def test_train_detector_into_a_folder_then_force(cli, tmp_path) -> None:
    code, out, err = cli(*DETECTOR)
    assert code == 0, err
    lines = out.splitlines()
    assert [line[:17].rstrip() for line in lines] == ["AP50", "DetectionPolicy", "training", "model folder"]
    assert re.fullmatch(r"AP50 {13}\d\.\d{3} \(agent \d\.\d{3}, target \d\.\d{3}, forbidden \d\.\d{3}\) on 8 held-out "
                        r"frames", lines[0])  # fmt: skip
    assert re.fullmatch(r"training {9}3 steps, [\d.]+ s, [\d,]+ parameters, loss [\d.]+ -> [\d.]+ \(trained now\)",
                        lines[2])  # fmt: skip
    assert lines[3] == "model folder     det"
    stamp = (tmp_path / "det" / "model.safetensors").stat().st_mtime_ns
    code, out, _ = cli(*DETECTOR)
    assert code == 0 and out.endswith("(trained earlier with this config, reused)\nmodel folder     det\n")
    assert (tmp_path / "det" / "model.safetensors").stat().st_mtime_ns == stamp
    code, out, _ = cli(*DETECTOR, "--force")
    assert code == 0 and out.endswith("(trained now)\nmodel folder     det\n")
    assert (tmp_path / "det" / "model.safetensors").stat().st_mtime_ns != stamp
