"""Model folders checked before anything loads them: one line naming the folder when they are not right.

A folder saved by ``save_pretrained`` (rlsuite's grid detector, or any transformers model) holds a
``config.json``, safetensors weights (``model.safetensors``, or shards listed in
``model.safetensors.index.json``) and, for transformers models, tokenizer and processor JSON files.
:func:`check_model_folder` reads the JSON files and the safetensors headers (cheap: no tensor is
loaded) and raises :class:`~rlsuite.common.errors.ModelFolderError` for a missing folder, a missing
or corrupt ``config.json``, a truncated or corrupt weights file (a crash during its save), or a
folder holding only pickle weights (``pytorch_model.bin``, which rlsuite does not load).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rlsuite.common.errors import ModelFolderError
from rlsuite.common.safetensors_header import header_problem

WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.pth")


def check_model_folder(
    folder: str | os.PathLike[str], weights: bool = True, trust_pickle: bool = False
) -> dict[str, Any]:
    """Check a saved model folder; return its ``config.json`` as a dict.

    Args:
        folder: the folder.
        weights: also require (and check) safetensors weights.
        trust_pickle: accept a folder whose only weights are pickled (:func:`weight_files`).

    Raises:
        ModelFolderError: one line naming the folder and what is wrong with it.
    """
    p = Path(folder)
    if not p.exists():
        raise ModelFolderError(f"{p}: no such model folder")
    if not p.is_dir():
        raise ModelFolderError(f"{p}: not a folder (a model folder holds config.json and model.safetensors)")
    if not (p / "config.json").is_file():
        raise ModelFolderError(f"{p}: no config.json (not a saved model folder)")
    config = read_json(p / "config.json", p)
    if not isinstance(config, dict):
        raise ModelFolderError(f"{p}: config.json holds {type(config).__name__}, not a mapping of settings")
    for path in sorted(p.glob("*.json")):
        if path.name != "config.json":
            read_json(path, p)
    if weights:
        for path in weight_files(p, trust_pickle):
            check_safetensors(path, p)
    return config


def read_json(path: Path, folder: Path) -> Any:
    """A JSON file of a model folder; unreadable or invalid JSON is a ``ModelFolderError`` naming both."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{folder}: cannot read {path.name} ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        what = "empty" if not text.strip() else f"not valid JSON (line {exc.lineno}: {exc.msg})"
        raise ModelFolderError(f"{folder}: {path.name} is {what}; a crash during its save?") from exc


def pickle_files(folder: Path) -> list[Path]:
    """The folder's pickled weight files (by name; none of them is opened here)."""
    return [folder / name for name in PICKLE_WEIGHTS if (folder / name).is_file()]


def weight_files(folder: Path, trust_pickle: bool = False) -> list[Path]:
    """The safetensors files of a folder: ``model.safetensors`` or the shards of its index; a folder with only
    pickled weights is refused unless ``trust_pickle`` (then ``[]``: nothing here reads them)."""
    if (folder / WEIGHTS).is_file():
        return [folder / WEIGHTS]
    if (folder / WEIGHTS_INDEX).is_file():
        index = read_json(folder / WEIGHTS_INDEX, folder)
        shards = sorted(set((index.get("weight_map") or {}).values())) if isinstance(index, dict) else []
        if not shards:
            raise ModelFolderError(f"{folder}: {WEIGHTS_INDEX} lists no weight files")
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise ModelFolderError(f"{folder}: {WEIGHTS_INDEX} lists missing weight files: {', '.join(missing)}")
        return [folder / s for s in shards]
    pickled = pickle_files(folder)
    if pickled and trust_pickle:
        return []
    if pickled:
        raise ModelFolderError(
            f"{folder}: holds only pickle weights ({pickled[0].name}), which can run code when loaded; "
            "rlsuite loads safetensors only (convert them with transformers' save_pretrained; `vision eval-vlm`, "
            "`train-vlm-policy` and `grpo` load them with --trust-pickle if you trust the folder)"
        )
    raise ModelFolderError(f"{folder}: no {WEIGHTS} (weights missing)")


def check_safetensors(path: Path, folder: Path) -> None:
    """A safetensors file's header is readable and its tensors end inside the file (not truncated)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ModelFolderError(f"{folder}: {path.name} is truncated ({size} bytes); a crash during its save?")
        n = int.from_bytes(head, "little")
        if 8 + n > size:
            raise ModelFolderError(
                f"{folder}: {path.name} is truncated or not safetensors (header of {n} bytes in a {size}-byte file)"
            )
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{folder}: {path.name} is corrupt (its header is not JSON)") from exc
    problem = header_problem(header)
    if problem is not None:
        raise ModelFolderError(f"{folder}: {path.name} is corrupt ({problem})")
    # header_problem has checked every tensor's two integer offsets
    end = max((info["data_offsets"][1] for name, info in header.items() if name != "__metadata__"), default=0)
    if 8 + n + end > size:
        raise ModelFolderError(
            f"{folder}: {path.name} is truncated ({size} of {8 + n + end} bytes); a crash during its save?"
        )
