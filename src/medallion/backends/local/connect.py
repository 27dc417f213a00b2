"""Spark Connect for the local runner, and Databricks Connect's pyspark recognised by name.

``local_session(remote="sc://host:port")`` (``medallion run --remote``, or
``$MEDALLION_SPARK_REMOTE``) returns a Spark Connect session: the runner then drives a Spark
Connect server that has Delta Lake on its classpath. What the runner does differently there
is decided here, by asking the session (:func:`is_connect`), never by catching the errors of
APIs that Connect lacks.

``databricks-connect`` replaces pyspark's session builder with one that can only talk to a
remote cluster; asking it for a local session fails with an unrelated
``[PACKAGE_NOT_INSTALLED] PyArrow`` error. :func:`refuse_databricks_connect` says what
happened instead.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from medallion.core.spark_conf import DELTA_EXTENSION
from medallion.errors import BackendError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REMOTE_ENV_VAR = "MEDALLION_SPARK_REMOTE"

DATABRICKS_CONNECT = "databricks-connect"


def remote_url(remote: str | None) -> str | None:
    """The Spark Connect URL to use: ``remote``, else ``$MEDALLION_SPARK_REMOTE``, else None.

    Raises:
        BackendError: when the URL does not start with ``sc://``.
    """
    url = remote if remote is not None else (os.environ.get(REMOTE_ENV_VAR, "").strip() or None)
    if url is not None and not url.startswith("sc://"):
        origin = "remote" if remote is not None else f"${REMOTE_ENV_VAR}"
        raise BackendError(
            f"{origin}={url!r} is not a Spark Connect URL; give one like sc://localhost:15002 "
            "(see docs/running-on-a-cluster.md)"
        )
    return url


def databricks_connect_version() -> str | None:
    """The installed ``databricks-connect`` distribution's version, None when absent."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DATABRICKS_CONNECT)
    except PackageNotFoundError:
        return None


def refuse_databricks_connect() -> None:
    """Raise when pyspark is Databricks Connect's: it cannot start a local Spark.

    Raises:
        BackendError: naming the installed databricks-connect and the two ways out.
    """
    installed = databricks_connect_version()
    if installed is None:
        return
    raise BackendError(
        f"the installed pyspark is Databricks Connect's (databricks-connect {installed}, "
        "pulled in e.g. by databricks-dlt): it cannot start a local Spark, so medallion's "
        "local runner has no session. Either run locally from a separate virtualenv without "
        'it (python -m venv .venv-local && .venv-local/bin/pip install "medallion[local]"), '
        "or run against a Spark Connect endpoint with --remote sc://HOST:PORT "
        f"(or ${REMOTE_ENV_VAR}); see docs/running-on-a-cluster.md"
    )


def is_connect(spark: Any) -> bool:
    """Whether ``spark`` is a Spark Connect session (no JVM on this side)."""
    module = type(spark).__module__
    return module.startswith("pyspark.sql.connect") or module.startswith("databricks.connect")


def connect_session(url: str, *, app_name: str) -> SparkSession:
    """A Spark Connect session to ``url`` (the server's own settings apply).

    Raises:
        BackendError: when the server cannot be reached or lacks Delta Lake.
    """
    from pyspark.sql import SparkSession

    try:
        spark = SparkSession.builder.remote(url).appName(app_name).getOrCreate()
        extensions = str(spark.conf.get("spark.sql.extensions", "") or "")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BackendError(
            f"cannot use the Spark Connect server at {url} ({first}); start one with Delta "
            "Lake on its classpath (see docs/running-on-a-cluster.md) or fix the URL"
        ) from None
    if DELTA_EXTENSION not in extensions:
        raise BackendError(
            f"the Spark Connect server at {url} is not Delta-enabled "
            f"(spark.sql.extensions={extensions!r}); start it with the delta-spark JARs and "
            f"spark.sql.extensions={DELTA_EXTENSION} (see docs/running-on-a-cluster.md)"
        )
    return spark
