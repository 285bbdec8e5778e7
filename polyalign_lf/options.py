"""Validated numbers for every command option and config key.

Each check runs where the value is parsed: argparse types for command options (argparse then prints
``argument --NAME: …`` and exits 2), :func:`check_number` for config dataclasses and keys read from files.
NaN and infinity are never numbers here; a count has a minimum; a probability lies in [0, 1].
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from polyalign_lf.errors import ConfigError, InputError


def _range_text(minimum: float | None, maximum: float | None, *, integer: bool, above: bool = False) -> str:
    kind = "an integer" if integer else "a finite number"
    if above and minimum is not None:
        return f"{kind} > {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
    if minimum is not None and maximum is not None:
        return f"{kind} in [{minimum:g}, {maximum:g}]"
    if minimum is not None:
        return f"{kind} >= {minimum:g}"
    if maximum is not None:
        return f"{kind} <= {maximum:g}"
    return kind


def number_problem(
    value: object,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    integer: bool = False,
    above: bool = False,
) -> str | None:
    """Why ``value`` is not a valid number in the range, or None when it is (``above``: strictly > minimum)."""
    expected = f"must be {_range_text(minimum, maximum, integer=integer, above=above)}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return expected
    if integer and not isinstance(value, int) and not (math.isfinite(value) and float(value).is_integer()):
        return expected
    if not math.isfinite(value) or (maximum is not None and value > maximum):
        return expected
    if minimum is not None and (value <= minimum if above else value < minimum):
        return expected
    return None


def check_number(
    name: str,
    value: object,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    integer: bool = False,
    above: bool = False,
    optional: bool = False,
) -> None:
    """Raise :class:`ConfigError` naming ``name`` unless ``value`` is finite and in range (None allowed if optional)."""
    if optional and value is None:
        return
    problem = number_problem(value, minimum, maximum, integer=integer, above=above)
    if problem:
        raise ConfigError(f"{name} {problem}")


def _parser(
    minimum: float | None, maximum: float | None, integer: bool, above: bool = False
) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        if isinstance(text, (int, float)) and not isinstance(text, bool):  # a value from a YAML/JSON config
            problem = number_problem(text, minimum, maximum, integer=integer, above=above)
            if problem:
                raise argparse.ArgumentTypeError(problem)
            return int(text) if integer else float(text)
        try:
            value: float | int = int(text) if integer else float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"must be {_range_text(minimum, maximum, integer=integer, above=above)}, got {text!r}"
            ) from None
        problem = number_problem(value, minimum, maximum, integer=integer, above=above)
        if problem:
            raise argparse.ArgumentTypeError(problem.replace(repr(value), repr(text)))
        return value

    parse.__name__ = "integer" if integer else "number"  # argparse names the type in some messages
    return parse


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer in range (a seed: ``integer()``; a batch size: ``integer(1)``)."""
    return _parser(minimum, maximum, True)  # type: ignore[return-value]


def number(
    minimum: float | None = None, maximum: float | None = None, *, above: bool = False
) -> Callable[[str], float]:
    """argparse type: a finite float in range (``above``: strictly greater than ``minimum``)."""
    return _parser(minimum, maximum, False, above)  # type: ignore[return-value]


count = integer(1)
"""argparse type: a count that must be at least 1 (batch sizes, epochs, seeds-per-study, concurrency)."""

non_negative_int = integer(0)
"""argparse type: an integer >= 0 (limits, sample sizes, retries; leave the option unset for "no limit")."""

non_negative = number(0.0)
"""argparse type: a finite float >= 0 (coefficients, tolerances, timeouts)."""

positive = number(0.0, above=True)
"""argparse type: a finite float > 0 (learning rates, timeouts, scales)."""

probability = number(0.0, 1.0)
"""argparse type: a finite float in [0, 1]."""


def config_defaults(parser: argparse.ArgumentParser, config_path: str | os.PathLike) -> dict[str, object]:
    """The option values of a YAML/JSON ``--config`` file (keys are option names, ``batch_size`` or
    ``batch-size``), converted and checked like command-line values, as ``{dest: value}``.

    They become the parser's defaults before the command line is parsed again (TRL's
    ``set_defaults_with_config``), so an option given on the command line always wins over the file, even
    when it equals the built-in default. Unknown keys and bad values are errors naming the file.
    """
    import yaml

    path = Path(config_path)
    if not path.is_file():
        raise InputError("config file not found", where=str(path))
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", where=str(path)) from None
    if not isinstance(config, dict):
        raise InputError("expected a mapping of option names to values", where=str(path))
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help", "config")}
    defaults: dict[str, object] = {}
    for key, value in config.items():
        dest = str(key).replace("-", "_")
        action = actions.get(dest)
        if action is None:
            raise ConfigError(f"{path}: unknown option {key!r}; known: {', '.join(sorted(actions))}")
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            if not isinstance(value, bool):  # the string "false" would read as true
                raise ConfigError(f"{path}: {key} must be true or false (a YAML boolean), got {value!r}")
            defaults[dest] = value if isinstance(action, argparse._StoreTrueAction) else not value
            continue
        single = action.nargs is None and not isinstance(action, argparse._AppendAction)
        if isinstance(value, dict) or (single and isinstance(value, list)):
            raise ConfigError(f"{path}: {key} takes a single value, got {type(value).__name__} {value!r}")
        if action.type is None and value is not None and not isinstance(value, list):
            value = str(value)  # as the command line would pass it
        if action.type is not None and value is not None:
            try:
                value = [action.type(v) for v in value] if isinstance(value, list) else action.type(value)
            except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
                raise ConfigError(f"{path}: {key} {exc}") from None
        if isinstance(action, argparse._AppendAction) and not isinstance(value, list):
            value = [value]
        if action.choices is not None and value not in action.choices:
            raise ConfigError(f"{path}: {key} must be one of {', '.join(map(str, action.choices))}, got {value!r}")
        defaults[dest] = value
    return defaults


CONFIG_HELP = (
    "YAML or JSON file whose keys are this command's options (batch_size or batch-size); options given on the "
    "command line override it"
)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """Give the command ``--config`` (each of its sub-commands, when it has them), unless it defines its own."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if subparsers:
        for sub in dict.fromkeys(subparsers[0].choices.values()):
            add_config_option(sub)
        return
    if not any("--config" in a.option_strings for a in parser._actions):
        parser.add_argument("--config", metavar="FILE", default=None, help=CONFIG_HELP)
    parser.set_defaults(_parser=parser)


def _chosen_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The (sub-)parser ``argv`` selects: the command's, or its sub-command's."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for k, token in enumerate(argv):
                if token in action.choices:
                    return _chosen_parser(action.choices[token], argv[k + 1 :])
    return parser


def config_path(argv: list[str]) -> str | None:
    """The value of ``--config`` in ``argv`` (``--config F`` or ``--config=F``), None without one."""
    for k, token in enumerate(argv):
        if token == "--":
            break
        if token == "--config" and k + 1 < len(argv):
            return argv[k + 1]
        if token.startswith("--config="):
            return token.partition("=")[2]
    return None


def parse_with_config(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; a ``--config`` file's values become the chosen (sub-)parser's defaults first (TRL's
    ``set_defaults_with_config``), so explicit options win and a required option may come from the file."""
    path = config_path(argv)
    if path is not None:
        owner = _chosen_parser(parser, argv)
        defaults = config_defaults(owner, path)
        owner.set_defaults(**defaults)
        for action in owner._actions:
            if action.dest in defaults:
                action.required = False
        for group in owner._mutually_exclusive_groups:  # a renamed required option given in the file
            if any(action.dest in defaults for action in group._group_actions):
                group.required = False
    return parser.parse_args(argv)


def _warning_action(base: type[argparse.Action], old: tuple[str, ...], new: str) -> type[argparse.Action]:
    """``base`` that prints a one-line warning naming ``new`` when one of the ``old`` spellings is used (old
    spellings work for one release)."""

    class Deprecated(base):  # type: ignore[misc, valid-type]
        def __call__(self, parser, namespace, values, option_string=None):
            if option_string in old:
                print(f"{parser.prog}: warning: {option_string} is deprecated; use {new}", file=sys.stderr)
            super().__call__(parser, namespace, values, option_string)

    return Deprecated


_DEVICE_RE = re.compile(r"^(cpu|cuda|mps|xpu)(:\d+)?$")


def torch_device(value: str, *, allow_auto: bool = False) -> str:
    """argparse type: a torch device that exists here (``cpu``, ``cuda``, ``cuda:N``, ``mps``, ``xpu``; ``auto``
    where the command picks one). A GPU device is checked against ``torch.cuda`` before any work starts."""
    value = value.strip()
    if allow_auto and value == "auto":
        return value
    if not _DEVICE_RE.match(value):
        choices = "cpu, cuda, cuda:N, mps or xpu" + (" (or auto)" if allow_auto else "")
        raise argparse.ArgumentTypeError(f"{value!r} is not a torch device: use {choices}")
    if value.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(
                f"{value}: this PyTorch sees no CUDA GPU (torch.cuda.is_available() is False); use --device cpu"
            )
        index = int(value.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"{value}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return value


def torch_device_or_auto(value: str) -> str:
    return torch_device(value, allow_auto=True)


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be used as one file or folder name (None when it can): a name never reaches
    outside the folder it is written into."""
    if not value or not value.strip():
        return "is empty"
    if value in (".", "..") or "/" in value or "\\" in value or os.sep in value or (os.altsep and os.altsep in value):
        return "is not a single file or folder name (it contains a path separator or is '.'/'..')"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "contains control characters"
    if value != value.strip():
        return "starts or ends with whitespace"
    return None


def path_component(value: str) -> str:
    """argparse type: a name that becomes one file or folder name under ``--out`` (no separators, no '..')."""
    problem = name_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(
            f"{value!r} {problem}; names become file or folder names inside --out, so use letters, digits, '-', "
            "'_' and '.', e.g. my_faq"
        )
    return value


path_component.__name__ = "name"


# ------------------------------------------------------------------ options generated from a config dataclass
#
# TRL's way (HfArgumentParser over dataclasses with ``field(metadata={"help": ...})``): a command's config
# dataclass holds each option's default, help, choices and checked type once, and the command's parser is
# generated from it, so the command line cannot drift from the library's defaults.


def option(
    default: object = dataclasses.MISSING,
    *,
    help: str | Callable[[], str],
    default_factory: Callable[[], object] | object = dataclasses.MISSING,
    flag: str | None = None,
    aliases: tuple[str, ...] = (),
    type: Callable[[str], object] | None = None,
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None,
    metavar: str | None = None,
    group: str | None = None,
    required: bool | None = None,
    deprecated: tuple[str, ...] = (),
) -> object:
    """A config field that is also a command option.

    Its flag is ``--field-name`` unless ``flag`` says otherwise (``flag="positional"``: a positional argument);
    ``aliases`` are extra spellings; ``type`` an argparse type such as :func:`count` (int and float fields get
    a finite-number check without one); ``choices`` and ``help`` may be functions, called when the parser is
    built (choices that come from a registry); ``group`` titles the help section; ``required`` overrides what
    the default implies (a field with a default that the command line must still give); ``deprecated`` are old
    spellings that still work for one release, with a warning. A ``list`` field takes
    one or more values and may be repeated (``--x a b --x c``); a ``bool`` field is a switch."""
    metadata = {
        "help": help,
        "flag": flag,
        "aliases": aliases,
        "type": type,
        "choices": choices,
        "metavar": metavar,
        "group": group,
        "required": required,
        "deprecated": deprecated,
    }
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)  # type: ignore[arg-type]
    return dataclasses.field(default=default, metadata=metadata)


def option_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of ``cls`` declared with :func:`option` (the others are not command options)."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


def field_default(f: dataclasses.Field) -> object:
    """A field's default value (None for a required field)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def add_dataclass_options(
    parser: argparse.ArgumentParser, cls: type, *, exclude: tuple[str, ...] = (), defaults: dict | None = None
) -> None:
    """Add one option per :func:`option` field of ``cls`` (except ``exclude``): its flag, default, help, type
    and choices. ``defaults`` replaces some fields' defaults (a command whose default differs from the
    library's, e.g. a device chosen for the user)."""
    import typing

    hints = typing.get_type_hints(cls)
    for f in option_fields(cls):
        if f.name in exclude:
            continue
        meta = f.metadata
        target = parser
        if meta.get("group"):  # one help section per title, across calls
            target = next((g for g in parser._action_groups if g.title == meta["group"]), None) or (
                parser.add_argument_group(meta["group"])
            )
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        required = not has_default if meta.get("required") is None else meta["required"]
        default = (defaults or {}).get(f.name, field_default(f))
        kind = hints[f.name]
        help_text = meta["help"]() if callable(meta["help"]) else meta["help"]
        kwargs: dict[str, object] = {"help": help_text}
        positional = meta["flag"] == "positional"
        flags = [f.name] if positional else [meta["flag"] or "--" + f.name.replace("_", "-"), *meta["aliases"]]
        if not positional:
            kwargs["dest"] = f.name
        if kind is bool:
            target.add_argument(*flags, action="store_true", **kwargs)
            continue
        choices = meta["choices"]() if callable(meta["choices"]) else meta["choices"]
        kwargs["default"] = default
        if not positional:
            kwargs["required"] = required
        elif not required and typing.get_origin(_plain(kind)) is not list:
            kwargs["nargs"] = "?"  # an optional positional
        if choices is not None:
            kwargs["choices"] = tuple(choices)
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        if typing.get_origin(_plain(kind)) is list:
            kwargs["nargs"] = "+" if required else "*"
            if not positional:
                kwargs["action"] = "extend"
        if meta["type"] is not None:
            kwargs["type"] = meta["type"]
        elif _plain(kind) is int:
            kwargs["type"] = integer()
        elif _plain(kind) is float:
            kwargs["type"] = number()
        deprecated = tuple(meta.get("deprecated", ()))
        if deprecated and kwargs.get("required"):
            # the new or an old spelling must be given: one required group (argparse checks required options
            # by action, and an old spelling is an action of its own, so its errors name the flag typed)
            kwargs["required"] = False
            target = target.add_mutually_exclusive_group(required=True)
        target.add_argument(*flags, **kwargs)
        base = argparse._ExtendAction if kwargs.get("action") == "extend" else argparse._StoreAction
        for old in deprecated:
            extra = {k: kwargs[k] for k in ("type", "nargs", "choices", "metavar") if k in kwargs}
            target.add_argument(
                old,
                dest=f.name,
                action=_warning_action(base, (old,), flags[0]),
                help=argparse.SUPPRESS,
                default=argparse.SUPPRESS,
                **extra,
            )


def _plain(kind: object) -> object:
    """``int`` for ``int | None`` (an optional option), else the annotation itself."""
    import types
    import typing

    if typing.get_origin(kind) not in (typing.Union, types.UnionType):
        return kind
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if len(args) == 1 else kind


def config_from_args(cls: type, args: argparse.Namespace, **overrides: object) -> object:
    """The config dataclass of a parsed command line: its :func:`option` fields from ``args``, the rest from
    ``overrides`` or their defaults."""
    values = {f.name: getattr(args, f.name) for f in option_fields(cls) if hasattr(args, f.name)}
    return cls(**{**values, **overrides})


def check_options(config: object) -> object:
    """Check every :func:`option` field of ``config`` with the option's own type and choices (the ranges the
    command line enforces, now for a config built in code or read from a file); a bad value is a
    :class:`ConfigError` naming the field. Returns ``config``."""
    for f in option_fields(type(config)):
        value = getattr(config, f.name)
        if value is None or isinstance(value, (list, tuple)):
            continue
        check = f.metadata["type"]
        if check is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                check(value)
            except argparse.ArgumentTypeError as exc:
                raise ConfigError(f"{f.name} {exc}") from None
        choices = f.metadata["choices"]
        choices = choices() if callable(choices) else choices
        if choices is not None and value not in choices:
            raise ConfigError(f"{f.name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return config


DEVICE_RULE = "cpu, cuda, cuda:N, mps, xpu or auto; unset or auto = CUDA when available, else CPU"


def device_option(what: str, **kwargs: object) -> object:
    """The ``--device`` option of every command: one type, one default and one rule (core/devices.py)."""
    return option(None, type=torch_device_or_auto, help=f"{what}: {DEVICE_RULE}", **kwargs)


def dtype_option(what: str, **kwargs: object) -> object:
    """The ``--dtype`` option: its choices and its ``auto`` rule, once (core/devices.py)."""
    from polyalign_lf.core.devices import DTYPES

    return option("auto", choices=DTYPES, help=f"{what} (auto: bf16 on a bf16-capable GPU, else float32)", **kwargs)
