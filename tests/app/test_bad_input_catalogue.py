"""A catalogue of bad inputs and faults (issue 26, point 8): each is refused with one line and a non-zero
exit, before any work, and nothing already there is lost.

This file holds the third round's kinds (limits before work, alias bombs, deep or huge JSON, arguments
of library functions, pickled weights, unsafe checkpoints, the advice of an error, a held lock, a full
file-size limit); the earlier rounds are spread over ``tests/*/test_bad_input_*.py``.

Count (``pytest --collect-only -q tests/*/test_bad_input_*.py tests/*/*/test_bad_input_*.py``):
343 cases in the other files + 90 here = 433 (here: ``test_bad_cli_input`` 29, ``test_bad_library_arguments``
38, ``test_third_party_files_that_lie`` 15, eight single tests). The OS errors (ENOSPC, EFBIG, ELOOP) are
in ``tests/app/test_bad_input_os_errors.py`` (9 of the 343). The kill -9 faults are in
``tests/app/test_faults_kill.py`` (5, slow) and ``tests/app/test_faults_kill_align_vision.py`` (7, slow),
the processes left behind in ``tests/common/test_processes.py`` (6).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlsuite.app.cli import main
from rlsuite.common.errors import ModelFolderError, UnsafeLoadError, UsageError

ROOT = Path(__file__).resolve().parents[2]
BIG = str(10**12)
HUGE = "9" * 400

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def _write(name: str, text: str) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_text(text)
        return str(tmp / name)

    return make


def _pickled_folder(folder: Path, head: str = "ForCausalLM") -> str:
    """A causal-LM folder (``head``: or a reward model's) whose only weights are a pickle (not a real one:
    rlsuite must refuse it unread)."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": [f"Llama{head}"]}))
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    return str(folder)


# (argv with {tmp} and {file} placeholders, a file maker or None, what the one line must hold)
CLI_CASES: dict[str, tuple[list[str], Callable[[Path], str] | None, str]] = {
    "budget 10**12, ppo": (["train", "ppo", "--budget", BIG], None, "out of range"),
    "budget 10**12, tabular": (["train", "q_learning", "--budget", BIG], None, "out of range"),
    "seed 10**30": (["train", "q_learning", "--seed", str(10**30)], None, "out of range"),
    "eval seed 10**30": (["eval", "{tmp}", "--seed", str(10**30)], None, "out of range"),
    "num_envs 10**9": (["train", "ppo", "--set", f"n_envs={10**9}"], None, "of memory"),
    "runs 10**9": (["train", "epsilon_greedy", "--runs", str(10**9)], None, "of memory"),
    "grid 1e5 x 1e5": (["train", "q_learning", "--env_kwargs", "{n_rows: 100000, n_cols: 100000}"], None,
                       "of memory"),
    "cell_px 100000": (["train", "q_learning", "--env_kwargs", "{cell_px: 100000}"], None, "of memory"),
    "YAML alias bomb": (["train", "q_learning", "--config", "{file}"], _write("bomb.yml", LAUGHS), "alias bomb"),
    "YAML 5000 deep": (["train", "q_learning", "--config", "{file}"],
                       _write("deep.yml", "a: " + "[" * 5000 + "]" * 5000 + "\n"), "nested too deeply"),
    "YAML recursive": (["train", "q_learning", "--config", "{file}"], _write("rec.yml", "a: &a [*a]\n"),
                       "recursive"),
    "YAML alias bomb, sweep": (["sweep", "q_learning", "--config", "{file}"], _write("bomb.yml", LAUGHS),
                               "alias bomb"),
    "tabular --resume": (["train", "q_learning", "--resume"], None, "keep no checkpoints"),
    "dangling link as --out": (["train", "q_learning", "--budget", "10", "--out", "{file}"],
                               lambda tmp: (os.symlink(tmp / "nowhere", tmp / "dangling"), str(tmp / "dangling"))[1],
                               "symbolic link"),
    "a file as --out": (["train", "q_learning", "--budget", "10", "--out", "{file}"], _write("f.txt", "keep"),
                        "not a folder"),
    "budget 0": (["train", "q_learning", "--budget", "0"], None, "out of range"),
    "YAML 400-digit integer": (["train", "q_learning", "--config", "{file}"], _write("big.yml", f"alpha: {HUGE}\n"),
                               "an integer of 400 digits"),
    "JSON 400-digit integer": (["train", "q_learning", "--config", "{file}"],
                               _write("big.json", f'{{"seed": [1, {{"a": {HUGE}}}]}}'), "an integer of 400 digits"),
    "YAML float 1.0e+400": (["train", "q_learning", "--config", "{file}"], _write("big.yml", "alpha: 1.0e+400\n"),
                            "beyond the largest float"),
    "--set 400-digit integer": (["train", "q_learning", "--set", f"seed={HUGE}"], None, "an integer of 400 digits"),
    "--set 400-digit float": (["train", "q_learning", "--set", f"alpha={HUGE}"], None, "beyond the largest float"),
    "--budget 400 digits": (["train", "q_learning", "--budget", HUGE], None, "an integer of 400 digits"),
    "align --set 400-digit learning rate": (["align", "dpo", "--set", f"learning_rate={HUGE}", "--out", "{tmp}/o"],
                                            None, "beyond the largest float"),
    "align --config 400-digit integer": (["align", "dpo", "--config", "{file}", "--out", "{tmp}/o"],
                                         _write("big.yml", f"max_steps: {HUGE}\n"), "an integer of 400 digits"),
    "align --model of pickled weights": (["align", "sft", "--model", "{file}", "--budget", "1", "--out", "{tmp}/o"],
                                         lambda tmp: _pickled_folder(tmp / "pickled"),
                                         "holds only pickled weights (pytorch_model.bin)"),
    "align --reward_model of pickled weights": (["align", "grpo", "--reward_model", "{file}", "--out", "{tmp}/o"],
                                                lambda tmp: _pickled_folder(tmp / "rm", "ForSequenceClassification"),
                                                "holds only pickled weights (pytorch_model.bin)"),
    "align reward --model of pickled weights": (["align", "reward", "--model", "{file}", "--out", "{tmp}/o"],
                                                lambda tmp: _pickled_folder(tmp / "pickled"),
                                                "holds only pickled weights (pytorch_model.bin)"),
    "align compare --model of pickled weights": (["align", "compare", "--model", "{file}", "--out", "{tmp}/o"],
                                                 lambda tmp: _pickled_folder(tmp / "pickled"),
                                                 "holds only pickled weights (pytorch_model.bin)"),
    "align data export --model of pickled weights": (["align", "data", "export", "--model", "{file}", "--out",
                                                      "{tmp}/o"], lambda tmp: _pickled_folder(tmp / "pickled"),
                                                     "holds only pickled weights (pytorch_model.bin)"),
}


@pytest.mark.parametrize("case", [pytest.param(c, marks=[pytest.mark.slow] if CLI_CASES[c][0][0] == "align" else [])
                                  for c in CLI_CASES])  # align's parser imports TRL: tens of seconds
def test_bad_cli_input(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    argv, make, expected = CLI_CASES[case]
    monkeypatch.chdir(tmp_path)
    file = make(tmp_path) if make else ""
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out"
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{file}", file) for a in argv]
    if argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(out)]
    if argv[0] == "sweep":
        argv += ["--out", str(out)]
    assert main(argv) == 2
    stderr = capsys.readouterr().err
    err = [line for line in stderr.splitlines() if line.startswith("rlsuite: error: ")]  # notes may precede it
    assert len(err) == 1 and expected in err[0] and "Traceback" not in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created, nothing lost
    if file and Path(file).is_file():
        assert Path(file).read_text() != ""


# ----- refusals with advice that works -----
def test_the_advice_for_an_unfinished_tabular_folder_works(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.txt").write_text("a crashed run\n")
    argv = ["train", "q_learning", "--budget", "10", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"rlsuite: error: {out}: holds an unfinished job; pass --overwrite to start again"
    assert main([*argv, "--overwrite"]) == 0  # the advice, followed
    assert (out / "finished.json").is_file()


@pytest.mark.slow
def test_overwrite_while_another_process_holds_the_lock_names_it(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from rlsuite.common.io import OutputDir; "
         f"d = OutputDir({str(out)!r}).open(); (d.path / 'work').write_text('x'); print('ok', flush=True); "
         "time.sleep(60)"], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        assert main(["train", "q_learning", "--budget", "10", "--out", str(out), "--overwrite"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"in use by process {holder.pid}" in err[0]
        assert (out / "work").read_text() == "x"  # nothing of the holder's removed
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


@pytest.mark.slow
def test_a_file_size_limit_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """``ulimit -f``: the write fails with EFBIG (Python ignores SIGXFSZ); one line, not finished."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "rlsuite", "train", "q_learning", "--budget", "10", "--out", str(out)],
        capture_output=True, text=True, timeout=300, preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rlsuite: error: ")]
    assert len(errors) == 1 and "(EFBIG)" in errors[0] and str(out) in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "finished.json").exists()


# ----- run folders -----
def _npz_claiming(path: Path, shape: tuple[int, ...], name: str = "q", scalars: tuple[str, ...] = ()) -> None:
    """An npz whose member ``name`` claims ``shape`` float64 in its header, with no data behind it (and
    ``scalars``, members of shape ``()``, as a replay buffer's ``pos`` and ``full``)."""
    with zipfile.ZipFile(path, "w") as z:
        for member, claimed in [(name, shape), *((m, ()) for m in scalars)]:
            with z.open(f"{member}.npy", "w") as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": claimed})


def test_an_npz_header_claiming_1e5_by_1e5_is_refused_before_loading(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert main(["train", "q_learning", "--budget", "10", "--out", str(run)]) == 0
    capsys.readouterr()
    _npz_claiming(run / "agent.npz", (100_000, 100_000))
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert main(["eval", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "agent.npz: its arrays claim 74.5 GiB" in err[0], err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


@pytest.mark.slow
def test_a_replay_buffer_header_claiming_1e5_by_1e5_is_refused_before_loading(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    """DQN's checkpoints keep ``replay_buffer.npz``: a crafted one is skipped as corrupt, never allocated."""
    run = tmp_path / "run"
    argv = ["train", "dqn", "--budget", "200", "--set", "learning_starts=50", "eval_freq=0", "checkpoint_freq=100",
            "progress_bar=false", "--out", str(run)]  # fmt: skip
    assert main(argv) == 0
    for folder in (run / "checkpoints").iterdir():
        _npz_claiming(folder / "replay_buffer.npz", (100_000, 100_000), "observations", ("pos", "full"))
    capsys.readouterr()
    assert main([*argv, "--budget", "300", "--resume"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rlsuite: error: ")]
    assert len(err) == 1 and "no valid checkpoint" in err[0] and "--overwrite" in err[0], err


def test_an_sb3_checkpoint_with_an_empty_optimizer_json_is_skipped(tmp_path: Path) -> None:
    from rlsuite.agents import sb3_io

    folder = tmp_path / "step_5"
    folder.mkdir()
    (folder / sb3_io.OPTIMIZER_JSON).write_text("{}")
    with pytest.raises(ModelFolderError, match=r"optimizer.json: not an optimiser state"):
        sb3_io.read_optimizer_json(folder)
    assert not sb3_io.is_valid(folder)


def test_a_model_folder_with_only_pickled_weights_is_refused(tmp_path: Path) -> None:
    from rlsuite.alignment.models import check_causal_lm, weight_keys

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    for check in (lambda: weight_keys(tmp_path), lambda: check_causal_lm(tmp_path)):
        with pytest.raises(UnsafeLoadError, match=r"holds only pickled weights \(pytorch_model.bin\)") as info:
            check()
        assert str(tmp_path) in str(info.value) and "\n" not in str(info.value)
    assert weight_keys(tmp_path, trust_pickle=True) == []


@pytest.mark.slow
def test_align_trust_pickle_accepts_a_pickled_model_folder(tmp_path: Path) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file

    from rlsuite.testing.alignment import tiny_base

    folder = tmp_path / "pickled"  # transformers 5 ignores save_pretrained(safe_serialization=False)
    shutil.copytree(tiny_base(), folder, ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(str(tiny_base() / "model.safetensors")), folder / "pytorch_model.bin")
    argv = ["align", "sft", "--model", str(folder), "--budget", "1", "--out", str(tmp_path / "o")]
    assert main(argv) == 2  # refused without the flag (the catalogue's CLI case), accepted with it:
    assert main([*argv, "--trust-pickle"]) == 0


# ----- library functions check their arguments (point 5) and data files their limits (point 3) -----
def _gw_model() -> Any:
    import gymnasium as gym

    from rlsuite.envs.model import tabular_model

    return tabular_model(gym.make("rlsuite/GridWorld-v0").unwrapped)


def _pairs_file(tmp: Path, line: str) -> Path:
    path = tmp / "pairs.jsonl"
    path.write_text(line + "\n")
    return path


def _library_cases() -> dict[str, tuple[Callable[[Path], Any], type[Exception], str]]:
    from rlsuite.agents.tabular import solvers
    from rlsuite.alignment import data
    from rlsuite.common.config import load_yaml
    from rlsuite.envs import blackjack, car_rental
    from rlsuite.envs.batched import KArmedBanditVectorEnv
    from rlsuite.envs.gridworld import GridWorldEnv

    good = [{"prompt": "p", "chosen": "a", "rejected": "b"}] * 4
    deep = '{"prompt": ' + "[" * 40 + "]" * 40 + ', "chosen": "a", "rejected": "b"}'
    huge = '{"prompt": "p", "chosen": "a", "rejected": "b", "n": ' + "9" * 400 + "}"
    very_deep = "[" * 5000 + "]" * 5000
    model = _gw_model

    def uniform_over_1(m: Any) -> np.ndarray:
        return np.full((m.n_states, m.n_actions), 0.3)

    return {
        "value_iteration gamma 2.0": (lambda t: solvers.value_iteration(model(), gamma=2.0), ValueError, "gamma"),
        "value_iteration gamma nan": (lambda t: solvers.value_iteration(model(), gamma=float("nan")), ValueError,
                                      "gamma"),
        "value_iteration gamma string": (lambda t: solvers.value_iteration(model(), gamma="0.9"), TypeError, "gamma"),
        "value_iteration tol -1": (lambda t: solvers.value_iteration(model(), tol=-1.0), ValueError, "tol"),
        "value_iteration max_iters 0": (lambda t: solvers.value_iteration(model(), max_iters=0), ValueError,
                                        "max_iters"),
        "value_iteration max_iters 2.5": (lambda t: solvers.value_iteration(model(), max_iters=2.5), TypeError,
                                          "max_iters"),
        "policy_iteration max_iters -1": (lambda t: solvers.policy_iteration(model(), max_iters=-1), ValueError,
                                          "max_iters"),
        "policy_evaluation policy string": (lambda t: solvers.policy_evaluation(model(), "up"), TypeError, "policy"),
        "policy_evaluation rows over 1": (lambda t: solvers.policy_evaluation(model(), uniform_over_1(model())),
                                          ValueError, "sum to 1"),
        "policy_evaluation negative prob": (
            lambda t: solvers.policy_evaluation(model(), np.tile([1.5, -0.5, 0, 0, 0], (25, 1))), ValueError,
            "in [0, 1]"),
        "policy_evaluation wrong shape": (lambda t: solvers.policy_evaluation(model(), np.zeros(3, dtype=int)),
                                          ValueError, "shape"),
        "policy_evaluation action 9": (lambda t: solvers.policy_evaluation(model(), np.full(25, 9)), ValueError,
                                       "actions must be integers"),
        "policy_evaluation gamma 1.5": (lambda t: solvers.policy_evaluation(model(), np.zeros(25, dtype=int), 1.5),
                                        ValueError, "gamma"),
        "iterative_policy_evaluation sweeps -1": (
            lambda t: solvers.iterative_policy_evaluation(model(), np.zeros(25, dtype=int), np.zeros(25), 0.9, -1),
            ValueError, "sweeps"),
        "blackjack play policy string": (lambda t: blackjack.play("stick", 2, np.random.default_rng(0)), TypeError,
                                         "policy"),
        "blackjack play probs over 1": (
            lambda t: blackjack.play(np.full((blackjack.N_STATES, 2), 0.8), 2, np.random.default_rng(0)),
            ValueError, "sum to 1"),
        "blackjack play n 0": (lambda t: blackjack.play(blackjack.stick_on(), 0, np.random.default_rng(0)),
                               ValueError, "n must"),
        "blackjack stick_on string": (lambda t: blackjack.stick_on("20"), TypeError, "threshold"),
        "poisson_pmf lam -1": (lambda t: car_rental.poisson_pmf(-1.0, 5), ValueError, "lam"),
        "poisson_pmf upper 2.5": (lambda t: car_rental.poisson_pmf(3.0, 2.5), TypeError, "upper"),
        "grid 1e5 x 1e5": (lambda t: GridWorldEnv(n_rows=100_000, n_cols=100_000), ValueError, "of memory"),
        "cell_px 100000": (lambda t: GridWorldEnv(cell_px=100_000), ValueError, "of memory"),
        "batched num_envs 1e9": (lambda t: KArmedBanditVectorEnv(num_envs=10**9), ValueError, "of memory"),
        "SentimentTask probs over 1": (lambda t: data.SentimentTask(p_positive=0.8, p_negative=0.5), UsageError,
                                       "is over 1"),
        "SentimentTask prob 2.0": (lambda t: data.SentimentTask(p_positive=2.0), UsageError, "p_positive"),
        "SentimentTask min_words 0": (lambda t: data.SentimentTask(min_words=0), UsageError, "min_words"),
        "SentimentTask max below min": (lambda t: data.SentimentTask(min_words=5, max_words=2), UsageError,
                                        "max_words"),
        "split_heldout fraction 2.0": (lambda t: data.split_heldout(good, 2.0, 0), UsageError, "fraction"),
        "split_heldout fraction -0.1": (lambda t: data.split_heldout(good, -0.1, 0), UsageError, "fraction"),
        "split_heldout a string": (lambda t: data.split_heldout("pairs.jsonl", 0.1, 0), UsageError, "records"),
        "label_pairs a string": (lambda t: data.label_pairs("the film was", ["a"], ["b"]), UsageError, "prompts"),
        "label_pairs rule": (lambda t: data.label_pairs(["p"], ["a"], ["b"], rule="coin"), UsageError, "pair rule"),
        "JSONL 40 deep": (lambda t: data.load_preferences(_pairs_file(t, deep)), UsageError, "nested more than"),
        "JSONL 5000 deep": (lambda t: data.load_preferences(_pairs_file(t, very_deep)), UsageError,
                            "nested more than"),
        "JSONL 400-digit integer": (lambda t: data.load_preferences(_pairs_file(t, huge)), UsageError,
                                    "400 digits"),
        "SFT JSONL 5000 deep": (lambda t: data.load_sft_records(_pairs_file(t, very_deep)), UsageError,
                                "nested more than"),
        "YAML alias bomb": (lambda t: load_yaml(_pairs_file(t, LAUGHS)), UsageError, "alias bomb"),
        "YAML 5000 deep": (lambda t: load_yaml(_pairs_file(t, "a: " + very_deep)), UsageError, "nested too deeply"),
    }


def _sb3_config(tmp: Path, **bad: Any) -> Any:
    from rlsuite.app.train_sb3 import read_run

    meta = {"family": "sb3", "algo": "ppo", "env_id": "rlsuite/GridWorld-v0", "seed": 0, "config": {}} | bad
    (tmp / "config.json").write_text(json.dumps(meta))
    return read_run(tmp)


def _safetensors(tmp: Path, header: dict[str, Any], data: bytes) -> Any:
    from rlsuite.alignment.models import safetensors_keys

    raw = json.dumps(header).encode()
    path = tmp / "model.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)
    return safetensors_keys(path)


def _tokenizer(tmp: Path, text: str) -> Any:
    from rlsuite.alignment.models import load_tokenizer

    (tmp / "tokenizer.json").write_text(text)
    return load_tokenizer(tmp)


def _processor(tmp: Path, text: str) -> Any:
    from rlsuite.vision.policies import _check_processor_class

    (tmp / "processor_config.json").write_text(text)
    return _check_processor_class(tmp, trust_remote_code=False)


def _replay_buffer(tmp: Path, shape: tuple[int, ...]) -> Any:
    from gymnasium.spaces import Discrete
    from stable_baselines3.common.buffers import ReplayBuffer

    from rlsuite.agents.sb3_io import load_replay_buffer

    _npz_claiming(tmp / "replay_buffer.npz", shape, "observations", ("pos", "full"))
    return load_replay_buffer(ReplayBuffer(200, Discrete(25), Discrete(5)), tmp / "replay_buffer.npz")


def _third_party_cases() -> dict[str, tuple[Callable[[Path], Any], type[Exception], str]]:
    lie = {"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 16]}}
    overlap = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
               "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}  # fmt: skip
    return {
        "SB3 config.json algo a list": (lambda t: _sb3_config(t, algo=[]), ModelFolderError, "'algo' is list"),
        "SB3 config.json seed a string": (lambda t: _sb3_config(t, seed="abc"), ModelFolderError, "'seed' is str"),
        "SB3 config.json seed a bool": (lambda t: _sb3_config(t, seed=True), ModelFolderError, "'seed' is bool"),
        "SB3 config.json seed negative": (lambda t: _sb3_config(t, seed=-3), ModelFolderError, "negative"),
        "SB3 config.json hyperparams a list": (lambda t: _sb3_config(t, hyperparams=[]), ModelFolderError,
                                               "'hyperparams' is list"),
        "SB3 config.json config a string": (lambda t: _sb3_config(t, config="abc"), ModelFolderError,
                                            "'config' is str"),
        "SB3 config.json env_id a number": (lambda t: _sb3_config(t, env_id=5), ModelFolderError,
                                            "'env_id' is int"),
        "SB3 config.json env_kwargs a string": (lambda t: _sb3_config(t, env_kwargs="x"), ModelFolderError,
                                                "'env_kwargs' is str"),
        "safetensors shape larger than its bytes": (lambda t: _safetensors(t, lie, bytes(16)), ModelFolderError,
                                                    "needs 4000000 bytes"),
        "safetensors tensors overlap": (lambda t: _safetensors(t, overlap, bytes(16)), ModelFolderError, "overlap"),
        "safetensors unknown dtype": (
            lambda t: _safetensors(t, {"w": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
            ModelFolderError, "unknown dtype"),
        "processor_config.json naming an unknown processor": (
            lambda t: _processor(t, '{"processor_class": "NoSuchProcessor"}'), ModelFolderError,
            "processor_class 'NoSuchProcessor' is not a processor transformers knows"),
        "SB3 replay buffer claiming 1e5 x 1e5": (lambda t: _replay_buffer(t, (100_000, 100_000)), ModelFolderError,
                                                 "observations does not fit this replay buffer ((100000, 100000)"),
        "SB3 replay buffer longer than its capacity": (lambda t: _replay_buffer(t, (10_000, 1, 1)), ModelFolderError,
                                                       "observations does not fit this replay buffer ((10000, 1, 1)"),
        "malformed tokenizer.json": (lambda t: _tokenizer(t, '{"model": {"type": "Nope"}}'), ModelFolderError,
                                     "tokenizer.json: not a valid tokenizer"),
    }


LIBRARY_CASES = list(_library_cases())
THIRD_PARTY_CASES = list(_third_party_cases())


def _refused_in_one_line(case: tuple[Callable[[Path], Any], type[Exception], str], tmp_path: Path) -> str:
    call, kind, expected = case
    with pytest.raises(kind) as info:
        call(tmp_path)
    message = str(info.value)
    assert expected in message and "\n" not in message, message
    return message


@pytest.mark.parametrize("case", THIRD_PARTY_CASES)
def test_third_party_files_that_lie(case: str, tmp_path: Path) -> None:
    assert str(tmp_path) in _refused_in_one_line(_third_party_cases()[case], tmp_path)  # the file is named


@pytest.mark.parametrize("case", LIBRARY_CASES)
def test_bad_library_arguments(case: str, tmp_path: Path) -> None:
    _refused_in_one_line(_library_cases()[case], tmp_path)
