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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from coroproj.analysis.inference import Program
from coroproj.analysis.summary import Call, Declaration, UnitSummary

if TYPE_CHECKING:
    # networkx takes a tenth of a second to import: only the commands that draw or
    # order files pay for it.
    import networkx as nx

_T = TypeVar("_T")


def _per_run(
    summaries: list[UnitSummary], name: str, derive: Callable[[list[Any]], _T]
) -> list[list[_T]]:
    """``derive`` of each run of each summary's record list ``name``, once per shared run.

    The runs of a header's records are the same list in every unit that
    includes it (``project.parts``): deriving per run instead of per unit
    does each header's work once, not once per includer.
    """
    memo: dict[int, _T] = {}
    result = []
    for summary in summaries:
        derived = []
        for run in summary.record_runs(name):
            value = memo.get(id(run))
            if value is None:
                value = memo[id(run)] = derive(run)
            derived.append(value)
        result.append(derived)
    return result


def _definitions(run: list[Declaration]) -> frozenset[str]:
    return frozenset(d.symbol for d in run if d.is_definition)


def _callees(run: list[Call]) -> frozenset[str]:
    return frozenset(call.callee for call in run)


def defining_units(summaries: Iterable[UnitSummary]) -> dict[str, set[str]]:
    """Function symbol -> the units that hold its definition."""
    summaries = list(summaries)
    where: dict[str, set[str]] = {}
    for summary, runs in zip(summaries, _per_run(summaries, "declarations", _definitions), strict=True):
        for symbol in frozenset().union(*runs):
            where.setdefault(symbol, set()).add(summary.unit)
    return where


def unit_dependencies(summaries: Iterable[UnitSummary]) -> list[tuple[str, str]]:
    """Sorted (unit, unit defining a function it calls) pairs.

    A call to a function the unit defines itself adds no edge, also when
    other units define it too (a header's ``static inline`` function, which
    every includer compiles): a per-file tool analyses that copy locally.
    """
    summaries = list(summaries)
    # Worked out per distinct run of records, not per unit: a header's runs
    # are shared by all its includers.  Sets of units are bit masks (bit i:
    # the i-th summary): a unit defines a function when one of its runs does,
    # so "the units defining f" is the union of the masks of f's defining runs.
    holders: dict[int, int] = {}  # run -> mask of the units holding it
    runs: dict[int, list[Declaration]] = {}
    for position, summary in enumerate(summaries):
        for run in summary.record_runs("declarations"):
            holders[id(run)] = holders.get(id(run), 0) | 1 << position
            runs[id(run)] = run
    defining: dict[str, int] = {}  # function -> mask of the units defining it
    for key, run in runs.items():
        for symbol in _definitions(run):
            defining[symbol] = defining.get(symbol, 0) | holders[key]
    relevant: dict[int, frozenset[str]] = {}  # call run -> its callees that some unit defines
    edges = []
    for position, summary in enumerate(summaries):
        callees: set[str] = set()
        for run in summary.record_runs("calls"):
            found = relevant.get(id(run))
            if found is None:
                found = relevant[id(run)] = frozenset(c for c in _callees(run) if c in defining)
            callees |= found
        bit, targets = 1 << position, 0
        for callee in callees:
            units = defining[callee]
            if not units & bit:
                targets |= units
        edges += [(summary.unit, summaries[target].unit) for target in _bits(targets)]
    return sorted(set(edges))


def _bits(mask: int) -> list[int]:
    """The positions of the bits set in ``mask``."""
    positions = []
    while mask:
        low = mask & -mask
        positions.append(low.bit_length() - 1)
        mask ^= low
    return positions


def file_dependency_graph(summaries: Iterable[UnitSummary]) -> nx.DiGraph:
    """Unit -> units defining a function it calls (``unit_dependencies``)."""
    import networkx as nx

    summaries = list(summaries)
    graph = nx.DiGraph()
    graph.add_nodes_from(summary.unit for summary in summaries)
    graph.add_edges_from(unit_dependencies(summaries))
    return graph


def dependency_order(graph: nx.DiGraph) -> list[list[str]]:
    """Strongly connected groups of units, callees before their callers."""
    import networkx as nx

    condensed = nx.condensation(graph)
    order = list(nx.topological_sort(condensed))
    return [sorted(condensed.nodes[group]["members"]) for group in reversed(order)]


@dataclass(frozen=True)
class PerFileRun:
    coroutines: frozenset[str]  # function symbols found to be coroutine functions
    rounds: int  # unit analyses a per-file tool performs, counting re-runs inside cycles


def per_file_fixpoint(
    program: Program, summaries: list[UnitSummary], groups: list[list[str]] | None = None
) -> PerFileRun:
    """CoroCheck's procedure: analyse each unit trusting what is known, callees first.

    A unit's analysis marks every function it defines that calls a known
    coroutine function (directly, or through its other functions); a group
    of mutually dependent units is re-analysed until it settles.  Barriers
    (blocking/mixed functions) stop the propagation as in the search.
    ``groups``: the units' ``dependency_order``, if already known.
    """
    known = set(program.roots)
    # Only a call to a function that can ever become known, and that is no
    # barrier, makes progress: keep those calls (each pair once per run),
    # found once per shared run and kept as the runs are shared.
    reachable = _ever_known(program)
    passes = {node for node in reachable if node in program.roots or not program.is_barrier(node)}

    def progressing(run: list[Call]) -> list[tuple[str, str]]:
        pairs = dict.fromkeys((call.caller, _node(call)) for call in run)
        return [(caller, callee) for caller, callee in pairs if callee in passes]

    runs_of = dict(zip((s.unit for s in summaries), _per_run(summaries, "calls", progressing), strict=True))
    # Which units each function is called from: the analysis of a unit learns
    # nothing new unless one of its callees became known since its last one.
    holders: dict[int, list[str]] = {}  # run -> the units holding it
    for unit, runs in runs_of.items():
        for run in runs:
            holders.setdefault(id(run), []).append(unit)
    calling: dict[str, list[int]] = {}  # function -> the runs calling it
    for key, run in {id(run): run for runs in runs_of.values() for run in runs}.items():
        for callee in {callee for _, callee in run}:
            calling.setdefault(callee, []).append(key)
    stale = set(runs_of)  # units whose next analysis could learn something
    rounds = 0
    if groups is None:
        groups = dependency_order(file_dependency_graph(summaries))
    for group in groups:
        # A unit outside any cycle is final after one analysis; a cycle is
        # re-analysed until a whole pass over it learns nothing.
        changed = True
        while changed:
            changed = False
            for unit in group:
                rounds += 1
                if unit not in stale:
                    continue  # its analysis would learn nothing: counted, not run
                stale.discard(unit)
                for learnt in _analyse_unit(runs_of[unit], known):
                    changed = True
                    for run in calling.get(learnt, ()):
                        stale.update(holders[run])
            changed &= len(group) > 1
    return PerFileRun(frozenset(known), rounds)


def _node(call: Call) -> str:
    """The call's target node in the program's graph (one node per indirect call expression)."""
    return f"{call.callee}@{call.caller}" if call.indirect else call.callee


def _ever_known(program: Program) -> set[str]:
    """Every function the per-file procedure below could mark: the roots and,
    transitively, the callers of marked functions that are roots or no barrier."""
    reached = set(program.roots)
    stack = list(reached)
    while stack:
        node = stack.pop()
        if node not in program.roots and program.is_barrier(node):
            continue
        for caller in program.graph.predecessors(node):
            if caller not in reached:
                reached.add(caller)
                stack.append(caller)
    return reached


def _analyse_unit(runs: list[list[tuple[str, str]]], known: set[str]) -> list[str]:
    """One unit's local fixpoint over its runs of (caller, callee) calls (none
    to a barrier): the functions it learnt to be coroutine functions, added to ``known``."""
    learnt = []
    progress = True
    while progress:
        progress = False
        for run in runs:
            for caller, callee in run:
                if callee in known and caller not in known:
                    known.add(caller)
                    learnt.append(caller)
                    progress = True
    return learnt
