"""Vision-language models as policies (RL4VLM-style) and as yes/no judges.

:class:`VLMPolicy` wraps any local ``AutoModelForImageTextToText`` + ``AutoProcessor`` folder
(Llava, Qwen2-VL, Idefics3/SmolVLM, Kimi-K2.5; Kimi-VL through its remote code). Two modes:

- **scoring**: every action of a fixed vocabulary (``"up"``, ``"right"``, ...) is appended to the
  prompt and scored by the sum of its tokens' log-probs, all frames x all actions in one batched
  forward pass. The result is a ``torch.distributions.Categorical`` that gradients flow through
  (RL4VLM's action log-prob, without free-form decoding), plus a value from a linear head on the
  prompt's last hidden state, for PPO.
- **generation**: ``generate`` then :func:`parse_action` maps the text to an action index.

``trust_remote_code`` is passed to transformers only when the caller sets it (Kimi-VL needs it);
without it, a folder whose model type needs custom code fails early with one line (:func:`vlm_auto_class`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rlsuite.common.errors import ModelFolderError
from rlsuite.envs.gridworld import ACTION_NAMES
from rlsuite.vision.folders import check_model_folder, check_safetensors
from rlsuite.vision.images import as_frames

DEFAULT_PROMPT = "<image> question : what action should the agent do next to reach the target ? answer :"
GOAL_PROMPT = "<image> question : {instruction} . what action should the agent do next ? answer :"
YES_NO_PROMPT = "<image> question : has the goal {goal} been achieved ? answer :"


def parse_action(text: str, actions: Sequence[str] = ACTION_NAMES) -> int | None:
    """The index of the first action word in ``text`` (case-insensitive, whole words), or None."""
    pattern = r"\b(" + "|".join(re.escape(a) for a in actions) + r")\b"
    m = re.search(pattern, text.lower())
    return None if m is None else [a.lower() for a in actions].index(m.group(1))


class ImageTextProcessor:
    """Tokenizer + image processor for VLMs whose own processor cannot load here.

    Transformers 5.24's ``Qwen2VLProcessor`` and ``Kimi_K25Processor`` need a video processor (and
    Kimi-K2.5 an image processor) that needs torchvision; this does their image half: each image
    token of a prompt becomes one token per merged patch (``image_grid_thw.prod() // merge_size**2``),
    and ``mm_token_type_ids`` marks them (1) for Qwen's multimodal RoPE. Call it like a
    transformers processor (``images=``, ``text=``).

    Args:
        image_processor: an image processor that returns ``image_grid_thw`` and has ``merge_size``
            (``Qwen2VLImageProcessorPil``, :class:`~rlsuite.vision.image_processing.Kimi_K25ImageProcessorPil`).
        tokenizer: the tokenizer; its ``image_token`` (else Qwen's ``"<|image_pad|>"``) marks the image in prompts.
        return_mm_token_type_ids: add ``mm_token_type_ids`` (Qwen-VL models take them, Kimi-K2.5's
            ``generate`` rejects them); like the model's own processor class's attribute of that name.
    """

    def __init__(self, image_processor: Any, tokenizer: Any, return_mm_token_type_ids: bool = True) -> None:
        self.image_processor, self.tokenizer = image_processor, tokenizer
        self.return_mm_token_type_ids = return_mm_token_type_ids
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> ImageTextProcessor:
        """The folder's tokenizer and PIL image processor (rlsuite's port where transformers has none)."""
        from transformers import AutoImageProcessor, AutoTokenizer

        try:
            image_processor = AutoImageProcessor.from_pretrained(folder, backend="pil")
        except (ImportError, ValueError):
            from rlsuite.vision.image_processing import PIL_PORTS

            kind = json.loads((Path(folder) / "preprocessor_config.json").read_text()).get("image_processor_type")
            if kind not in PIL_PORTS:
                raise
            image_processor = PIL_PORTS[kind].from_pretrained(folder)
        if not hasattr(image_processor, "merge_size"):
            raise ValueError(f"{folder}: image processor {type(image_processor).__name__} has no merge_size")
        return cls(image_processor, AutoTokenizer.from_pretrained(folder), _returns_mm_token_type_ids(folder))

    def save_pretrained(self, folder: str | Path) -> None:
        self.image_processor.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)

    def __call__(
        self, images: Sequence[Any], text: Sequence[str], return_tensors: str = "pt", padding: bool = True
    ) -> dict[str, torch.Tensor]:
        image_inputs = self.image_processor(images=list(images), return_tensors=return_tensors)
        merge = self.image_processor.merge_size**2
        counts = iter((image_inputs["image_grid_thw"].prod(-1) // merge).tolist())
        n_marked = sum(t.count(self.image_token) for t in text)
        if n_marked != len(images):
            raise ValueError(f"{len(images)} images but {n_marked} {self.image_token} tokens in the prompts")
        expanded = []
        for t in text:
            parts = t.split(self.image_token)
            expanded.append(parts[0] + "".join(self.image_token * next(counts) + p for p in parts[1:]))
        text_inputs = self.tokenizer(expanded, return_tensors=return_tensors, padding=padding)
        out = {**text_inputs, **image_inputs}
        if self.return_mm_token_type_ids:
            out["mm_token_type_ids"] = (text_inputs["input_ids"] == self.image_token_id).long()
        return out


def _returns_mm_token_type_ids(folder: str | Path) -> bool:
    """Whether the processor class transformers maps the folder's ``model_type`` to returns ``mm_token_type_ids``
    (True when the type has no processor class there: extra inputs are safer than missing M-RoPE ids)."""
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES, processor_class_from_name

    model_type = json.loads((Path(folder) / "config.json").read_text()).get("model_type")
    name = PROCESSOR_MAPPING_NAMES.get(model_type)
    processor_class = processor_class_from_name(name) if name else None
    return bool(getattr(processor_class, "return_mm_token_type_ids", True))


def _check_processor_class(folder: Path, trust_remote_code: bool) -> None:
    """A ``processor_config.json`` naming a ``processor_class`` transformers does not have is refused in one
    line (``AutoProcessor`` would raise deep inside), unless remote code is trusted."""
    import transformers

    from rlsuite.common.errors import ModelFolderError

    path = folder / "processor_config.json"
    settings = json.loads(path.read_text()) if path.is_file() else {}  # valid JSON: check_model_folder read it
    cls = settings.get("processor_class") if isinstance(settings, dict) else None
    if cls is None or trust_remote_code:
        return
    if not (isinstance(cls, str) and cls.isidentifier() and hasattr(transformers, cls)):
        raise ModelFolderError(f"{path}: processor_class {cls!r} is not a processor transformers knows")


def load_vlm(
    folder: str | Path,
    trust_remote_code: bool = False,
    dtype: str = "auto",
    device: str = "auto",
    trust_pickle: bool = False,
) -> tuple[Any, Any, torch.device, torch.dtype]:
    """Load ``AutoModelForImageTextToText`` + ``AutoProcessor`` from a local folder (safetensors).

    ``dtype="auto"`` is for inference: bfloat16 on CUDA, float32 on CPU (``"float32"`` to train).
    A model type transformers does not ship (Kimi-VL) loads only through the custom code its
    ``config.json`` names in ``auto_map``, and only with ``trust_remote_code=True``; without it this
    raises a one-line :class:`~rlsuite.common.errors.UsageError` before anything is imported. A
    missing, incomplete or corrupt folder is a one-line :class:`~rlsuite.common.errors.ModelFolderError`,
    and so is a folder with only pickled weights unless ``trust_pickle`` (transformers then unpickles them).
    """
    from transformers import AutoProcessor

    from rlsuite.common.device import select_device
    from rlsuite.vision.runtime import resolve_dtype

    folder = Path(folder)
    check_model_folder(folder, trust_pickle=trust_pickle)
    _check_processor_class(folder, trust_remote_code)
    auto_class = vlm_auto_class(folder, trust_remote_code)
    dev = select_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    model = auto_class.from_pretrained(
        folder, trust_remote_code=trust_remote_code, dtype=torch_dtype, use_safetensors=None if trust_pickle else True
    )
    try:
        processor = AutoProcessor.from_pretrained(folder, trust_remote_code=trust_remote_code, backend="pil")
    except (ImportError, ValueError) as err:  # e.g. Qwen2-VL's and Kimi-K2.5's processors want torchvision
        missing_torchvision = isinstance(err, ImportError) or "torchvision" in str(err)
        if not missing_torchvision or not (folder / "preprocessor_config.json").is_file():
            raise
        try:
            processor = ImageTextProcessor.from_pretrained(folder)
        except (ImportError, ValueError) as again:
            raise ImportError(f"{folder}: {err} (and no PIL image processor: {again})") from err
    return model.to(dev), processor, dev, torch_dtype


# Auto classes a custom VLM's ``auto_map`` may name for its generative model, most specific first
# (Kimi-VL's names AutoModel and AutoModelForCausalLM only).
REMOTE_VLM_AUTO_CLASSES = ("AutoModelForImageTextToText", "AutoModelForCausalLM", "AutoModel")


def vlm_auto_class(folder: str | Path, trust_remote_code: bool = False) -> Any:
    """The transformers auto class that loads the VLM in ``folder``, checking remote code first.

    Native model types load with ``AutoModelForImageTextToText``. Any other type needs the custom
    code its ``config.json`` names in ``auto_map``: refused (``UsageError``, one line naming the
    folder and the files) unless ``trust_remote_code``; then the first of
    :data:`REMOTE_VLM_AUTO_CLASSES` that ``auto_map`` names.
    """
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    from rlsuite.common.errors import UsageError

    config = check_model_folder(folder, weights=False)
    model_type, auto_map = config.get("model_type"), config.get("auto_map") or {}
    if model_type in CONFIG_MAPPING_NAMES:
        from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

        if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
            raise ModelFolderError(
                f"{folder}: a {model_type!r} model, which cannot read an image and generate text; a VLM policy needs "
                "an image-text-to-text model (e.g. SmolVLM, Qwen2-VL, LLaVA, or the folder `rlsuite vision "
                "train-vlm-policy` writes)"
            )
        return transformers.AutoModelForImageTextToText
    if not auto_map:
        raise UsageError(
            f"{folder}: model type {model_type!r} is not in transformers {transformers.__version__} "
            "and config.json names no custom code (auto_map)"
        )
    refs = [r for v in auto_map.values() for r in ([v] if isinstance(v, str) else v) if r]
    files = ", ".join(sorted({r.split("--")[-1].split(".")[0] + ".py" for r in refs}))
    if not trust_remote_code:
        raise UsageError(
            f"{folder}: model type {model_type!r} runs custom code from the folder ({files}); "
            "pass trust_remote_code=True (CLI: --trust-remote-code) if you trust that code"
        )
    for name in REMOTE_VLM_AUTO_CLASSES:
        if name in auto_map:
            return getattr(transformers, name)
    raise UsageError(f"{folder}: auto_map names none of {', '.join(REMOTE_VLM_AUTO_CLASSES)}")


class VLMPolicy(nn.Module):
    """A VLM acting on frames: action-vocabulary scoring (a torch distribution) or free generation.

    Args:
        model: an ``AutoModelForImageTextToText`` model; processor: its ``AutoProcessor``.
        actions: the action words, in the env's action order (at least one, no repeats).
        prompt: the text prompt with the processor's image token; ``{instruction}`` is filled in
            from Dict observations of goal-conditioned envs.
        device: the model's device.

    Observations are uint8 RGB frames ``[H, W, 3]`` or ``[B, H, W, 3]`` (float in [0, 1] and
    channel-first are converted, see :func:`~rlsuite.vision.images.as_frames`), or Dicts with such
    an ``"image"`` and an ``"instruction"`` (one string, or one per frame).
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        actions: Sequence[str] = ACTION_NAMES,
        prompt: str = DEFAULT_PROMPT,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        actions = [actions] if isinstance(actions, str) else list(actions)
        if not actions:
            raise ValueError("actions: an empty list; a policy needs at least one action word")
        if any(not isinstance(a, str) or not a.strip() for a in actions):
            raise ValueError(f"actions: every action must be a non-empty string, got {actions!r}")
        if len(set(actions)) != len(actions):
            raise ValueError(f"actions: repeated action words in {actions!r}")
        self.model, self.processor = model, processor
        self.actions, self.prompt = actions, prompt
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        hidden = model.config.get_text_config().hidden_size
        self.value_head = nn.Linear(hidden, 1).to(self.device)
        tok = processor.tokenizer
        self._action_ids = [tok(" " + a, add_special_tokens=False)["input_ids"] for a in self.actions]
        if any(len(ids) == 0 for ids in self._action_ids):
            raise ValueError(f"an action word encodes to no tokens: {self.actions}")

    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        trust_remote_code: bool = False,
        dtype: str = "auto",
        device: str = "auto",
        trust_pickle: bool = False,
        **kwargs: Any,
    ) -> VLMPolicy:
        """Load a local folder; ``trust_remote_code`` and ``trust_pickle`` only when explicitly asked."""
        from rlsuite.common.errors import ModelFolderError

        model, processor, dev, _ = load_vlm(folder, trust_remote_code, dtype, device, trust_pickle)
        policy = cls(model, processor, device=dev, **kwargs)
        head = Path(folder) / "value_head.safetensors"
        if head.is_file():
            from safetensors.torch import load_file

            check_safetensors(head, Path(folder))
            try:
                policy.value_head.load_state_dict(load_file(str(head), device=str(dev)))
            except RuntimeError as exc:  # missing or mis-shaped tensors
                first = str(exc).strip().splitlines()[0]
                raise ModelFolderError(f"{folder}: value_head.safetensors does not fit the model ({first})") from exc
        return policy

    def save_pretrained(self, folder: str | Path) -> None:
        from safetensors.torch import save_file

        self.model.save_pretrained(folder)
        self.processor.save_pretrained(folder)
        save_file(
            {k: v.contiguous().cpu() for k, v in self.value_head.state_dict().items()},
            str(Path(folder) / "value_head.safetensors"),
        )

    # ----- inputs
    def _frames_and_prompts(self, obs: Any) -> tuple[list[np.ndarray], list[str]]:
        if isinstance(obs, dict):
            if "image" not in obs:
                raise ValueError(f"observation: a Dict observation needs an 'image' entry, got keys {sorted(obs)}")
            images, _ = as_frames(obs["image"], "observation['image']")
            instr = obs.get("instruction", "")
            instrs = [instr] * len(images) if isinstance(instr, str) else [str(i) for i in instr]
            if len(instrs) != len(images):
                raise ValueError(f"observation['instruction']: {len(instrs)} instructions for {len(images)} frames")
            return list(images), [self._prompt_for(i) for i in instrs]
        images, _ = as_frames(obs, "observation")
        return list(images), [self._prompt_for("")] * len(images)

    @staticmethod
    def _is_single(observation: Any) -> bool:
        image = observation["image"] if isinstance(observation, dict) else observation
        return as_frames(image, "observation")[1]

    def _prompt_for(self, instruction: str) -> str:
        """The prompt with the instruction filled in and ``<image>`` spelled as this processor's image token."""
        image_token = getattr(self.processor, "image_token", None) or "<image>"
        return self.prompt.format(instruction=instruction).replace("<image>", image_token)

    def _encode(self, images: list[np.ndarray], texts: list[str]) -> dict[str, torch.Tensor]:
        tok = self.processor.tokenizer
        tok.padding_side = "left"  # the prompt's last token sits at position -1 in every row
        enc = self.processor(images=images, text=texts, return_tensors="pt", padding=True)
        out = {}
        for k, v in enc.items():
            if isinstance(v, torch.Tensor):
                v = v.to(self.device)
                out[k] = v.to(self.model.dtype) if v.is_floating_point() else v
        return out

    # ----- scoring mode
    def forward(self, obs: Any) -> tuple[torch.distributions.Categorical, torch.Tensor]:
        """The action distribution over ``actions`` and the value, for a batch of observations.

        One forward pass over the batch; actions of one token are read from the prompt's next-token
        log-probs, longer ones by teacher forcing all ``B x A`` continuations in the same pass.
        """
        images, texts = self._frames_and_prompts(obs)
        B, A = len(images), len(self.actions)
        enc = self._encode(images, texts)
        single = all(len(ids) == 1 for ids in self._action_ids)
        if single:
            out = self.model(**enc, output_hidden_states=True)
            logp = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
            scores = logp[:, [ids[0] for ids in self._action_ids]]
            last_hidden = out.hidden_states[-1][:, -1].float()
        else:
            L = max(len(ids) for ids in self._action_ids)
            pad = self.processor.tokenizer.pad_token_id
            cont = torch.full((A, L), pad, dtype=torch.long, device=self.device)
            cmask = torch.zeros((A, L), dtype=torch.long, device=self.device)
            for a, ids in enumerate(self._action_ids):
                cont[a, : len(ids)] = torch.tensor(ids, device=self.device)
                cmask[a, : len(ids)] = 1
            tok_lp, prompt_hidden = self.continuation_log_probs(_repeat_rows(enc, A, B), cont.repeat(B, 1),
                                                                cmask.repeat(B, 1))  # fmt: skip
            scores = tok_lp.sum(-1).view(B, A)
            last_hidden = prompt_hidden[::A]
        value = self.value_head(last_hidden)[:, 0]
        # validate_args=False: checking the logits (and each log_prob's actions) reads the device every call
        return torch.distributions.Categorical(logits=scores, validate_args=False), value

    def continuation_log_probs(
        self, enc: dict[str, torch.Tensor], cont: torch.Tensor, cmask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: each continuation token's log-prob after its (left-padded) prompt, in one pass.

        Args:
            enc: encoded prompts, ``R`` rows (see ``_encode``); cont: token ids ``[R, L]``; cmask: ``[R, L]``,
                1 for real tokens, 0 for padding after them.

        Returns:
            ``(log-probs [R, L] float32, zero where cmask is 0; the prompt's last hidden state [R, H] float32)``.
        """
        P = enc["input_ids"].shape[1]
        rows = enc["input_ids"].shape[0]
        inputs = dict(enc)
        for k, v in enc.items():  # every token-aligned input grows by the continuation
            if v.ndim == 2 and v.shape == (rows, P):
                tail = {"input_ids": cont, "attention_mask": cmask}.get(k, torch.zeros_like(cmask))
                inputs[k] = torch.cat([v, tail.to(device=v.device, dtype=v.dtype)], dim=1)
        out = self.model(**inputs, output_hidden_states=True)
        logp = torch.log_softmax(out.logits[:, P - 1 : -1].float(), dim=-1)
        tok_lp = logp.gather(-1, inputs["input_ids"][:, P:, None])[..., 0] * cmask.to(logp.dtype)
        return tok_lp, out.hidden_states[-1][:, P - 1].float()

    # ----- generation mode
    @torch.no_grad()
    def generate_actions(self, obs: Any, max_new_tokens: int = 4) -> tuple[list[int | None], list[str]]:
        """Free generation (greedy) and :func:`parse_action`: (action or None per frame, texts)."""
        images, texts = self._frames_and_prompts(obs)
        enc = self._encode(images, texts)
        tok = self.processor.tokenizer
        out = self.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        new = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        return [parse_action(t, self.actions) for t in new], new

    @torch.no_grad()
    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, None]:
        """SB3-style: actions for one observation or a batch (scoring mode)."""
        dist, _ = self(observation)
        single = self._is_single(observation)
        actions = (dist.probs.argmax(-1) if deterministic else dist.sample()).cpu().numpy()
        return (actions[0] if single else actions), None


def _repeat_rows(enc: dict[str, torch.Tensor], times: int, batch: int) -> dict[str, torch.Tensor]:
    """Each frame's inputs ``times`` times in a row (``repeat_interleave``).

    Qwen2-VL-style flattened patches (``pixel_values`` [sum of patches, dim] with
    ``image_grid_thw``) are repeated image by image; any other input must have one row per frame.
    """
    out = {}
    grid = enc.get("image_grid_thw")
    for k, v in enc.items():
        if k == "pixel_values" and grid is not None and v.shape[0] == int(grid.prod(-1).sum()):
            chunks = v.split(grid.prod(-1).tolist())
            out[k] = torch.cat([c for c in chunks for _ in range(times)])
            continue
        if v.shape[0] != batch:
            raise ValueError(
                f"processor output {k!r} has {v.shape[0]} rows for {batch} frames; multi-token actions "
                "need one row per frame (use single-token action words with this model)"
            )
        out[k] = v.repeat_interleave(times, dim=0)
    return out


class VLMYesNoReward:
    """A free-form-goal reward: ``log p("yes") - log p("no")`` of a VLM asked whether the goal is met.

    Args:
        model, processor: an ``AutoModelForImageTextToText`` and its ``AutoProcessor``.
        goal: the goal text; prompt: the question with ``{goal}`` and the image token.
    """

    def __init__(self, model: Any, processor: Any, goal: str, prompt: str = YES_NO_PROMPT) -> None:
        self.template = prompt
        self.policy = VLMPolicy(model, processor, actions=("yes", "no"), prompt=prompt)
        self.set_goal(goal)

    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        goal: str,
        trust_remote_code: bool = False,
        dtype: str = "auto",
        device: str = "auto",
    ) -> VLMYesNoReward:
        model, processor, _, _ = load_vlm(folder, trust_remote_code, dtype, device)
        return cls(model, processor, goal)

    def set_goal(self, goal: str) -> None:
        self.goal = goal
        self.policy.prompt = self.template.replace("{goal}", goal.replace("{", "(").replace("}", ")"))

    @torch.no_grad()
    def rewards(self, images: Any) -> np.ndarray:
        """Rewards [B] of RGB frames (as :class:`VLMPolicy` takes them): the yes-minus-no log-odds, one batched pass."""
        dist, _ = self.policy(images)
        lp = dist.logits  # normalised log-probs over (yes, no)
        return (lp[:, 0] - lp[:, 1]).float().cpu().numpy()
