"""The ``medallion`` command line.

Exit status: 0 success; 1 the pipeline ran and a table failed; 2 bad usage or invalid
definitions (reported before any Spark job).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

from medallion.backends.local.result import HEADER
from medallion.errors import MedallionError, PipelineRunError

if TYPE_CHECKING:
    from medallion.backends.local.result import RunResult, TableResult
    from medallion.pipeline import Pipeline

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
    demo.add_argument("--rows", type=int, default=10_000, help="orders to generate (10000)")
    _warehouse_option(demo)
    demo.add_argument("--full-refresh", action="store_true",
                      help="reset every table before running")

    run = sub.add_parser("run", help="run a pipeline file")
    run.add_argument("pipeline", help="Python file declaring the tables")
    _warehouse_option(run)
    _conf_option(run)
    run.add_argument("--full-refresh", nargs="*", metavar="TABLE", default=None,
                     help="reset these tables (all when none is named) before running")
    run.add_argument("--optimize", action="store_true",
                     help="run OPTIMIZE on clustered tables after writing them")

    validate = sub.add_parser("validate", help="check a pipeline's definitions without Spark")
    validate.add_argument("pipeline", help="Python file declaring the tables")
    _conf_option(validate)
    return parser


def _warehouse_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse", metavar="DIR", default=None,
        help="folder holding the tables (default $MEDALLION_WAREHOUSE or ./medallion-warehouse)",
    )


def _conf_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                        help="pipeline configuration value (repeatable)")


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
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "run":
            return _run(args)
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
    print(f"{label}: {message[0] if message else repr(exc)}", file=sys.stderr)
    if isinstance(exc, MedallionError):
        return
    if not debug:
        print("(run with --debug for the full trace)", file=sys.stderr)


def _print_table(table: TableResult) -> None:
    print(table.line(), flush=True)


def _finish(result: RunResult) -> int:
    for table in (*result.flows.values(), *result.tables.values()):
        if table.error is not None:
            print(f"  {table.name}: {table.error}")
        elif table.notes():
            print(f"  {table.name}: " + "; ".join(table.notes()))
    verdict = "succeeded" if result.ok else f"FAILED ({len(result.failed)} table(s) failed)"
    print(f"pipeline '{result.pipeline}' {verdict} in {result.seconds:.1f}s; "
          f"tables in {result.warehouse} (schema {result.schema})")
    return EXIT_OK if result.ok else EXIT_FAILED


def _execute(pipeline: Pipeline, args: argparse.Namespace,
             full_refresh: bool | list[str]) -> int:
    from medallion.backends.local import LocalRunner

    runner = LocalRunner(warehouse=args.warehouse, quiet=not args.verbose,
                         on_table=_print_table, optimize=getattr(args, "optimize", False))
    pipeline.validate()
    if not args.verbose:
        print("starting Spark...", file=sys.stderr, flush=True)
    _ = runner.spark
    print(HEADER)
    try:
        result = runner.run(pipeline, full_refresh=full_refresh, raise_on_failure=False)
    except PipelineRunError:  # pragma: no cover - raise_on_failure is off
        raise
    return _finish(result)


def _run(args: argparse.Namespace) -> int:
    from medallion.loader import load_pipeline

    pipeline = load_pipeline(args.pipeline, configuration=_parse_conf(args.conf))
    refresh: bool | list[str] = (
        False if args.full_refresh is None else (list(args.full_refresh) or True)
    )
    if isinstance(refresh, list):
        pipeline.check_table_names(refresh)
    return _execute(pipeline, args, refresh)


def _validate(args: argparse.Namespace) -> int:
    from medallion.loader import load_pipeline

    pipeline = load_pipeline(args.pipeline, configuration=_parse_conf(args.conf))
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


def _demo(args: argparse.Namespace) -> int:
    import medallion
    from medallion.backends.local import LocalRunner
    from medallion.backends.local.warehouse import Warehouse
    from medallion.demo import data
    from medallion.demo.orders import declare_orders_pipeline

    if args.rows < 1:
        raise MedallionError(f"--rows {args.rows}: give at least 1 row")
    warehouse = Warehouse(args.warehouse)
    input_root = warehouse.root / "_demo_input"
    manifest = input_root / "manifest.json"
    previous = json.loads(manifest.read_text()) if manifest.exists() else None
    regenerate = previous is None or previous.get("rows") != args.rows
    full_refresh = bool(args.full_refresh) or (regenerate and previous is not None)

    with medallion.Pipeline("orders_demo") as pipeline:
        declare_orders_pipeline(str(input_root))
    pipeline.validate()

    runner = LocalRunner(warehouse=warehouse.root, quiet=not args.verbose,
                         on_table=_print_table)
    if not args.verbose:
        print("starting Spark...", file=sys.stderr, flush=True)
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
    print(HEADER)
    result = runner.run(pipeline, full_refresh=full_refresh, raise_on_failure=False)
    return _finish(result)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
