"""What the flows of tables with rules share: the rule set and the quarantine table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.backends.local.flows.base import Flow
from medallion.core.rules import RuleSet, quarantine_comment

if TYPE_CHECKING:
    from medallion.backends.local.delta import Target
    from medallion.specs.query import QuerySpec
    from medallion.specs.silver import SilverSpec


class RuledFlow(Flow):
    """A flow whose spec has ``rules`` and an optional ``quarantine`` table."""

    spec: QuerySpec | SilverSpec

    @property
    def rules(self) -> RuleSet:
        """The table's rules."""
        return RuleSet(self.decl.name, self.spec.rules)

    @property
    def quarantine_target(self) -> Target | None:
        """The quarantine table, when the spec has one."""
        if self.spec.quarantine is None:
            return None
        return self.run.target(
            self.spec.quarantine,
            comment=quarantine_comment(self.decl.name),
        )
