"""Bad input of ``rlsuite vision grpo`` (issue 27): one line naming the folder or the setting, before any
training, and nothing written (no run folder, no cache entry)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rlsuite.common.errors import ConfigError
from rlsuite.testing.vision_models import build_tiny_detr, save_tiny_vlm
from rlsuite.vision.detection import GridDetector, GridDetectorConfig
from rlsuite.vision.grpo import VisionGRPOConfig


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(scope="module")
def detr_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return build_tiny_detr(tmp_path_factory.mktemp("tiny-detr"))


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory) -> Path:
    return save_tiny_vlm("qwen2_vl", tmp_path_factory.mktemp("tiny-qwen2-vl"))


@pytest.fixture(scope="module")
def two_class_detector(tmp_path_factory) -> Path:
    """A grid detector that knows agents and targets only: it cannot compute any reward about forbidden cells."""
    folder = tmp_path_factory.mktemp("agent-target-detector")
    torch.manual_seed(0)
    GridDetector(GridDetectorConfig(num_classes=2, class_names=["agent", "target"])).save_pretrained(folder)
    return folder


def _refused(cli, tmp_path: Path, *argv: str) -> str:
    before = files_under(tmp_path)
    code, out, err = cli("vision", "grpo", "--out", str(tmp_path / "run"), "--device", "cpu", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out, err)
    assert files_under(tmp_path) == before and not (tmp_path / "run").exists()
    return err


def test_a_model_folder_that_cannot_generate_text_is_refused(cli, tmp_path, detr_dir):
    err = _refused(cli, tmp_path, "--model", str(detr_dir), "--quick")
    assert str(detr_dir) in err and "'detr' model" in err


def test_a_detector_without_the_asked_class_is_refused(cli, tmp_path, two_class_detector, qwen_dir):
    err = _refused(cli, tmp_path, "--model", str(qwen_dir), "--detector", str(two_class_detector), "--quick")
    assert str(two_class_detector) in err and "'forbidden'" in err


def test_a_detector_folder_that_is_no_detector_is_refused(cli, tmp_path, qwen_dir):
    err = _refused(cli, tmp_path, "--model", str(qwen_dir), "--detector", str(qwen_dir), "--quick")
    assert err.startswith(f"rlsuite: error: {qwen_dir}: not a detector")


def test_a_box_reward_on_the_count_task_is_refused(cli, tmp_path, detr_dir):
    err = _refused(cli, tmp_path, "--model", str(detr_dir), "--task", "count", "--rewards", "iou")
    assert "rewards" in err and "iou" in err
    with pytest.raises(ConfigError, match="rewards"):
        VisionGRPOConfig(task="count", rewards=["count", "giou"])


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (("--rewards", "area"), "rewards"),
        (("--target_class", "blue square"), "target_class"),
        (("--max_forbidden", "8", "--size", "3"), "max_forbidden"),
        (("--num_generations", "1"), "num_generations"),
    ],
)
def test_bad_settings_name_the_field(cli, tmp_path, detr_dir, argv, word):
    err = _refused(cli, tmp_path, "--model", str(detr_dir), *argv)
    assert word in err


def test_no_model_is_refused(cli, tmp_path):
    err = _refused(cli, tmp_path, "--quick")
    assert "--model" in err


def test_resume_of_a_folder_of_other_settings_is_refused(cli, tmp_path, qwen_dir):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "settings.json").write_text('{"config_key": "0123456789abcdef"}')
    before = files_under(tmp_path)
    code, out, err = cli("vision", "grpo", "--model", str(qwen_dir), "--quick", "--out", str(folder), "--resume",
                         "--device", "cpu")  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1 and str(folder) in err and "other settings" in err
    assert files_under(tmp_path) == before
