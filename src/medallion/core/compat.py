"""What medallion needs from pyspark, on each Spark line it supports (3.5 and 4.x).

Spark 4.0 added APIs the local runner and :mod:`medallion.core.bronze` use:
``DataType.fromDDL``, ``Column.try_cast`` and the variant type. On Spark 3.5 each takes another
route with the same result:

- a DDL string is parsed by the JVM (``_parse_datatype_string``, which needs a running Spark);
- ``try_cast`` builds the same Catalyst ``Cast`` in TRY mode that SQL ``try_cast`` builds;
- JSON values are kept as text and re-encoded (:func:`json_value`) instead of going through
  variant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medallion.errors import MedallionError

if TYPE_CHECKING:
    from pyspark.sql import Column
    from pyspark.sql.types import DataType


def spark_line() -> tuple[int, int]:
    """The installed pyspark's (major, minor)."""
    import pyspark

    major, minor = pyspark.__version__.split(".")[:2]
    return int(major), int(minor)


def has_variant() -> bool:
    """Whether this Spark has the variant type (``parse_json``, ``variant_get``): 4.0 on."""
    return spark_line() >= (4, 0)


def parse_ddl(ddl: str) -> DataType:
    """A DDL type (``"a INT, b STRING"`` or ``"decimal(10,2)"``) as a pyspark DataType.

    Raises:
        MedallionError: on Spark 3.5 without a running Spark session (the JVM parses it there).
    """
    from pyspark.sql.types import DataType

    from_ddl = getattr(DataType, "fromDDL", None)
    if from_ddl is not None:
        return from_ddl(ddl)  # type: ignore[no-any-return]
    from pyspark import SparkContext
    from pyspark.sql.types import _parse_datatype_string

    if SparkContext._active_spark_context is None:
        raise MedallionError(
            f"cannot parse the schema '{ddl}' yet: Spark {'.'.join(map(str, spark_line()))} "
            "parses DDL in its JVM, so start a session first (medallion.local_session()), or "
            "use Spark 4.0 or later"
        )
    return _parse_datatype_string(ddl)


def try_cast(value: Column, type_: DataType) -> Column:
    """``value`` cast to ``type_``, NULL where it does not convert (SQL ``try_cast``)."""
    # looked up on the class: a pyspark 3.5 Column answers any attribute with a field access
    if hasattr(type(value), "try_cast"):
        return value.try_cast(type_)
    from pyspark.sql import Column, SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:  # pragma: no cover - columns are only built under a session
        raise MedallionError("try_cast on Spark 3.5 needs an active Spark session")
    jvm: Any = spark._jvm
    expressions = jvm.org.apache.spark.sql.catalyst.expressions
    cast = expressions.Cast(
        getattr(value, "_jc").expr(),  # noqa: B009 - a private attribute pyspark types as a Column
        jvm.org.apache.spark.sql.types.DataType.fromJson(type_.json()),
        jvm.scala.Option.empty(),
        expressions.EvalMode.TRY(),
    )
    return Column(jvm.org.apache.spark.sql.Column(cast))


def json_string(text: Column) -> Column:
    """``text`` as a quoted, escaped JSON string."""
    from pyspark.sql import functions as F

    return F.regexp_extract(F.to_json(F.array(text)), r"^\[(.*)\]$", 1)  # Spark's escaping


def json_value(text: Column) -> Column:
    """The JSON of a value that ``from_json(..., "map<string,string>")`` returned as ``text``.

    Spark keeps a nested object, an array, a number or a boolean as its JSON text and a string
    without its quotes; so text that is a JSON value stays as it is, other text is quoted, and
    NULL (JSON null) is ``null``. A string whose content is itself JSON (``"true"``, ``"12"``)
    cannot be told from the literal here: it is written unquoted.
    """
    from pyspark.sql import functions as F

    valid = F.get_json_object(F.concat(F.lit('{"v":'), text, F.lit("}")), "$.v").isNotNull()
    return F.when(text.isNull(), F.lit("null")).when(valid, text).otherwise(json_string(text))
