"""Config errors name what a field takes, in words, for every kind of type hint; unknown keys get a suggestion
only when a name is close."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rlsuite.common.config import Config, from_dict, option, unknown_key_error
from rlsuite.common.errors import ConfigError


@dataclass
class Typed(Config):
    """One field per kind of hint."""

    name: str = option("a", help="a name")
    lr: float | None = option(None, help="a rate or none")
    k: int | str = option(1, help="a count or a word")
    folder: Path = option(Path("."), help="a folder")
    tags: list[str] = option(default_factory=list, help="tags")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": 3}, "Typed.name: expected a string, got 3"),
        ({"lr": "fast"}, "Typed.lr: expected a number or None, got 'fast'"),
        ({"k": 1.5}, "Typed.k: expected an integer or a string, got 1.5"),
        ({"folder": 3}, "Typed.folder: expected Path, got 3"),
        ({"tags": [1]}, "Typed.tags: expected a list of a string, got [1]"),
    ],
)
def test_the_expected_type_is_said_in_words(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Typed(**kwargs)
    assert str(err.value) == message


def test_an_unknown_key_is_named_with_the_closest_name_only_when_one_is_close() -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(Typed, {"nmae": "b"}, where="run.yaml")
    assert str(err.value) == "run.yaml: unknown key 'nmae' for Typed (did you mean 'name'?)"
    assert err.value.field == "nmae"
    with pytest.raises(ConfigError) as err:
        from_dict(Typed, {"zzz": 1})
    assert str(err.value) == "config: unknown key 'zzz' for Typed"


def test_unknown_key_error_names_the_key_and_suggests() -> None:
    error = unknown_key_error("gama", ["gamma", "alpha"], "TD", "--set")
    assert (str(error), error.field) == ("--set: unknown key 'gama' for TD (did you mean 'gamma'?)", "gama")
    error = unknown_key_error("xyz", ("gamma", "alpha"), "TD", "--set")
    assert (str(error), error.field) == ("--set: unknown key 'xyz' for TD", "xyz")


def test_a_config_error_carries_the_field_and_its_value() -> None:
    with pytest.raises(ConfigError) as err:
        Typed(lr="fast")
    assert (err.value.field, err.value.value) == ("lr", "fast")


@dataclass
class _ThirdParty(Config):
    """A parent's field typed with a bare ``typing.List`` (no item type): checked, as every hinted field is."""

    names: typing.List = field(default_factory=list)  # noqa: UP006


def test_a_bare_list_hint_is_named_a_list() -> None:
    assert _ThirdParty().names == [] and _ThirdParty(names=("a", 1)).names == ["a", 1]  # a tuple becomes a list
    with pytest.raises(ConfigError) as err:
        _ThirdParty(names="a")
    assert str(err.value) == "_ThirdParty.names: expected a list, got 'a'"


def test_a_cross_field_error_names_its_field_and_value() -> None:
    """``config_error`` keeps the field's name and value on the error (the CLI names the value's source with them)."""
    from rlsuite.common.config import config_error

    config = Typed(name="b", k=7)
    error = config_error(config, "k", "too many")
    assert (str(error), error.field, error.value) == ("Typed.k: too many", "k", 7)
    missing = config_error(config, "absent", "not a field")
    assert (str(missing), missing.field, missing.value) == ("Typed.absent: not a field", "absent", None)
