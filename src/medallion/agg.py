"""Constructors for typed gold aggregations.

Example:
    >>> from medallion import agg
    >>> agg.sum("amount", alias="total_sales")
    Aggregation(func='sum', column='amount', alias='total_sales')
"""

from __future__ import annotations

from medallion.specs.gold import Aggregation

__all__ = ["avg", "count", "count_distinct", "max", "min", "sum"]


def count(column: str | None = None, *, alias: str) -> Aggregation:
    """``count(column)``: non-NULL values; ``count()`` counts rows."""
    return Aggregation(func="count", column=column, alias=alias)


def count_distinct(column: str, *, alias: str) -> Aggregation:
    """``count(DISTINCT column)``."""
    return Aggregation(func="count_distinct", column=column, alias=alias)


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

