"""The reference orders pipeline and deterministic sample data for it (``medallion demo``)."""
