"""The CLI generated from the config dataclasses: one parser, three ways in (flags, YAML, ``--set``).

A command is declared with :func:`add_command` from the config classes it fills::

    add_command(sub, "q_learning", help="...", configs=[QLearningConfig, TrainOptions], run=train_tabular)

Every field becomes a flag through transformers' ``HfArgumentParser`` (TRL's CLI parser): its
type, default and help text (the field's ``metadata["help"]``, and its range when it has one).
``--config FILE.yaml`` sets defaults from a YAML mapping (TRL's ``TrlParser`` convention), and
``--set KEY=VALUE`` is the same as ``--KEY VALUE``; both go through the same parser into the same
types, and the config classes check the values. ``--set`` may appear anywhere on the line.

A bad value of any kind ends in one :class:`~rlsuite.common.errors.ConfigError` line that names
the field and where the value came from (a flag, ``--set`` or the YAML file).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from transformers.hf_argparser import HfArgumentParser

from rlsuite.common.config import BOUNDS_KEY, load_yaml, unknown_key_error
from rlsuite.common.errors import ConfigError

_PASSED_TO_ARGPARSE = ("help", "aliases", "metavar", "choices")
_SET_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$", re.S)


def yaml_value(text: str) -> Any:
    """A flag's value written in YAML flow syntax: ``[1, 2]``, ``{a: 1}``, ``[[2, 2], [3, 3]]``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise argparse.ArgumentTypeError(f"not valid YAML: {text!r} ({' '.join(str(exc).split()[:8])})") from exc


def yaml_mapping(text: str) -> dict[str, Any]:
    """A mapping flag: ``'{net_arch: [64, 64]}'`` (YAML or JSON)."""
    value = yaml_value(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a mapping like '{{key: value}}', got {text!r}")
    return value


def number_or_string(text: str, kinds: tuple[type, ...] = (int, float)) -> int | float | str:
    """A number of the first of ``kinds`` that reads ``text``, else the string itself (RL Zoo's
    ``lin_0.001`` schedule, TRL's ``"no"`` strategy)."""
    for kind in kinds:
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _native(hint: Any) -> bool:
    """Whether ``HfArgumentParser`` handles the type itself."""
    simple = (int, float, str, bool, Path)
    if hint in simple:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return True
    if origin is list:
        (arg,) = typing.get_args(hint) or (str,)
        return arg in (int, float, str)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return len(args) == 1 and type(None) in typing.get_args(hint) and _native(args[0])
    return False


def _converter(hint: Any) -> Callable[[str], Any]:
    """The string -> value function for a type ``HfArgumentParser`` does not handle."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return _converter(args[0])
    if typing.get_origin(hint) is dict or hint is dict:
        return yaml_mapping
    containers = [a for a in args if typing.get_origin(a) in (list, dict, tuple) or a in (list, dict, tuple)]
    if str in args and not containers:  # `float | str` (a schedule), `str | SomeEnum`: never YAML (`no` stays "no")
        kinds = tuple(k for k in (float, int) if k in args)  # a float field reads "0" as 0.0
        return functools.partial(number_or_string, kinds=kinds) if kinds else str
    return yaml_value


class ConfigParser(HfArgumentParser):
    """``HfArgumentParser`` for rlsuite's configs: errors as :class:`ConfigError`, bounds in the help,
    YAML syntax for the types argparse cannot take (mappings, nested lists, tuples)."""

    def __init__(self, dataclass_types: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # `--n` must not silently mean `--num_envs`
        super().__init__(dataclass_types, **kwargs)

    @staticmethod
    def _parse_dataclass_field(parser: argparse.ArgumentParser, field: dataclasses.Field) -> None:  # type: ignore[override]
        f = copy.copy(field)  # HfArgumentParser rewrites the field's type: keep the class's own intact
        meta = {k: v for k, v in field.metadata.items() if k in _PASSED_TO_ARGPARSE}
        if "help" in meta:
            meta["help"] = str(meta["help"]).replace("%", "%%")
            bounds = field.metadata.get(BOUNDS_KEY)
            if bounds is not None:
                meta["help"] += f" (range {bounds.describe()})"
        f.metadata = types.MappingProxyType(meta)
        if typing.get_origin(f.type) is list and typing.get_origin(typing.get_args(f.type)[0]) is typing.Literal:
            # list[Literal[...]]: a list of strings whose items argparse checks against the choices
            meta["choices"] = list(typing.get_args(typing.get_args(f.type)[0]))
            f.type = list[str]
            f.metadata = types.MappingProxyType(meta)
        elif not _native(f.type):
            f.type = _converter(f.type)
            meta.setdefault("metavar", "YAML")
            f.metadata = types.MappingProxyType(meta)
        HfArgumentParser._parse_dataclass_field(parser, f)

    def error(self, message: str) -> typing.NoReturn:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


# ----- commands -----------------------------------------------------------------------------


@dataclass
class Parsed:
    """What a command's handler receives: its configs, the other arguments, where values came from."""

    configs: dict[type, Any]
    args: argparse.Namespace
    sources: dict[str, str]

    def get(self, cls: type[Any]) -> Any:
        """The config of class ``cls`` (or of a subclass of it)."""
        for klass, value in self.configs.items():
            if issubclass(klass, cls):
                return value
        raise KeyError(cls)


def add_command(
    subparsers: Any,
    name: str,
    *,
    help: str,
    configs: Sequence[type] = (),
    run: Callable[[Parsed], int],
    arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    description: str | None = None,
    config_file: bool = True,
    defaults: Callable[[argparse.Namespace], list[tuple[Mapping[str, Any], str]]] | None = None,
) -> ConfigParser:
    """Add a leaf command whose flags are generated from ``configs``.

    Args:
        subparsers: from ``parser.add_subparsers(parser_class=ConfigParser)``.
        name: the command's name.
        help: one line for the parent's command list.
        configs: the config dataclasses the command fills (their field names must not collide).
        run: the handler; returns the exit code.
        arguments: adds arguments that are not config fields (a positional run folder, ...).
        description: the ``--help`` text (defaults to ``help``).
        config_file: accept ``--config FILE.yaml`` of config keys.
        defaults: where defaults come from, given the first parse's namespace: a list of
            ``(mapping, where)`` applied in order (later wins) before the flags. The default reads
            the ``--config`` file as one flat mapping; a command whose files are keyed (RL Zoo's
            ``{env_id: {...}}``) passes its own reader.
    """
    parser: ConfigParser = subparsers.add_parser(
        name, help=help, description=description or help, dataclass_types=list(configs)
    )
    if arguments is not None:
        arguments(parser)
    if config_file:
        parser.add_argument("--config", metavar="FILE.yaml", help="YAML mapping of settings (flags override it)")
    parser.add_argument(
        "--set", metavar="KEY=VALUE", nargs="+", help="set any setting, same as --KEY VALUE (YAML syntax for lists)"
    )
    parser.set_defaults(_run=run, _parser=parser, _defaults=defaults or _config_file_defaults)
    return parser


def _config_file_defaults(ns: argparse.Namespace) -> list[tuple[Mapping[str, Any], str]]:
    path = getattr(ns, "config", None)
    return [(load_yaml(path), str(path))] if path else []


def _option_tokens(key: str, value: Any) -> list[str]:
    flag = f"--{key}"
    if isinstance(value, list | tuple) and not any(isinstance(v, list | tuple | dict) for v in value):
        return [flag, *(_scalar(v) for v in value)]
    if isinstance(value, dict | list | tuple):
        return [flag, yaml.safe_dump(value, default_flow_style=True).strip()]
    return [flag, _scalar(value)]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _expand_sets(argv: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Move every ``--set K=V ...`` to the end of ``argv`` as ``--K V`` (it may appear anywhere).

    Returns the new argv and ``{key: "--set K=V"}`` for error messages.
    """
    out: list[str] = []
    tail: list[str] = []
    sources: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out.extend(argv[i:])
            break
        if token == "--set" or token.startswith("--set="):
            items = [token.split("=", 1)[1]] if token.startswith("--set=") else []
            i += 1
            while i < len(argv) and _SET_ITEM.match(argv[i]) and not argv[i].startswith("-"):
                items.append(argv[i])
                i += 1
            if not items:
                raise ConfigError("--set: expected KEY=VALUE after it")
            for item in items:
                match = _SET_ITEM.match(item)
                if not match:
                    raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
                key, raw = match.group(1), match.group(2)
                if raw.lstrip().startswith("["):
                    try:
                        value = yaml.safe_load(raw)
                    except yaml.YAMLError as exc:
                        raise ConfigError(
                            f"--set {item}: not valid YAML ({' '.join(str(exc).split()[:8])})", key, raw
                        ) from exc
                    tail.extend(_option_tokens(key, value) if isinstance(value, list) else [f"--{key}", raw])
                else:
                    tail.extend([f"--{key}", raw])
                sources[key] = f"--set {item}"
            continue
        out.append(token)
        i += 1
    return out + tail, sources


def _dest_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help",)}


def apply_defaults(parser: argparse.ArgumentParser, values: Mapping[str, Any], where: str) -> list[str]:
    """Set ``parser``'s defaults from a mapping (a YAML file's), checking keys and string values.

    TRL's ``TrlParser`` convention: file values are defaults, flags override them. A string value
    goes through the flag's own type (so ``1e-3`` is a float); an unknown key is an error that
    names ``where`` and suggests the nearest setting. A key may be any of a setting's spellings (its
    aliases). Returns the settings (destinations) it set.
    """
    set_dests: list[str] = []
    actions = _dest_actions(parser)
    settable = {d: a for d, a in actions.items() if not d.startswith("_") and d not in ("config", "set")}
    # every spelling of a setting, its aliases included (`budget:` for a field whose flag has `--budget`)
    spellings = {s.lstrip("-").replace("-", "_"): a for a in settable.values() for s in a.option_strings}
    for key, value in values.items():
        dest = str(key).replace("-", "_")
        action = settable.get(dest) or spellings.get(dest)
        if action is None:
            raise unknown_key_error(str(key), list(settable), parser.prog, where)
        if isinstance(value, str) and callable(action.type):
            try:
                action.type(value)
            except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
                raise ConfigError(f"{where}: {key}: invalid value {value!r} ({exc})", dest, value) from exc
        if action.nargs == "+" and value is not None and not isinstance(value, list | tuple):
            value = [value]
        if isinstance(value, bool) and callable(action.type) and action.type is not bool and action.nargs != "?":
            # YAML 1.1 reads a bare `no`/`yes` as a bool: give string-valued settings their string back
            value = "no" if value is False else "yes"
        action.default = value
        action.required = False
        set_dests.append(action.dest)
    return set_dests


def _explicit_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> dict[str, str]:
    flags: dict[str, str] = {}
    for dest, action in _dest_actions(parser).items():
        for token in argv:
            opt = token.split("=", 1)[0]
            if opt in action.option_strings:
                flags[dest] = opt
    return flags


def parse(parser: ConfigParser, argv: Sequence[str], expand_sets: bool = True) -> Parsed:
    """Parse ``argv`` (after the program name) with ``parser``, a tree of :func:`add_command` leaves.

    Returns the leaf's configs, built and checked. Raises ``ConfigError`` (one line) on any bad input.
    """
    argv, set_sources = _expand_sets(list(argv)) if expand_sets else (list(argv), {})
    ns, rest = parser.parse_known_args(argv)
    leaf = getattr(ns, "_parser", None)
    if rest:
        _unknown(leaf or parser, rest, set_sources)
    sources: dict[str, str] = {}
    layers = ns._defaults(ns) if leaf is not None else []
    for values, where in layers:
        sources.update(dict.fromkeys(apply_defaults(leaf, values, where), where))
    if layers:
        ns = parser.parse_args(argv)
    if leaf is None:
        return Parsed({}, ns, {})
    explicit = _explicit_flags(leaf, argv)
    sources.update({dest: flag for dest, flag in explicit.items()})
    sources.update(set_sources)
    configs: dict[type, Any] = {}
    for dtype in leaf.dataclass_types:
        names = [f.name for f in dataclasses.fields(dtype) if f.init]
        values = {k: getattr(ns, k) for k in names if hasattr(ns, k)}
        try:
            configs[dtype] = dtype(**values)
        except ConfigError as exc:
            where = sources.get(exc.field or "", "")
            raise ConfigError(f"{where}: {exc}" if where else str(exc), exc.field, exc.value) from exc
    return Parsed(configs, ns, sources)


def _unknown(parser: argparse.ArgumentParser, rest: list[str], set_sources: dict[str, str]) -> typing.NoReturn:
    import difflib

    options = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
    for token in rest:
        if token.startswith("--"):
            opt = token.split("=", 1)[0]
            key = opt[2:].replace("-", "_")
            close = difflib.get_close_matches(opt, options, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            where = set_sources.get(key, opt)
            raise ConfigError(f"{parser.prog}: {where}: unknown setting {key!r}{hint}", key)
    raise ConfigError(f"{parser.prog}: unexpected argument(s): {' '.join(rest)}")
