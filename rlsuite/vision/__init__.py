"""Vision models as policies and reward models on the pixel grid worlds.

- :mod:`rlsuite.vision.detection`: a small CenterNet-style grid detector (the trained-locally
  default), its training loop, AP50 and :class:`~rlsuite.vision.detection.DetectionPolicy`.
- :mod:`rlsuite.vision.rewards`: :class:`~rlsuite.vision.rewards.DetectionRewardModel` (any local
  ``AutoModelForObjectDetection``, an open-vocabulary one, or the grid detector) with presence /
  count / IoU / GIoU rewards; :class:`~rlsuite.vision.rewards.VLMRewardModel` (CLIP-style
  goal-baseline reward); gymnasium reward wrappers.
- :mod:`rlsuite.vision.policies`: :class:`~rlsuite.vision.policies.VLMPolicy` (any local
  image-text-to-text model scoring action words) and ``VLMYesNoReward``.
- :mod:`rlsuite.vision.contrastive` and :mod:`rlsuite.vision.finetune`: training the tiny CLIP
  reward and the tiny Llava policy (:mod:`rlsuite.vision.models` builds them from configs).
- :mod:`rlsuite.vision.defaults`: the three defaults, trained once and kept in folders keyed by
  their config (safetensors + JSON).
- :mod:`rlsuite.vision.images` (the frames every model accepts), :mod:`rlsuite.vision.folders`
  (model folders checked before loading), :mod:`rlsuite.vision.runtime` (threads, dtypes).

Heavy libraries (torch, transformers, scipy) are imported by those modules, not here.
"""
