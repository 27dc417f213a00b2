"""docs/cli.md and README list every command and option exactly as the parser defines them.

The blocks after ``<!-- cli: COMMAND -->`` (docs/cli.md) and ``<!-- cli: synopsis -->``
(README.md) are generated from :func:`medallion.cli.build_parser` by walking it; when an option
changes, this test fails and prints the block to paste.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

import pytest

from medallion.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 100


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _value(action: argparse.Action) -> str:
    if action.nargs == 0:
        return ""
    if action.choices is not None:
        return "|".join(map(str, action.choices))
    return str(action.metavar or action.dest.upper())


def _term(action: argparse.Action) -> str:
    """How the synopsis writes one argument."""
    value = _value(action)
    if not action.option_strings:
        return f"{value} [{value} ...]" if action.nargs == "+" else value
    flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") else \
        action.option_strings[0]
    long = max(action.option_strings, key=len)
    flag = long if long.startswith("--") else flag
    if not value:
        return f"[{flag}]"
    if action.nargs == "?":
        return f"[{flag} [{value}]]"
    return f"[{flag} {value}]" if not action.required else f"{flag} {value}"


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def synopsis(name: str, parser: argparse.ArgumentParser) -> str:
    """``medallion NAME ARGS...``, wrapped like the docs write it."""
    terms = [_term(a) for a in _arguments(parser) if not a.option_strings]
    terms += [_term(a) for a in _arguments(parser) if a.option_strings]
    head = f"medallion {name}"
    lines = [head]
    for term in terms:  # wrap between arguments, never inside one
        if len(lines[-1]) + 1 + len(term) > WIDTH:
            lines.append(" " * len(head))
        lines[-1] += " " + term
    return "\n".join(lines)


def command_block(name: str, parser: argparse.ArgumentParser) -> str:
    """The synopsis, then one line per argument with its help."""
    lines = [synopsis(name, parser), ""]
    for action in _arguments(parser):
        value = _value(action)
        spelled = ", ".join(action.option_strings) if action.option_strings else value
        if action.option_strings and value:
            spelled += f" {value}"
        helps = textwrap.wrap(str(action.help), WIDTH - 31)
        if len(spelled) > 28:
            lines.append(f"  {spelled}")
            helps = [f"{'':<28} {h}" for h in helps]
        else:
            helps = [f"{spelled if i == 0 else '':<28} {h}" for i, h in enumerate(helps)]
        lines += [f"  {h}" for h in helps]
    return "\n".join(lines)


def top_block(parser: argparse.ArgumentParser) -> str:
    lines = [f"medallion {' '.join(_term(a) for a in _arguments(parser))} COMMAND ...", ""]
    lines += [f"  {a.option_strings[0]:<20} {a.help}" for a in _arguments(parser)]
    lines.append("")
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    for name in sub.choices:
        text = textwrap.wrap(str(helps[name]), WIDTH - 23)
        lines += [f"  {name if i == 0 else '':<20} {h}" for i, h in enumerate(text)]
    return "\n".join(lines)


def expected_blocks() -> dict[str, str]:
    parser = build_parser()
    commands = _subcommands(parser)
    return {"medallion": top_block(parser),
            **{name: command_block(name, p) for name, p in commands.items()}}


def documented(page: Path) -> dict[str, str]:
    text = page.read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- cli: ([\w-]+) -->\n```text\n(.*?)\n```", text, re.S))


def test_cli_page_documents_every_command_and_option() -> None:
    expected = expected_blocks()
    found = documented(ROOT / "docs/cli.md")
    assert sorted(found) == sorted(expected)
    for name, block in expected.items():
        assert found[name] == block, f"docs/cli.md, <!-- cli: {name} -->:\n{block}"


def test_readme_synopsis_lists_every_command_and_option() -> None:
    parser = build_parser()
    expected = "\n".join(synopsis(name, p) for name, p in _subcommands(parser).items())
    assert documented(ROOT / "README.md") == {"synopsis": expected}, expected


def test_every_option_of_the_parser_is_in_a_block() -> None:
    """The walk itself misses nothing: each option string of each command is in its block."""
    blocks = expected_blocks()
    for name, parser in _subcommands(build_parser()).items():
        for action in _arguments(parser):
            for option in action.option_strings:
                assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", blocks[name]), option


@pytest.mark.parametrize("argv", [["run", "--help"], ["validate", "--help"]])
def test_help_is_argparse_own(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from medallion.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert "pipeline [pipeline ...]" in capsys.readouterr().out
