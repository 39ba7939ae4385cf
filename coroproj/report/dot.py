"""The annotated call graph in CoroCheck's visual language.

Inferred coroutine functions are boxes, native ones ellipses; the
annotations the programmer wrote are printed in the label; nodes whose
annotation disagrees with the inference (missing, spurious, wrong
blocking) and forbidden edges (coroutine -> blocking) are dashed red.
Native functions defined elsewhere are pruned unless ``full`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from coroproj.analysis.findings import Finding
from coroproj.analysis.inference import BLOCKING, COROUTINE, Program

if TYPE_CHECKING:
    # imported where a graph is built (see analysis/file_order.py)
    import networkx as nx

MISMATCH_CHECKS = {"missing", "spurious", "wrong-blocking", "conflict"}
EDGE_CHECKS = {"forbidden-call", "suspicious-call"}


def annotated_graph(
    program: Program,
    findings: Iterable[Finding],
    macros: dict[str, str],
    *,
    full: bool = False,
    only: Iterable[str] | None = None,
) -> nx.MultiDiGraph:
    """A networkx graph with Graphviz attributes, ready for ``to_dot``."""
    import networkx as nx

    findings = [f for f in findings if not f.suppressed]
    mismatched = {f.function for f in findings if f.check in MISMATCH_CHECKS}
    bad_edges = {(f.function, f.file, f.line, f.column) for f in findings if f.check in EDGE_CHECKS}
    keep = set(only) if only is not None else None

    graph = nx.MultiDiGraph()
    for symbol, function in program.functions.items():
        if keep is not None and symbol not in keep:
            continue
        coroutine = program.should_be_coroutine(symbol)
        # Prune native functions defined elsewhere (libc and friends), but
        # keep the annotated ones: they explain the rest.
        defined_elsewhere = not function.definitions and not function.indirect
        if not full and defined_elsewhere and not coroutine and not function.kinds:
            continue
        written = [macros[k] for k in sorted(function.kinds) if k in macros]
        label = function.name if function.indirect else "\n".join([function.name, *written])
        attributes = {"label": label, "shape": "box" if coroutine else "ellipse"}
        if not function.indirect and function.name in mismatched:
            attributes.update(style="dashed", color="red")
        graph.add_node(symbol, **attributes)
    for caller, callee, call in program.graph.edges():
        if caller not in graph or callee not in graph:
            continue
        attributes = {}
        callee_function = program.functions[callee]
        caller_name = program.functions[caller].name
        if (caller_name, call.file, call.line, call.column) in bad_edges or (
            BLOCKING in callee_function.kinds
            and COROUTINE in program.functions[caller].kinds
            and COROUTINE not in callee_function.kinds
        ):
            attributes.update(style="dashed", color="red")
        graph.add_edge(caller, callee, **attributes)
    return graph


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: nx.MultiDiGraph, name: str = "callgraph") -> str:
    """Graphviz text for a graph made by ``annotated_graph`` (stable order)."""
    lines = [f"digraph {_quote(name)} {{", "  node [fontname=\"monospace\"];"]
    for node, attributes in sorted(graph.nodes(data=True)):
        attrs = ", ".join(f"{k}={_quote(str(v))}" for k, v in sorted(attributes.items()))
        lines.append(f"  {_quote(node)} [{attrs}];")
    for caller, callee, attributes in sorted(
        graph.edges(data=True), key=lambda e: (e[0], e[1], sorted(e[2].items()))
    ):
        attrs = ", ".join(f"{k}={_quote(str(v))}" for k, v in sorted(attributes.items()))
        lines.append(f"  {_quote(caller)} -> {_quote(callee)}" + (f" [{attrs}];" if attrs else ";"))
    lines.append("}")
    return "\n".join(lines) + "\n"
