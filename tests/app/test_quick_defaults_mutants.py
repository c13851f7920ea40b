"""Where ``--quick`` and ``--config`` defaults come from, in order, for ``align compare``, ``vision grpo`` and
``vision train-vlm-policy`` (the later layer wins; mutation testing)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rlsuite.app.align import _compare_defaults
from rlsuite.app.vision import QUICK_GRPO, QUICK_VLM, _quick_defaults, _quick_grpo_defaults


def _yaml(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text("seeds: 3\n")
    return path


def test_compare_layers(tmp_path: Path) -> None:
    from rlsuite.alignment.compare import CompareConfig

    path = _yaml(tmp_path)
    quick = (dataclasses.asdict(CompareConfig.quick()), "--quick")
    assert _compare_defaults(argparse.Namespace()) == []
    assert _compare_defaults(argparse.Namespace(quick=False, config=None)) == []
    assert _compare_defaults(argparse.Namespace(quick=True)) == [quick]
    assert _compare_defaults(argparse.Namespace(config=path)) == [({"seeds": 3}, str(path))]
    assert _compare_defaults(argparse.Namespace(quick=True, config=path)) == [quick, ({"seeds": 3}, str(path))]


def test_grpo_layers_put_its_own_quick_budget_first(tmp_path: Path) -> None:
    path = _yaml(tmp_path)
    assert QUICK_GRPO != QUICK_VLM
    assert _quick_grpo_defaults(argparse.Namespace()) == []
    assert _quick_grpo_defaults(argparse.Namespace(quick=False, config=None)) == []
    assert _quick_grpo_defaults(argparse.Namespace(quick=True)) == [(QUICK_GRPO, "--quick")]
    assert _quick_grpo_defaults(argparse.Namespace(config=path)) == [({"seeds": 3}, str(path))]
    both = _quick_grpo_defaults(argparse.Namespace(quick=True, config=path))
    assert both == [(QUICK_GRPO, "--quick"), ({"seeds": 3}, str(path))]


def test_train_vlm_policy_layers_quick_then_the_config(tmp_path: Path) -> None:
    path = _yaml(tmp_path)
    assert _quick_defaults(argparse.Namespace()) == []
    assert _quick_defaults(argparse.Namespace(quick=True)) == [(QUICK_VLM, "--quick")]
    assert _quick_defaults(argparse.Namespace(quick=True, config=path)) == [(QUICK_VLM, "--quick"),
                                                                            ({"seeds": 3}, str(path))]  # fmt: skip
