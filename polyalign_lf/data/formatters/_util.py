"""Small helpers shared by the formatters: typed column access with clear errors.

Errors raised here carry no file position; the ``prepare`` driver adds ``file:line`` of the row being
converted (see :func:`polyalign_lf.data.prepare.prepare_dataset`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from polyalign_lf.data.normalize import canonical_text
from polyalign_lf.errors import InputError


def _missing_column(column: str, default: Any) -> Any:
    """The value of an absent column: ``default``, or an error when there is none."""
    if default is None:
        raise InputError(f"missing column {column!r}")
    return default


def _as_list(value: Any) -> list | None:
    """``None`` → ``[]``; a list, tuple or array (numpy from parquet) → list; anything else → ``None``."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "tolist"):  # numpy arrays from parquet
        return list(value.tolist())
    return None


def get_text(row: Mapping[str, Any], column: str, *, default: str | None = None) -> str:
    """A string column. Missing → ``default`` (error if no default); ``None`` → ``""``; numbers → str."""
    if column not in row:
        return _missing_column(column, default)
    value = row[column]
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"column {column!r} must be a string, got {type(value).__name__}")


def get_list(row: Mapping[str, Any], column: str, *, default: list | None = None) -> list:
    """A list column (``None`` → ``[]``). Missing → ``default`` (error if no default)."""
    if column not in row:
        return _missing_column(column, default)
    value = _as_list(row[column])
    if value is None:
        raise InputError(f"column {column!r} must be a list, got {type(row[column]).__name__}")
    return value


def get_struct(row: Mapping[str, Any], column: str) -> Mapping[str, Any]:
    """A struct column (Hub ``Sequence``/dict-of-lists such as SQuAD ``answers``)."""
    if column not in row:
        raise InputError(f"missing column {column!r}")
    value = row[column]
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(f"column {column!r} must be an object, got {type(value).__name__}")
    return value


def struct_list(struct: Mapping[str, Any], key: str, column: str) -> list:
    raw = struct.get(key)
    value = _as_list(raw)
    if value is None:
        raise InputError(f"column {column!r}.{key} must be a list, got {type(raw).__name__}")
    return value


def struct_values(row: Mapping[str, Any], column: str, key: str) -> list:
    """The ``key`` values of a column of records in either layout: the Hub's dict of lists
    (``{"input_text": [...], ...}``) or the release files' list of objects (``[{"input_text": ...}, ...]``)."""
    if column not in row:
        raise InputError(f"missing column {column!r}")
    value = row[column]
    if value is None:
        return []
    if isinstance(value, Mapping):
        return struct_list(value, key, column)
    if isinstance(value, list):
        return [item.get(key) if isinstance(item, Mapping) else None for item in value]
    raise InputError(f"column {column!r} must be an object of lists or a list of objects, got {type(value).__name__}")


def first_nonempty(texts: list) -> str:
    for text in texts:
        if isinstance(text, str) and text.strip():
            return text
    return ""


def short_hash(*parts: str) -> str:
    """A stable 12-hex id from texts (used where a source has no row id)."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=6).hexdigest()


def canonical_group(*parts: str) -> str:
    """A split/group key that is insensitive to case, width and spacing (so copies land together)."""
    return "::".join(canonical_text(p) for p in parts)
