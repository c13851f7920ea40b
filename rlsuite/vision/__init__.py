"""Vision models as policies and reward models on the pixel grid worlds.

- :mod:`rlsuite.vision.detection`: a small CenterNet-style grid detector (the trained-locally
  default), its training loop, AP50 and :class:`~rlsuite.vision.detection.DetectionPolicy`.
- :mod:`rlsuite.vision.rewards`: :class:`~rlsuite.vision.rewards.DetectionRewardModel` (any local
  ``AutoModelForObjectDetection``, or the grid detector) with presence / count / IoU / GIoU rewards.
- :mod:`rlsuite.vision.models`: the cached defaults (train once, then load from safetensors).

Heavy libraries (torch, transformers, scipy) are imported by those modules, not here.
"""
