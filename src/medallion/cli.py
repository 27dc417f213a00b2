"""The ``medallion`` command line.

Commands: ``demo``, ``run``, ``quality``, ``report``, ``validate``, ``graph``, ``schema``.
Exit status: 0 success; 1 the pipeline ran and a table failed; 2 bad usage or invalid
definitions (reported before any Spark job).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from medallion.errors import MedallionError, PipelineRunError

if TYPE_CHECKING:
    from medallion.backends.local import LocalRunner
    from medallion.backends.local.result import RunResult
    from medallion.pipeline import Pipeline
    from medallion.progress import Progress
    from medallion.report.collect import EventSource

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="medallion",
        description="Run and check medallion pipelines locally on Spark + Delta Lake.",
    )
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    parser.add_argument("--verbose", action="store_true",
                        help="show Spark's own console output (hidden by default)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="generate sample orders and run the reference pipeline")
    demo.add_argument("--rows", type=int, default=10_000, metavar="N",
                      help="orders to generate (10000)")
    _warehouse_option(demo)
    demo.add_argument("--full-refresh-all", "--full-refresh", dest="full_refresh",
                      action="store_true", help="reset every table before running")
    _progress_option(demo)

    run = sub.add_parser("run", help="run a pipeline file")
    run.add_argument("pipeline", nargs="+",
                     help="pipeline file (.yaml/.yml/.json), or Python file(s) declaring the "
                          "tables (e.g. a Databricks pipeline's notebooks)")
    _warehouse_option(run)
    _conf_option(run)
    _full_refresh_options(run)
    run.add_argument("--optimize", action="store_true",
                     help="run OPTIMIZE on clustered tables after writing them")
    _progress_option(run)
    _remote_option(run)

    quality = sub.add_parser("quality", help="data-quality summary from the event log")
    _warehouse_option(quality)
    quality.add_argument("--schema", default="medallion_db", metavar="NAME",
                         help="schema of the event log (medallion_db)")
    quality.add_argument("--pipeline", default=None, metavar="NAME", help="only this pipeline")
    quality.add_argument("--all-updates", action="store_true",
                         help="every update, not only the latest of each pipeline")

    report = sub.add_parser(
        "report", help="write the data-quality report page (HTML) from the event log")
    _warehouse_option(report)
    report.add_argument("--schema", default="medallion_db", metavar="NAME",
                        help="schema of the event log (medallion_db)")
    report.add_argument("--pipeline", default=None, metavar="NAME",
                        help="the pipeline to report on (default: the one that ran last)")
    report.add_argument("--runs", type=int, default=10, metavar="N",
                        help="how many of its latest updates the page covers (10)")
    report.add_argument("--output", "-o", metavar="FILE", default="report.html",
                        help="the HTML file to write (report.html)")

    validate = sub.add_parser("validate", help="check a pipeline's definitions without Spark")
    _pipeline_argument(validate)
    _conf_option(validate)

    graph = sub.add_parser(
        "graph", help="print the pipeline's graph as Mermaid, or draw it (--output)")
    _pipeline_argument(graph)
    _conf_option(graph)
    graph.add_argument(
        "--output", "-o", metavar="FILE", default=None,
        help="write a picture instead: .svg, .png or .html (drawn with Graphviz), .mmd or .md "
             "(Mermaid), .dot or .gv (Graphviz source)")

    schema = sub.add_parser("schema", help="print the JSON Schema of pipeline files")
    schema.add_argument("--output", "-o", metavar="FILE", default=None,
                        help="write it to FILE instead of printing it")

    init = sub.add_parser(
        "init-spark-pipeline",
        help="write a spark-pipelines project (Apache Spark's declarative pipelines, Delta) "
             "that runs a pipeline file",
    )
    init.add_argument("pipeline", help="Python file declaring the tables")
    init.add_argument("--dir", required=True, metavar="DIR", help="project folder to write")
    init.add_argument("--name", default=None, help="pipeline name (default: the file's name)")
    init.add_argument("--force", action="store_true",
                      help="rewrite the files of an existing project (its data is kept)")
    _conf_option(init)
    return parser


def _remote_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--remote", metavar="sc://HOST:PORT", default=None,
        help="run through the Spark Connect server at this URL, which must have Delta Lake "
             "(default $MEDALLION_SPARK_REMOTE; see docs/running-on-a-cluster.md)")


def _pipeline_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", nargs="+",
                        help="pipeline file (.yaml/.yml/.json), or Python file(s) declaring the "
                             "tables (e.g. a Databricks pipeline's notebooks)")


# -- run --full-refresh ----------------------------------------------------------------------
#: Endings of the files `run` takes: a value with one of them is a file, not a table name.
_FILE_ENDINGS = (".py", ".yaml", ".yml", ".json", ".ipynb", ".sql")
#: What a bare `--full-refresh` (nothing after it) stores: every table, as before.
_ALL_TABLES = "*"


def _refresh_tables(value: str) -> list[str]:
    """``--full-refresh`` value: table names, comma-separated; a file is refused by name."""
    from medallion.pipeline import split_table_names

    names = split_table_names(value)
    for name in names:
        if name.lower().endswith(_FILE_ENDINGS) or "/" in name or "\\" in name \
                or os.path.isfile(name):
            raise argparse.ArgumentTypeError(
                f"'{name}' looks like a file, not a table name. Give the pipeline file(s) "
                "first and the tables after the flag: `medallion run PIPELINE --full-refresh "
                "TABLE[,TABLE]`, or reset every table with "
                "`medallion run PIPELINE --full-refresh-all`")
    if not names:
        raise argparse.ArgumentTypeError(
            f"{value!r} names no table: give --full-refresh TABLE[,TABLE] or --full-refresh-all")
    return names


def _full_refresh_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--full-refresh-all", action="store_true",
        help="reset every table (data and checkpoints) before running")
    # nargs="?": a bare --full-refresh (nothing after it) still means every table, as it did;
    # a value is always table names, never the pipeline file.
    parser.add_argument(
        "--full-refresh", action="append", nargs="?", const=[_ALL_TABLES],
        type=_refresh_tables, default=None, metavar="TABLE[,TABLE]",
        help="reset these tables (comma-separated, repeatable) and the streaming tables "
             "reading them before running")


def _full_refresh_choice(args: argparse.Namespace) -> bool | list[str]:
    """What ``runner.run(full_refresh=...)`` gets from ``--full-refresh[-all]``."""
    groups: list[list[str]] = args.full_refresh or []
    every = args.full_refresh_all or [_ALL_TABLES] in groups
    names = [name for group in groups if group != [_ALL_TABLES] for name in group]
    if every and names:
        raise MedallionError(
            f"--full-refresh {','.join(names)} resets some tables, --full-refresh-all (or a bare "
            "--full-refresh) every table: give one of the two")
    return True if every else (names or False)


def _progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress", choices=("auto", "live", "plain"), default="auto",
        help="live table on a terminal, one line per event otherwise (auto)")
    # Also accepted after the command (`medallion run p.py --verbose`); SUPPRESS keeps the
    # value given before the command when this one is absent.
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show Spark's own console output, progress bar and warnings")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show Python tracebacks on errors")


def _warehouse_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse", metavar="DIR", default=None,
        help="folder holding the tables (default $MEDALLION_WAREHOUSE or ./medallion-warehouse)",
    )


def _conf_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="pipeline configuration value (repeatable)")
    parser.add_argument(
        "--env", metavar="NAME", default=os.environ.get("MEDALLION_ENV") or None,
        help="environment overlay of a YAML/JSON pipeline file (default $MEDALLION_ENV)")


def _parse_conf(items: Sequence[str]) -> dict[str, str]:
    conf: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MedallionError(f"--conf {item!r}: expected KEY=VALUE")
        conf[key.strip()] = value
    return conf


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medallion`` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        hint = ""
        if getattr(args, "full_refresh", None) and args.command == "run":
            # `--full-refresh a b` used to take several names; now it takes one list
            hint = (" (--full-refresh takes one comma-separated list: --full-refresh a,b; "
                    "or repeat it: --full-refresh a --full-refresh b)")
        parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "run":
            return _run(args)
        if args.command == "quality":
            return _quality(args)
        if args.command == "report":
            return _report_page(args)
        if args.command == "graph":
            return _graph(args)
        if args.command == "schema":
            return _schema(args)
        if args.command == "init-spark-pipeline":
            return _init_spark_pipeline(args)
        return _validate(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MedallionError as exc:
        _report(exc, args.debug)
        return exc.exit_code
    except Exception as exc:  # a bug or an environment problem: say so briefly
        _report(exc, args.debug)
        return EXIT_FAILED


def _report(exc: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(exc)
    label = "error" if isinstance(exc, MedallionError) else f"error ({type(exc).__name__})"
    message = str(exc).strip().splitlines() if not isinstance(exc, MedallionError) else [str(exc)]
    # (not `{... if message else exc!r}`: the !r would apply to the whole conditional)
    text = message[0] if message else repr(exc)
    print(f"{label}: {text}", file=sys.stderr)
    if isinstance(exc, MedallionError):
        return
    if not debug:
        print("(run with --debug for the full trace)", file=sys.stderr)


def quality_lines(result: RunResult) -> list[str]:
    """The run's data-quality summary: one line per table and rule."""
    lines = []
    for table in result.tables.values():
        for e in table.expectations:
            lines.append(
                f"  {table.name + '.' + e.name:<40} {e.action:<5} passed {e.passed:>10,}  "
                f"failed {e.failed:>9,}  pass rate {e.pass_rate:7.2%}"
            )
    return ["data quality:", *lines] if lines else []


def _finish(result: RunResult) -> int:
    for table in (*result.flows.values(), *result.tables.values()):
        if table.error is not None:
            print(f"  {table.name}: {table.error}")
        elif table.notes():
            print(f"  {table.name}: " + "; ".join(table.notes()))
    for line in quality_lines(result):
        print(line)
    verdict = "succeeded" if result.ok else f"FAILED ({len(result.failed)} table(s) failed)"
    print(f"pipeline '{result.pipeline}' {verdict} in {result.seconds:.1f}s; "
          f"tables in {result.warehouse} (schema {result.schema})")
    if result.ok:
        return EXIT_OK
    # A definition the input cannot satisfy (a column it lacks) is exit 2, like one that fails
    # validation; a table failing on its data is exit 1.
    return max(t.error.exit_code if t.error is not None else EXIT_FAILED for t in result.failed)


def _usable_warehouse(path: str | os.PathLike[str] | None) -> Path:
    """The warehouse of a run, checked before Spark starts (an unusable one exits 2)."""
    from medallion.backends.local.warehouse import check_usable

    return check_usable(path)


def _runner(args: argparse.Namespace, progress: Progress,
            warehouse: str | os.PathLike[str] | None) -> LocalRunner:
    from medallion.backends.local import LocalRunner

    # --verbose shows Spark's own console output, its progress bar and its warnings.
    spark_conf = {"spark.ui.showConsoleProgress": "true"} if args.verbose else {}
    return LocalRunner(warehouse=warehouse, quiet=not args.verbose,
                       spark_conf=spark_conf, on_table=progress.table_done,
                       on_start=progress.table_started,
                       optimize=getattr(args, "optimize", False),
                       remote=getattr(args, "remote", None))


def _start_spark(runner: LocalRunner, args: argparse.Namespace) -> None:
    if not args.verbose:
        print("starting Spark...", file=sys.stderr, flush=True)
    from medallion.backends.local.connect import is_connect

    spark = runner.spark
    if args.verbose and not is_connect(spark):  # a Connect server keeps its own log level
        spark.sparkContext.setLogLevel("WARN")


def _run_with_progress(runner: LocalRunner, pipeline: Pipeline, progress: Progress,
                       full_refresh: bool | list[str]) -> RunResult:
    progress.start(pipeline.name, [d.name for d in pipeline.graph().order])
    try:
        result = runner.run(pipeline, full_refresh=full_refresh, raise_on_failure=False)
    except PipelineRunError:  # pragma: no cover - raise_on_failure is off
        raise
    finally:
        progress.close()
    progress.finish(result)
    return result


def _execute(pipeline: Pipeline, args: argparse.Namespace,
             full_refresh: bool | list[str]) -> int:
    from medallion.progress import make_progress

    progress = make_progress(sys.stdout, args.progress, args.verbose)
    pipeline.validate()
    runner = _runner(args, progress, _usable_warehouse(args.warehouse))
    _start_spark(runner, args)
    return _finish(_run_with_progress(runner, pipeline, progress, full_refresh))


def _run(args: argparse.Namespace) -> int:
    from medallion.loader import load_pipeline

    refresh = _full_refresh_choice(args)
    pipeline = load_pipeline(args.pipeline, configuration=_parse_conf(args.conf),
                             environment=args.env)
    if isinstance(refresh, list):
        pipeline.check_table_names(refresh)
    return _execute(pipeline, args, refresh)


def _quality(args: argparse.Namespace) -> int:
    from medallion.report import check_event_log
    from medallion.report.collect import all_events
    from medallion.report.quality import quality_summary

    root = check_event_log(args.warehouse, args.schema)  # before Spark starts
    summary = quality_summary(all_events(_event_source(args, root)), pipeline=args.pipeline,
                              all_updates=args.all_updates)
    for line in summary.text():
        print(line)
    return EXIT_OK


def _event_source(args: argparse.Namespace, root: Path) -> EventSource:
    """The event log's rows: read with delta-rs when installed (no JVM), else with Spark."""
    from medallion.backends.local.session import local_session
    from medallion.backends.local.warehouse import Warehouse
    from medallion.report.collect import delta_rs_events, spark_events

    fast = delta_rs_events(warehouse=root, schema=args.schema)
    if fast is not None:
        return fast
    if not args.verbose:
        print("starting Spark...", file=sys.stderr, flush=True)
    spark = local_session(
        quiet_startup_log=None if args.verbose else Warehouse(root).log_dir() / "spark.log")
    return spark_events(warehouse=root, schema=args.schema, spark=spark)


def _report_page(args: argparse.Namespace) -> int:
    from medallion.report import ReportError, check_event_log, load_report, write_report

    if args.runs < 1:
        raise ReportError(f"--runs {args.runs}: give at least 1 run")
    root = check_event_log(args.warehouse, args.schema)  # before starting Spark
    report = load_report(warehouse=root, schema=args.schema, pipeline=args.pipeline,
                         runs=args.runs, source=_event_source(args, root))
    path = write_report(report, args.output)
    latest = report.latest
    print(f"wrote {path}: pipeline '{report.pipeline}', {len(report.updates)} update(s), "
          f"{len(report.trends())} rule(s); latest update {latest.short_id} {latest.state}")
    if report.other_pipelines:
        print("other pipelines in this event log (pass --pipeline NAME): "
              + ", ".join(report.other_pipelines))
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from medallion.loader import load_pipeline

    pipeline = load_pipeline(args.pipeline, configuration=_parse_conf(args.conf),
                             environment=args.env)
    graph = pipeline.validate()
    rules = 0
    for decl in graph.order:
        spec_rules = getattr(decl.spec, "rules", ())
        rules += len(spec_rules)
        reads = ", ".join(decl.spec.inputs()) or decl.spec.model_dump().get("path", "-")
        outputs = ", ".join(decl.spec.outputs()) or (
            f"{decl.name} (flow into {getattr(decl.spec, 'target', '?')})")
        print(f"{decl.spec.layer:<7} {outputs:<40} <- {reads}"
              + (f"  [{len(spec_rules)} rule(s)]" if spec_rules else ""))
    print(f"ok: pipeline '{pipeline.name}' has {len(graph.order)} definition(s), "
          f"{len(graph.producers)} table(s), {rules} rule(s)")
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    from medallion.diagram import diagram_of
    from medallion.diagram.mermaid import to_mermaid
    from medallion.loader import load_pipeline

    pipeline = load_pipeline(args.pipeline, configuration=_parse_conf(args.conf),
                             environment=args.env)
    diagram = diagram_of(pipeline)
    if args.output is None:
        print(to_mermaid(diagram))
        return EXIT_OK
    from medallion.diagram.graphviz import write_picture

    path = write_picture(diagram, args.output)
    print(f"wrote {path} ({len(diagram.nodes)} tables, {len(diagram.edges)} edges)")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from medallion.files.schema import pipeline_json_schema

    text = json.dumps(pipeline_json_schema(), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote the JSON Schema of pipeline files to {path}")
    return EXIT_OK


def _init_spark_pipeline(args: argparse.Namespace) -> int:
    from medallion.backends.spark_pipelines.project import init_spark_pipeline
    from medallion.loader import load_pipeline

    conf = _parse_conf(args.conf)
    # refuse a broken pipeline now (--env: a Python file refuses it, naming --conf)
    load_pipeline(args.pipeline, configuration=conf, environment=args.env).validate()
    project = init_spark_pipeline(args.pipeline, args.dir, name=args.name, configuration=conf,
                                  force=args.force)
    print(f"wrote {project.spec}, {project.conf_dir}/spark-defaults.conf and "
          f"{project.root / 'transformations'}/")
    print(f"run it with:\n  {project.command()}")
    print(f"tables are written under {project.warehouse} (schema 'default')")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    import medallion
    from medallion.backends.local.warehouse import Warehouse
    from medallion.demo import data
    from medallion.demo.orders import declare_orders_pipeline
    from medallion.progress import make_progress

    if args.rows < 1:
        raise MedallionError(f"--rows {args.rows}: give at least 1 row")
    warehouse = Warehouse(_usable_warehouse(args.warehouse))
    input_root = warehouse.root / "_demo_input"
    manifest = input_root / "manifest.json"
    previous = json.loads(manifest.read_text()) if manifest.exists() else None
    regenerate = previous is None or previous.get("rows") != args.rows
    full_refresh = bool(args.full_refresh) or (regenerate and previous is not None)

    with medallion.Pipeline("orders_demo") as pipeline:
        declare_orders_pipeline(str(input_root))
    pipeline.validate()

    progress = make_progress(sys.stdout, args.progress, args.verbose)
    runner = _runner(args, progress, warehouse.root)
    _start_spark(runner, args)
    spark = runner.spark
    if regenerate:
        if input_root.exists():
            shutil.rmtree(input_root)
        generated = data.generate(spark, input_root, args.rows)
        manifest.write_text(json.dumps({"rows": args.rows, "customers": generated.customers}))
        print(f"generated {args.rows:,} orders and {generated.customers:,} customers in "
              f"{input_root}")
    else:
        print(f"reusing {args.rows:,} sample orders in {input_root} (nothing new to ingest)")
    return _finish(_run_with_progress(runner, pipeline, progress, full_refresh))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
