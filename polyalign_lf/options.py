"""Validated numbers for every command option and config key.

Each check runs where the value is parsed: argparse types for command options (argparse then prints
``argument --NAME: …`` and exits 2), :func:`check_number` for config dataclasses and keys read from files.
NaN and infinity are never numbers here; a count has a minimum; a probability lies in [0, 1].
"""

from __future__ import annotations

import argparse
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


def parse_with_config(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; when the chosen (sub)command has a ``--config`` file, its values become that parser's
    defaults and ``argv`` is parsed again (the (sub)parser names itself in the ``_parser`` default)."""
    args = parser.parse_args(argv)
    owner = getattr(args, "_parser", None)
    if getattr(args, "config", None) is not None and owner is not None:
        owner.set_defaults(**config_defaults(owner, args.config))
        args = parser.parse_args(argv)
    return args


def add_deprecated_alias(parser, old: str, new: str, **kwargs) -> None:
    """Keep an old option spelling working for one release: it stores into ``new``'s destination (with the same
    type checks) and prints a one-line warning naming the new spelling. Hidden from ``--help``."""

    class _Deprecated(argparse._StoreAction):
        def __call__(self, parser, namespace, values, option_string=None):

            print(f"{parser.prog}: warning: {option_string} is deprecated; use {new}", file=sys.stderr)
            super().__call__(parser, namespace, values, option_string)

    parser.add_argument(old, action=_Deprecated, help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)


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
