"""Fine-tuning a local VLM folder as a policy: LoRA adapters (peft) or full parameters, saved and loaded safely.

:class:`VLMModelOptions` says which folder to train (none: the tiny Llava built from configs) and
how: ``finetune="auto"`` puts LoRA adapters on every linear layer (peft's ``"all-linear"``, the
output layer excluded) when the model has more than ``lora_min_params`` parameters, and trains
all parameters otherwise; ``"lora"`` and ``"full"`` force one or the other.

A trained adapter folder holds ``adapter_model.safetensors`` and ``adapter_config.json`` (peft's),
``value_head.safetensors``, the processor files and ``base_model.json``: the base folder and its
fingerprint (a hash of its safetensors headers, the first 64 KiB of each weights file's tensor
data, and its parameter count). :func:`load_trained_policy` refuses, with one line naming both
folders, an adapter whose base has another fingerprint (another model, or the same one
retrained), and an adapter folder without safetensors weights (peft would unpickle a ``.bin``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rlsuite.common.config import Config, option
from rlsuite.common.errors import ModelFolderError

log = logging.getLogger(__name__)

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
BASE_MODEL = "base_model.json"
VALUE_HEAD = "value_head.safetensors"
FINGERPRINT_BYTES = 64 * 1024


@dataclass
class VLMModelOptions(Config):
    """Which VLM folder ``train-vlm-policy`` trains (none: the tiny Llava from configs) and how."""

    model: str | None = option(
        None, help="local AutoModelForImageTextToText folder to train (default: the tiny Llava built from configs)",
        aliases=["--model_name_or_path"],
    )  # fmt: skip
    trust_remote_code: bool = option(
        False, help="run the custom code the folder's config.json names (Kimi-VL); only for code you trust"
    )
    trust_pickle: bool = option(
        False, help="accept a --model folder holding only pickled weights (pytorch_model.bin), which can run code "
        "when loaded; only for folders you trust (or convert them to safetensors with save_pretrained)"
    )
    finetune: Literal["auto", "lora", "full"] = option(
        "auto", help="auto: LoRA adapters above --lora-min-params parameters, all parameters below; or force one"
    )
    lora_min_params: int = option(
        50_000_000, help="parameter count above which finetune=auto trains LoRA adapters instead of every weight", ge=0
    )
    lora_rank: int = option(8, help="LoRA rank r", ge=1)
    lora_alpha: float = option(16.0, help="LoRA scale alpha (the update is scaled by alpha / r)", gt=0)
    lora_dropout: float = option(0.0, help="dropout on the LoRA input", ge=0.0, lt=1.0)
    lora_lr: float = option(
        1e-3, help="learning rate of the adapters (behaviour cloning's peak; PPO's is this times --ppo-lr / "
        "--bc-lr, full fine-tuning's ratio of the stages; full fine-tuning uses --bc-lr and --ppo-lr)", gt=0,
    )  # fmt: skip
    dtype: Literal["float32", "bfloat16"] = option(
        "float32", help="weights' dtype while training (bfloat16 halves the memory; float32 on the CPU is exact)"
    )

    def uses_lora(self, n_params: int) -> bool:
        """Whether a model of ``n_params`` parameters gets adapters under these options."""
        return self.finetune == "lora" or (self.finetune == "auto" and n_params > self.lora_min_params)


def check_generative_folder(folder: str | Path, trust_remote_code: bool = False, trust_pickle: bool = False) -> None:
    """One line naming the folder when its architecture cannot generate text (not an image-text-to-text model),
    or when its weights are only pickled and ``trust_pickle`` is not given."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    from rlsuite.vision.folders import check_model_folder
    from rlsuite.vision.policies import vlm_auto_class

    config = check_model_folder(folder, trust_pickle=trust_pickle)
    vlm_auto_class(folder, trust_remote_code)  # a custom model type: refused without trust_remote_code
    model_type = config.get("model_type")
    if config.get("auto_map") is None and model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        raise ModelFolderError(
            f"{folder}: architecture {model_type!r} cannot generate text (not an image-text-to-text model); "
            "train-vlm-policy needs a VLM such as Llava, Qwen2-VL or Idefics3"
        )


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def add_lora(model: Any, options: VLMModelOptions) -> Any:
    """Wrap ``model`` in peft LoRA adapters on all linear layers (the output layer excluded); base weights frozen."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=options.lora_rank,
        lora_alpha=options.lora_alpha,
        lora_dropout=options.lora_dropout,
        target_modules="all-linear",
        bias="none",
    )
    return get_peft_model(model, config)


def adapter_state(model: Any) -> dict[str, Any]:
    """A CPU copy of the trainable LoRA weights (for tests and checks that they changed)."""
    return {k: v.detach().float().cpu().clone() for k, v in model.named_parameters() if "lora_" in k}


def weights_hash(folder: str | Path, trust_pickle: bool = False) -> str:
    """A hash of a model folder's weights: every safetensors header, the first 64 KiB of each file's data.

    A folder with only pickled weights is refused unless ``trust_pickle``; then its pickle files' sizes and first
    64 KiB are hashed, read as bytes (hashing unpickles nothing).
    """
    from rlsuite.vision.folders import pickle_files, weight_files

    folder = Path(folder)
    digest = hashlib.sha256()
    files = weight_files(folder, trust_pickle)
    for path in files:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            digest.update(f.read(n))
            digest.update(f.read(FINGERPRINT_BYTES))
    if not files:  # trusted pickled weights (weight_files refused them otherwise)
        for path in pickle_files(folder):
            digest.update(path.name.encode() + path.stat().st_size.to_bytes(8, "little"))
            with open(path, "rb") as f:
                digest.update(f.read(FINGERPRINT_BYTES))
    return digest.hexdigest()[:24]


def save_adapter(policy: Any, folder: str | Path, base: str | Path, trust_pickle: bool = False) -> None:
    """Save a LoRA policy: peft's adapter (safetensors), the value head, the processor, the base's fingerprint
    (``trust_pickle``: of a base folder with only pickled weights, which is refused otherwise)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    policy.model.save_pretrained(folder, safe_serialization=True)
    policy.processor.save_pretrained(folder)
    save_file({k: v.contiguous().cpu() for k, v in policy.value_head.state_dict().items()}, str(folder / VALUE_HEAD))
    info = {"base_model": str(Path(base).resolve()), "fingerprint": weights_hash(base, trust_pickle),
            "parameters": sum(p.numel() for n, p in policy.model.named_parameters() if "lora_" not in n)}  # fmt: skip
    (folder / BASE_MODEL).write_text(json.dumps(info, indent=2) + "\n")


def is_adapter_folder(folder: str | Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def check_adapter_folder(folder: str | Path, base: str | Path | None = None, trust_pickle: bool = False) -> Path:
    """The base folder an adapter folder was trained on, after checking both; one line naming the folder if not
    (``trust_pickle``: a base with only pickled weights is fingerprinted, not refused).

    Raises:
        ModelFolderError: no safetensors adapter weights, no or unreadable ``base_model.json``, one naming no
            base folder (without ``base``), or a base
            (``base``, else the one recorded) whose fingerprint differs from the recorded one.
    """
    from rlsuite.vision.folders import check_safetensors, read_json

    folder = Path(folder)
    if not (folder / ADAPTER_WEIGHTS).is_file():
        raise ModelFolderError(f"{folder}: no {ADAPTER_WEIGHTS} (rlsuite loads adapters saved as safetensors only)")
    check_safetensors(folder / ADAPTER_WEIGHTS, folder)
    if not (folder / BASE_MODEL).is_file():
        raise ModelFolderError(f"{folder}: no {BASE_MODEL}; cannot tell which base model the adapter belongs to")
    info = read_json(folder / BASE_MODEL, folder)
    if not isinstance(info, dict) or "fingerprint" not in info:
        raise ModelFolderError(f"{folder}: {BASE_MODEL} holds no base fingerprint")
    recorded = info.get("base_model")
    if base is None and not (isinstance(recorded, str) and recorded):  # not the working folder, nor "None"
        raise ModelFolderError(f"{folder}: {BASE_MODEL} names no base model folder (pass the base folder)")
    base_folder = Path(base if base is not None else recorded)
    if not base_folder.is_dir():
        raise ModelFolderError(f"{folder}: its base model folder {base_folder} does not exist (pass the base folder)")
    found = weights_hash(base_folder, trust_pickle)
    if found != info["fingerprint"]:
        raise ModelFolderError(
            f"{folder}: adapter saved for another base model than {base_folder} "
            f"(fingerprint {info['fingerprint']}, that folder's {found})"
        )
    return base_folder


def load_trained_policy(
    folder: str | Path,
    base: str | Path | None = None,
    trust_remote_code: bool = False,
    dtype: str = "auto",
    device: str = "auto",
    trust_pickle: bool = False,
    **policy_kwargs: Any,
) -> Any:
    """A :class:`~rlsuite.vision.policies.VLMPolicy` from a trained folder: full weights, or base + adapter
    (``trust_pickle``: a folder with only pickled weights is loaded, not refused).

    An adapter folder (``adapter_config.json``) is checked by :func:`check_adapter_folder` before its
    base loads; its adapter stays separate (trainable again, ``merge_and_unload`` to fold it in).
    """
    from peft import PeftModel
    from safetensors.torch import load_file

    from rlsuite.vision.policies import VLMPolicy

    folder = Path(folder)
    if not is_adapter_folder(folder):
        return VLMPolicy.from_pretrained(folder, trust_remote_code=trust_remote_code, dtype=dtype, device=device,
                                         trust_pickle=trust_pickle, **policy_kwargs)  # fmt: skip
    base_folder = check_adapter_folder(folder, base, trust_pickle)
    policy = VLMPolicy.from_pretrained(base_folder, trust_remote_code=trust_remote_code, dtype=dtype, device=device,
                                       trust_pickle=trust_pickle, **policy_kwargs)  # fmt: skip
    policy.model = PeftModel.from_pretrained(policy.model, str(folder), is_trainable=False)
    policy.value_head.load_state_dict(load_file(str(folder / VALUE_HEAD), device=str(policy.device)))
    return policy
