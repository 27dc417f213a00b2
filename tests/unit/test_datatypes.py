"""The Spark SQL data type grammar, checked without Spark (verdicts shared with the Spark test)."""

from __future__ import annotations

import pytest

from medallion.specs.datatypes import DataTypeError, check_type, parse_data_type
from tests.datatype_cases import INVALID, VALID


@pytest.mark.parametrize(("text", "canonical"), list(VALID.items()))
def test_valid_types_parse_to_their_canonical_spelling(text: str, canonical: str) -> None:
    assert parse_data_type(text) == canonical


@pytest.mark.parametrize(("text", "reason"), list(INVALID.items()))
def test_invalid_types_say_why(text: str, reason: str) -> None:
    with pytest.raises(DataTypeError) as info:
        parse_data_type(text)
    assert str(info.value) == reason


def test_check_type_names_what_and_the_bad_type() -> None:
    assert check_type("decimal(10,2)", "cast of column 'amount'") == "decimal(10,2)"
    with pytest.raises(ValueError, match="decimall") as info:
        check_type("decimall(10,2)", "cast of column 'amount'")
    assert str(info.value) == (
        "cast of column 'amount': 'decimall(10,2)' is not a Spark SQL data type: unknown type "
        "'decimall'; did you mean 'decimal'?"
    )


def test_a_non_string_type_is_refused() -> None:
    with pytest.raises(DataTypeError, match="the type is empty"):
        parse_data_type(None)  # type: ignore[arg-type]
