"""Explain why a function must be a coroutine function (or why it need not).

  coroproj why FUNCTION [PATH...] [-- COMPILER FLAGS]
"""

from __future__ import annotations

import argparse

from coroproj.analysis.inference import COROUTINE, Function, Program
from coroproj.commands.inputs import add_input_arguments, analysis_from_args
from coroproj.errors import UserError

USAGE = "coroproj why [options] FUNCTION [PATH...] [-- COMPILER-FLAGS]"
DESCRIPTION = """\
Explain why a function must be a coroutine function, or why it need not:
its written annotation, its inferred kind, and the call chain to a root."""
EXAMPLES = (
    "coroproj why bdrv_co_preadv",
    "coroproj why worker t.c -- -Iinclude",
)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", metavar="FUNCTION", help="the function to explain")
    add_input_arguments(parser, paths_help="C files (with -- FLAGS), or files/folders of the project")


def run(args: argparse.Namespace) -> int:
    analysis, options = analysis_from_args(args)
    program = analysis.program
    functions = [f for f in program.lookup(args.function) if not f.indirect]
    if not functions:
        raise UserError(f"coroproj why: no function named '{args.function}' in the analysed code")
    macro = options.names.macro
    for function in functions:
        print(explain(program, function, {k.value: v for k, v in macro.items()}))
    return 0


def _where(function: Function) -> str:
    where = function.location
    return f"{where.file}:{where.line}" if where else "(no location)"


def explain(program: Program, function: Function, macros: dict[str, str]) -> str:
    coroutine_fn = macros[COROUTINE]
    written = ", ".join(macros[k] for k in sorted(function.kinds)) or "no annotation"
    lines = [f"{function.name} ({_where(function)}): written {written}"]
    reason = program.roots.get(function.symbol)
    if reason is not None:
        lines.append(f"  it is a root: {reason.text}")
        return "\n".join(lines)
    if not program.should_be_coroutine(function.symbol):
        callees = [program.functions[c].name for c, _ in program.calls_from(function.symbol)]
        lines.append(f"  it need not be {coroutine_fn}: none of its calls reaches a coroutine function")
        if callees:
            lines.append("  it calls: " + ", ".join(dict.fromkeys(callees)))
        return "\n".join(lines)
    lines.append(f"  it must be {coroutine_fn}, because:")
    for call in program.chain(function.symbol):
        callee = program.functions[f"{call.callee}@{call.caller}" if call.indirect else call.callee]
        caller = program.functions[call.caller]
        lines.append(f"    {call.file}:{call.line}:{call.column}: '{caller.name}' calls '{callee.name}'")
    end = program.functions[program.chain_end(function.symbol)]
    lines.append(f"    '{end.name}' is a root: {program.roots[end.symbol].text}")
    return "\n".join(lines)
