"""The config mechanism: typed, checked configs, and the CLI generated from them (flags, YAML, --set)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import pytest

from rlsuite.app.args import ConfigParser, add_command, parse
from rlsuite.app.options import RunOptions
from rlsuite.common.config import BOUNDS_KEY, CHECKED_KEY, Bounds, Config, from_dict, option
from rlsuite.common.errors import ConfigError


@dataclass
class ToyConfig(Config):
    """A toy algorithm's settings."""

    gamma: float = option(0.9, help="discount factor", ge=0.0, le=1.0)
    n: int = option(3, help="steps", ge=1)
    behavior: Literal["greedy", "uniform"] = option("greedy", help="behaviour policy")
    betas: list[float] = option(default_factory=lambda: [0.1, 1.0], help="swept values", gt=0.0)
    cells: list[tuple[int, int]] = option(default_factory=list, help="cells (row, col)")
    kwargs: dict | None = option(None, help="extra keyword arguments")
    fast: bool = option(False, help="go fast")


def _parser() -> ConfigParser:
    parser = ConfigParser(prog="rlsuite")
    sub = parser.add_subparsers(dest="command", parser_class=ConfigParser)
    add_command(sub, "toy", help="a toy", configs=[ToyConfig, RunOptions], run=lambda parsed: 0)
    return parser


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gamma": 2.0}, "ToyConfig.gamma: 2.0 is out of range (allowed: [0, 1])"),
        ({"gamma": float("nan")}, "ToyConfig.gamma: nan is not a number (NaN)"),
        ({"gamma": "0.5"}, "ToyConfig.gamma: expected a number, got '0.5'"),
        ({"n": 0}, "ToyConfig.n: 0 is out of range (allowed: >= 1)"),
        ({"n": 2.5}, "ToyConfig.n: expected an integer, got 2.5"),
        ({"n": True}, "ToyConfig.n: expected an integer, got True"),
        ({"behavior": "random"}, "ToyConfig.behavior: expected one of 'greedy', 'uniform', got 'random'"),
        ({"betas": [0.1, -1.0]}, "ToyConfig.betas: [0.1, -1.0] is out of range (allowed: > 0)"),
        ({"fast": "yes"}, "ToyConfig.fast: expected true or false, got 'yes'"),
        ({"kwargs": [1]}, "ToyConfig.kwargs: expected a mapping or None, got [1]"),
    ],
)
def test_bad_values_name_the_field_value_and_range(kwargs, message) -> None:
    with pytest.raises(ConfigError) as info:
        ToyConfig(**kwargs)
    assert str(info.value) == message
    assert info.value.field == next(iter(kwargs))


def test_values_are_normalised_to_their_types() -> None:
    config = ToyConfig(gamma=1, cells=[[2, 2], [3, 4]])
    assert isinstance(config.gamma, float)
    assert config.cells == [(2, 2), (3, 4)]
    with pytest.raises(ConfigError, match=r"settings.yml: unknown key 'gama' for ToyConfig \(did you mean 'gamma'\?\)"):
        from_dict(ToyConfig, {"gama": 0.5}, where="settings.yml")


def test_flags_yaml_and_set_reach_the_same_typed_config(tmp_path) -> None:
    config_file = tmp_path / "toy.yml"
    config_file.write_text("gamma: 0.5\nn: '7'\nbetas: [1, 2]\nkwargs: {a: 1}\ncells: [[1, 2]]\nfast: yes\n")
    parsed = parse(_parser(), ["toy", "--config", str(config_file), "--n", "4"])
    toy = parsed.get(ToyConfig)
    assert (toy.gamma, toy.n, toy.betas, toy.kwargs) == (0.5, 4, [1.0, 2.0], {"a": 1})
    assert (toy.cells, toy.fast) == ([(1, 2)], True)
    # --set anywhere on the line, before the command too; the same parser converts its strings
    argv = ["--set", "gamma=0.25", "betas=[0.5, 2]", "toy", "--seed", "3", "--set", "kwargs={b: 2}"]
    parsed = parse(_parser(), argv)
    toy, run = parsed.get(ToyConfig), parsed.get(RunOptions)
    assert (toy.gamma, toy.betas, toy.kwargs, run.seed) == (0.25, [0.5, 2.0], {"b": 2}, 3)
    assert parse(_parser(), ["toy", "--output_dir", "x", "--behavior", "uniform"]).get(RunOptions).out == "x"


@pytest.mark.parametrize(
    ("argv", "yaml_text", "message"),
    [
        (["toy", "--gamma", "2"], None, "--gamma: ToyConfig.gamma: 2.0 is out of range (allowed: [0, 1])"),
        (["toy", "--set", "gamma=abc"], None, "argument --gamma: invalid float value: 'abc'"),
        (["toy", "--set", "alpha=[1, 2"], None, "--set alpha=[1, 2: not valid YAML"),
        (["toy", "--set", "gama=0.5"], None, "--set gama=0.5: unknown setting 'gama' (did you mean --gamma?)"),
        (["toy", "--behavior", "random"], None, "argument --behavior: invalid choice: 'random'"),
        (["toy"], "gamma: 3\n", "toy.yml: ToyConfig.gamma: 3 is out of range (allowed: [0, 1])"),
        (["toy"], "n: many\n", "toy.yml: n: invalid value 'many'"),
        (["toy"], "gama: 1\n", "toy.yml: unknown key 'gama' for rlsuite toy (did you mean 'gamma'?)"),
        (["toy"], "[1, 2]\n", "toy.yml: expected a mapping of keys to values, got list"),
        (["toy"], "a: [1\n", "toy.yml: not valid YAML"),
    ],
)
def test_bad_input_is_one_configerror_naming_the_source(tmp_path, argv, yaml_text, message) -> None:
    if yaml_text is not None:
        (tmp_path / "toy.yml").write_text(yaml_text)
        argv = [*argv, "--config", str(tmp_path / "toy.yml")]
    with pytest.raises(ConfigError) as info:
        parse(_parser(), argv)
    assert message in str(info.value)
    assert "\n" not in str(info.value).strip()


def test_help_lists_every_field_with_its_help_default_and_range(capsys) -> None:
    with pytest.raises(SystemExit):
        parse(_parser(), ["toy", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--gamma", "--n", "--behavior", "--betas", "--cells", "--kwargs", "--fast", "--seed", "--budget",
                 "--out", "--output_dir", "--resume", "--overwrite", "--config", "--set"):  # fmt: skip
        assert flag in text
    assert "discount factor (range [0, 1]) (default: 0.9)" in text


def test_yaml_keys_may_use_a_settings_alias(tmp_path) -> None:
    (tmp_path / "toy.yml").write_text("output_dir: somewhere\ngamma: 0.5\n")
    parsed = parse(_parser(), ["toy", "--config", str(tmp_path / "toy.yml")])
    assert parsed.get(RunOptions).out == "somewhere"
    assert parsed.sources["out"] == str(tmp_path / "toy.yml")


@dataclass
class StrategyConfig(Config):
    """Types HfArgumentParser leaves to rlsuite: a str-or-number union, a list of choices."""

    strategy: str | int = option("no", help="a string that YAML would read as false")
    methods: list[Literal["dpo", "ppo", "rloo"]] = option(default_factory=lambda: ["dpo"], help="methods")


def test_unions_with_str_stay_strings_and_lists_of_choices_take_items() -> None:
    parser = ConfigParser(prog="rlsuite")
    sub = parser.add_subparsers(dest="command", parser_class=ConfigParser)
    add_command(sub, "s", help="s", configs=[StrategyConfig], run=lambda parsed: 0)
    config = parse(parser, ["s"]).get(StrategyConfig)
    assert config.strategy == "no" and config.methods == ["dpo"]
    config = parse(parser, ["s", "--set", "methods=[ppo, rloo]", "strategy=7"]).get(StrategyConfig)
    assert config.methods == ["ppo", "rloo"] and config.strategy == 7
    with pytest.raises(ConfigError, match="argument --methods: invalid choice: 'sac'"):
        parse(parser, ["s", "--methods", "dpo", "sac"])


def test_abbreviated_flags_are_refused_not_guessed() -> None:
    """`--gam` must not silently mean `--gamma` (argparse's default allows prefixes)."""
    with pytest.raises(ConfigError, match=r"rlsuite toy: --gam: unknown setting 'gam' \(did you mean --gamma\?\)"):
        parse(_parser(), ["toy", "--gam", "0.5"])
    assert parse(_parser(), ["toy", "--gamma", "0.5"]).get(ToyConfig).gamma == 0.5


def test_option_puts_bounds_aliases_and_defaults_on_the_field() -> None:
    # the class is defined here, not at import: rlsuite's own config classes are built before any test runs,
    # so only a class defined inside a test sees a changed option()
    @dataclass
    class Tiny(Config):
        rate: float = option(0.5, help="a rate", gt=0.0, le=1.0)
        margin: float = option(0.25, help="a margin", ge=0.0, lt=1.0)
        out: str = option("o", help="the folder", aliases=["--output_dir", "--out-dir"], metavar="DIR")
        seeds: list[int] = option(default_factory=lambda: [1, 2], help="the seeds")

    fields = {f.name: f for f in dataclasses.fields(Tiny)}
    assert fields["rate"].metadata[BOUNDS_KEY] == Bounds(None, 0.0, 1.0, None)
    assert fields["margin"].metadata[BOUNDS_KEY] == Bounds(0.0, None, None, 1.0)
    assert BOUNDS_KEY not in fields["out"].metadata
    assert dict(fields["out"].metadata) == {
        "help": "the folder", CHECKED_KEY: True, "aliases": ["--output_dir", "--out-dir"], "metavar": "DIR"
    }
    assert dict(fields["seeds"].metadata) == {"help": "the seeds", CHECKED_KEY: True}
    first, second = Tiny(), Tiny()
    assert (first.rate, first.margin, first.out, first.seeds) == (0.5, 0.25, "o", [1, 2])
    assert first.seeds is not second.seeds  # a fresh list per config
    for kwargs, message in [
        ({"rate": 0.0}, "Tiny.rate: 0.0 is out of range (allowed: (0, 1])"),
        ({"rate": 1.5}, "Tiny.rate: 1.5 is out of range (allowed: (0, 1])"),
        ({"margin": 1.0}, "Tiny.margin: 1.0 is out of range (allowed: [0, 1))"),
        ({"margin": -0.5}, "Tiny.margin: -0.5 is out of range (allowed: [0, 1))"),
    ]:
        with pytest.raises(ConfigError) as info:
            Tiny(**kwargs)
        assert str(info.value) == message
    assert (Tiny(rate=1.0).rate, Tiny(margin=0.0).margin) == (1.0, 0.0)  # the closed ends are allowed
