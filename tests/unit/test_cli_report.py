from __future__ import annotations

import pytest

from medallion.cli import _report
from medallion.errors import GraphError


def test_errors_are_printed_as_their_message(capsys: pytest.CaptureFixture[str]) -> None:
    _report(GraphError("flow 'f' (into 't') writes 't', which ... 'quoted'"), debug=False)
    assert capsys.readouterr().err == (
        "error: flow 'f' (into 't') writes 't', which ... 'quoted'\n")
