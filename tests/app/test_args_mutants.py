"""rlsuite.app.args to the letter: how strings become bools and numbers, how ``--set`` lists become flags,
``rlsuite config-path``'s help and lookups, and the one line an unknown setting gets (mutation testing)."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import math
import re
import shlex
import typing
from pathlib import Path
from typing import Any

import pytest

from rlsuite.app.args import (
    SHIPPED_CONFIGS,
    ConfigParser,
    HelpFormatter,
    _config_file_defaults,
    _converter,
    _example_name,
    _expand_sets,
    _option_tokens,
    _scalar,
    _third_party_parents,
    add_command,
    add_field,
    apply_defaults,
    config_argument,
    float_value,
    number_or_string,
    only_requested,
    parse,
    resolve_config,
    shipped_configs,
    shown,
    string_to_bool,
    yaml_mapping,
    yaml_value,
)
from rlsuite.app.cli import build_parser, main, parse_line
from rlsuite.common.config import Config, option
from rlsuite.common.errors import ConfigError, UsageError

Q = ["train", "q_learning", "--env", "rlsuite/GridWorld-v0"]


@pytest.mark.parametrize("text", ["yes", "YES", "Yes", "true", "TRUE", "t", "T", "y", "Y", "1"])
def test_every_spelling_of_true(text: str) -> None:
    assert string_to_bool(text) is True


@pytest.mark.parametrize("text", ["no", "NO", "No", "false", "FALSE", "f", "F", "n", "N", "0"])
def test_every_spelling_of_false(text: str) -> None:
    assert string_to_bool(text) is False


def test_a_bool_stays_and_anything_else_is_refused() -> None:
    assert string_to_bool(True) is True and string_to_bool(False) is False
    for text in ("2", "yess", "", "on"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"^expected true or false \(yes/no, 1/0\), got "):
            string_to_bool(text)


def test_number_or_string_tries_each_kind_in_order() -> None:
    assert number_or_string("3") == 3 and type(number_or_string("3")) is int
    assert number_or_string("0.5") == 0.5 and type(number_or_string("0.5")) is float  # int fails, float reads it
    assert number_or_string("3", kinds=(float, int)) == 3.0 and type(number_or_string("3", kinds=(float, int))) is float
    assert number_or_string("lin_0.001") == "lin_0.001"
    assert number_or_string("lin_5%") == "lin_5%"  # the value as typed (it was "lin_5%%", shown so in the error)
    assert number_or_string("inf") == math.inf and number_or_string("-inf", kinds=(float,)) == -math.inf
    big = "1" + "0" * 400  # an int has no largest value: not checked against the float's range
    assert number_or_string(big) == 10**400


@pytest.mark.parametrize("kinds", [(int, float), (float,), (float, int)])
def test_a_float_beyond_range_is_refused(kinds: tuple[type, ...]) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"^1e400 is out of range \(beyond the largest float"):
        number_or_string("1e400", kinds=kinds)


def test_set_list_values_become_flag_tokens() -> None:
    assert _option_tokens("a", [1, None, True, False, "x"]) == ["--a", "1", "null", "true", "false", "x"]
    assert _option_tokens("a", (2.5,)) == ["--a", "2.5"]
    assert _option_tokens("grid", [[2, 2], [3, 3]]) == ["--grid", "[[2, 2], [3, 3]]"]
    assert _option_tokens("m", {"a": [1, 2]}) == ["--m", "{a: [1, 2]}"]
    assert _option_tokens("k", 7) == ["--k", "7"]
    assert _scalar(None) == "null" and _scalar(0) == "0" and _scalar("") == ""


def test_config_path_help_and_description() -> None:
    parser = build_parser("config-path")
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    (listed,) = [a for a in sub._choices_actions if a.dest == "config-path"]
    assert listed.help == "print the path of a config file shipped with rlsuite (all: no NAME)"
    leaf = sub.choices["config-path"]
    said = "a shipped config's path (for rl_zoo3's ``-conf``, accelerate's ``--config_file``); without NAME every"
    assert " ".join(leaf.description.split()) == f"{said} shipped name and its path."
    (name,) = [a for a in leaf._actions if a.dest == "name"]
    assert name.help == "a shipped config's name: ppo, ppo_pixels, alignment/dpo, accelerate/multi_cpu, ..."


@pytest.mark.parametrize(
    ("name", "path"),
    [("ppo.yml", "ppo.yml"), ("ppo", "ppo.yml"), ("alignment/dpo.yaml", "alignment/dpo.yaml"),
     ("alignment/dpo", "alignment/dpo.yaml")],
)  # fmt: skip
def test_config_path_takes_the_name_with_or_without_its_suffix(name: str, path: str, capsys) -> None:
    assert main(["config-path", name]) == 0
    assert capsys.readouterr().out == f"{SHIPPED_CONFIGS / path}\n"


def test_config_path_of_an_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(UsageError) as caught:
        main(["--debug", "config-path", ".ymlppo"])
    assert str(caught.value) == f"config-path .ymlppo: not a shipped config (shipped: {', '.join(shipped_configs())})"


def _unknown(argv: list[str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_line(argv)
    return caught.value


def test_an_unknown_flag_is_named_with_the_nearest_one() -> None:
    err = _unknown([*Q, "--alpah=0.1"])
    assert str(err) == "rlsuite train q_learning: --alpah: unknown setting 'alpah' (did you mean --alpha?)"
    assert err.field == "alpah"
    err = _unknown([*Q, "--num-epsiodes", "3"])
    said = "--num-epsiodes: unknown setting 'num_epsiodes' (did you mean --num-envs?)"
    assert str(err) == f"rlsuite train q_learning: {said}"
    assert err.field == "num_epsiodes"


def test_an_unknown_flag_with_nothing_near_and_two_equals_signs() -> None:
    err = _unknown([*Q, "--zzzzzzqq=a=b"])
    assert str(err) == "rlsuite train q_learning: --zzzzzzqq: unknown setting 'zzzzzzqq'"
    assert err.field == "zzzzzzqq"


def test_an_unknown_set_key_is_named_as_set() -> None:
    err = _unknown([*Q, "--set", "zzqq=1"])
    assert str(err) == "rlsuite train q_learning: --set zzqq=1: unknown setting 'zzqq'"
    assert err.field == "zzqq"


def test_unexpected_words() -> None:
    err = _unknown([*Q, "extra", "x"])
    assert str(err) == "rlsuite train q_learning: unexpected argument(s): extra x" and err.field is None


def test_a_value_with_a_percent_sign_is_shown_as_typed() -> None:
    argv = ["train", "ppo", "--env", "rlsuite/GridWorld-v0", "--learning_rate", "lin_5%", "--out", "never"]
    with pytest.raises(ConfigError) as caught:
        parse_line(argv)
    assert str(caught.value) == ("--learning_rate: PPOConfig.learning_rate: expected a number > 0 or "
                                 "'lin_<number > 0>', got 'lin_5%'")  # fmt: skip


def test_shown_writes_a_default_as_it_would_be_typed() -> None:
    class Kind(enum.Enum):
        A = "alpha"

    assert (shown(True), shown(False), shown(Kind.A), shown(0.5), shown(None)) == ("true", "false", "alpha", "0.5",
                                                                                   "None")  # fmt: skip
    assert shown((64, 64)) == "[64, 64]" and shown([1, "a"]) == "[1, a]"
    assert shown({"a": [1, 2], "b": {"c": True}}) == "{a: [1, 2], b: {c: true}}"  # flow style all the way down
    assert "\n" not in shown(["x"] * 3000)  # one line, however long (yaml's own width is 80)
    # one line up to 10,000 columns: PyYAML breaks at the first item past the width
    assert len(shown(["yyy"] + ["x"] * 3366).split("\n")[0]) == 10_001


def test_a_number_too_large_for_a_float_is_shown_whole_up_to_24_characters() -> None:
    for text in ("1" * 320 + ".5", "1e400" + "0" * 19, "1e400" + "0" * 20):
        with pytest.raises(argparse.ArgumentTypeError) as caught:
            float_value(text)
        shown_text = text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"
        assert str(caught.value) == f"{shown_text} is out of range (beyond the largest float, about 1.8e308)"
    with pytest.raises(argparse.ArgumentTypeError, match=r"^1e4000000000000000000000 is out of range"):
        float_value("1e4000000000000000000000")  # 24 characters: whole
    with pytest.raises(argparse.ArgumentTypeError, match=r"^1e4000000000\.\.\.\(25 characters\) is out of range"):
        float_value("1e40000000000000000000000")  # 25: the first 12 and the length
    assert float_value("inf") == math.inf and float_value("-Infinity") == -math.inf  # written so: kept


def _dataclass(name: str, base: type | None, module: str) -> type:
    cls = dataclasses.make_dataclass(name, [(f"{name.lower()}_field", int, 0)], bases=(base,) if base else ())
    cls.__module__ = module
    return cls


def test_third_party_parents_names_each_outside_dataclass_once() -> None:
    private = _dataclass("_Private", None, "thirdparty.hidden")
    lib = _dataclass("Lib", private, "thirdparty.sub.mod")
    lib2 = _dataclass("Lib2", lib, "other.mod")
    top = _dataclass("Top", _dataclass("Mine", lib2, "rlsuite.agents.x"), "rlsuite.app.y")
    assert _third_party_parents(top) == "other.Lib2, thirdparty.Lib"  # not Top itself, Mine or _Private
    assert _third_party_parents(lib2) == "thirdparty.Lib"  # the first parent counts
    twin = _dataclass("Lib", lib, "thirdparty.other")  # the same package and name as Lib, another module
    assert _third_party_parents(_dataclass("Both", twin, "tests.x")) == "thirdparty.Lib"  # named once


def _help_of(monkeypatch: pytest.MonkeyPatch, add: Any) -> list[str]:
    monkeypatch.setenv("COLUMNS", "200")
    parser = argparse.ArgumentParser(prog="p", formatter_class=HelpFormatter, add_help=False)
    add(parser)
    body = parser.format_help().split("\n\n", 1)[1]  # after the usage
    return [" ".join(line.split()) for line in body.splitlines() if line.strip()]


def test_help_shows_one_default_the_value_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("pos", nargs="?", default="x", help="a positional")
        p.add_argument("--rate", type=float, default=0.5, help="a rate")
        p.add_argument("--share", default="5%", help="a share")
        p.add_argument("--bare", default=1)
        p.add_argument("--flag", action="store_true", help="a flag")
        p.add_argument("--one", nargs=1, default=["a"], help="one value")
        p.add_argument("--none", default=None, help="nothing")
        p.add_argument("--hidden", default=argparse.SUPPRESS, help="suppressed")
        p.add_argument("--said", default=3, help="three, defaults to 3")
        shown_by = p.add_argument("--lr", type=float, default=0.1, help="a step")
        shown_by.shown_default = "0.1; 0.5 on GridWorld (50%)"  # type: ignore[attr-defined]

    assert _help_of(monkeypatch, add) == [
        "positional arguments:",
        "pos a positional",
        "options:",
        "--rate RATE a rate (default: 0.5)",
        "--share SHARE a share (default: 5%)",
        "--bare BARE",  # no help text: argparse shows nothing, default included
        "--flag a flag",
        "--one ONE one value (default: [a])",
        "--none NONE nothing",
        "--hidden HIDDEN suppressed",
        "--said SAID three, defaults to 3",
        "--lr LR a step (default: 0.1; 0.5 on GridWorld (50%))",
    ]


def test_help_lists_each_spelling_once_and_switches_without_a_metavar(monkeypatch: pytest.MonkeyPatch) -> None:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--num_envs", "--num-envs", type=int, default=2, help="copies")
        p.add_argument("--dry-run", action="store_true", help="only check")
        switch = p.add_argument(
            "--overwrite", nargs="?", const=True, default=False, type=string_to_bool, help="replace"
        )
        switch.switch = True  # type: ignore[attr-defined]
        p.add_argument("--maybe", nargs="?", const=1, default=0, help="optional value")

    assert _help_of(monkeypatch, add) == [
        "options:",
        "--num_envs NUM_ENVS copies (default: 2)",
        "--dry-run only check",
        "--overwrite replace (default: false)",
        "--maybe [MAYBE] optional value (default: 0)",
    ]


def test_a_flag_with_two_names_lists_both_then_its_metavar_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", "--output_dir", "--output-dir", default="runs", help="where")

    assert _help_of(monkeypatch, add) == ["options:", "--out, --output_dir OUT", "where (default: runs)"]


def test_a_mapping_hint_reads_a_mapping_and_a_list_or_string_hint_reads_yaml() -> None:
    """``dict[...]`` (bare, parametrised or optional) reads ``{KEY: VALUE}``; a union holding a parametrised list
    reads YAML, not a plain string (``str`` alone in a union would)."""
    assert _converter(dict) is yaml_mapping
    assert _converter(dict[str, float]) is yaml_mapping
    assert _converter(dict[str, float] | None) is yaml_mapping
    assert _converter(list[int] | str) is yaml_value
    assert _converter(tuple[int, int] | str) is yaml_value
    assert _converter(float | str).keywords == {"kinds": (float,)}


def test_a_converted_type_reads_as_the_text_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The metavar of a field whose type argparse does not read: a mapping, a string among other kinds, a number
    or a string, a list, and YAML for the rest."""

    class Kind(enum.Enum):
        A = "a"

    @dataclasses.dataclass
    class Fields:
        mapping: dict[str, float] = dataclasses.field(default_factory=dict)
        kind: str | Kind = "a"
        rate: float | str = 0.5
        pair: tuple[int, int] | None = None
        layers: list[int] | str = "auto"

    def add(parser: argparse.ArgumentParser) -> None:
        hints = typing.get_type_hints(Fields, localns={"Kind": Kind})
        for field in dataclasses.fields(Fields):
            add_field(parser, field, hints[field.name])

    assert [line.split(" (default")[0] for line in _help_of(monkeypatch, add)] == [
        "options:", "--mapping {KEY: VALUE}", "--kind STR", "--rate NUMBER|STR", "--pair [...]",
        "--layers YAML"]  # fmt: skip


@dataclasses.dataclass
class _EveryKind:
    """One field of each kind that add_field turns into a flag."""

    need: int
    flag_needed: bool
    torch_threads: int = 1  # listed as --threads
    count: int = dataclasses.field(default=3, metadata={"help": "how many (default: 3)", "aliases": "-n"})
    rate: float = 0.5
    name: str = dataclasses.field(default="a", metadata={"aliases": ["--title", "--name"], "metavar": "TEXT"})
    path: Path | None = None
    on: bool = True
    off: bool = False
    mode: typing.Literal["x", 1] = "x"
    words: list[typing.Literal["a", "b"]] = dataclasses.field(default_factory=lambda: ["a"])
    nums: list[float] = dataclasses.field(default_factory=list)
    ints: list[int] = dataclasses.field(default_factory=list)
    opt: int | None = None
    mapping: dict[str, float] = dataclasses.field(default_factory=dict)
    lr: float | str = 0.1
    pick: str = dataclasses.field(default="p", metadata={"choices": ["p", "q"]})
    maybe: bool | None = None
    size: int | str = "auto"
    tags: list[str] = dataclasses.field(default_factory=list)


def test_each_kind_of_field_becomes_its_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names, spellings, aliases, metavars, switches, choices, lists, converters and defaults, as the help
    lists them and as a command line is read."""
    monkeypatch.setenv("COLUMNS", "200")
    parser = ConfigParser(_EveryKind, prog="p")
    body = parser.format_help().split("\n\n", 1)[1]
    assert [" ".join(line.split()) for line in body.splitlines()] == [
        "options:", "-h, --help show this help message and exit", "--need NEED", "--flag_needed",
        "--threads THREADS", "--count, -n COUNT how many (default: 3)", "--rate RATE", "--name, --title TEXT",
        "--path PATH", "--on", "--no_on the same as --on false", "--off", "--mode {x,1}",
        "--words {a,b} [{a,b} ...]", "--nums NUMS [NUMS ...]", "--ints INTS [INTS ...]", "--opt OPT",
        "--mapping {KEY: VALUE}", "--lr NUMBER|STR", "--pick {p,q}", "--maybe", "--size NUMBER|STR",
        "--tags TAGS [TAGS ...]"]  # fmt: skip
    defaults = {"need": 2, "flag_needed": True, "torch_threads": 1, "count": 3, "rate": 0.5, "name": "a",
                "path": None, "on": True, "off": False, "mode": "x", "words": ["a"], "nums": [], "ints": [],
                "opt": None, "mapping": {}, "lr": 0.1, "pick": "p", "maybe": None, "size": "auto",
                "tags": []}  # fmt: skip
    assert vars(parser.parse_args(["--need", "2", "--flag_needed"])) == defaults
    parsed = vars(parser.parse_args(shlex.split(
        "--need 2 --threads 4 -n 5 --title t --no-on --off --mode 1 --words a b --nums 1 2.5 --ints 3 --opt 7 "
        "--lr lin_1 --pick q --path x/y --flag-needed false --rate 1e-3 --mapping '{a: 1.5}' --maybe --size 3 "
        "--tags a b")))  # fmt: skip
    assert parsed == {**defaults, "flag_needed": False, "torch_threads": 4, "count": 5, "name": "t",
                      "path": Path("x/y"), "on": False, "off": True, "mode": 1, "words": ["a", "b"],
                      "nums": [1.0, 2.5], "ints": [3], "opt": 7, "mapping": {"a": 1.5}, "lr": "lin_1", "pick": "q",
                      "rate": 0.001, "maybe": True, "size": 3, "tags": ["a", "b"]}  # fmt: skip
    assert [type(parsed[k]) for k in ("rate", "count", "mode", "opt")] == [float, int, int, int]
    again = shlex.split("--need 2 --torch-threads 5 --on no --name n --maybe no --size big")
    assert vars(parser.parse_args(again)) == {
        **defaults, "flag_needed": False, "torch_threads": 5, "on": False, "name": "n", "maybe": False,
        "size": "big"}  # the field's own name too; an optional bool given false; a string where no number reads
    for argv, message in [
        ([], "the following arguments are required: --need"),
        (["--need", "1", "--pick", "z"], "argument --pick: invalid choice: 'z'"),
        (["--need", "1", "--words", "c"], "argument --words: invalid choice: 'c'"),
        (["--need", "1", "--mode", "y"], "argument --mode: invalid choice: 'y'"),
        (["--need", "1", "--mapping", "[1]"], "argument --mapping: expected a mapping"),
        (["--need", "1", "--rate", "1e999"], "argument --rate: "),
        (["--need", "1", "--nums", "1e999"], "argument --nums: "),
    ]:
        with pytest.raises(ConfigError, match=f"^p: {re.escape(message)}"):
            parser.parse_args(argv)


@dataclasses.dataclass
class ThirdPartyConfig:
    """A third-party config: its help is written for argparse's %-formatting (TRL writes ``20%%``)."""

    speedup: float = dataclasses.field(default=0.2, metadata={"help": "about 20%% faster (default: 20%%)"})


ThirdPartyConfig.__module__ = "thirdparty.configs"


@dataclasses.dataclass
class _Mine(ThirdPartyConfig):
    gain: float = option(1.0, help="the gain (default: one (1)) here", gt=0, le=2)
    steps: int = option(5, help="steps; defaults to five")
    share: float = option(0.95, help="a 95% share")


def test_help_text_defaults_ranges_and_percent_signs(monkeypatch: pytest.MonkeyPatch) -> None:
    """rlsuite's help is plain text (``95%``), a third-party parent's is argparse's (``20%%``): each is shown
    as meant (the parent's in a group of its own, after rlsuite's); a default the help names is shown once,
    after the range; a help that says its default gets no other."""
    monkeypatch.setenv("COLUMNS", "200")
    parser = ConfigParser(_Mine, prog="p")
    usage, body = parser.format_help().split("\n\n", 1)
    assert usage.startswith("usage: p [-h] [OPTIONS]")
    assert [" ".join(line.split()) for line in body.splitlines() if line.strip()] == [
        "options:", "-h, --help show this help message and exit",
        "--gain GAIN the gain here (range (0, 2]) (default: one (1))", "--steps STEPS steps; defaults to five",
        "--share SHARE a 95% share (default: 0.95)", "inherited from thirdparty.ThirdPartyConfig (all accepted):",
        "--speedup SPEEDUP about 20% faster (default: 20%)"]  # fmt: skip
    assert vars(parser.parse_args([])) == {"speedup": 0.2, "gain": 1.0, "steps": 5, "share": 0.95}


@dataclasses.dataclass
class _Go(Config):
    gamma: float = option(0.9, help="discount", ge=0, le=1)
    steps: int = option(10, help="steps", aliases=["--budget"])
    seen: int = dataclasses.field(default=0, init=False)  # not a setting: no flag


def _go(**kw: Any) -> tuple[ConfigParser, ConfigParser]:
    """A command line with one command, ``r go``, over ``_Go``."""
    root = ConfigParser(prog="r")
    subs = root.add_subparsers(parser_class=ConfigParser)
    return root, add_command(subs, "go", help="go 95% of the way", configs=[_Go], run=lambda parsed: 0, **kw)


def test_parse_builds_the_commands_configs_and_says_where_each_value_came_from(tmp_path: Path) -> None:
    root, _ = _go()
    parsed = parse(root, ["go", "--gamma", "0.5", "--set", "steps=3"])
    assert (parsed.configs, parsed.sources) == ({_Go: _Go(0.5, 3)}, {"gamma": "--gamma", "steps": "--set steps=3"})
    assert parsed.get(Config) is parsed.configs[_Go] and parsed.args._run(parsed) == 0
    (tmp_path / "c.yml").write_text("gamma: 0.7\nbudget: 4\n")
    parsed = parse(_go()[0], ["go", "--config", str(tmp_path / "c.yml"), "--gamma", "0.2"])  # flags override
    assert (parsed.configs, parsed.sources) == (
        {_Go: _Go(0.2, 4)}, {"gamma": "--gamma", "steps": str(tmp_path / "c.yml"), "config": "--config"})  # fmt: skip
    (tmp_path / "bad.yml").write_text("gamma: 2\n")
    for argv, where in [(["--config", str(tmp_path / "bad.yml")], str(tmp_path / "bad.yml")),
                        (["--gamma", "2"], "--gamma"), (["--set", "gamma=2"], "--set gamma=2")]:  # fmt: skip
        with pytest.raises(ConfigError, match=rf"^{re.escape(where)}: _Go\.gamma: 2(\.0)? is out of range") as caught:
            parse(_go()[0], ["go", *argv])
        assert caught.value.field == "gamma" and caught.value.value == 2
    zoo = parse(_go(defaults=lambda ns: [({"gamma": 0.3}, "zoo.yml"), ({"budget": 5}, "more.yml")])[0], ["go"])
    assert (zoo.configs, zoo.sources) == ({_Go: _Go(0.3, 5)}, {"gamma": "zoo.yml", "steps": "more.yml"})
    nothing = parse(root, [])  # no command
    assert (nothing.configs, vars(nothing.args), nothing.sources) == ({}, {}, {})
    with pytest.raises(ConfigError, match=r"^r go: --gama: unknown setting 'gama' \(did you mean --gamma\?\)$"):
        parse(_go()[0], ["go", "--gama", "1"])
    with pytest.raises(ConfigError, match=r"^r go: takes no --set \(its settings are flags: --KEY VALUE\)$"):
        parse(_go(config_file=False)[0], ["go", "--set", "gamma=1"])
    with pytest.raises(ConfigError, match=r"^r go: --set: unknown setting 'set' \(did you mean --steps\?\)$"):
        parse(_go(config_file=False)[0], ["go", "--set", "gamma=1"], expand_sets=False)  # left to argparse


def test_add_command_lists_its_line_and_builds_flags_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    calls: list[int] = []
    root, leaf = _go(shown_defaults=lambda: calls.append(1) or {"gamma": "0.9 from x"}, shipped="alignment",
                     description="the description")  # fmt: skip
    assert "go go 95% of the way" in " ".join(root.format_help().split())
    parse(root, ["go"])
    assert calls == []  # the shown defaults are computed for the help only
    usage, description, body = leaf.format_help().split("\n\n", 2)
    assert calls == [1] and description == "the description"
    assert usage == ("usage: r go [-h] [--gamma GAMMA] [--steps STEPS] [--config FILE.yaml] "
                     "[--set KEY=VALUE [KEY=VALUE ...]]")
    assert " ".join(body.split()) == (
        "options: -h, --help show this help message and exit --gamma GAMMA discount (range [0, 1]) (default: 0.9 "
        "from x) --steps, --budget STEPS steps (default: 10) --config FILE.yaml YAML mapping of settings (flags "
        "override it): a file, or when no such file is here, the name of a config shipped with rlsuite (e.g. "
        "alignment/dpo; `rlsuite config-path` lists them) --set KEY=VALUE [KEY=VALUE ...] set any setting, same as "
        "--KEY VALUE (YAML syntax for lists)")  # fmt: skip
    assert _go()[1].description == "go 95% of the way"  # the help line, when no description is given
    with only_requested(["train"]):
        listed_root, listed = _go()
    assert [a.option_strings for a in listed._actions] == [["-h", "--help"]]  # listed, not built
    assert "go 95% of the way" in listed_root.format_help()


@dataclasses.dataclass
class _Base(Config):
    based: int = option(4, help="declared by an rlsuite parent")


@dataclasses.dataclass
class _Child(ThirdPartyConfig, _Base):
    mine: int = option(1, help="mine")
    shared: int = option(2, help="a shared name", aliases=["--budget"])
    plain: int = 3  # not declared with option(), beside a third-party parent: listed with the parent's


def test_rlsuite_settings_come_first_then_each_third_party_parents_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fields with an alias (the shared names), then the class's own, then those of rlsuite's parents; then
    a group per third-party parent; the usage line says [OPTIONS]; no flag is abbreviated."""
    monkeypatch.setenv("COLUMNS", "200")
    parser = ConfigParser(_Child, prog="p")
    assert parser.dataclass_types == [_Child] and ConfigParser(prog="q").dataclass_types == []
    assert ConfigParser([_Go, _Base], prog="q").dataclass_types == [_Go, _Base]
    usage, body = parser.format_help().split("\n\n", 1)
    assert usage == "usage: p [-h] [OPTIONS]"
    flags = [line.split()[0] for line in body.splitlines() if line.startswith("  -")]
    assert flags == ["-h,", "--shared,", "--mine", "--based", "--speedup", "--plain"]
    assert "inherited from thirdparty.ThirdPartyConfig (all accepted):\n  --speedup" in body
    with pytest.raises(ConfigError, match=r"^p: unrecognized arguments: --mi 3$"):
        parser.parse_args(["--mi", "3"])
    assert ConfigParser(_Go, prog="q").format_usage() == "usage: q [-h] [--gamma GAMMA] [--steps STEPS]\n"


def test_a_switch_takes_no_more_room_than_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The help column sits two spaces after the longest flag: a switch adds no trailing space to it."""
    monkeypatch.setenv("COLUMNS", "200")
    parser = argparse.ArgumentParser(prog="p", formatter_class=HelpFormatter, add_help=False)
    parser.add_argument("--flag", action="store_true", help="a flag")
    switch = parser.add_argument(
        "--overwrite", nargs="?", const=True, default=False, type=string_to_bool, help="replace"
    )
    switch.switch = True  # type: ignore[attr-defined]
    assert parser.format_help() == (
        "usage: p [--flag] [--overwrite]\n\noptions:\n  --flag       a flag\n  --overwrite  replace (default: false)\n"
    )


def test_the_config_help_names_a_shipped_config_of_the_commands_folder() -> None:
    """``--config``'s help gives an example name: the first shipped config of the command's folder, a pixel
    config for the RL commands (no folder), ``ppo`` for a folder with none."""
    assert [_example_name(folder) for folder in ("", "alignment", "accelerate", "nothing")] == [
        "ppo_pixels", "dpo", "deepspeed_zero2", "ppo"]  # fmt: skip


def test_set_items_move_to_the_end_as_flags_and_remember_how_they_were_written() -> None:
    """Every ``--set`` (or ``--set=``) takes the KEY=VALUE words after it, up to the next option; a YAML list
    becomes the flag's words; ``--`` ends the scan; an item longer than 60 characters is shown cut."""
    big = "big=" + "v" * 70
    assert _expand_sets(["a", "--set", "x=1", "y=[1, 2]", "b", "--set=z=3", "--set", big, "w=-1", "-q"]) == (
        ["a", "b", "-q", "--x", "1", "--y", "1", "2", "--z", "3", "--big", "v" * 70, "--w", "-1"],
        {"x": "--set x=1", "y": "--set y=[1, 2]", "z": "--set z=3", "big": f"--set {big[:40]}...(74 characters)",
         "w": "--set w=-1"})  # fmt: skip
    at_60, at_61 = "k=" + "v" * 58, "k=" + "v" * 59
    assert [_expand_sets(["--set", item])[1]["k"] for item in (at_60, at_61)] == [
        f"--set {at_60}", f"--set {at_61[:40]}...(61 characters)"]  # fmt: skip
    assert _expand_sets(["--set", "x=1", "--", "--set", "y=2"]) == (
        ["--", "--set", "y=2", "--x", "1"], {"x": "--set x=1"})  # fmt: skip
    assert _expand_sets(["--set", "n=[[1, 2], [3]]", "s=a=b", "e=", "y= [1, 2]"])[0] == [
        "--n", "[[1, 2], [3]]", "--s", "a=b", "--e", "", "--y", "1", "2"]  # fmt: skip
    for argv in (["--set"], ["--set", "-x=1"], ["--set", "1x=2"], ["--set", "x"]):
        with pytest.raises(ConfigError, match=r"^--set: expected KEY=VALUE after it$"):
            _expand_sets(argv)
    with pytest.raises(ConfigError, match=r"^--set 'oops': expected KEY=VALUE$"):
        _expand_sets(["--set=oops"])
    eight_words = re.escape("(while parsing a flow node expected the node)")  # of PyYAML's message
    with pytest.raises(ConfigError, match=rf"^--set y=\[1,: not valid YAML {eight_words}$") as caught:
        _expand_sets(["--set", "y=[1,"])
    assert (caught.value.field, caught.value.value) == ("y", "[1,")


def test_resolve_config_takes_a_file_here_first_then_a_shipped_name(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shipped = shipped_configs()
    for value in ("ppo", "ppo.yml", "ppo.yaml", "rlsuite/app/configs/ppo.yml"):
        assert resolve_config(value) == shipped["ppo"] == SHIPPED_CONFIGS / "ppo.yml", value
    for value in ("alignment/dpo", "alignment/dpo.yaml"):
        assert resolve_config(value) == shipped["alignment/dpo"], value
    assert resolve_config("dpo", "alignment") == config_argument("dpo", "alignment") == shipped["alignment/dpo"]
    assert resolve_config("ppo", "alignment") == shipped["alignment/ppo"]  # the folder first
    assert resolve_config("dqn", "alignment") == shipped["dqn"]  # not in the folder: the name among all
    (tmp_path / "ppo.yml").write_text("gamma: 0.5\n")
    assert resolve_config("ppo.yml") == Path("ppo.yml")  # a file here wins
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_config("~/ppo.yml") == tmp_path / "ppo.yml"
    listed = ", ".join(shipped)
    with pytest.raises(UsageError) as caught:
        resolve_config("dpo")  # only alignment/dpo: a folder must be given
    assert str(caught.value) == f"dpo: no such file here, nor a config shipped with rlsuite (shipped: {listed})"
    with pytest.raises(argparse.ArgumentTypeError) as typed:
        config_argument("nope.yml")
    assert str(typed.value) == f"nope.yml: no such file here, nor a config shipped with rlsuite (shipped: {listed})"


def test_config_file_defaults_read_the_config_flag(tmp_path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("gamma: 0.5\nnet: [64, 64]\n")
    assert _config_file_defaults(argparse.Namespace(config=path)) == [({"gamma": 0.5, "net": [64, 64]}, str(path))]
    assert _config_file_defaults(argparse.Namespace(config=None)) == []
    assert _config_file_defaults(argparse.Namespace()) == []


@pytest.mark.parametrize("key", ["config", "set", "_run"])
def test_a_config_file_cannot_set_the_file_itself_set_or_internals(key: str, tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text(f"{key}: x.yml\n")
    err = _unknown([*Q, "--config", str(tmp_path / "c.yml")])
    assert str(err) == f"{tmp_path / 'c.yml'}: unknown key '{key}' for rlsuite train q_learning"


def _defaults_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="p")
    p.add_argument("pos", nargs="?")
    p.add_argument("--n_timesteps", "--budget", type=int, default=10)
    p.add_argument("--gamma", type=float, default=0.9)
    p.add_argument("--log_every", "--log-freq", type=int, default=1)
    p.add_argument("--lr", dest="learning_rate", type=float, default=0.1)  # a destination no flag spells
    p.add_argument("--opt", nargs="?", const="c", type=str, default="d")
    p.add_argument("--net", nargs="+", type=int, default=[1])
    p.add_argument("--strategy", type=str, default="steps")
    p.add_argument("--flag", nargs="?", const=True, type=string_to_bool, default=False)
    p.add_argument("--req", type=int, required=True)
    p.add_argument("--internal", dest="_internal")
    p.add_argument("--norm", nargs="?", const=True, type=string_to_bool, default=True)
    p.add_argument("--no_norm", dest="norm", action="store_false")  # a flag, not a setting a file names
    p.add_argument("--config")
    p.add_argument("--set", nargs="+")
    return p


def test_apply_defaults_takes_every_spelling_and_types_a_file_value() -> None:
    p = _defaults_parser()
    values = {"budget": "50", "log-every": 5, "net": 3, "strategy": False, "flag": True, "req": 2, "gamma": None}
    assert apply_defaults(p, values, "f.yml") == ["n_timesteps", "log_every", "net", "strategy", "flag", "req", "gamma"]
    ns = p.parse_args([])  # --req no longer required: the file gave it
    assert (ns.n_timesteps, ns.log_every, ns.net, ns.strategy, ns.flag, ns.req, ns.gamma) == (50, 5, [3], "no", True,
                                                                                              2, None)  # fmt: skip
    assert p.parse_args(["--budget", "7", "--net", "4", "5"]).n_timesteps == 7  # flags still win
    p = _defaults_parser()
    values = {"n-timesteps": 60, "net": [6, 7], "strategy": True, "log_freq": 4, "learning_rate": 0.5, "opt": False}
    assert apply_defaults(p, values, "f") == ["n_timesteps", "net", "strategy", "log_every", "learning_rate", "opt"]
    ns = p.parse_args(["--req", "1"])
    assert (ns.n_timesteps, ns.net, ns.strategy, ns.log_every, ns.learning_rate) == (60, [6, 7], "yes", 4, 0.5)
    assert ns.opt is False  # an optional value (nargs "?") keeps the file's bool
    assert _defaults_parser().parse_args(["--req", "1"]).strategy == "steps"  # each parser its own defaults


@pytest.mark.parametrize(
    "key", ["help", "h", "pos", "config", "set", "_internal", "internal", "n_timestepsx", "no_norm"]
)
def test_apply_defaults_refuses_what_a_file_cannot_set(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^f\.yml: unknown key '{key}' for p"):
        apply_defaults(_defaults_parser(), {key: 1}, "f.yml")


def test_apply_defaults_checks_a_string_with_the_flags_type() -> None:
    with pytest.raises(ConfigError) as caught:
        apply_defaults(_defaults_parser(), {"gamma": "abc"}, "f.yml")
    assert str(caught.value) == "f.yml: gamma: invalid value 'abc' (could not convert string to float: 'abc')"
    assert (caught.value.field, caught.value.value) == ("gamma", "abc")


def test_an_error_names_the_flag_written_with_an_equals_sign() -> None:
    argv = ["train", "ppo", "--env", "rlsuite/GridWorld-v0", "--learning_rate=lin_=5", "--out", "never"]
    with pytest.raises(ConfigError) as caught:
        parse_line(argv)
    assert str(caught.value) == ("--learning_rate: PPOConfig.learning_rate: expected a number > 0 or "
                                 "'lin_<number > 0>', got 'lin_=5'")  # fmt: skip
