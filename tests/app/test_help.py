"""``--help`` that reads well: one default per flag (the value a plain run uses), switches without a
metavar, honest ``--no_*`` text, one threads flag, no flag that does nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rlsuite.agents.sb3_config import A2CConfig, PPOConfig
from rlsuite.app.cli import COMMANDS as LISTED
from rlsuite.app.cli import main, parse_line
from rlsuite.common.errors import ConfigError


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def entries(text: str) -> dict[str, str]:
    """``--flag`` -> its help text (joined lines), for each option listed in a help text."""
    found: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"  (-{1,2}[\w-]+)(?:, --[\w-]+)*(?: \S+)?(?:\s{2,}(.*))?$", line)
        if match:
            current = match.group(1)
            found[current] = match.group(2) or ""
        elif current and line.startswith("      "):
            found[current] += " " + line.strip()
        else:
            current = None
    return found


COMMANDS = [
    ("train", "q_learning"),
    ("train", "ucb"),
    ("train", "ppo"),
    ("train", "dqn"),
    ("eval",),
    ("plot",),
    ("reproduce",),
    ("tour",),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_one_default_per_flag_and_no_dangling_metavar(capsys: pytest.CaptureFixture[str], argv: tuple[str]) -> None:
    text = help_of(capsys, *argv)
    flags = entries(text)
    assert len(flags) >= 2
    for flag, help_text in flags.items():
        assert help_text.count("(default:") <= 1, (flag, help_text)
    assert not re.search(r"--(\w+) \[[A-Z_]+\]", text)  # not `--overwrite [OVERWRITE]`
    assert not re.search(r"--\w+ YAML", text.replace("--env_wrapper YAML", ""))  # a number is not "YAML"


def test_defaults_are_the_values_used(capsys: pytest.CaptureFixture[str]) -> None:
    q = entries(help_of(capsys, "train", "q_learning"))
    assert q["--budget"].endswith("(default: 3,000,000 steps)")
    assert q["--env"].endswith("(default: rlsuite/GridWorld-v0)")
    assert q["--overwrite"].endswith("(default: false)")
    assert entries(help_of(capsys, "train", "ucb"))["--env"].endswith("(default: rlsuite/KArmedBandit-v0)")
    ppo = entries(help_of(capsys, "train", "ppo"))
    assert ppo["--gamma"].endswith("(default: 0.99; 0.9 on rlsuite/GridWorld-v0 from ppo.yml)")
    assert ppo["--n_envs"].endswith("(default: 1; 8 on rlsuite/GridWorld-v0 from ppo.yml)")
    assert ppo["--budget"].endswith("(default: 50,000 env steps (n_timesteps) on rlsuite/GridWorld-v0 from ppo.yml)")
    assert ppo["--ent_coef"].endswith("(default: 0.0; 0.01 on rlsuite/GridWorld-v0 from ppo.yml)")
    assert ppo["--vf_coef"].endswith("(default: 0.5)")  # the file does not set it
    assert ppo["--no_progress_bar"] == "the same as --progress_bar false"
    assert "--threads" in ppo and "--torch_threads" not in ppo


def test_the_threads_flag_keeps_its_old_name_hidden() -> None:
    for argv in (["--threads", "3"], ["--torch_threads", "3"], ["--set", "torch_threads=3"], ["--set", "threads=3"]):
        _, parsed = parse_line(["train", "ppo", *argv])
        assert parsed.get(PPOConfig).torch_threads == 3, argv


def test_a_switch_from_a_yaml_file_is_honoured(tmp_path: Path) -> None:
    """A true-by-default switch set false in a file (the ``--no_*`` flag must not swallow it)."""
    (tmp_path / "a2c.yml").write_text("progress_bar: false\nuse_rms_prop: false\ntorch_threads: 2\n")
    config = parse_line(["train", "a2c", "--config", str(tmp_path / "a2c.yml")])[1].get(A2CConfig)
    assert (config.progress_bar, config.use_rms_prop, config.torch_threads) == (False, False, 2)
    config = parse_line(["train", "a2c", "--no_progress_bar", "--use_rms_prop", "false"])[1].get(A2CConfig)
    assert (config.progress_bar, config.use_rms_prop) == (False, False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "runs/x", "--set", "episodes=3"], "rlsuite eval: takes no --set"),
        (["algos", "--set", "a=1"], "rlsuite algos: takes no --set"),
        (["plot", "runs/x", "--output_dir", "x.png"], "unknown setting 'output_dir'"),
    ],
)
def test_flags_that_did_nothing_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_line(argv)


@pytest.mark.slow
def test_align_help_lists_rlsuite_settings_first(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "align", "dpo")
    lines = text.splitlines()
    first = {flag: next(i for i, line in enumerate(lines) if line.startswith(f"  {flag}")) for flag in
             ("--model_name_or_path", "--data", "--output_dir", "--max_steps", "--beta", "--loss_type")}  # fmt: skip
    inherited = next(i for i, line in enumerate(lines) if line.startswith("inherited from trl.DPOConfig"))
    assert max(first.values()) < inherited and first["--model_name_or_path"] < 10, first
    flags = entries(text)
    assert all(h.count("(default:") <= 1 for h in flags.values())
    assert "--warmup_steps" in flags and "--use_peft" in flags  # TRL's and transformers' own, still listed


@pytest.mark.parametrize("command", list(LISTED))
def test_the_command_list_reads_the_same_whichever_command_is_named(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # the list shows cli.COMMANDS' line for a command not built, and the command's own help once it is built
    # (`rlsuite --help reproduce`): the two must agree
    plain = help_of(capsys)
    with pytest.raises(SystemExit):
        main(["--help", command])
    named = capsys.readouterr().out
    assert named == plain
    assert " ".join(LISTED[command][1].split()) in " ".join(named.split())
