"""The Databricks backend: translates declarations into ``dp`` / ``dlt`` registrations.

This release provides the seam only: backend selection and the hook that receives each
declaration. Registering through Databricks' APIs is tracked as its own issue; until it lands,
declaring inside a Databricks pipeline stops with a clear :class:`BackendError` instead of
silently registering nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.errors import BackendError

if TYPE_CHECKING:
    from medallion.pipeline import Declaration, Pipeline


class DatabricksBackend:
    """Receives declarations made inside a Databricks pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def declare(self, decl: Declaration) -> None:
        """Register ``decl`` with the Databricks pipeline runtime."""
        raise BackendError(
            f"{decl.describe()}: registering tables in a Databricks pipeline is not available "
            "in this medallion release. Run the pipeline locally (unset MEDALLION_BACKEND or "
            "set it to 'local'), or use Databricks' dp/dlt decorators directly for now."
        )
