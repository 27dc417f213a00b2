"""Recording fakes of Databricks' ``dp`` and ``dlt`` modules, checked against the real APIs.

Every call made to a fake is recorded, and must bind to the reference signature(s) of the
function it stands for, or the call raises ``TypeError`` (failing the test):

- ``dp`` dataset functions: open-source ``pyspark.pipelines`` as installed with pyspark; the
  call is also replayed against the real function under an in-memory graph-element registry,
  so pyspark's own argument checks (types, lists of strings) apply too. On the Spark 3.5 line,
  which has no ``pyspark.pipelines``, calls bind to the signatures of pyspark 4.2's snapshotted
  in ``pyspark-pipelines-4.2.0.json`` (scripts/pipelines-signatures), without the replay;
- ``dp`` expectation decorators (Databricks-only, absent from open source) and every ``dlt``
  function: the ``databricks-dlt`` stub installed in the virtualenv (0.2.1) and the 0.3.0
  signatures snapshotted in ``databricks-dlt-0.3.0.json`` (scripts/dlt-stub-signatures), each
  extended with :data:`DOCUMENTED`: keywords and functions the Databricks Python reference
  documents that no stub release has yet.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
DLT_SNAPSHOTS = ("databricks-dlt-0.3.0.json",)
#: Open-source ``pyspark.pipelines`` signatures, for Spark lines that lack the module (3.5).
PIPELINES_SNAPSHOT = HERE / "pyspark-pipelines-4.2.0.json"
DP_DATASET_FUNCTIONS = ("table", "materialized_view", "temporary_view",
                        "create_streaming_table", "append_flow", "create_auto_cdc_flow",
                        "create_sink")
#: Functions that register at once (no decorated query function).
DP_CALLS = ("create_streaming_table", "create_auto_cdc_flow", "create_sink")
#: Databricks' ``dp`` functions take more than open source's (expectations, ``once``, SCD2...):
#: those extra parameters are the legacy ``dlt`` function's (Databricks renamed the functions,
#: and ``apply_changes``' ``flow_name`` to ``name``). A ``dp`` call binds to open source's
#: signature, or else to the ``dlt`` one with the names mapped back.
DP_DATABRICKS: dict[str, tuple[str, dict[str, str]]] = {
    "create_streaming_table": ("create_streaming_table", {}),
    "append_flow": ("append_flow", {}),
    "create_auto_cdc_flow": ("apply_changes", {"name": "flow_name"}),
    "create_auto_cdc_from_snapshot_flow": ("apply_changes_from_snapshot", {}),
    "table": ("table", {}),
    "materialized_view": ("table", {}),
}
#: Argument values only Databricks accepts (open source's function refuses them).
DP_DATABRICKS_VALUES: dict[str, dict[str, tuple[Any, ...]]] = {
    "create_auto_cdc_flow": {"stored_as_scd_type": (2, "2")},
}
#: What the Databricks Python reference (docs.databricks.com, "Lakeflow Spark Declarative
#: Pipelines Python language reference": table, create_streaming_table,
#: create_auto_cdc_from_snapshot_flow, create_sink, event hooks) documents beyond the 0.3.0 stub:
#: function → keyword parameters (all optional unless listed in DOCUMENTED_REQUIRED).
DOCUMENTED: dict[str, tuple[str, ...]] = {
    "table": ("cluster_by_auto", "private"),
    "create_streaming_table": ("cluster_by_auto", "private"),
    "apply_changes_from_snapshot": ("once",),
    "on_event_hook": ("user_event_hook_fn", "max_allowable_consecutive_failures"),
    "create_sink": ("name", "format", "options"),
}
DOCUMENTED_REQUIRED: dict[str, tuple[str, ...]] = {"create_sink": ("name", "format")}
EXPECTATIONS = ("expect", "expect_or_drop", "expect_or_fail",
                "expect_all", "expect_all_or_drop", "expect_all_or_fail")


def snapshot_signatures(path: Path) -> dict[str, inspect.Signature]:
    """Signatures rebuilt from a JSON snapshot (names, kinds, whether a default exists)."""
    data = json.loads(path.read_text())
    out = {}
    for name, params in data["functions"].items():
        out[name] = inspect.Signature([
            inspect.Parameter(p["name"], getattr(inspect.Parameter, p["kind"]),
                              default=None if p["has_default"] else inspect.Parameter.empty)
            for p in params
        ])
    return out


def module_signatures(module: Any, names: tuple[str, ...]) -> dict[str, inspect.Signature]:
    return {n: inspect.signature(getattr(module, n)) for n in names if hasattr(module, n)}


def open_source_pipelines() -> Any | None:
    """The installed ``pyspark.pipelines`` (Spark 4.1+), or None on older Spark lines."""
    try:
        from pyspark import pipelines
    except ImportError:
        return None
    return pipelines


def live_pipelines_snapshot() -> dict[str, Any]:
    """The installed ``pyspark.pipelines`` dataset signatures, in the snapshot format."""
    from importlib.metadata import version

    pipelines = open_source_pipelines()
    assert pipelines is not None, "pyspark.pipelines needs pyspark 4.1 or later"
    return {
        "package": "pyspark",
        "version": version("pyspark"),
        "functions": {
            name: [{"name": p.name, "kind": p.kind.name, "has_default": p.default is not p.empty}
                   for p in sig.parameters.values()]
            for name, sig in module_signatures(pipelines, DP_DATASET_FUNCTIONS).items()
        },
    }


def pipelines_signatures() -> dict[str, inspect.Signature]:
    """Open-source ``dp`` dataset signatures: the installed module's, else the snapshot's."""
    pipelines = open_source_pipelines()
    if pipelines is None:
        return snapshot_signatures(PIPELINES_SNAPSHOT)
    return module_signatures(pipelines, DP_DATASET_FUNCTIONS)


def documented(signatures: dict[str, inspect.Signature]) -> dict[str, inspect.Signature]:
    """``signatures`` with the :data:`DOCUMENTED` keywords (and functions) added."""
    out = dict(signatures)
    for name, extra in DOCUMENTED.items():
        params = list(out[name].parameters.values()) if name in out else []
        if any(p.kind is p.VAR_KEYWORD for p in params):
            continue
        known = {p.name for p in params}
        required = DOCUMENTED_REQUIRED.get(name, ())
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if not params else (
            inspect.Parameter.KEYWORD_ONLY)
        params += [inspect.Parameter(
            k, kind, default=inspect.Parameter.empty if k in required else None)
            for k in extra if k not in known]
        out[name] = inspect.Signature(params)
    return out


def reference_signatures(flavour: Literal["dp", "dlt"]) -> dict[str, list[inspect.Signature]]:
    """Function name → every signature a call to it must bind to."""
    import dlt as stub

    dlt_sources = [documented(module_signatures(stub, tuple(stub.__all__)))]
    dlt_sources += [documented(snapshot_signatures(HERE / f)) for f in DLT_SNAPSHOTS]
    out: dict[str, list[inspect.Signature]] = {}
    if flavour == "dp":
        for name, sig in pipelines_signatures().items():
            out[name] = [sig]
        for source in dlt_sources:
            for name in EXPECTATIONS:
                out.setdefault(name, []).append(source[name])
        for name, (legacy, _) in DP_DATABRICKS.items():
            out.setdefault(name, [])
            out[f"databricks:{name}"] = [source[legacy] for source in dlt_sources]
    else:
        for source in dlt_sources:
            for name, sig in source.items():
                out.setdefault(name, []).append(sig)
    return out


class MemoryRegistry:
    """A graph-element registry that only keeps what is registered (no Spark, no Connect)."""

    def __init__(self) -> None:
        self.outputs: list[Any] = []
        self.flows: list[Any] = []

    def register_output(self, output: Any) -> None:
        self.outputs.append(output)

    def register_flow(self, flow: Any) -> None:
        self.flows.append(flow)

    def register_auto_cdc_flow(self, flow: Any) -> None:  # pragma: no cover
        self.flows.append(flow)

    def register_sql(self, sql_text: str, file_path: Path) -> None:  # pragma: no cover
        raise AssertionError("medallion registers no SQL")


def memory_registry() -> Any:
    """A :class:`MemoryRegistry` that is a real ``GraphElementRegistry`` subclass."""
    from pyspark.pipelines.graph_element_registry import GraphElementRegistry

    class Registry(MemoryRegistry, GraphElementRegistry):
        pass

    return Registry()


@dataclass
class Call:
    """One call to the fake: function, arguments, and the function it decorated (if any)."""

    api: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    target: str | None = None

    def key(self) -> tuple[Any, ...]:
        return (self.api, self.args, self.kwargs, self.target)


@dataclass
class RecordingApi:
    """A fake ``dp`` or ``dlt`` module (see the module docstring).

    Attributes:
        calls: Every call, in order.
        functions: Dataset name → the query function registered for it (to run it in tests).
        reader: What ``read`` / ``read_stream`` return: ``reader(name, stream)``.
    """

    flavour: Literal["dp", "dlt"]
    reader: Callable[[str, bool], Any] | None = None
    calls: list[Call] = field(default_factory=list)
    functions: dict[str, Callable[[], Any]] = field(default_factory=dict)
    signatures: Mapping[str, list[inspect.Signature]] = field(init=False)

    def __post_init__(self) -> None:
        self.signatures = reference_signatures(self.flavour)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name.startswith("databricks:") or (
                name not in self.signatures):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, args, kwargs)

        return call

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        open_source = self._binds(name, args, kwargs)
        record = Call(name, args, dict(kwargs))
        self.calls.append(record)
        if open_source and name in DP_CALLS:
            self._replay(name, args, kwargs, None)
        if name in ("read", "read_stream", "readStream"):
            assert self.reader is not None, "this test gave the fake no reader"
            return self.reader(args[0] if args else kwargs["name"], name != "read")

        def decorate(func: Callable[[], Any]) -> Callable[[], Any]:
            record.target = func.__name__
            if open_source and name in DP_DATASET_FUNCTIONS:
                self._replay(name, args, kwargs, func)
            if name in ("table", "materialized_view", "view", "temporary_view"):
                self.functions[kwargs.get("name") or func.__name__] = func
            return func

        return decorate

    def _binds(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Check the call against the reference signatures (TypeError when it would not bind).

        Returns whether it is an open-source ``dp`` call (then it is also replayed).
        """
        signatures = self.signatures[name]
        try:
            for signature in signatures:
                signature.bind(*args, **kwargs)
        except TypeError:
            if f"databricks:{name}" not in self.signatures:
                raise
        else:
            databricks_only = any(kwargs.get(k) in values for k, values
                                  in DP_DATABRICKS_VALUES.get(name, {}).items())
            if signatures and not databricks_only:
                return self.flavour == "dp"
        renames = DP_DATABRICKS[name][1]
        legacy = {renames.get(k, k): v for k, v in kwargs.items()}
        for signature in self.signatures[f"databricks:{name}"]:
            signature.bind(*args, **legacy)
        return False

    @staticmethod
    def _replay(name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                func: Callable[[], Any] | None) -> None:
        """Run the real open-source function (it validates its arguments) on a memory registry.

        Skipped where pyspark has no ``pyspark.pipelines`` (3.5): the call bound to the snapshot.
        """
        pipelines = open_source_pipelines()
        if pipelines is None:
            return
        from pyspark.pipelines.graph_element_registry import graph_element_registration_context

        with graph_element_registration_context(memory_registry()):
            result = getattr(pipelines, name)(*args, **kwargs)
            if func is not None:
                result(func)

    def expectations(self, dataset: str) -> dict[str, dict[str, str]]:
        """Expectation decorator → rules applied to ``dataset``'s function."""
        return {c.api: c.args[0] for c in self.calls if c.target == dataset
                and c.api in EXPECTATIONS}

    def dataset_calls(self) -> list[tuple[str, dict[str, Any]]]:
        return [(c.api, c.kwargs) for c in self.calls
                if c.api in ("table", "materialized_view", "view", "temporary_view")]
