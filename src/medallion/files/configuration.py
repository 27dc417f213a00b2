"""Pipeline configuration: merge the layers of key/values and substitute ``${key}`` in specs.

The layers, weakest first: the file's ``configuration``, the selected environment's
``configuration``, then values given by the caller (``--conf key=value``, or the pipeline a
file is loaded into). A value may itself refer to other keys (``raw: ${root}/raw``). ``$${``
writes a literal ``${``.

Example:
    >>> conf = resolve_configuration([{"root": "/data"}, {"raw": "${root}/raw"}])
    >>> substitute("${raw}/orders", conf, "path")
    '/data/raw/orders'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from medallion.errors import SpecError

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class ConfigurationError(SpecError):
    """A ``${key}`` names no configuration value, or configuration values refer in a loop."""

    def __init__(self, message: str, *, key: str) -> None:
        self.key = key
        super().__init__(message, field=key)


def config_text(value: Any) -> str:
    """A configuration value as text (Databricks pipeline configuration values are strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def references(text: str) -> list[str]:
    """The keys ``text`` refers to with ``${key}``."""
    return [m.group(1).strip() for m in _REFERENCE.finditer(text) if m.group(1) is not None]


def substitute(
    text: str,
    conf: Mapping[str, str],
    where: str,
    fallback: Callable[[str], str | None] | None = None,
) -> str:
    """Replace each ``${key}`` in ``text`` with its configuration value.

    Args:
        text: The text holding references.
        conf: The resolved configuration.
        where: What holds the text, for the error message (``"tables[0].path"``).
        fallback: Looked up for keys missing from ``conf`` (e.g. the Databricks pipeline's
            Spark conf).

    Raises:
        ConfigurationError: a key is not configured (names it, with "did you mean").
    """

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key is None:
            return "${"
        key = key.strip()
        if key in conf:
            return conf[key]
        found = fallback(key) if fallback is not None else None
        if found is not None:
            return found
        raise _unknown(key, conf, where)

    return _REFERENCE.sub(replace, text)


def _unknown(key: str, conf: Mapping[str, str], where: str) -> ConfigurationError:
    if not _KEY.match(key):
        return ConfigurationError(
            f"{where}: '${{{key}}}' is not a configuration reference: a key is letters, digits, "
            "'_', '.' or '-' (write '$${' for a literal '${')", key=key,
        )
    close = difflib.get_close_matches(key, list(conf), n=1)
    hint = f" Did you mean '${{{close[0]}}}'?" if close else ""
    known = ", ".join(sorted(conf)) or "none"
    return ConfigurationError(
        f"{where}: '${{{key}}}' names no configuration value.{hint} Configured keys: {known}. "
        f"Set it under 'configuration:' in the file or with --conf {key}=VALUE.", key=key,
    )


def resolve_configuration(
    layers: Iterable[Mapping[str, Any]],
    fallback: Callable[[str], str | None] | None = None,
) -> dict[str, str]:
    """Merge configuration layers (later ones win) and resolve references between values.

    Raises:
        ConfigurationError: a value refers to a missing key, or values refer to each other in a
            loop.
    """
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update({str(k): config_text(v) for k, v in layer.items()})
    resolved: dict[str, str] = {}

    def resolve(key: str, chain: tuple[str, ...]) -> str:
        if key in resolved:
            return resolved[key]
        if key in chain:
            loop = " -> ".join((*chain[chain.index(key):], key))
            raise ConfigurationError(
                f"configuration values refer to each other in a loop: {loop}; give one of them "
                "a literal value", key=key,
            )
        value = merged[key]
        inner = {k: resolve(k, (*chain, key)) for k in references(value) if k in merged}
        resolved[key] = substitute(value, inner, f"configuration '{key}'", fallback)
        return resolved[key]

    for key in merged:
        resolve(key, ())
    return resolved


def substitute_all(
    value: Any,
    conf: Mapping[str, str],
    where: Callable[[tuple[str | int, ...]], str],
    path: tuple[str | int, ...] = (),
    fallback: Callable[[str], str | None] | None = None,
) -> Any:
    """``value`` with ``${key}`` substituted in every string it holds (mapping keys too)."""
    if isinstance(value, str):
        return substitute(value, conf, where(path), fallback) if "${" in value else value
    if isinstance(value, Mapping):
        return {
            (substitute(k, conf, where((*path, k)), fallback) if isinstance(k, str) and "${" in k
             else k): substitute_all(v, conf, where, (*path, k), fallback)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute_all(v, conf, where, (*path, i), fallback) for i, v in enumerate(value)]
    return value
