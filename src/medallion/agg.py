"""Constructors for typed gold aggregations.

Example:
    >>> from medallion import agg
    >>> agg.sum("amount", alias="total_sales").sql()
    'sum(amount)'
"""

from __future__ import annotations

from medallion.specs.gold import Aggregation

__all__ = [
    "approx_count_distinct",
    "approx_percentile",
    "avg",
    "count",
    "count_distinct",
    "first",
    "last",
    "max",
    "min",
    "sum",
]


def count(column: str | None = None, *, alias: str) -> Aggregation:
    """``count(column)``: non-NULL values; ``count()`` counts rows."""
    return Aggregation(func="count", column=column, alias=alias)


def count_distinct(column: str, *, alias: str) -> Aggregation:
    """``count(DISTINCT column)``."""
    return Aggregation(func="count_distinct", column=column, alias=alias)


def approx_count_distinct(column: str, *, alias: str) -> Aggregation:
    """``approx_count_distinct(column)`` (HyperLogLog; a table using it is always recomputed)."""
    return Aggregation(func="approx_count_distinct", column=column, alias=alias)


def sum(column: str, *, alias: str) -> Aggregation:
    """``sum(column)``; decimal input stays decimal."""
    return Aggregation(func="sum", column=column, alias=alias)


def avg(column: str, *, alias: str) -> Aggregation:
    """``avg(column)``."""
    return Aggregation(func="avg", column=column, alias=alias)


def min(column: str, *, alias: str) -> Aggregation:
    """``min(column)``."""
    return Aggregation(func="min", column=column, alias=alias)


def max(column: str, *, alias: str) -> Aggregation:
    """``max(column)``."""
    return Aggregation(func="max", column=column, alias=alias)


def first(column: str, *, order_by: str, alias: str) -> Aggregation:
    """The value of ``column`` on the row with the smallest ``order_by`` (ties: smallest value).

    Example:
        >>> first("status", order_by="order_date", alias="first_status").func
        'first'
    """
    return Aggregation(func="first", column=column, order_by=order_by, alias=alias)


def last(column: str, *, order_by: str, alias: str) -> Aggregation:
    """The value of ``column`` on the row with the greatest ``order_by`` (ties: greatest value)."""
    return Aggregation(func="last", column=column, order_by=order_by, alias=alias)


def approx_percentile(column: str, percentage: float, *, alias: str,
                      accuracy: int = 10000) -> Aggregation:
    """``approx_percentile(column, percentage, accuracy)``, e.g. ``0.5`` for the median."""
    return Aggregation(func="approx_percentile", column=column, percentage=percentage,
                       accuracy=accuracy, alias=alias)
