"""Silver with 1 rule versus 20 rules on the same rows: rules cost one pass, not one job each.

A bronze table of N rows is built once; then a silver table (with quarantine) is recomputed from
it with 1 rule and with 20 rules, alternately, and the silver table's own wall time is compared.
Target: 20 rules / 1 rule <= 1.15.

    python bench/silver_rules.py [--rows 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import medallion
from medallion import Rule
from medallion.backends.local import LocalRunner, local_session


def twenty_rules() -> list[Rule]:
    rules = [Rule(name="valid_id", condition="id IS NOT NULL", action="drop"),
             Rule(name="positive_amount", condition="amount > 0", action="drop")]
    for i in range(18):
        action = "warn" if i % 2 else "drop"
        rules.append(Rule(name=f"rule_{i:02d}",
                          condition=f"amount < {100_000 + i} AND code <> 'bad{i}' "
                                    f"AND length(note) < {200 + i}",
                          action=action))
    return rules


def run_silver(spark: Any, source: Path, warehouse: Path, rules: list[Rule]) -> float:
    with medallion.Pipeline("bench_rules") as pipeline:
        medallion.bronze_batch(name="bronze", path=str(source), format="parquet")
        medallion.silver_with_rules(name="silver", source="bronze", rules=rules,
                                    quarantine="silver_quarantine",
                                    casts={"amount": "decimal(12,2)"})
    runner = LocalRunner(warehouse=warehouse, spark=spark, event_log=None)
    result = runner.run(pipeline)
    return result["silver"].seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medallion-bench-rules-"))
    spark = local_session(app_name="medallion-bench-rules", quiet_startup_log=work / "spark.log")
    spark.range(args.rows).selectExpr(
        "CASE WHEN id % 97 = 0 THEN NULL ELSE id END AS id",
        "CAST((id % 1000) - 5 AS STRING) AS amount",
        "concat('c', CAST(id % 50 AS STRING)) AS code",
        "repeat('x', CAST(id % 40 AS INT)) AS note",
    ).write.parquet((work / "source").as_uri())

    one = [Rule(name="valid_id", condition="id IS NOT NULL", action="drop")]
    twenty = twenty_rules()
    run_silver(spark, work / "source", work / "warm", one)  # warm-up: JIT, first-use costs
    ratios = []
    for n in range(args.rounds):
        times: dict[str, float] = {}
        order = [("1 rule", one), ("20 rules", twenty)]
        for label, rules in order if n % 2 == 0 else order[::-1]:
            warehouse = work / f"wh-{n}-{len(rules)}"
            times[label] = run_silver(spark, work / "source", warehouse, rules)
            shutil.rmtree(warehouse, ignore_errors=True)
        ratio = times["20 rules"] / times["1 rule"]
        ratios.append(ratio)
        print(f"round {n + 1}: 1 rule {times['1 rule']:.1f}s  20 rules {times['20 rules']:.1f}s"
              f"  ratio {ratio:.3f}", flush=True)
    print(f"silver 20 rules / 1 rule wall-time ratio (median of {args.rounds}): "
          f"{statistics.median(ratios):.3f}  (target <= 1.15; rows {args.rows:,})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
