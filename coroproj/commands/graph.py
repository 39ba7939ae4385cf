"""The annotated call graph around one function.

  coroproj graph FUNCTION [--callers|--callees] [--depth N] [-o OUT.dot|.svg|.png|.pdf] [PATH...]

Boxes are (inferred) coroutine functions, ellipses native ones; the written
annotations are in the labels; mismatches and forbidden calls are dashed red.
SVG, PNG and PDF output need Graphviz's ``dot``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from coroproj.analysis.inference import Program
from coroproj.commands.inputs import add_input_arguments, analysis_from_args
from coroproj.errors import UserError
from coroproj.report.dot import annotated_graph, to_dot
from coroproj.util.files import write_bytes_atomically, write_text_atomically

if TYPE_CHECKING:
    # imported where a graph is built (see analysis/file_order.py)
    import networkx as nx

USAGE = "coroproj graph [options] FUNCTION [--callers|--callees] [--depth N] [-o FILE] [PATH...]"
DESCRIPTION = """\
Draw the annotated call graph around one function.  Boxes are (inferred)
coroutine functions, ellipses native ones; the written annotations are in
the labels; mismatches and forbidden calls are dashed red.  SVG, PNG and PDF
output need Graphviz's dot."""
EXAMPLES = (
    "coroproj graph cow_lookup -o cow_lookup.svg",
    "coroproj graph bdrv_co_preadv --callers --depth 3 > callers.dot",
)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("function", metavar="FUNCTION", help="the function the graph is centred on")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--callers", action="store_true", help="only what calls FUNCTION")
    direction.add_argument("--callees", action="store_true", help="only what FUNCTION calls")
    parser.add_argument("--depth", type=int, default=2, help="how many calls away (default 2)")
    parser.add_argument("--all", action="store_true",
                        help="also draw test functions and system-header inlines (folded by default)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the format FILE's extension names: .dot, .svg, .png or .pdf "
                             "(default: DOT on stdout)")
    parser.add_argument("--full-graph", action="store_true",
                        help="keep native functions defined elsewhere")
    add_input_arguments(parser, paths_help="C files (with -- FLAGS), or files/folders of the project")


def neighbourhood(program: Program, start: list[str], depth: int, callers: bool, callees: bool) -> set[str]:
    keep = set(start)
    frontier = set(start)
    for _ in range(max(depth, 0)):
        following: set[str] = set()
        for node in frontier:
            if callees:
                following.update(program.graph.successors(node))
            if callers:
                following.update(program.graph.predecessors(node))
        frontier = following - keep
        keep |= following
    return keep


def run(args: argparse.Namespace) -> int:
    analysis, options = analysis_from_args(args)
    program = analysis.program
    start = [f.symbol for f in program.lookup(args.function) if not f.indirect]
    if not start:
        raise UserError(f"coroproj graph: no function named '{args.function}' in the analysed code")
    both = not (args.callers or args.callees)
    keep = neighbourhood(program, start, args.depth, args.callers or both, args.callees or both)
    folded = set() if args.all else {s for s in keep - set(start) if _incidental(program, s)}
    macros = {kind.value: macro for kind, macro in options.names.macro.items()}
    graph = annotated_graph(program, analysis.findings, macros, full=args.full_graph, only=keep - folded)
    _highlight(graph, start)
    _fold(graph, program, folded)
    text = to_dot(graph, name=args.function)
    if not args.output:
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix in (".dot", ".gv"):
        write_text_atomically(output, text)
        return 0
    if suffix not in RENDERED_FORMATS:
        raise UserError(f"coroproj graph: {output}: unknown graph format '{output.suffix or output.name}' "
                        f"(use .dot, {', '.join(RENDERED_FORMATS)})")
    dot = shutil.which("dot")
    if dot is None:
        raise UserError(f"coroproj graph: {suffix[1:].upper()} output needs Graphviz's 'dot' "
                        "(apt-get install graphviz); .dot needs nothing")
    result = subprocess.run([dot, f"-T{suffix[1:]}"], input=text.encode(), capture_output=True)
    if result.returncode != 0:
        raise UserError(f"coroproj graph: dot failed: {result.stderr.decode(errors='replace').strip()}")
    write_bytes_atomically(output, result.stdout)
    return 0


def _incidental(program: Program, symbol: str) -> bool:
    """Test functions and system headers' inline functions: folded unless --all."""
    function = program.functions[symbol]
    where = function.location
    if where is None or function.indirect:
        return False
    path = Path(where.file)
    if path.is_relative_to(Path.cwd()):
        path = path.relative_to(Path.cwd())  # a project that itself lives under tests/ stays drawn
    return function.name.startswith("test_") or "tests" in path.parts or where.file.startswith("/usr/")


def _highlight(graph: nx.MultiDiGraph, start: list[str]) -> None:
    """The function asked about stands out: bold, filled, drawn first."""
    for symbol in start:
        if symbol in graph:
            attributes = graph.nodes[symbol]
            style = attributes.get("style")
            attributes.update(style=f"{style},filled,bold" if style else "filled,bold",
                              fillcolor="lightyellow", penwidth="2")


def _fold(graph: nx.MultiDiGraph, program: Program, folded: set[str]) -> None:
    """One "N more" node stands for the folded functions next to the drawn ones."""
    if not folded:
        return
    more = f"{len(folded)} more"
    graph.add_node(more, label=f"{len(folded)} more\n(tests, system inlines: --all)",
                   shape="note", color="grey", fontcolor="grey")
    linked: set[tuple[str, str]] = set()
    for symbol in list(graph.nodes):
        if symbol == more:
            continue
        if any(callee in folded for callee in program.graph.successors(symbol)):
            linked.add((symbol, more))
        if any(caller in folded for caller in program.graph.predecessors(symbol)):
            linked.add((more, symbol))
    for caller, callee in sorted(linked):
        graph.add_edge(caller, callee, color="grey", style="dotted")


# Formats written through Graphviz's dot, by file extension.
RENDERED_FORMATS = (".svg", ".png", ".pdf")
