"""One local flow class per spec kind; :data:`FLOWS` is the local runner's dispatch table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.backends.base import handler_for
from medallion.backends.local.flows.base import Flow
from medallion.backends.local.flows.bronze import BronzeFlow
from medallion.backends.local.flows.cdc import AutoCdcFlow
from medallion.backends.local.flows.gold import GoldFlow
from medallion.backends.local.flows.query import QueryFlow
from medallion.backends.local.flows.silver import SilverFlow
from medallion.backends.local.flows.snapshot import AutoCdcSnapshotFlow
from medallion.backends.local.flows.streaming_tables import AppendFlow, SinkFlow, StreamingTableFlow
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
)

if TYPE_CHECKING:
    from medallion.backends.local.run_context import RunContext
    from medallion.pipeline import Declaration

#: Spec type → the flow running it. A spec type missing here is refused by name.
FLOWS: dict[type[Definition], type[Flow]] = {
    BronzeSpec: BronzeFlow,
    SilverSpec: SilverFlow,
    GoldSpec: GoldFlow,
    QuerySpec: QueryFlow,
    StreamingTableSpec: StreamingTableFlow,
    AppendFlowSpec: AppendFlow,
    AutoCdcSpec: AutoCdcFlow,
    AutoCdcSnapshotSpec: AutoCdcSnapshotFlow,
    SinkSpec: SinkFlow,
}


def flow_class(decl: Declaration) -> type[Flow]:
    """The flow class running ``decl`` on the local runner.

    Raises:
        BackendError: when the local runner has no flow for the spec's type.
    """
    return handler_for(FLOWS, decl, cannot="the local runner cannot run")


def flow_for(run: RunContext, decl: Declaration) -> Flow:
    """The flow that executes ``decl`` on the local runner."""
    return flow_class(decl)(run, decl)


__all__ = ["FLOWS", "Flow", "flow_class", "flow_for"]
