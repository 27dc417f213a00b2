"""One local flow class per spec kind; :func:`flow_for` dispatches over the closed set."""

from __future__ import annotations

from medallion.backends.local.flows.base import Flow
from medallion.backends.local.flows.bronze import BronzeFlow
from medallion.backends.local.flows.cdc import AutoCdcFlow
from medallion.backends.local.flows.gold import GoldFlow
from medallion.backends.local.flows.query import QueryFlow
from medallion.backends.local.flows.silver import SilverFlow
from medallion.backends.local.flows.snapshot import AutoCdcSnapshotFlow
from medallion.backends.local.flows.streaming_tables import AppendFlow, SinkFlow, StreamingTableFlow
from medallion.backends.local.run_context import RunContext
from medallion.errors import BackendError
from medallion.pipeline import Declaration

FLOWS: tuple[type[Flow], ...] = (
    BronzeFlow, SilverFlow, GoldFlow, QueryFlow, StreamingTableFlow, AppendFlow, AutoCdcFlow,
    AutoCdcSnapshotFlow, SinkFlow,
)


def flow_for(run: RunContext, decl: Declaration) -> Flow:
    """The flow that executes ``decl`` on the local runner."""
    for flow_type in FLOWS:
        if type(decl.spec) is flow_type.spec_type:
            return flow_type(run, decl)
    raise BackendError(
        f"{decl.describe()}: the local runner does not know specs of type "
        f"{type(decl.spec).__name__}"
    )


__all__ = ["FLOWS", "Flow", "flow_for"]
