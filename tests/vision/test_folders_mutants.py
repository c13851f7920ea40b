"""rlsuite.vision.folders, every check with its exact one-line message: the folder itself, its JSON files, which
weight files it has (one file, an index's shards, pickles trusted or not) and each safetensors header's bounds,
at the bound and one byte past it."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from model_folders import safetensors_file

from rlsuite.common.errors import ModelFolderError
from rlsuite.vision.folders import (
    PICKLE_WEIGHTS,
    WEIGHTS,
    WEIGHTS_INDEX,
    check_model_folder,
    check_safetensors,
    pickle_files,
    read_json,
    weight_files,
)


def _safetensors(path: Path, tensors: dict[str, tuple[int, int]], data: int, metadata: bool = True) -> Path:
    """A safetensors file by hand: a header naming ``tensors`` (name -> data offsets), then ``data`` bytes."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}} if metadata else {}
    for name, (a, b) in tensors.items():
        header[name] = {"dtype": "U8", "shape": [b - a], "data_offsets": [a, b]}
    return safetensors_file(path, header, b"\0" * data)


def _folder(tmp_path: Path, name: str = "m", config: object = None) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "x"} if config is None else config))
    return folder


def _refused(match: str) -> pytest.RaisesContext[ModelFolderError]:
    return pytest.raises(ModelFolderError, match="^" + re.escape(match) + "$")


def test_names() -> None:
    assert WEIGHTS == "model.safetensors" and WEIGHTS_INDEX == "model.safetensors.index.json"
    assert PICKLE_WEIGHTS == ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.pth")


def test_a_good_folder_gives_its_config(tmp_path: Path) -> None:
    folder = _folder(tmp_path, config={"model_type": "grid", "n": 3})
    _safetensors(folder / WEIGHTS, {"a": (0, 4), "b": (4, 10)}, 10)
    (folder / "tokenizer_config.json").write_text("{}")
    assert check_model_folder(folder) == {"model_type": "grid", "n": 3}
    assert check_model_folder(str(folder), weights=False) == {"model_type": "grid", "n": 3}


def test_the_folder_itself(tmp_path: Path) -> None:
    with _refused(f"{tmp_path / 'none'}: no such model folder"):
        check_model_folder(tmp_path / "none")
    (tmp_path / "file").write_text("x")
    with _refused(f"{tmp_path / 'file'}: not a folder (a model folder holds config.json and model.safetensors)"):
        check_model_folder(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    with _refused(f"{tmp_path / 'empty'}: no config.json (not a saved model folder)"):
        check_model_folder(tmp_path / "empty")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "config.json").mkdir()  # a folder named config.json is no config file
    with _refused(f"{tmp_path / 'dir'}: no config.json (not a saved model folder)"):
        check_model_folder(tmp_path / "dir")


def test_config_and_other_json_files(tmp_path: Path) -> None:
    broken = _folder(tmp_path, "broken")
    (broken / "config.json").write_text("{")
    with _refused(f"{broken}: config.json is not valid JSON (line 1: Expecting property name enclosed in double "
                  "quotes); a crash during its save?"):  # fmt: skip
        check_model_folder(broken, weights=False)
    folder = _folder(tmp_path, config=[1, 2])
    with _refused(f"{folder}: config.json holds list, not a mapping of settings"):
        check_model_folder(folder, weights=False)
    other = _folder(tmp_path, "other")
    (other / "a.json").write_text("{}")
    (other / "b.json").write_text("  \n")
    with _refused(f"{other}: b.json is empty; a crash during its save?"):
        check_model_folder(other, weights=False)
    (other / "b.json").write_text('{"x": }')
    with _refused(f"{other}: b.json is not valid JSON (line 1: Expecting value); a crash during its save?"):
        check_model_folder(other, weights=False)
    (other / "b.json").write_text("{}")
    (other / "b.txt").write_text("not json, not read")
    assert check_model_folder(other, weights=False) == {"model_type": "x"}


def test_read_json(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"k": [1, 2]}')
    assert read_json(tmp_path / "a.json", tmp_path) == {"k": [1, 2]}
    (tmp_path / "b.json").write_text('\n\n{"k": ,}')
    with _refused(f"{tmp_path}: b.json is not valid JSON (line 3: Expecting value); a crash during its save?"):
        read_json(tmp_path / "b.json", tmp_path)
    (tmp_path / "c.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ModelFolderError, match=r"^.*: cannot read c\.json \('utf-8' codec can't decode"):
        read_json(tmp_path / "c.json", tmp_path)
    with pytest.raises(ModelFolderError, match=r": cannot read d\.json \(\[Errno 2\] No such file"):
        read_json(tmp_path / "d.json", tmp_path)


def test_pickle_files_are_found_by_name_in_a_fixed_order(tmp_path: Path) -> None:
    assert pickle_files(tmp_path) == []
    for name in ("model.pth", "pytorch_model.bin", "model.pt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "pytorch_model.bin.index.json").mkdir()  # a folder is not a weight file
    assert pickle_files(tmp_path) == [tmp_path / "pytorch_model.bin", tmp_path / "model.pt", tmp_path / "model.pth"]


def test_weight_files_one_file_wins_over_an_index(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _safetensors(folder / WEIGHTS, {"a": (0, 1)}, 1)
    (folder / WEIGHTS_INDEX).write_text("not read")
    (folder / "pytorch_model.bin").write_bytes(b"x")
    assert weight_files(folder) == [folder / WEIGHTS]


def test_weight_files_of_an_index(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    for shard in ("b.safetensors", "a.safetensors"):
        _safetensors(folder / shard, {"t": (0, 2)}, 2)
    index = {"weight_map": {"x": "b.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}
    (folder / WEIGHTS_INDEX).write_text(json.dumps(index))
    assert weight_files(folder) == [folder / "a.safetensors", folder / "b.safetensors"]  # sorted, once each
    assert check_model_folder(folder) == {"model_type": "x"}
    (folder / "a.safetensors").unlink()
    (folder / "c.safetensors").write_bytes(b"")
    index["weight_map"]["w"] = "d.safetensors"
    (folder / WEIGHTS_INDEX).write_text(json.dumps(index))
    with _refused(f"{folder}: {WEIGHTS_INDEX} lists missing weight files: a.safetensors, d.safetensors"):
        weight_files(folder)
    for empty in ({"weight_map": {}}, {"weight_map": None}, {"metadata": {}}, [1]):
        (folder / WEIGHTS_INDEX).write_text(json.dumps(empty))
        with _refused(f"{folder}: {WEIGHTS_INDEX} lists no weight files"):
            weight_files(folder)
    (folder / WEIGHTS_INDEX).write_text("")
    with _refused(f"{folder}: {WEIGHTS_INDEX} is empty; a crash during its save?"):
        weight_files(folder)


def test_pickled_weights_are_refused_unless_trusted(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "model.pt").write_bytes(b"x")
    (folder / "model.pth").write_bytes(b"x")
    with _refused(
        f"{folder}: holds only pickle weights (model.pt), which can run code when loaded; rlsuite loads safetensors"
        " only (convert them with transformers' save_pretrained; `vision eval-vlm`, `train-vlm-policy` and `grpo`"
        " load them with --trust-pickle if you trust the folder)"
    ):
        weight_files(folder)
    assert weight_files(folder, trust_pickle=True) == []
    assert check_model_folder(folder, trust_pickle=True) == {"model_type": "x"}
    with pytest.raises(ModelFolderError, match="holds only pickle weights"):
        check_model_folder(folder)
    empty = _folder(tmp_path, "empty")
    for trust in (False, True):
        with _refused(f"{empty}: no {WEIGHTS} (weights missing)"):
            weight_files(empty, trust_pickle=trust)


def test_safetensors_bounds_exactly(tmp_path: Path) -> None:
    path = _safetensors(tmp_path / WEIGHTS, {"a": (0, 4), "b": (4, 10)}, 10)
    check_safetensors(path, tmp_path)  # exactly its size: fine
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[:-1])
    with _refused(f"{tmp_path}: {WEIGHTS} is truncated ({size - 1} of {size} bytes); a crash during its save?"):
        check_safetensors(path, tmp_path)
    _safetensors(path, {"b": (4, 10), "a": (0, 4)}, 11)  # the largest end, wherever it is listed; a byte to spare
    check_safetensors(path, tmp_path)
    _safetensors(path, {}, 0, metadata=True)  # only metadata: no tensor, nothing past the header
    check_safetensors(path, tmp_path)


def test_safetensors_header_length(tmp_path: Path) -> None:
    path = tmp_path / WEIGHTS
    for short in (b"", b"\1" * 7):
        path.write_bytes(short)
        with _refused(f"{tmp_path}: {WEIGHTS} is truncated ({len(short)} bytes); a crash during its save?"):
            check_safetensors(path, tmp_path)
    raw = b'{"__metadata__": {}}'
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)  # a header that ends at the file's end: fine
    check_safetensors(path, tmp_path)
    path.write_bytes(struct.pack("<Q", len(raw) + 1) + raw)
    with _refused(
        f"{tmp_path}: {WEIGHTS} is truncated or not safetensors (header of {len(raw) + 1} bytes in a "
        f"{8 + len(raw)}-byte file)"
    ):
        check_safetensors(path, tmp_path)
    path.write_bytes(struct.pack("<Q", 2) + b"\xff\xfe")
    with _refused(f"{tmp_path}: {WEIGHTS} is corrupt (its header is not JSON)"):
        check_safetensors(path, tmp_path)
    path.write_bytes(struct.pack("<Q", 3) + b"{x}")
    with _refused(f"{tmp_path}: {WEIGHTS} is corrupt (its header is not JSON)"):
        check_safetensors(path, tmp_path)


@pytest.mark.parametrize(
    "info",
    [{"dtype": "U8", "shape": [1]}, {"dtype": "U8", "shape": [1], "data_offsets": [0]},
     {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 2]}, {"dtype": "U8", "shape": [1], "data_offsets": [0, "1"]},
     {"dtype": "U8", "shape": [1], "data_offsets": "01"}, ["not", "a", "mapping"]],
)  # fmt: skip
def test_a_tensor_without_data_offsets_is_corrupt(tmp_path: Path, info: object) -> None:
    from rlsuite.common.safetensors_header import header_problem

    raw = json.dumps({"t": info}).encode()
    path = tmp_path / WEIGHTS
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 4)
    problem = header_problem(json.loads(raw))
    message = f"corrupt ({problem})" if problem else "corrupt (tensor 't' has no data offsets)"
    with _refused(f"{tmp_path}: {WEIGHTS} is {message}"):
        check_safetensors(path, tmp_path)


def test_header_problems_are_named(tmp_path: Path) -> None:
    from rlsuite.common.safetensors_header import header_problem

    header = {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}  # 2 floats need 8 bytes
    problem = header_problem(header)
    assert problem
    raw = json.dumps(header).encode()
    path = tmp_path / WEIGHTS
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 8)
    with _refused(f"{tmp_path}: {WEIGHTS} is corrupt ({problem})"):
        check_safetensors(path, tmp_path)


def test_check_model_folder_checks_every_weight_file_it_lists(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _safetensors(folder / "a.safetensors", {"t": (0, 2)}, 2)
    (folder / "b.safetensors").write_bytes(b"\1\0")
    (folder / WEIGHTS_INDEX).write_text(json.dumps({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}}))
    with _refused(f"{folder}: b.safetensors is truncated (2 bytes); a crash during its save?"):
        check_model_folder(folder)
    assert check_model_folder(folder, weights=False) == {"model_type": "x"}


def test_a_json_file_is_read_as_utf_8_whatever_the_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlsuite.vision.folders import read_json

    encodings: list[object] = []
    real = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **kw: encodings.append(kw.get("encoding")) or real(
        self, *a, **kw))  # fmt: skip
    (tmp_path / "config.json").write_text('{"name": "caf\\u00e9"}', encoding="utf-8")
    assert read_json(tmp_path / "config.json", tmp_path) == {"name": "café"}
    assert encodings == ["utf-8"]
