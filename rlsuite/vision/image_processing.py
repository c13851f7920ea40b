"""PIL/NumPy ports of image processors that transformers 5.24 ships only for torchvision.

torchvision cannot be installed next to rlsuite's CPU torch, so a VLM folder whose image processor
exists only as a ``TorchvisionBackend`` (Kimi-K2.5's) cannot be loaded by ``AutoImageProcessor``.
The classes here compute the same tensors with PIL and NumPy and save the same
``preprocessor_config.json`` (``PilBackend`` drops the ``Pil`` suffix from ``image_processor_type``),
so a folder they write also loads with the original class where torchvision exists.
:data:`PIL_PORTS` maps the saved ``image_processor_type`` to the port.

This module imports transformers at import time; import it lazily.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from transformers.image_processing_backends import PilBackend
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, PILImageResampling, SizeDict
from transformers.processing_utils import ImagesKwargs


class Kimi_K25ImageProcessorKwargs(ImagesKwargs, total=False):
    """Kimi-K2.5's extra image kwargs: ``max_patches`` (patch budget), ``patch_size``, ``merge_size``."""

    max_patches: int
    patch_size: int
    merge_size: int


def navit_resize(
    height: int, width: int, patch_size: int, merge_size: int, max_patches: int, max_size_per_side: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Kimi-K2.5's resize rule: ``((resized_h, resized_w), (padded_h, padded_w))``.

    Never upscales; shrinks to fit ``max_patches`` patches and ``max_size_per_side`` patches per
    side; pads (bottom, right) to a multiple of ``merge_size * patch_size``. Same arithmetic as
    ``transformers.models.kimi_k25.image_processing_kimi_k25.navit_resize``.
    """
    patches_h, patches_w = max(1.0, height // patch_size), max(1.0, width // patch_size)
    scale = min(
        1.0,
        math.sqrt(max_patches / (patches_h * patches_w)),
        max_size_per_side * patch_size / height,
        max_size_per_side * patch_size / width,
    )
    new_h = min(max(1, int(height * scale)), max_size_per_side * patch_size)
    new_w = min(max(1, int(width * scale)), max_size_per_side * patch_size)
    factor = merge_size * patch_size
    return (new_h, new_w), (new_h + (factor - new_h % factor) % factor, new_w + (factor - new_w % factor) % factor)


class Kimi_K25ImageProcessorPil(PilBackend):  # saved as transformers' "Kimi_K25ImageProcessor"
    """Kimi-K2.5's image processor on PIL/NumPy (the original needs torchvision).

    Each image is resized by :func:`navit_resize`, padded with zeros at the bottom and right,
    rescaled and normalised, then cut into ``patch_size`` squares in row-major order:
    ``pixel_values`` [total patches, 3, patch, patch] and ``image_grid_thw`` [images, 3] = (1, h, w)
    in patches. The model merges ``merge_size x merge_size`` patches into one image token, so an
    image takes ``h * w / merge_size**2`` tokens.
    """

    do_resize = True
    resample = PILImageResampling.BICUBIC
    size = {"max_height": 512, "max_width": 512}
    max_patches = 16384
    do_rescale = True
    do_normalize = True
    image_mean = IMAGENET_STANDARD_MEAN
    image_std = IMAGENET_STANDARD_STD
    do_convert_rgb = True
    patch_size = 14
    merge_size = 2
    valid_kwargs = Kimi_K25ImageProcessorKwargs
    model_input_names = ["pixel_values", "image_grid_thw"]

    def _validate_preprocess_kwargs(self, size: SizeDict | None = None, **kwargs: Any) -> None:
        if size is not None and (size.max_height is None or size.max_height != size.max_width):
            raise ValueError(f"size must have equal 'max_height' and 'max_width', got {size}")
        super()._validate_preprocess_kwargs(size=size, **kwargs)

    def _preprocess(
        self,
        images: list[np.ndarray],
        do_resize: bool,
        size: SizeDict,
        resample: Any,
        do_rescale: bool,
        rescale_factor: float,
        do_normalize: bool,
        image_mean: Any,
        image_std: Any,
        patch_size: int,
        merge_size: int,
        max_patches: int,
        return_tensors: Any,
        **kwargs: Any,
    ) -> BatchFeature:
        patches, grids = [], []
        for image in images:  # channel-first [3, H, W]
            if do_resize:
                (h, w), (pad_h, pad_w) = navit_resize(
                    *image.shape[-2:], patch_size, merge_size, max_patches, size.max_height
                )
                image = self.resize(image, SizeDict(height=h, width=w), resample=resample)
                image = self.pad([image], pad_size=SizeDict(height=pad_h, width=pad_w))[0]
            if do_rescale:
                image = self.rescale(image, rescale_factor)
            if do_normalize:
                image = self.normalize(image, image_mean, image_std)
            c, height, width = image.shape
            gh, gw = height // patch_size, width // patch_size
            cut = image.reshape(c, gh, patch_size, gw, patch_size).transpose(1, 3, 0, 2, 4)
            patches.append(cut.reshape(gh * gw, c, patch_size, patch_size))
            grids.append([1, gh, gw])
        data = {"pixel_values": np.concatenate(patches).astype(np.float32), "image_grid_thw": np.array(grids)}
        return BatchFeature(data=data, tensor_type=return_tensors)


PIL_PORTS: dict[str, type] = {"Kimi_K25ImageProcessor": Kimi_K25ImageProcessorPil}
