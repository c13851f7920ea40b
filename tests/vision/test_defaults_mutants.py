"""The default models' builders (rlsuite.vision.defaults) built for real in a fresh cache (issue 26, mutation testing).

The session's cache (tests/conftest.py) holds the defaults built once before mutmut forks a child per mutant, so
a mutant of a builder never ran there. Here a module fixture points ``RLSUITE_CACHE`` at a fresh folder and builds
each default with a tiny recipe (seconds); the tests pin the folder each lands in, the metrics written, the settings
handed on to each library call (recorded by wrappers that call the real function), and the reuse/overwrite paths.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from rlsuite.vision.contrastive import BASELINE_TEXT, ContrastiveTrainConfig, cell_caption
from rlsuite.vision.detection import DetectorTrainConfig
from rlsuite.vision.finetune import VLMTrainConfig

CPU = torch.device("cpu")
DETECTOR = DetectorTrainConfig(max_steps=1, batch_size=2, min_size=2, max_size=3, max_forbidden_fraction=0.2,
                               cell_px=8, eval_frames=2, eval_episodes=1, device="cpu")  # fmt: skip
CLIP = ContrastiveTrainConfig(steps=1, batch_size=4, pool=8, size=3, cell_px=8, eval_episodes=2, device="cpu")


def recorder(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: list) -> None:
    """Replace ``module.name`` by a wrapper that records ``[args, kwargs, result]`` and calls the real function."""
    real = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = [args, kwargs, None]
        calls.append(call)  # before the call: one that raises is recorded too
        call[2] = real(*args, **kwargs)
        return call[2]

    monkeypatch.setattr(module, name, wrapper)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def logged() -> Iterator[list[str]]:
    """The messages rlsuite.vision.defaults logs at INFO meanwhile."""
    logger, handler = logging.getLogger("rlsuite.vision.defaults"), _Records()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("fresh-cache")
        mp.setenv("RLSUITE_CACHE", str(folder))
        yield folder


# ----------------------------------------------------------------------------- the grid detector
@pytest.fixture(scope="module")
def detector(cache: Path) -> dict[str, Any]:
    import rlsuite.vision.detection as detection
    from rlsuite.vision.defaults import default_detector

    calls: dict[str, list] = {"train": [], "eval": [], "policy": []}
    opened: list[Path] = []
    with pytest.MonkeyPatch.context() as mp:
        recorder(mp, detection, "train_detector", calls["train"])
        recorder(mp, detection, "evaluate_detector", calls["eval"])
        recorder(mp, detection, "policy_success_rate", calls["policy"])
        with logged() as messages:
            trained = default_detector(DETECTOR, on_open=opened.append)
    return {"trained": trained, "calls": calls, "opened": opened, "log": messages}


def test_the_detector_lands_in_its_cache_folder_and_hands_its_settings_on(cache: Path, detector) -> None:
    from rlsuite.vision.defaults import config_key

    trained, calls = detector["trained"], detector["calls"]
    folder = cache / "vision" / "grid-detector" / config_key(DETECTOR)
    assert trained.folder == folder and not trained.reused and detector["opened"] == [folder]
    assert [(a, k) for a, k, _ in calls["train"]] == [((DETECTOR, CPU), {})]
    assert [(k, a[1:]) for a, k, _ in calls["eval"]] == [
        ({"n_frames": 2, "cell_px": 8, "sizes": (2, 3), "max_forbidden_fraction": 0.2}, ())
    ]
    ((policy_args, policy_kwargs, policy_report),) = calls["policy"]
    assert policy_args[0].config.cell_px == 8 and policy_kwargs == {"episodes": 1}
    info = calls["train"][0][2][1]
    expected = {"detector": calls["eval"][0][2], "policy": policy_report, "training": info,
                "train_config": DETECTOR.to_dict()}  # fmt: skip
    assert trained.metrics == expected
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(expected))
    det = calls["eval"][0][2]
    assert f"grid detector: AP50 {det['AP50']:.3f} on 2 held-out frames; DetectionPolicy success " \
           f"{policy_report['success_rate']:.3f} on 1 layouts" in detector["log"]  # fmt: skip


def test_the_detector_is_reused_then_retrained_with_overwrite(cache: Path, detector) -> None:
    from rlsuite.vision.defaults import default_detector

    again = default_detector(DETECTOR)
    assert again.reused and again.folder == detector["trained"].folder
    opened: list[Path] = []
    fresh = default_detector(DETECTOR, overwrite=True, on_open=opened.append)
    assert not fresh.reused and opened == [detector["trained"].folder]


# ----------------------------------------------------------------------------- the contrastive reward
@pytest.fixture(scope="module")
def clip(cache: Path) -> dict[str, Any]:
    import rlsuite.vision.contrastive as contrastive
    import rlsuite.vision.rewards as rewards
    from rlsuite.vision.defaults import default_clip_reward

    calls: dict[str, list] = {"train": [], "eval": [], "load": []}
    opened: list[Path] = []
    with pytest.MonkeyPatch.context() as mp:
        recorder(mp, contrastive, "train_contrastive_reward", calls["train"])
        recorder(mp, contrastive, "evaluate_reward_rank_correlation", calls["eval"])
        real = rewards.VLMRewardModel.from_pretrained.__func__

        def load(cls, folder, *args, **kwargs):
            calls["load"].append((args, kwargs))
            return real(cls, folder, *args, **kwargs)

        mp.setattr(rewards.VLMRewardModel, "from_pretrained", classmethod(load))
        with logged() as messages:
            trained = default_clip_reward(CLIP, on_open=opened.append)
            first_loads = list(calls["load"])
            kept = default_clip_reward(CLIP)
            bf16 = default_clip_reward(CLIP, overwrite=True, dtype="bfloat16")
    return {"trained": trained, "kept": kept, "bf16": bf16, "calls": calls, "first_loads": first_loads,
            "opened": opened, "log": messages}  # fmt: skip


def test_the_clip_reward_lands_in_its_cache_folder_with_its_goal_and_metrics(cache: Path, clip) -> None:
    from rlsuite.vision.defaults import config_key

    trained, calls = clip["trained"], clip["calls"]
    folder = cache / "vision" / "clip-reward" / config_key(CLIP)
    assert trained.folder == folder and not trained.reused and clip["opened"] == [folder]
    assert clip["first_loads"] == []  # float32 (the default dtype): the trained copy itself, not reloaded
    assert [(a, k) for a, k, _ in calls["train"][:1]] == [((CLIP, CPU), {})]
    reward = trained.model
    assert (reward.goal, reward.baseline, reward.device, reward.dtype) == (
        "the agent is in row one column one",
        "a grid world",
        CPU,
        torch.float32,
    )
    (eval_args, eval_kwargs, rank) = calls["eval"][0]
    assert eval_args == (reward,) and eval_kwargs == {"episodes": 2, "size": 3, "cell_px": 8}
    expected = {"rank_correlation": rank, "training": calls["train"][0][2][3], "train_config": CLIP.to_dict(),
                "goal": "cell_caption(target cell), e.g. the agent is in row three column four",
                "baseline": BASELINE_TEXT}  # fmt: skip
    assert trained.metrics == expected
    # the overwrite (a later test) wrote the folder again: its metrics, of the same shape
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(clip["bf16"].metrics))
    assert f"contrastive reward: Spearman(reward, -distance) {rank['spearman_pooled']:.3f} pooled over " \
           f"{rank['frames']} frames of 2 held-out episodes" in clip["log"]  # fmt: skip
    # mutmut links the fixture's calls (the reuse, the overwrite) to the test that set it up: this one
    test_a_kept_clip_reward_is_loaded_with_its_goal_on_the_configs_device(clip)
    test_overwrite_retrains_the_clip_reward_and_reloads_it_in_the_asked_dtype(clip)


def test_a_kept_clip_reward_is_loaded_with_its_goal_on_the_configs_device(clip) -> None:
    kept, calls = clip["kept"], clip["calls"]
    assert kept.reused and kept.folder == clip["trained"].folder
    first = calls["load"][0]
    assert first == ((cell_caption((0, 0)), BASELINE_TEXT), {"device": CPU, "dtype": "float32"})
    assert (kept.model.goal, kept.model.baseline, kept.model.dtype) == (cell_caption((0, 0)), BASELINE_TEXT,
                                                                        torch.float32)  # fmt: skip


def test_overwrite_retrains_the_clip_reward_and_reloads_it_in_the_asked_dtype(clip) -> None:
    bf16, calls = clip["bf16"], clip["calls"]
    assert not bf16.reused and len(calls["train"]) == 2
    assert calls["load"][1:] == [((cell_caption((0, 0)), BASELINE_TEXT), {"device": CPU, "dtype": "bfloat16"})]
    assert bf16.model.dtype == torch.bfloat16


def test_train_and_measure_clip_reward_puts_the_reward_on_the_device_it_is_given(monkeypatch) -> None:
    import rlsuite.vision.rewards as rewards
    from rlsuite.vision.defaults import train_and_measure_clip_reward

    made = []

    class Recorded(rewards.VLMRewardModel):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append((args[3:], kwargs))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(rewards, "VLMRewardModel", Recorded)
    reward, _ = train_and_measure_clip_reward(CLIP.replace(device="auto"), CPU)
    assert made == [((cell_caption((0, 0)), BASELINE_TEXT), {"device": CPU, "dtype": "float32"})]
    assert reward.device == CPU and next(reward.model.parameters()).device == CPU


# ----------------------------------------------------------------------------- the VLM policy
TINY_VLM = VLMTrainConfig(size=3, hidden=16, layers=1, bc_layouts=3, bc_steps=2, bc_batch=4, bc_warmup=1,
                          ppo_updates=0, eval_episodes=1, max_episode_steps=2, device="cpu")  # fmt: skip


@pytest.fixture(scope="module")
def vlm(cache: Path) -> dict[str, Any]:
    """The tiny Llava with LoRA adapters (merged before saving: it has no base folder), checkpoints every step."""
    import rlsuite.vision.adapters as adapters
    import rlsuite.vision.finetune as finetune
    from rlsuite.vision.adapters import VLMModelOptions
    from rlsuite.vision.checkpoints import VLMCheckpointOptions
    from rlsuite.vision.defaults import default_vlm_policy

    opts, ckpt = VLMModelOptions(finetune="lora", lora_rank=2), VLMCheckpointOptions(bc_checkpoint_every=1)
    calls: dict[str, list] = {"train": [], "load": []}
    opened: list[Path] = []
    with pytest.MonkeyPatch.context() as mp:
        recorder(mp, finetune, "train_vlm_policy", calls["train"])
        recorder(mp, adapters, "load_trained_policy", calls["load"])
        trained = default_vlm_policy(TINY_VLM, on_open=opened.append, options=opts, checkpoints=ckpt)
        kept = default_vlm_policy(TINY_VLM, options=opts, checkpoints=ckpt)
        again = default_vlm_policy(TINY_VLM, overwrite=True, options=opts)
    return {"trained": trained, "kept": kept, "again": again, "calls": calls, "opened": opened, "opts": opts,
            "ckpt": ckpt}  # fmt: skip


def test_the_vlm_policy_lands_in_its_cache_folder_and_hands_its_settings_on(cache: Path, vlm) -> None:
    from rlsuite.vision.defaults import config_key
    from rlsuite.vision.reasoning import ReasoningConfig

    trained, opts, rcfg = vlm["trained"], vlm["opts"], ReasoningConfig()
    key = config_key(TINY_VLM, (opts, rcfg))
    assert key != config_key(TINY_VLM)  # the LoRA options join the key
    folder = cache / "vision" / "vlm-policy" / key
    assert trained.folder == folder and not trained.reused and vlm["opened"] == [folder]
    (args, kwargs, (_policy, report)) = vlm["calls"]["train"][0]
    assert args == (TINY_VLM, opts, rcfg) and set(kwargs) == {"device", "checkpoints"} and kwargs["device"] == CPU
    saver = kwargs["checkpoints"]
    assert (saver.folder, saver.options, saver.key) == (folder / "checkpoints", vlm["ckpt"], key)
    assert trained.metrics == {**report, "train_config": TINY_VLM.to_dict(), "model_options": opts.to_dict(),
                               "reasoning": rcfg.to_dict()}  # fmt: skip
    assert not (folder / "checkpoints").exists()  # removed once finished
    # mutmut links the fixture's calls (the reuse, the overwrite) to the test that set it up: this one
    test_a_kept_vlm_policy_is_loaded_with_its_options_then_retrained_with_overwrite(vlm)


def test_the_tiny_llavas_lora_adapters_are_merged_into_the_saved_model(vlm) -> None:
    folder = vlm["trained"].folder
    assert (folder / "model.safetensors").is_file() and not (folder / "adapter_config.json").exists()
    assert not hasattr(vlm["kept"].model.model, "peft_config")


def test_a_kept_vlm_policy_is_loaded_with_its_options_then_retrained_with_overwrite(vlm) -> None:
    from rlsuite.vision.policies import DEFAULT_PROMPT

    kept, again = vlm["kept"], vlm["again"]
    assert kept.reused and kept.folder == vlm["trained"].folder
    assert [(a, k) for a, k, _ in vlm["calls"]["load"]] == [
        ((kept.folder, None, False), {"dtype": "float32", "device": "cpu", "trust_pickle": False,
                                      "prompt": DEFAULT_PROMPT})]  # fmt: skip
    assert not again.reused and again.folder == kept.folder and len(vlm["calls"]["train"]) == 2


def test_a_vlm_model_folder_is_checked_with_its_trust_settings_before_anything_is_opened(monkeypatch, tmp_path):
    import rlsuite.vision.adapters as adapters
    from rlsuite.common.errors import UsageError
    from rlsuite.vision.adapters import VLMModelOptions
    from rlsuite.vision.defaults import default_vlm_policy

    calls: list = []
    recorder(monkeypatch, adapters, "check_generative_folder", calls)
    not_a_vlm = tmp_path / "empty"
    not_a_vlm.mkdir()
    opts = VLMModelOptions(model=str(not_a_vlm), trust_remote_code=True, trust_pickle=True)
    opened: list[Path] = []
    with pytest.raises(UsageError, match="empty"):
        default_vlm_policy(TINY_VLM, out=tmp_path / "run", options=opts, on_open=opened.append)
    assert [(a, k) for a, k, _ in calls] == [((str(not_a_vlm), True, True), {})]
    assert opened == [] and not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def vlm_from_folder(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny Qwen2-VL folder trained with every weight (no adapters), then found again."""
    import rlsuite.vision.adapters as adapters
    from rlsuite.testing.vision_models import save_tiny_vlm
    from rlsuite.vision.adapters import VLMModelOptions
    from rlsuite.vision.defaults import default_vlm_policy

    base = save_tiny_vlm("qwen2_vl", tmp_path_factory.mktemp("tiny-qwen2-vl"))
    opts = VLMModelOptions(model=str(base), finetune="full")
    calls: list = []
    with pytest.MonkeyPatch.context() as mp:
        recorder(mp, adapters, "load_trained_policy", calls)
        trained = default_vlm_policy(TINY_VLM, options=opts)
        kept = default_vlm_policy(TINY_VLM, options=opts)
    return {"trained": trained, "kept": kept, "calls": calls, "base": base}


def test_a_fully_trained_model_folder_is_saved_whole_and_loaded_without_its_base(vlm_from_folder) -> None:
    from rlsuite.vision.policies import DEFAULT_PROMPT

    trained, kept = vlm_from_folder["trained"], vlm_from_folder["kept"]
    assert not trained.reused and kept.reused and kept.folder == trained.folder
    assert (trained.folder / "model.safetensors").is_file() and not (trained.folder / "adapter_config.json").exists()
    assert [(a, k) for a, k, _ in vlm_from_folder["calls"]] == [
        (
            (kept.folder, str(vlm_from_folder["base"]), False),
            {"dtype": "float32", "device": "cpu", "trust_pickle": False, "prompt": DEFAULT_PROMPT},
        )
    ]


def test_a_kept_reasoning_policy_is_loaded_with_the_reasoning_prompt(monkeypatch, tmp_path) -> None:
    import rlsuite.vision.adapters as adapters
    from rlsuite.vision.defaults import default_vlm_policy
    from rlsuite.vision.reasoning import ReasoningConfig

    rcfg = ReasoningConfig(reasoning=True, max_new_tokens=2, fallback="random")
    default_vlm_policy(TINY_VLM, out=tmp_path, reasoning=rcfg)
    calls: list = []
    recorder(monkeypatch, adapters, "load_trained_policy", calls)
    assert default_vlm_policy(TINY_VLM, out=tmp_path, reasoning=rcfg).reused
    assert [k["prompt"] for _, k, _ in calls] == [rcfg.prompt]


def _checkpoint_of_other_settings(folder: Path) -> Path:
    """A whole checkpoint (its five files) whose state names another settings' key."""
    from rlsuite.vision.checkpoints import OPTIMIZER_JSON, OPTIMIZER_WEIGHTS, STATE_JSON, STATE_TENSORS, WEIGHTS

    step = folder / "checkpoints" / "step_0000001"
    step.mkdir(parents=True)
    for name in (WEIGHTS, OPTIMIZER_WEIGHTS, OPTIMIZER_JSON, STATE_TENSORS):
        (step / name).write_text("{}")
    (step / STATE_JSON).write_text(json.dumps({"key": "other"}))
    return step


def test_a_checkpoint_of_other_settings_is_refused_on_resume_before_the_folder_is_opened(tmp_path) -> None:
    from rlsuite.common.errors import OutputDirError
    from rlsuite.vision.checkpoints import VLMCheckpointOptions
    from rlsuite.vision.defaults import default_vlm_policy

    _checkpoint_of_other_settings(tmp_path)
    opened: list[Path] = []
    with pytest.raises(OutputDirError, match="a checkpoint of other settings"):
        default_vlm_policy(TINY_VLM, out=tmp_path, checkpoints=VLMCheckpointOptions(resume=True),
                           on_open=opened.append)  # fmt: skip
    assert opened == []
    # without --resume the folder's leftovers are what is refused (with the way on), not the checkpoint's key
    with pytest.raises(OutputDirError, match=r"holds files but no finished model .* pass --resume to continue it"):
        default_vlm_policy(TINY_VLM, out=tmp_path, on_open=opened.append)
    assert opened == []
