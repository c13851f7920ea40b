"""The tiny CLIP reward's training (``train_contrastive_reward``) against a loop written out here (mutation testing).

The loop below follows the docstring, not the code: the same seed (torch for the weights, numpy for the frames
and the batches), CLIP's symmetric cross-entropy as ``F.cross_entropy`` with probability targets, the soft labels
``exp(-d^2 / 2 sigma^2)`` normalised over the captions (``d`` the Manhattan distance, in float64 numpy), and AdamW
(weight decay 0.01) whose learning rate is set by hand each step: a linear warm-up over a tenth of the steps, then
a cosine decay. What ``_train`` does is read through torch's own hooks, no mocks: a global optimizer-step hook
(the learning rate, the weight decay and the gradients each step), autograd's saved-tensor hooks (the dtypes the
loss is computed in), the progress reporter and the log records.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
import torch
from recording import RecordingReporter, reporting_to
from torch.nn import functional as F
from torch.optim.optimizer import register_optimizer_step_pre_hook

from rlsuite.envs.gridworld import GridWorldEnv, Layout
from rlsuite.envs.pixels import layout_map
from rlsuite.vision.contrastive import ContrastiveTrainConfig, _agent_frames, cell_caption, train_contrastive_reward
from rlsuite.vision.models import build_tiny_clip, build_word_tokenizer
from rlsuite.vision.runtime import torch_threads

LOGGER = "rlsuite.vision.contrastive"
# 2x2 grid (distances 0, 1, 2), 16-pixel frames; sigma and lr away from 1 and from AdamW's default lr
SMALL = ContrastiveTrainConfig(
    steps=3, batch_size=4, pool=6, size=2, cell_px=8, sigma=0.7, lr=2e-3, seed=3, device="cpu", threads=1
)
INFO_KEYS = {"steps", "seconds", "first_loss", "final_loss", "params"}


@dataclass
class Run:
    model: Any
    info: dict[str, Any]
    lrs: list[float]
    weight_decays: list[float]
    grads: list[list[torch.Tensor]]  # the gradients the optimizer saw at each step (the tensors themselves)
    losses: list[float]  # the reference's only
    elapsed: float  # seconds around the whole call


def schedule(config: ContrastiveTrainConfig) -> list[float]:
    """The learning rate of each step: linear warm-up over max(1, steps // 10) steps, then cosine to zero."""
    warm = max(1, config.steps // 10)
    return [
        config.lr * min(1.0, (t + 1) / warm) * 0.5 * (1 + math.cos(math.pi * t / config.steps))
        for t in range(config.steps)
    ]


def reference(config: ContrastiveTrainConfig) -> Run:
    """The training loop of the docstring, written out."""
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    with torch_threads(config.threads):
        tokenizer = build_word_tokenizer()
        model, processor = build_tiny_clip(tokenizer, image_size=config.size * config.cell_px)
        model.train()
        frames, cells = _agent_frames(rng, config.pool, config.size, config.cell_px)
        pixels = processor(images=list(frames), return_tensors="pt")["pixel_values"]
        grid = [(r, c) for r in range(config.size) for c in range(config.size)]
        input_ids = tokenizer([cell_caption(g) for g in grid], return_tensors="pt")["input_ids"]
        d = np.array([[abs(r - gr) + abs(c - gc) for gr, gc in grid] for r, c in cells], dtype=np.float64)
        w = np.exp(-(d**2) / (2 * config.sigma**2))
        labels = torch.tensor(w / w.sum(1, keepdims=True), dtype=torch.float32)  # [pool, cells]
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
        lrs = schedule(config)
        grads, losses = [], []
        for lr in lrs:
            for group in opt.param_groups:
                group["lr"] = lr
            idx = torch.as_tensor(rng.integers(0, config.pool, config.batch_size))
            out = model(pixel_values=pixels[idx], input_ids=input_ids)
            soft = labels[idx]  # [batch, cells]
            per_caption = soft.T / soft.T.sum(1, keepdim=True)  # each caption's labels over the batch's frames
            loss = 0.5 * (
                F.cross_entropy(out.logits_per_image, soft) + F.cross_entropy(out.logits_per_text, per_caption)
            )
            opt.zero_grad()
            loss.backward()
            grads.append([p.grad.clone() for p in model.parameters()])
            opt.step()
            losses.append(float(loss.detach()))
    return Run(model, {}, lrs, [0.01] * config.steps, grads, losses, time.perf_counter() - t0)


@contextlib.contextmanager
def optimizer_steps() -> Iterator[list[dict[str, Any]]]:
    """What every optimizer step starts from (torch's global step pre-hook): lr, weight decay, the gradients."""
    seen: list[dict[str, Any]] = []

    def hook(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        (group,) = opt.param_groups
        seen.append(
            {"lr": group["lr"], "weight_decay": group["weight_decay"], "grads": [p.grad for p in group["params"]]}
        )

    handle = register_optimizer_step_pre_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def check_info(info: dict[str, Any], model: Any, config: ContrastiveTrainConfig, elapsed: float) -> None:
    """The info's keys, steps, parameter count, and seconds: a float rounded to 0.1, within the call's time."""
    assert set(info) == INFO_KEYS
    assert info["steps"] == config.steps
    assert info["params"] == sum(p.numel() for p in model.parameters()) == 158401
    assert type(info["seconds"]) is float and info["seconds"] == round(info["seconds"], 1)
    assert 0.0 <= info["seconds"] <= elapsed + 0.05


def trained(config: ContrastiveTrainConfig) -> Run:
    """``train_contrastive_reward(config)`` with its optimizer steps, saved-tensor dtypes and progress recorded."""
    reporter, dtypes = RecordingReporter(), set()

    def pack(t: torch.Tensor) -> torch.Tensor:
        dtypes.add(t.dtype)
        return t

    with (
        optimizer_steps() as steps,
        reporting_to(reporter),
        torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
    ):
        t0 = time.perf_counter()
        model, _, _, info = train_contrastive_reward(config)
        elapsed = time.perf_counter() - t0
    check_info(info, model, config, elapsed)
    assert reporter.started == [("train contrastive reward", config.steps, "step")]
    assert reporter.advances == [1] * config.steps and reporter.stopped == 1
    # "Training runs in float32": the loss too (soft labels in float64 would make it float64)
    assert {dt for dt in dtypes if dt.is_floating_point} == {torch.float32}
    assert not model.training
    return Run(
        model,
        info,
        [s["lr"] for s in steps],
        [s["weight_decay"] for s in steps],
        [s["grads"] for s in steps],
        [],
        elapsed,
    )


def assert_same_training(got: Run, want: Run) -> None:
    assert got.lrs == pytest.approx(want.lrs, rel=1e-12, abs=0)
    assert got.weight_decays == want.weight_decays
    assert len(got.grads) == len(want.grads)
    for step, (g, w) in enumerate(zip(got.grads, want.grads, strict=True)):
        assert len(g) == len(w), step
        for a, b in zip(g, w, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=lambda m, step=step: f"step {step + 1}: {m}")
    for (name, a), b in zip(got.model.state_dict().items(), want.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")


def test_three_steps_are_the_loop_of_the_docstring() -> None:
    got, want = trained(SMALL), reference(SMALL)
    assert want.lrs == pytest.approx([2e-3 * 0.5 * (1 + math.cos(math.pi * t / 3)) for t in range(3)])  # warm = 1
    assert_same_training(got, want)
    # the gradients are freed between steps (zero_grad(set_to_none=True)), not zeroed in place
    for before, after in zip(got.grads, got.grads[1:], strict=False):
        assert all(a is not b for a, b in zip(before, after, strict=True))
    assert got.info["first_loss"] == pytest.approx(np.mean(want.losses), rel=1e-5)
    assert got.info["final_loss"] == got.info["first_loss"]  # 3 steps: both are the mean of all


def test_51_steps_warm_up_decay_log_and_summarise_as_written(caplog: pytest.LogCaptureFixture) -> None:
    """51 steps: a warm-up of 5 steps (not 5.1 nor 4), the debug line at step 50 (its loss: the mean of the 50),
    the first and final losses as the means of the first and last 20 steps."""
    config = replace(SMALL, steps=51)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    got = trained(config)
    records = [r for r in caplog.records if r.name == LOGGER]
    want = reference(config)
    assert want.lrs[:6] == pytest.approx([2e-3 * (t + 1) / 5 * 0.5 * (1 + math.cos(math.pi * t / 51)) for t in range(5)]
                                         + [2e-3 * 0.5 * (1 + math.cos(math.pi * 5 / 51))])  # fmt: skip
    assert_same_training(got, want)
    assert got.info["first_loss"] == pytest.approx(np.mean(want.losses[:20]), rel=1e-5)
    assert got.info["final_loss"] == pytest.approx(np.mean(want.losses[-20:]), rel=1e-5)

    assert [r.levelno for r in records] == [logging.DEBUG, logging.DEBUG, logging.INFO]
    messages = [r.getMessage() for r in records]
    rendered = re.fullmatch(r"rendered 6 frames \((\d+) s\)", messages[0])
    assert rendered, messages[0]
    assert int(rendered[1]) <= got.elapsed + 0.5
    step = re.fullmatch(r"step 50: loss (\d+\.\d{4}) \((\d+) s\)", messages[1])
    assert step, messages[1]
    assert float(step[1]) == pytest.approx(np.mean(want.losses[:50]), abs=1.5e-4)
    assert int(step[2]) <= got.elapsed + 0.5
    summary = re.fullmatch(r"contrastive reward: 51 steps in (\d+) s, loss (\d+\.\d{3}) -> (\d+\.\d{3})", messages[2])
    assert summary, messages[2]
    assert int(summary[1]) == round(got.info["seconds"])
    assert (summary[2], summary[3]) == (f"{got.info['first_loss']:.3f}", f"{got.info['final_loss']:.3f}")


def test_three_steps_at_debug_log_no_step_line(caplog: pytest.LogCaptureFixture) -> None:
    """The step line comes every 50 steps only, even when debugging."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    got = trained(replace(SMALL, steps=2))
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 2, messages
    assert re.fullmatch(r"rendered 6 frames \(\d+ s\)", messages[0])
    seconds, loss = got.info["seconds"], got.info["first_loss"]
    assert messages[1] == f"contrastive reward: 2 steps in {seconds:.0f} s, loss {loss:.3f} -> {loss:.3f}"


def test_the_device_given_wins_over_the_config_and_none_means_the_config_s() -> None:
    """A resolved device is used as given; without one, the config's device is resolved (here "cpu" where
    "auto" would be the simulated GPU)."""
    from cuda_sim import simulate_cuda

    config = replace(SMALL, steps=1, batch_size=2, pool=2)
    with simulate_cuda():
        for device, config_device, want in [(torch.device("cuda"), "cpu", "cuda"), (None, "cpu", "cpu")]:
            t0 = time.perf_counter()
            model, _, _, info = train_contrastive_reward(replace(config, device=config_device), device)
            check_info(info, model, config, time.perf_counter() - t0)
            assert {p.device.type for p in model.parameters()} == {want}


def test_agent_frames_are_random_layouts_with_the_agent_in_a_random_cell() -> None:
    """Per frame: a forbidden fraction uniform in [0, 0.3), a random connected layout, then a uniform state."""
    size, cell_px, n = 4, 4, 12
    frames, cells = _agent_frames(np.random.default_rng(7), n, size, cell_px)
    rng = np.random.default_rng(7)
    want_frames, want_cells = [], []
    for _ in range(n):
        fraction = rng.random() * 0.3
        world = GridWorldEnv(grid_map=layout_map(Layout.random(size, size, fraction, rng)), cell_px=cell_px)
        s = int(rng.integers(size * size))
        want_frames.append(world.render_rgb(state=s))
        want_cells.append(divmod(s, size))
    assert frames.shape == (n, 16, 16, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, np.stack(want_frames))
    np.testing.assert_array_equal(cells, np.array(want_cells))
    assert len(set(want_cells)) > 4
