"""The frames vision models accept, checked and converted in one place.

Every model wrapper of :mod:`rlsuite.vision` takes RGB frames as the pixel envs render them:
``uint8`` arrays ``[H, W, 3]`` (one frame) or ``[B, H, W, 3]`` (a batch). :func:`as_frames` also
converts the other documented forms, so that they give the same answers:

- ``float`` frames with values in ``[0, 1]`` (``x / 255``): rounded back to ``uint8``;
- channel-first ``[3, H, W]`` / ``[B, 3, H, W]`` (torch's layout): transposed;
- torch tensors (any device) and lists of frames: copied to a numpy batch;
- integer frames of another dtype with values in ``[0, 255]``.

It refuses, with a ``ValueError`` (or a ``TypeError`` for what is not an array at all) that names
the argument: grey frames (one channel or ``[H, W]``), RGBA frames (four channels), other shapes,
empty batches, empty frames, float values outside ``[0, 1]`` (0-255 floats are ambiguous: pass
``uint8``), NaN, and booleans.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_frames(images: Any, name: str = "images", multiple_of: int = 1) -> tuple[np.ndarray, bool]:
    """``images`` as a ``uint8`` batch ``[B, H, W, 3]``, and whether it was a single frame.

    Args:
        images: one frame or a batch in one of the forms of this module's docstring.
        name: the argument's name, for error messages.
        multiple_of: the frame's height and width must be multiples of this (a model's stride).

    Raises:
        TypeError: ``images`` is not an array, a tensor or a list of frames (or is boolean).
        ValueError: a shape, channel count, value range or size the models cannot take.
    """
    x = _to_numpy(images, name)
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"{name}: expected uint8 RGB frames, got an array of dtype {x.dtype}")
    if x.ndim not in (3, 4):
        if x.ndim == 2:
            raise ValueError(f"{name}: a grey frame of shape {x.shape}; expected RGB [H, W, 3] or [B, H, W, 3]")
        raise ValueError(f"{name}: expected a frame [H, W, 3] or a batch [B, H, W, 3], got shape {x.shape}")
    single = x.ndim == 3
    batch = x[None] if single else x
    if batch.shape[-1] not in (1, 3, 4) and batch.shape[1] in (1, 3, 4):  # channel-first [B, C, H, W]
        batch = batch.transpose(0, 2, 3, 1)
    channels = batch.shape[-1]
    if channels == 1:
        raise ValueError(f"{name}: grey frames (1 channel, shape {x.shape}); expected RGB with 3 channels")
    if channels == 4:
        raise ValueError(f"{name}: RGBA frames (4 channels, shape {x.shape}); drop the alpha channel: [..., :3]")
    if channels != 3:
        raise ValueError(f"{name}: {channels} channels (shape {x.shape}); expected RGB [H, W, 3] or [B, H, W, 3]")
    if batch.shape[0] == 0:
        raise ValueError(f"{name}: an empty batch (shape {x.shape}); pass at least one frame")
    if batch.shape[1] == 0 or batch.shape[2] == 0:
        raise ValueError(f"{name}: empty frames (shape {x.shape})")
    if multiple_of > 1 and (batch.shape[1] % multiple_of or batch.shape[2] % multiple_of):
        raise ValueError(
            f"{name}: frames of {batch.shape[1]}x{batch.shape[2]} pixels; this model needs height and width "
            f"that are multiples of {multiple_of}"
        )
    return _to_uint8(batch, name), single


def _to_numpy(images: Any, name: str) -> np.ndarray:
    if hasattr(images, "detach") and hasattr(images, "cpu"):  # a torch tensor, on any device
        return images.detach().cpu().numpy()
    if isinstance(images, np.ndarray):
        return images
    if isinstance(images, list | tuple):
        if not images:
            raise ValueError(f"{name}: an empty list of frames; pass at least one frame")
        frames = [_to_numpy(f, name) for f in images]
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise ValueError(f"{name}: frames of different shapes {sorted(shapes)}; a batch needs one shape")
        return np.stack(frames)
    array_like = hasattr(images, "__array__") or hasattr(images, "__array_interface__")  # PIL: the interface
    if array_like and not isinstance(images, str | bytes):
        return np.asarray(images)
    raise TypeError(
        f"{name}: expected RGB frames (a numpy array, a torch tensor or a list), got {type(images).__name__}"
    )


def _to_uint8(batch: np.ndarray, name: str) -> np.ndarray:
    if batch.dtype == np.uint8:
        return np.ascontiguousarray(batch)
    if np.issubdtype(batch.dtype, np.floating):
        if not np.isfinite(batch).all():
            raise ValueError(f"{name}: frames hold NaN or infinite values")
        low, high = float(batch.min()), float(batch.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                f"{name}: float frames must hold values in [0, 1] (got [{low:g}, {high:g}]); "
                "pass uint8 frames for values in 0-255"
            )
        return np.rint(batch * 255.0).astype(np.uint8)
    low, high = int(batch.min()), int(batch.max())
    if low < 0 or high > 255:
        raise ValueError(f"{name}: integer frames must hold values in [0, 255] (got [{low}, {high}])")
    return batch.astype(np.uint8)
