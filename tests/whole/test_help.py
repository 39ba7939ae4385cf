"""Every sub-command's --help: a one-line synopsis, a short description in plain text, an
example, and help text for every option and argument."""

from __future__ import annotations

import argparse

import pytest

from coroproj.cli import COMMANDS, build_parser


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: sub for name, sub in subparsers.choices.items() if name in COMMANDS}


def test_every_command_is_walked() -> None:
    assert set(subcommand_parsers()) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_and_argument_has_help(name: str) -> None:
    parser = subcommand_parsers()[name]
    undocumented = [
        action.option_strings[0] if action.option_strings else action.metavar or action.dest
        for action in parser._actions
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert undocumented == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_has_a_synopsis_a_plain_description_and_an_example(name: str) -> None:
    text = subcommand_parsers()[name].format_help()
    lines = text.splitlines()
    assert lines[0].startswith(f"usage: coroproj {name} ")
    assert lines[1] == "", "the synopsis is one line"
    description = text.split("\n\n")[1]
    # Prose, not a synopsis run into it, and no reStructuredText markup.
    assert not description.startswith((" ", "coroproj")), description
    assert "``" not in text
    examples = text.split("\nexamples:\n", 1)[1].splitlines()
    assert examples and all(line.startswith(f"  coroproj {name}") for line in examples if line)
