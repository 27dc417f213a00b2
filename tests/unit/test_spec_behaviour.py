"""What each spec answers about itself (the questions backends ask instead of its type)."""

from __future__ import annotations

import pytest

from medallion import Rule
from medallion.agg import count
from medallion.specs import (
    AppendFlowSpec,
    AutoCdcSnapshotSpec,
    AutoCdcSpec,
    BronzeSpec,
    Definition,
    GoldSpec,
    QuerySpec,
    SilverSpec,
    SinkSpec,
    StreamingTableSpec,
    TimeWindow,
)


def rows() -> None:
    raise NotImplementedError


WINDOW = TimeWindow(column="ts", duration="1 hour")
APPEND = AppendFlowSpec(name="f", target="events", query=rows)
CDC = AutoCdcSpec(name="c", target="events", source="changes", keys=["id"], sequence_by="seq")
SNAPSHOT = AutoCdcSnapshotSpec(name="s", target="events", source="daily", keys=["id"])
SPECS: dict[str, Definition] = {
    "bronze": BronzeSpec(name="b", path="/raw"),
    "bronze_batch": BronzeSpec(name="b", path="/raw", incremental=False),
    "silver": SilverSpec(name="s", source="b"),
    "silver_batch": SilverSpec(name="s", source="b", incremental=False),
    "silver_quarantine": SilverSpec(name="s", source="b", quarantine=True, rules=[
        Rule(name="ok", condition="id IS NOT NULL", action="drop")]),
    "gold": GoldSpec(name="g", source="s", aggregations=[count(alias="n")]),
    "gold_update": GoldSpec(name="g", source="s", aggregations=[count(alias="n")],
                            window=WINDOW, watermark="1 hour", incremental=True),
    "gold_append": GoldSpec(name="g", source="s", aggregations=[count(alias="n")],
                            window=WINDOW, watermark="1 hour", incremental=True,
                            output_mode="append"),
    "query": QuerySpec(name="q", query=rows),
    "query_stream": QuerySpec(name="q", query=rows, incremental=True),
    "dlt_table": QuerySpec(name="q", query=rows, incremental=None),
    "streaming_table": StreamingTableSpec(name="events"),
    "sink": SinkSpec(name="out", format="delta", options={"path": "/sink"}),
    "append_flow": APPEND,
    "append_once": AppendFlowSpec(name="f", target="events", query=rows, once=True),
    "auto_cdc": CDC,
    "snapshot": SNAPSHOT,
}

# kind: (writes, written_tables, streams if the source streams / if not, flow_streams,
#        appends_only with an AUTO CDC writer, updated_in_place, destination)
EXPECTED = {
    "bronze": ("b", ("b",), (True, True), True, True, None, None),
    "bronze_batch": ("b", ("b",), (False, False), False, True, None, None),
    "silver": ("s", ("s",), (True, False), True, True, None, None),
    "silver_batch": ("s", ("s",), (False, False), False, True, None, None),
    "silver_quarantine": ("s", ("s", "s_quarantine"), (True, False), True, True, None, None),
    "gold": ("g", ("g",), (False, False), False, False, "a streaming aggregate in update mode",
             None),
    "gold_update": ("g", ("g",), (True, True), True, False,
                    "a streaming aggregate in update mode", None),
    "gold_append": ("g", ("g",), (True, True), True, True,
                    "a streaming aggregate in update mode", None),
    "query": ("q", ("q",), (False, False), False, True, None, None),
    "query_stream": ("q", ("q",), (True, True), True, True, None, None),
    "dlt_table": ("q", ("q",), (None, None), None, True, None, None),
    "streaming_table": ("events", ("events",), (True, True), True, False,
                        "maintained by AUTO CDC", None),
    "sink": ("out", ("out",), (True, True), True, False, "maintained by AUTO CDC",
             {"path": "/sink"}),
    "append_flow": ("events", ("events",), (False, False), True, True, None, None),
    "append_once": ("events", ("events",), (False, False), False, True, None, None),
    "auto_cdc": ("events", ("events",), (False, False), True, True, None, None),
    "snapshot": ("events", ("events",), (False, False), False, True, None, None),
}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_each_spec_answers_what_backends_ask(kind: str) -> None:
    spec = SPECS[kind]
    answers = (
        spec.writes(),
        spec.written_tables(),
        (spec.streams(lambda source: True), spec.streams(lambda source: False)),
        spec.flow_streams(lambda source: True),
        spec.appends_only([CDC]),
        spec.updated_in_place(),
        spec.destination(),
    )
    assert answers == EXPECTED[kind]
    # An append flow never makes a table's rows change; a gold table in update mode does.
    assert spec.appends_only([APPEND]) is (kind not in ("gold", "gold_update"))


def test_flags_say_what_a_definition_is() -> None:
    flags = {kind: (spec.is_flow, spec.applies_changes, spec.written_by_flows, spec.readable)
             for kind, spec in SPECS.items() if kind in (
                 "bronze", "streaming_table", "sink", "append_flow", "auto_cdc", "snapshot")}
    assert flags == {
        "bronze": (False, False, False, True),
        "streaming_table": (False, False, True, True),
        "sink": (False, False, True, False),
        "append_flow": (True, False, False, True),
        "auto_cdc": (True, True, False, True),
        "snapshot": (True, True, False, True),
    }


def test_only_a_sink_refuses_a_writer() -> None:
    sink, table = SPECS["sink"], SPECS["streaming_table"]
    assert sink.refuses_writer(APPEND) is None
    assert sink.refuses_writer(CDC) == (
        "only append flows write sinks (as on Databricks); write a streaming table with AUTO "
        "CDC instead")
    assert table.refuses_writer(CDC) is None
