"""The whole-program search finds exactly what CoroCheck's per-file re-runs converge to."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coroproj.analysis.file_order import dependency_order, file_dependency_graph, per_file_fixpoint
from coroproj.analysis.inference import Program
from coroproj.analysis.summary import Call, Declaration, UnitSummary


def _unit(name: str, defined: dict[str, list[str]], calls: list[tuple[str, str]]) -> UnitSummary:
    declarations = [
        Declaration(function, function, f"{name}.c", line, 1, kinds, is_definition=True)
        for line, (function, kinds) in enumerate(sorted(defined.items()), start=1)
    ]
    edges = [Call(caller, callee, f"{name}.c", 1, 1) for caller, callee in calls]
    return UnitSummary(unit=name, main_file=f"{name}.c", declarations=declarations, calls=edges)


@st.composite
def programs(draw: st.DrawFn) -> list[UnitSummary]:
    functions = draw(st.integers(min_value=1, max_value=24))
    units = draw(st.integers(min_value=1, max_value=6))
    home = [draw(st.integers(0, units - 1)) for _ in range(functions)]
    written = st.sampled_from([[], [], [], ["coroutine"], ["blocking"], ["mixed"]])
    kinds = [draw(written) for _ in range(functions)]
    call = st.tuples(st.integers(0, functions - 1), st.integers(-1, functions - 1))  # -1: the primitive
    edges = draw(st.lists(call, max_size=60))
    summaries = []
    for unit in range(units):
        defined = {f"f{i}": kinds[i] for i in range(functions) if home[i] == unit}
        calls = [
            (f"f{caller}", "qemu_coroutine_yield" if callee < 0 else f"f{callee}")
            for caller, callee in edges
            if home[caller] == unit
        ]
        summaries.append(_unit(f"u{unit}", defined, calls))
    return summaries


@settings(max_examples=300, deadline=None)
@given(programs())
def test_per_file_fixpoint_equals_the_whole_program_search(summaries: list[UnitSummary]) -> None:
    program = Program(summaries, roots=["qemu_coroutine_yield"])
    searched = {symbol for symbol in program.functions if program.should_be_coroutine(symbol)}
    assert per_file_fixpoint(program, summaries).coroutines == searched


def _naive_per_file_rounds(program: Program, summaries: list[UnitSummary]) -> tuple[set[str], int]:
    """The per-file procedure as written down: every unit of a group analysed in
    every pass, each analysis over all its calls until nothing changes."""
    known = set(program.roots)
    rounds = 0
    calls = {s.unit: s.calls for s in summaries}

    def passes(callee: str) -> bool:
        return callee in program.roots or not program.is_barrier(callee)

    for group in dependency_order(file_dependency_graph(summaries)):
        changed = True
        while changed:
            changed = False
            for unit in group:
                rounds += 1
                progress = True
                while progress:
                    progress = False
                    for call in calls[unit]:
                        if call.callee in known and passes(call.callee) and call.caller not in known:
                            known.add(call.caller)
                            progress = changed = True
            changed &= len(group) > 1
    return known, rounds


@settings(max_examples=300, deadline=None)
@given(programs())
def test_per_file_rounds_are_those_of_the_naive_procedure(summaries: list[UnitSummary]) -> None:
    # per_file_fixpoint skips the analyses that cannot learn anything, but counts them.
    program = Program(summaries, roots=["qemu_coroutine_yield"])
    run = per_file_fixpoint(program, summaries)
    assert (set(run.coroutines), run.rounds) == _naive_per_file_rounds(program, summaries)


def test_dependency_order_puts_callees_first_and_groups_cycles() -> None:
    summaries = [
        _unit("main", {"main": []}, [("main", "a")]),
        _unit("a", {"a": []}, [("a", "b")]),
        _unit("b", {"b": []}, [("b", "c"), ("b", "a2")]),
        _unit("a2", {"a2": []}, [("a2", "b")]),
        _unit("c", {"c": []}, [("c", "qemu_coroutine_yield")]),
    ]
    order = dependency_order(file_dependency_graph(summaries))
    assert order == [["c"], ["a2", "b"], ["a"], ["main"]]
    run = per_file_fixpoint(Program(summaries, roots=["qemu_coroutine_yield"]), summaries)
    assert run.coroutines >= {"main", "a", "b", "a2", "c"}
    # c once; the {a2, b} cycle three passes (b learns, a2 learns, nothing); a and main once.
    assert run.rounds == 1 + 6 + 1 + 1


@st.composite
def programs_with_headers(draw: st.DrawFn) -> list[UnitSummary]:
    """Units whose record lists are made of runs, header runs shared by their includers."""
    names = [f"f{i}" for i in range(draw(st.integers(1, 16)))]

    def run(file: str) -> tuple[list[Declaration], list[Call]]:
        defined = draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
        calls = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=6))
        declarations = [Declaration(f, f, file, 1, 1, [], is_definition=True) for f in defined]
        return declarations, [Call(caller, callee, file, 1, 1) for caller, callee in calls]

    headers = [run(f"h{number}.h") for number in range(draw(st.integers(0, 4)))]
    summaries = []
    for unit in range(draw(st.integers(1, 6))):
        included = draw(st.lists(st.sampled_from(headers), max_size=4)) if headers else []
        pieces = [*included, run(f"u{unit}.c")]
        summary = UnitSummary(unit=f"u{unit}", main_file=f"u{unit}.c")
        summary.runs = {
            "declarations": [declarations for declarations, _ in pieces],
            "calls": [calls for _, calls in pieces],
            "address_taken": [],
        }
        summary.declarations = [d for declarations, _ in pieces for d in declarations]
        summary.calls = [c for _, calls in pieces for c in calls]
        summaries.append(summary)
    return summaries


@settings(max_examples=300, deadline=None)
@given(programs_with_headers())
def test_file_graph_links_a_unit_to_every_unit_defining_a_function_it_calls_but_does_not_define(
    summaries: list[UnitSummary],
) -> None:
    defined = {s.unit: {d.symbol for d in s.declarations if d.is_definition} for s in summaries}
    expected = {
        (s.unit, other.unit)
        for s in summaries
        for call in s.calls
        if call.callee not in defined[s.unit]
        for other in summaries
        if call.callee in defined[other.unit]
    }
    graph = file_dependency_graph(summaries)
    assert set(graph.edges) == expected
    assert set(graph.nodes) == {s.unit for s in summaries}
