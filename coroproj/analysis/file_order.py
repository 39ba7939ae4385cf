"""The file dependency graph, and the per-file fixpoint it orders.

A unit depends on the units that define the functions it calls.  CoroCheck
analysed one unit at a time, trusting the annotations of what it called,
so its users re-ran it over the units in dependency order (callees first,
a cycle of units until it settles) until nothing changed.

coroproj computes the same least fixpoint in one linear search over the
linked program (``inference.Program``).  This module keeps the per-file
view for two reasons: the statistics say how the project's units depend on
each other (how many strongly connected groups, the largest cycle, how
many rounds a per-file tool would need), and ``per_file_fixpoint`` is the
reference the whole-program search is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from coroproj.analysis.inference import Program
from coroproj.analysis.summary import UnitSummary


def defining_units(summaries: Iterable[UnitSummary]) -> dict[str, set[str]]:
    """Function symbol -> the units that hold its definition."""
    where: dict[str, set[str]] = {}
    for summary in summaries:
        for declaration in summary.declarations:
            if declaration.is_definition:
                where.setdefault(declaration.symbol, set()).add(summary.unit)
    return where


def file_dependency_graph(summaries: Iterable[UnitSummary]) -> nx.DiGraph:
    """Unit -> units defining a function it calls.

    A call to a function the unit defines itself adds no edge, also when
    other units define it too (a header's ``static inline`` function, which
    every includer compiles): a per-file tool analyses that copy locally.
    """
    summaries = list(summaries)
    where = defining_units(summaries)
    graph = nx.DiGraph()
    for summary in summaries:
        graph.add_node(summary.unit)
        callees = {call.callee for call in summary.calls}
        for callee in callees:
            targets = where.get(callee)
            if targets and summary.unit not in targets:
                graph.add_edges_from((summary.unit, target) for target in targets)
    return graph


def dependency_order(graph: nx.DiGraph) -> list[list[str]]:
    """Strongly connected groups of units, callees before their callers."""
    condensed = nx.condensation(graph)
    order = list(nx.topological_sort(condensed))
    return [sorted(condensed.nodes[group]["members"]) for group in reversed(order)]


@dataclass(frozen=True)
class PerFileRun:
    coroutines: frozenset[str]  # function symbols found to be coroutine functions
    rounds: int  # unit analyses a per-file tool performs, counting re-runs inside cycles


def per_file_fixpoint(
    program: Program, summaries: list[UnitSummary], graph: nx.DiGraph | None = None
) -> PerFileRun:
    """CoroCheck's procedure: analyse each unit trusting what is known, callees first.

    A unit's analysis marks every function it defines that calls a known
    coroutine function (directly, or through its other functions); a group
    of mutually dependent units is re-analysed until it settles.  Barriers
    (blocking/mixed functions) stop the propagation as in the search.
    """
    known = set(program.roots)
    by_unit = {summary.unit: summary for summary in summaries}
    rounds = 0
    for group in dependency_order(graph if graph is not None else file_dependency_graph(summaries)):
        # A unit outside any cycle is final after one analysis; a cycle is
        # re-analysed until a whole pass over it learns nothing.
        changed = True
        while changed:
            changed = False
            for unit in group:
                rounds += 1
                changed |= _analyse_unit(program, by_unit[unit], known)
            changed &= len(group) > 1
    return PerFileRun(frozenset(known), rounds)


def _analyse_unit(program: Program, summary: UnitSummary, known: set[str]) -> bool:
    """One unit's local fixpoint; True if it learnt something."""
    learnt = False
    progress = True
    while progress:
        progress = False
        for call in summary.calls:
            callee = f"{call.callee}@{call.caller}" if call.indirect else call.callee
            if call.caller in known or callee not in known:
                continue
            if callee not in program.roots and program.is_barrier(callee):
                continue
            known.add(call.caller)
            progress = learnt = True
    return learnt
