"""Reading and validating TOML configs.

Every config in ``configs/`` is checked against a small declarative schema: unknown
keys, missing keys, wrong types and non-positive sizes are rejected with one line
that names the file, the key and what was expected (:class:`ConfigError`). Every
numeric key must carry a source in the table's ``sources`` inline table.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


class ConfigError(ValueError):
    """A config file (or a user input) is invalid; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Field:
    """One key of a schema.

    kind: python type expected (float accepts int; bool is never a number).
    required: the key must be present.
    minimum: numbers must be >= minimum (None: no bound); ``positive`` means > 0.
    choices: allowed values for strings.
    """

    kind: type | tuple[type, ...]
    required: bool = True
    positive: bool = False
    minimum: float | None = None
    choices: tuple[str, ...] | None = None
    sourced: bool = True  # numeric keys need an entry in `sources`


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("number" if k is float else k.__name__ for k in kinds)


def _is_kind(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if k is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if k is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if k not in (int, float) and isinstance(value, k):
            return True
    return False


def check_table(
    table: Any, schema: dict[str, Field], where: str, *, need_sources: bool = True
) -> dict[str, Any]:
    """Validate ``table`` against ``schema``; return it. ``where`` is 'file: section'."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    allowed = set(schema) | ({"sources"} if need_sources else set())
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key '{key}' (expected one of: {', '.join(sorted(allowed))})"
            )
    for key, field in schema.items():
        if key not in table:
            if field.required:
                raise ConfigError(
                    f"{where}: missing key '{key}' (expected {_type_name(field.kind)})"
                )
            continue
        value = table[key]
        if not _is_kind(value, field.kind):
            raise ConfigError(
                f"{where}: key '{key}' must be {_type_name(field.kind)}, got {value!r}"
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if field.positive and not value > 0:
                raise ConfigError(f"{where}: key '{key}' must be > 0, got {value!r}")
            if field.minimum is not None and value < field.minimum:
                raise ConfigError(
                    f"{where}: key '{key}' must be >= {field.minimum:g}, got {value!r}"
                )
        if field.choices is not None and value not in field.choices:
            raise ConfigError(
                f"{where}: key '{key}' must be one of {', '.join(field.choices)}, got {value!r}"
            )
    if need_sources:
        _check_sources(table, schema, where)
    return table


def _check_sources(table: dict[str, Any], schema: dict[str, Field], where: str) -> None:
    sources = table.get("sources")
    if sources is None:
        raise ConfigError(f"{where}: missing key 'sources' (a table: key -> source)")
    if not isinstance(sources, dict):
        raise ConfigError(f"{where}: key 'sources' must be a table of key -> source")
    for key, value in table.items():
        field = schema.get(key)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if field is not None and field.sourced and is_number:
            text = sources.get(key)
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"{where}: key '{key}' has no source in 'sources'")
    for key in sources:
        if key not in table:
            raise ConfigError(f"{where}: 'sources' names '{key}', which is not a key here")


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; a missing file or a syntax error is a ConfigError."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None


def config_path(kind: str, ident: str) -> Path:
    """Path of the built-in config ``configs/<kind>/<ident>.toml``; unknown ids fail."""
    path = CONFIG_DIR / kind / f"{ident}.toml"
    if not path.exists():
        known = ", ".join(list_ids(kind))
        raise ConfigError(f"unknown {kind[:-1]} id '{ident}' (known: {known})")
    return path


def list_ids(kind: str) -> list[str]:
    """Ids of the built-in configs of one kind (chips, models, ...), sorted."""
    return sorted(p.stem for p in (CONFIG_DIR / kind).glob("*.toml"))
