"""Pipelines as YAML/JSON files: reading, configuration substitution, the JSON Schema.

See :func:`medallion.load_pipeline_file` and ``medallion schema``.
"""
