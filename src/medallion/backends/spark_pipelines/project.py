"""Generate a ``spark-pipelines`` project that runs a medallion pipeline file on Delta Lake.

``medallion init-spark-pipeline PIPELINE.py --dir DIR`` writes:

- ``DIR/spark-pipeline.yml``: the pipeline spec (name, storage, configuration, libraries);
- ``DIR/transformations/<name>.py``: a two-line file that registers ``PIPELINE.py``;
- ``DIR/conf/spark-defaults.conf``: the settings Spark needs before the session starts — Delta's
  JARs, extension and catalog, and a persistent catalog (an embedded Derby metastore in
  ``DIR/metastore_db``, tables in ``DIR/spark-warehouse``) so that the pipeline can run again:
  without one, a second ``spark-pipelines run`` fails with LOCATION_ALREADY_EXISTS.

Run it with ``SPARK_CONF_DIR=DIR/conf spark-pipelines run --spec DIR/spark-pipeline.yml``. The
settings go through ``SPARK_CONF_DIR`` rather than ``--conf``: pyspark 4.2 hands command-line
settings to the Spark Connect server in groups of ten and keeps only the last group, so Delta's
catalog setting can silently go missing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from medallion.errors import MedallionError

SPEC_FILE = "spark-pipeline.yml"
CONF_DIR = "conf"


@dataclass(frozen=True)
class SparkPipelineProject:
    """Where a generated project lives, and the command that runs it."""

    root: Path
    name: str

    @property
    def spec(self) -> Path:
        """The ``spark-pipeline.yml`` file."""
        return self.root / SPEC_FILE

    @property
    def conf_dir(self) -> Path:
        """The folder to give as ``SPARK_CONF_DIR``."""
        return self.root / CONF_DIR

    @property
    def warehouse(self) -> Path:
        """Where the tables are written (``spark.sql.warehouse.dir``)."""
        return self.root / "spark-warehouse"

    def command(self) -> str:
        """The shell command that runs the pipeline."""
        return f"SPARK_CONF_DIR={self.conf_dir} spark-pipelines run --spec {self.spec}"


def delta_package() -> str:
    """Maven coordinates of the Delta JAR matching the installed pyspark and delta-spark.

    Delta names its Spark artifact differently on each line, as ``configure_spark_with_delta_pip``
    of the matching delta-spark does:

    - delta-spark 3.x (Spark 3.5, whose pip wheels are built for Scala 2.12): ``delta-spark_2.12``;
    - delta-spark 4.0 (Spark 4.0 only): ``delta-spark_2.13``;
    - delta-spark 4.1 and later (built for several Spark 4 versions): ``delta-spark_<spark>_2.13``.

    Example:
        >>> delta_package()  # with pyspark 3.5.7 + delta-spark 3.3.2   # doctest: +SKIP
        'io.delta:delta-spark_2.12:3.3.2'
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        spark = version("pyspark")
        delta = version("delta-spark")
    except PackageNotFoundError as exc:
        raise MedallionError(
            f"{exc.name} is not installed; install it with: "
            'pip install "medallion[local]"'
        ) from None
    return f"io.delta:{delta_artifact(spark, delta)}:{delta}"


def delta_artifact(spark_version: str, delta_version: str) -> str:
    """The Delta Spark artifact id for a pyspark and delta-spark version pair.

    Example:
        >>> delta_artifact("4.2.0", "4.4.0")
        'delta-spark_4.2_2.13'
        >>> delta_artifact("3.5.7", "3.3.2")
        'delta-spark_2.12'

    Raises:
        MedallionError: the versions are not a pair Delta documents as compatible (delta-spark
            3.x with Spark 3.5, delta-spark 4.x with Spark 4).
    """
    spark_major, spark_minor = _major_minor(spark_version)
    delta_major, delta_minor = _major_minor(delta_version)
    if delta_major == 3 and (spark_major, spark_minor) == (3, 5):
        return "delta-spark_2.12"
    if delta_major == 4 and spark_major == 4:
        if delta_minor == 0:
            return "delta-spark_2.13"
        return f"delta-spark_{spark_major}.{spark_minor}_2.13"
    raise MedallionError(
        f"delta-spark {delta_version} does not run on Spark {spark_version}: Delta documents "
        "delta-spark 3.3.x for Spark 3.5 and delta-spark 4.x for Spark 4; install a matching "
        'pair with: pip install "medallion[local]" (or scripts/setup with MEDALLION_SPARK=3.5)'
    )


def _major_minor(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise MedallionError(f"cannot read a major.minor version from '{version}'")
    return int(match.group(1)), int(match.group(2))


#: The first Spark release with open-source declarative pipelines (``pyspark.pipelines``).
SPARK_PIPELINES_SINCE = (4, 1)


def require_spark_pipelines(feature: str = "spark-pipelines") -> None:
    """Raise unless the installed pyspark ships ``pyspark.pipelines`` and ``spark-pipelines``.

    Raises:
        MedallionError: pyspark is missing or older than Spark 4.1 (e.g. the Spark 3.5 line).
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("pyspark")
    except PackageNotFoundError:
        raise MedallionError(
            f"{feature} needs pyspark >= 4.1; install it with: "
            'pip install "medallion[spark-pipelines]"'
        ) from None
    if _major_minor(installed) < SPARK_PIPELINES_SINCE:
        raise MedallionError(
            f"{feature} needs Apache Spark 4.1 or later (open-source declarative pipelines, "
            f"pyspark.pipelines); the installed pyspark is {installed}. Install the Spark 4 "
            'line (pip install "medallion[spark-pipelines]"), or run the pipeline with the '
            "local runner (medallion run), which supports Spark 3.5"
        )


def spark_defaults(root: Path) -> dict[str, str]:
    """The static Spark settings of a project rooted at ``root``."""
    from medallion.core.spark_conf import DEFAULT_CONF

    return {
        "spark.jars.packages": delta_package(),
        **DEFAULT_CONF,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(root / "spark-warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
        "spark.sql.sources.default": "delta",
    }


def init_spark_pipeline(
    pipeline_file: str | os.PathLike[str],
    directory: str | os.PathLike[str],
    *,
    name: str | None = None,
    configuration: dict[str, str] | None = None,
    force: bool = False,
) -> SparkPipelineProject:
    """Write a ``spark-pipelines`` project for ``pipeline_file`` into ``directory``.

    Example:
        >>> project = init_spark_pipeline("pipeline.py", "/tmp/p")   # doctest: +SKIP
        >>> print(project.command())                                # doctest: +SKIP

    Args:
        pipeline_file: The medallion pipeline file (factories at its top level).
        directory: The project folder (created).
        name: Pipeline name (default: the file's stem).
        configuration: Pipeline configuration, read with ``medallion.config(key)``.
        force: Rewrite the project files of an existing project (data is kept).

    Raises:
        MedallionError: the pipeline file does not exist, the project exists without force, or
            the installed pyspark predates spark-pipelines (Spark 4.1).
    """
    source = Path(pipeline_file).expanduser().resolve()
    if not source.is_file():
        raise MedallionError(f"pipeline file '{pipeline_file}' does not exist")
    require_spark_pipelines("medallion init-spark-pipeline")
    root = Path(directory).expanduser().resolve()
    project = SparkPipelineProject(root, name or source.stem)
    if project.spec.exists() and not force:
        raise MedallionError(
            f"'{project.spec}' already exists; pass --force to rewrite the project files "
            "(tables and checkpoints are kept)"
        )
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", project.name):
        raise MedallionError(f"pipeline name {project.name!r}: use letters, digits, _ and -")
    for folder in (root / "transformations", project.conf_dir, root / "pipeline-storage"):
        folder.mkdir(parents=True, exist_ok=True)

    conf = {"spark.sql.sources.default": "delta", **(configuration or {})}
    lines = [
        "# Generated by `medallion init-spark-pipeline`. Run with:",
        f"#   {project.command()}",
        f"name: {_yaml(project.name)}",
        f"storage: {_yaml((root / 'pipeline-storage').as_uri())}",
        "configuration:",
        *(f"  {_yaml(k)}: {_yaml(v)}" for k, v in conf.items()),
        "libraries:",
        "  - glob:",
        "      include: transformations/**",
    ]
    project.spec.write_text("\n".join(lines) + "\n")
    defaults = spark_defaults(root)
    (project.conf_dir / "spark-defaults.conf").write_text(
        "# Static settings for spark-pipelines (read through SPARK_CONF_DIR), generated by "
        "medallion.\n" + "".join(f"{k} {v}\n" for k, v in defaults.items())
    )
    (root / "transformations" / f"{_module_name(project.name)}.py").write_text(
        f'"""Generated by `medallion init-spark-pipeline`: registers {source.name}."""\n\n'
        "from medallion.backends.spark_pipelines import register_file\n\n"
        f"register_file({str(source)!r}, spark)  # noqa: F821 - spark-pipelines defines spark\n"
    )
    return project


def _yaml(value: str) -> str:
    """A YAML scalar: JSON string syntax is valid YAML and quotes everything that needs it."""
    import json

    return json.dumps(value)


def _module_name(name: str) -> str:
    return re.sub(r"\W", "_", name)
