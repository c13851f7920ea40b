"""The CLI generated from the config dataclasses: one parser, three ways in (flags, YAML, ``--set``).

A command is declared with :func:`add_command` from the config classes it fills::

    add_command(sub, "q_learning", help="...", configs=[QLearningConfig, TrainOptions], run=train_tabular)

Every field becomes a flag, the way transformers' ``HfArgumentParser`` (TRL's CLI parser) makes
them, without importing transformers: its type, default and help text (the field's
``metadata["help"]``, its range when it has one, and one ``(default: ...)``). A ``bool`` field is a
switch (``--overwrite``, or ``--overwrite false``); one whose default is true also gets
``--no_NAME``. Fields that rlsuite's classes declare (with :func:`~rlsuite.common.config.option`)
come first; those a third-party parent declares (TRL's, transformers') follow in a group of
their own, all accepted. ``--config FILE.yaml`` sets defaults from a YAML mapping (TRL's
``TrlParser`` convention), and ``--set KEY=VALUE`` is the same as ``--KEY VALUE``; both go through
the same parser into the same types, and the config classes check the values. ``--set`` may
appear anywhere on the line.

A bad value of any kind ends in one :class:`~rlsuite.common.errors.ConfigError` line that names
the field and where the value came from (a flag, ``--set`` or the YAML file).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import functools
import inspect
import math
import os
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlsuite.common.config import BOUNDS_KEY, CHECKED_KEY, load_yaml, unknown_key_error
from rlsuite.common.errors import ConfigError, UsageError

_SET_ITEM = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$", re.S)
# "(default: ...)" written into a field's help text: shown once, in its place at the end
_DEFAULT_IN_HELP = re.compile(r"\s*\(default: ((?:[^()]|\([^()]*\))*)\)")
_SAYS_DEFAULT = re.compile(r"\bdefaults?\b\s*(?::|to\b|is\b)", re.I)
# field -> the flag's name, for fields whose names differ between config classes; the field's own
# name stays accepted (hidden), so YAML keys, --set and old command lines keep working
FLAG_NAMES = {"torch_threads": "threads"}


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


def _finite(text: str, value: float) -> float:
    """``value`` (read from ``text``), unless it overflowed to ``inf``: ``1e400`` or 400 digits are refused
    (``inf`` itself, written so, stays ``inf``)."""
    if math.isinf(value) and "inf" not in text.lower():
        shown = text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"
        raise argparse.ArgumentTypeError(f"{shown} is out of range (beyond the largest float, about 1.8e308)")
    return value


def float_value(text: str) -> float:
    """``float(text)``, except that a number too large for a float is refused rather than read as ``inf``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    return _finite(text, value)


def number_or_string(text: str, kinds: tuple[type, ...] = (int, float)) -> int | float | str:
    """A number of the first of ``kinds`` that reads ``text``, else the string itself (RL Zoo's
    ``lin_0.001`` schedule, TRL's ``"no"`` strategy); a number too large for a float is refused."""
    for kind in kinds:
        try:
            value = kind(text)
        except ValueError:
            continue
        return _finite(text, value) if kind is float else value
    return text


def string_to_bool(text: str | bool) -> bool:
    """A switch's optional value: true/false, yes/no, t/f, y/n, 1/0 (any case)."""
    if isinstance(text, bool):
        return text
    if text.lower() in ("yes", "true", "t", "y", "1"):
        return True
    if text.lower() in ("no", "false", "f", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false (yes/no, 1/0), got {text!r}")


def shown(value: Any) -> str:
    """A default as it would be typed: ``true``, ``0.99``, ``[64, 64]``, ``{a: 1}``."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):  # a tuple as a list: [64, 64]
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return str(value)


def _native(hint: Any) -> bool:
    """Whether the field adder reads the type itself (else a converter from :func:`_converter`)."""
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
    """The string -> value function for a type argparse does not read."""
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


def _metavar(hint: Any, converter: Callable[[str], Any]) -> str:
    """How the value of a converted type is written: ``{KEY: VALUE}``, ``[...]``, ``NUMBER|STR``."""
    if converter is yaml_mapping:
        return "{KEY: VALUE}"
    if converter is str:
        return "STR"
    if isinstance(converter, functools.partial):
        return "NUMBER|STR"
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    if all(a in (list, tuple) or typing.get_origin(a) in (list, tuple) for a in args):
        return "[...]"
    return "YAML"


def _unwrap_optional(hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return hint


def _help_and_default(field: dataclasses.Field) -> tuple[str, str | None]:
    """The field's help with its range, and the default its help names (``(default: ...)``), if any."""
    text = str(field.metadata.get("help", ""))
    match = _DEFAULT_IN_HELP.search(text)
    said = match.group(1) if match else None
    if match:
        text = (text[: match.start()] + text[match.end() :]).strip()
    bounds = field.metadata.get(BOUNDS_KEY)
    if bounds is not None:
        text += f" (range {bounds.describe()})"
    return text, said


def add_field(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    field: dataclasses.Field,
    hint: Any,
    plain_help: bool = True,
) -> None:
    """Add ``field`` (of type ``hint``) as a flag, as ``HfArgumentParser`` does, with rlsuite's help.

    ``--NAME`` (and ``--NA-ME``) plus the field's aliases; ``nargs="+"`` for lists; the choices of a
    ``Literal``; a switch for ``bool`` (``--NAME`` alone is true; ``--no_NAME`` when the default is
    true); the field's default, or required without one. ``plain_help``: the field's help is plain text
    (rlsuite's: ``95%``), not a third-party parent's, written for argparse's %-formatting (TRL's ``20%%``).
    """
    meta = field.metadata
    flag = FLAG_NAMES.get(field.name, field.name)
    names = [f"--{flag}"] + ([f"--{flag.replace('_', '-')}"] if "_" in flag else [])
    aliases = meta.get("aliases", [])
    names += [a for a in ([aliases] if isinstance(aliases, str) else aliases) if a not in names]
    help_text, said = _help_and_default(field)
    if plain_help:
        help_text = help_text.replace("%", "%%")  # argparse %-formats every help line
    elif said is not None:
        said = said.replace("%%", "%")  # shown as the value is written (the formatter escapes it again)
    kwargs: dict[str, Any] = {"dest": field.name, "help": help_text}
    if "metavar" in meta or flag != field.name:
        kwargs["metavar"] = meta.get("metavar", flag.upper())
    if "choices" in meta:  # a third-party field's own list of choices (TRL's, transformers')
        kwargs["choices"] = meta["choices"]
    if field.default is not dataclasses.MISSING:
        kwargs["default"] = field.default
    elif field.default_factory is not dataclasses.MISSING:
        kwargs["default"] = field.default_factory()
    else:
        kwargs["required"] = True
    if typing.get_origin(hint) is list and typing.get_origin(typing.get_args(hint)[0]) is typing.Literal:
        # list[Literal[...]]: a list of strings whose items argparse checks against the choices
        kwargs.update(choices=list(typing.get_args(typing.get_args(hint)[0])), nargs="+", type=str)
    elif not _native(hint):
        kwargs["type"] = _converter(hint)
        kwargs.setdefault("metavar", _metavar(hint, kwargs["type"]))
    else:
        hint = _unwrap_optional(hint)
        if typing.get_origin(hint) is typing.Literal:
            choices = typing.get_args(hint)
            by_text = {str(c): c for c in choices}
            kwargs.update(choices=choices, type=lambda text: by_text.get(text, text))
        elif hint is bool:
            kwargs.update(type=string_to_bool, nargs="?", const=True)
            if kwargs.pop("required", False):
                kwargs["default"] = False
        elif typing.get_origin(hint) is list:
            item = (typing.get_args(hint) or (str,))[0]
            kwargs.update(type=float_value if item is float else item, nargs="+")
        else:
            kwargs["type"] = float_value if hint is float else hint
    action = parser.add_argument(*names, **kwargs)
    action.shown_default = said  # type: ignore[attr-defined]
    action.switch = hint is bool  # type: ignore[attr-defined]
    if flag != field.name:  # the field's own name, accepted but not listed
        hidden = {k: v for k, v in kwargs.items() if k not in ("help", "default", "required")}
        old = [f"--{field.name}"] + ([f"--{field.name.replace('_', '-')}"] if "_" in field.name else [])
        parser.add_argument(*old, **hidden, help=argparse.SUPPRESS, default=argparse.SUPPRESS)
    if hint is bool and field.default is True:
        no = parser.add_argument(
            f"--no_{flag}", f"--no-{flag.replace('_', '-')}", action="store_false", dest=field.name,
            default=argparse.SUPPRESS, help=f"the same as --{flag} false",
        )  # fmt: skip
        no.shown_default = None  # type: ignore[attr-defined]


def _third_party_parents(dtype: type) -> str:
    """``trl.DPOConfig, transformers.TrainingArguments``: the non-rlsuite dataclasses ``dtype`` extends."""
    parents = [
        f"{klass.__module__.split('.')[0]}.{klass.__name__}"
        for klass in dtype.__mro__[1:]
        if dataclasses.is_dataclass(klass)
        and not klass.__module__.startswith("rlsuite")
        and not klass.__name__.startswith("_")
    ]
    return ", ".join(dict.fromkeys(parents))


class HelpFormatter(argparse.HelpFormatter):
    """One ``(default: ...)`` per flag, the value that is used; switches without a dangling metavar."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        said = getattr(action, "shown_default", None)
        if said is not None:
            return f"{text} (default: {said.replace('%', '%%')})".strip()
        if (
            not action.option_strings
            or action.nargs == 0
            or action.default is None
            or action.default is argparse.SUPPRESS
            or _SAYS_DEFAULT.search(text)
        ):
            return text
        return f"{text} (default: {shown(action.default).replace('%', '%%')})".strip()

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        if getattr(action, "switch", False):
            return ""  # `[--overwrite]`, not `[--overwrite [OVERWRITE]]` (the value stays optional)
        return super()._format_args(action, default_metavar)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        """``--out, --output_dir OUT``: each spelling once (``--num-envs`` beside ``--num_envs`` is
        accepted, not listed), the metavar once."""
        if not action.option_strings:
            return super()._format_action_invocation(action)
        names = [s for s in action.option_strings if s == s[:2] + s[2:].replace("-", "_")]
        names += [s for s in action.option_strings if s[:2] + s[2:].replace("-", "_") not in names]
        if action.nargs == 0 or getattr(action, "switch", False):
            return ", ".join(names)
        return f"{', '.join(names)} {self._format_args(action, self._get_default_metavar_for_optional(action))}"


class ConfigParser(argparse.ArgumentParser):
    """An argument parser over config dataclasses: one flag per field (see :func:`add_field`),
    errors as :class:`ConfigError`, YAML syntax for the types argparse cannot read (mappings,
    nested lists, tuples). Fields rlsuite declares come first; a third-party parent's fields
    follow in a group named after it."""

    def __init__(self, dataclass_types: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # `--n` must not silently mean `--num_envs`
        super().__init__(**kwargs)
        if dataclass_types is None:
            dataclass_types = []
        elif dataclasses.is_dataclass(dataclass_types):
            dataclass_types = [dataclass_types]
        self.dataclass_types = list(dataclass_types)
        own: list[tuple[tuple[bool, bool], dataclasses.Field, Any]] = []
        inherited: list[tuple[type, dataclasses.Field, Any]] = []
        for dtype in self.dataclass_types:
            hints = typing.get_type_hints(dtype)
            body = inspect.get_annotations(dtype)
            for f in dataclasses.fields(dtype):
                if not f.init:
                    continue
                if f.metadata.get(CHECKED_KEY) or not _third_party_parents(dtype):
                    own.append(((not f.metadata.get("aliases"), f.name not in body), f, hints[f.name]))
                else:
                    inherited.append((dtype, f, hints[f.name]))
        if inherited:
            # beside a third-party parent's many fields: rlsuite's shared names first (--model, --data,
            # --budget, --out: the fields with an alias), then what the command's own class declares
            own.sort(key=lambda item: item[0])
            self.usage = self.usage or "%(prog)s [-h] [OPTIONS]"
        for _, f, hint in own:
            add_field(self, f, hint)
        groups: dict[type, argparse._ArgumentGroup] = {}
        for dtype, f, hint in inherited:
            if dtype not in groups:
                groups[dtype] = self.add_argument_group(f"inherited from {_third_party_parents(dtype)} (all accepted)")
            add_field(groups[dtype], f, hint, plain_help=False)

    def format_help(self) -> str:
        pending = self.__dict__.pop("_pending_defaults", None)
        if pending is not None:  # computed only when the help is shown (it may read files)
            actions = _dest_actions(self)
            for dest, text in pending().items():
                actions[dest].shown_default = text  # type: ignore[attr-defined]
        return super().format_help()

    def error(self, message: str) -> typing.NoReturn:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


_WORDS: list[frozenset[str] | None] = [None]


@contextlib.contextmanager
def only_requested(argv: Sequence[str]) -> Iterator[None]:
    """``with only_requested(argv): build the parser``: leaves of :func:`add_command` whose name is
    not a word of ``argv`` are listed, not built (their flags cost time and nobody asked for them)."""
    _WORDS.append(frozenset(a for a in argv if not a.startswith("-")))
    try:
        yield
    finally:
        _WORDS.pop()


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


def listed_help(text: str) -> str:
    """A command's help line as argparse's command list takes it: ``%`` escaped (it %-formats the line, so
    "95% CI" was a ValueError)."""
    return text.replace("%", "%%")


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
    shown_defaults: Callable[[], Mapping[str, str]] | None = None,
    shipped: str = "",
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
        config_file: accept ``--config FILE.yaml`` of config keys, and ``--set KEY=VALUE``.
        defaults: where defaults come from, given the first parse's namespace: a list of
            ``(mapping, where)`` applied in order (later wins) before the flags. The default reads
            the ``--config`` file as one flat mapping; a command whose files are keyed (RL Zoo's
            ``{env_id: {...}}``) passes its own reader.
        shown_defaults: returns ``{setting: text}``, the defaults ``--help`` shows where the value
            used is not the field's own (``3,000,000 steps``, ``0.99; 0.9 on rlsuite/GridWorld-v0
            from ppo.yml``); called only when the help is shown.
        shipped: the folder of shipped configs (under ``rlsuite/app/configs``) where ``--config NAME``
            looks first (``alignment``: ``--config dpo`` is ``alignment/dpo.yaml``).
    """
    listed = listed_help(help)
    if _WORDS[-1] is not None and name not in _WORDS[-1]:
        return subparsers.add_parser(name, help=listed)  # not asked for: listed only
    parser: ConfigParser = subparsers.add_parser(
        name, help=listed, description=description or help, dataclass_types=list(configs)
    )
    if arguments is not None:
        arguments(parser)
    if config_file:
        parser.add_argument(
            "--config", metavar="FILE.yaml", type=functools.partial(config_argument, folder=shipped),
            help="YAML mapping of settings (flags override it): a file, or when no such file is here, the name of "
            f"a config shipped with rlsuite (e.g. {shipped + '/' if shipped else ''}{_example_name(shipped)}; "
            "`rlsuite config-path` lists them)",
        )
        parser.add_argument(
            "--set", metavar="KEY=VALUE", nargs="+", help="set any setting, same as --KEY VALUE (YAML syntax for lists)"
        )
    parser._pending_defaults = shown_defaults  # type: ignore[attr-defined]
    parser.set_defaults(_run=run, _parser=parser, _defaults=defaults or _config_file_defaults)
    return parser


SHIPPED_CONFIGS = Path(__file__).resolve().parent / "configs"


@functools.cache
def shipped_configs() -> dict[str, Path]:
    """The config files shipped with rlsuite by name: ``ppo`` (configs/ppo.yml), ``alignment/dpo``, ..."""
    files = sorted(SHIPPED_CONFIGS.rglob("*.y*ml"))
    return {f.relative_to(SHIPPED_CONFIGS).with_suffix("").as_posix(): f for f in files}


def _example_name(folder: str) -> str:
    names = [n for n in shipped_configs() if n.startswith(folder + "/")] if folder else ["ppo_pixels"]
    return names[0].rpartition("/")[2] if names else "ppo"


def resolve_config(value: str | os.PathLike[str], folder: str = "") -> Path:
    """``--config VALUE``: the file ``VALUE`` when it exists (from the current folder), else the shipped
    config of that name (looked up in ``folder`` first, then among all shipped names), so that a command
    works from any folder after a wheel install. Raises ``UsageError`` (one line listing the names)."""
    path = Path(value).expanduser()
    if path.is_file():
        return path
    shipped = shipped_configs()
    name = str(value).removesuffix(".yml").removesuffix(".yaml").removeprefix("rlsuite/app/configs/")
    for key in (f"{folder}/{name}", name) if folder else (name,):
        if key in shipped:
            return shipped[key]
    raise UsageError(f"{value}: no such file here, nor a config shipped with rlsuite (shipped: {', '.join(shipped)})")


def config_argument(value: str, folder: str = "") -> Path:
    """``resolve_config`` as an argparse type (its message becomes the command's one-line error)."""
    try:
        return resolve_config(value, folder)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_config_path(subparsers: Any) -> None:
    """``rlsuite config-path [NAME]``: a shipped config's path (for rl_zoo3's ``-conf``, accelerate's
    ``--config_file``); without NAME every shipped name and its path."""
    p = subparsers.add_parser("config-path", help="print the path of a config file shipped with rlsuite (all: no NAME)",
                              description=add_config_path.__doc__.split(":", 1)[1].strip())  # type: ignore[union-attr]
    p.add_argument("name", nargs="?", help="a shipped config's name: ppo, ppo_pixels, alignment/dpo, "
                   "accelerate/multi_cpu, ...")  # fmt: skip
    p.set_defaults(func=_config_path)


def _config_path(ns: argparse.Namespace) -> int:
    if ns.name is None:
        for name, path in shipped_configs().items():
            print(f"{name:<28} {path}")
        return 0
    shipped = shipped_configs()
    name = ns.name.removesuffix(".yml").removesuffix(".yaml")
    if name not in shipped:
        raise UsageError(f"config-path {ns.name}: not a shipped config (shipped: {', '.join(shipped)})")
    print(shipped[name])
    return 0


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
            while i < len(argv) and _SET_ITEM.match(argv[i]):  # a KEY=VALUE word (never an option)
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
                    tail.extend(_option_tokens(key, value))  # YAML text that starts with "[" is a list
                else:
                    tail.extend([f"--{key}", raw])
                sources[key] = f"--set {item if len(item) <= 60 else item[:40] + f'...({len(item)} characters)'}"
            continue
        out.append(token)
        i += 1
    return out + tail, sources


def _dest_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Each setting's flag: the first action of its destination (not ``--no_NAME`` or a hidden spelling)."""
    actions: dict[str, argparse.Action] = {}
    for a in parser._actions:
        if a.option_strings and a.dest != "help":
            actions.setdefault(a.dest, a)
    return actions


def _spellings(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Every flag that sets a value -> its destination (aliases and hidden spellings included)."""
    return {
        s: a.dest
        for a in parser._actions
        if a.option_strings and a.dest != "help" and not isinstance(a, argparse._StoreFalseAction)
        for s in a.option_strings
    }


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
    spellings = {s.lstrip("-").replace("-", "_"): settable[d] for s, d in _spellings(parser).items() if d in settable}
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
    spellings = _spellings(parser)
    for token in argv:
        opt = token.split("=", 1)[0]
        if opt in spellings:
            flags[spellings[opt]] = opt
    return flags


def parse(parser: ConfigParser, argv: Sequence[str], expand_sets: bool = True) -> Parsed:
    """Parse ``argv`` (after the program name) with ``parser``, a tree of :func:`add_command` leaves.

    Returns the leaf's configs, built and checked. Raises ``ConfigError`` (one line) on any bad input.
    """
    argv, set_sources = _expand_sets(list(argv)) if expand_sets else (list(argv), {})
    ns, rest = parser.parse_known_args(argv)
    leaf = getattr(ns, "_parser", None)
    if set_sources and leaf is not None and "--set" not in _spellings(leaf):
        raise ConfigError(f"{leaf.prog}: takes no --set (its settings are flags: --KEY VALUE)")
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
