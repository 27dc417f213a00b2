"""Auto Loader semantics on plain Spark: what ``cloudFiles`` does on Databricks, rebuilt locally.

How a micro-batch is ingested:

1. A file stream (``text`` format, ``availableNow``, ``maxFilesPerTrigger``) decides which files
   form each micro-batch and records them in its checkpoint; :mod:`.files` reads that list back,
   so each file is ingested once and a replayed batch reads exactly the same files.
2. :mod:`.census` finds the columns those files hold (one inference pass for JSON, the header for
   CSV, the footer for Parquet/Avro/ORC) and :mod:`.evolution` decides, per the schema evolution
   mode, which columns are added, rescued, ignored or make the run fail — before anything is
   written.
3. :mod:`.reader` reads the files with the schema in effect: rows that fit are parsed by Spark's
   own readers; rows that do not (type mismatch, unknown or case-mismatched field, malformed
   record) are re-parsed to fill the rescued data column and the corrupt record column.
4. The flow appends the rows to Delta with an idempotent transaction (``txnAppId``/``txnVersion``).

The schema in effect is persisted under ``<warehouse>/_system/schemas/`` (:mod:`.state`), with a
record of every change.
"""
