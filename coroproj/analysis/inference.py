"""Link unit summaries into one program and infer coroutine functions.

CoroCheck's rule, made whole-program: a function *should be* a coroutine
function iff it can reach a root through call edges.  Per-file tools had
to be re-run in dependency order until nothing changed; with every
summary linked into one call graph, that fixpoint is a single multi-source
backward breadth-first search from the roots — linear in the size of the
graph, and the search tree gives every function its shortest witness chain.

Roots (DESIGN.md): annotated functions declared but defined nowhere in the
analysed program; annotated functions whose address is taken; indirect
calls through coroutine pointer types; configured primitives.  Functions
annotated ``blocking_fn`` or ``coroutine_mixed_fn`` are barriers: they are
native by declaration, so a mistake in one is reported there and does not
cascade to all of its callers.

Context guards (``analysis/context.py``): a call made where the predicate
is known (``if (qemu_in_coroutine()) co_fn();``) does not propagate, so a
function whose coroutine calls are all guarded is implicitly mixed; a
function that asserts it runs in a coroutine is a root, one that asserts
the opposite never becomes a coroutine function.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coroproj.analysis.summary import AddressTaken, Call, Declaration, UnitSummary

COROUTINE, BLOCKING, MIXED, NATIVE = "coroutine", "blocking", "mixed", "native"


@dataclass
class Function:
    """Everything known about one function symbol across the program."""

    symbol: str
    name: str
    definitions: list[Declaration] = field(default_factory=list)
    prototypes: list[Declaration] = field(default_factory=list)
    address_taken: list[AddressTaken] = field(default_factory=list)
    indirect: bool = False  # an indirect-call node, not a function
    pointer_kinds: frozenset[str] = frozenset()
    # (bucket, file, line, column) already linked: a header's prototype is in
    # every unit that includes it, and is kept once (a set, not a list scan).
    places: set[tuple[str, str, int, int]] = field(default_factory=set, repr=False, compare=False)
    # Written annotations: the union over all declarations (C's composite
    # type), or the pointer's for an indirect call.  Set once linking is done
    # (``Program``): the checks ask for it hundreds of thousands of times.
    kinds: frozenset[str] = frozenset()

    @property
    def definition(self) -> Declaration | None:
        return self.definitions[0] if self.definitions else None

    def written_kinds(self) -> frozenset[str]:
        """What ``kinds`` is, worked out from the declarations linked so far."""
        if self.indirect:
            return self.pointer_kinds
        return frozenset(k for d in (*self.definitions, *self.prototypes) for k in d.kinds)

    @property
    def location(self) -> Declaration | None:
        """Where the function is reported: its definition, else its first prototype."""
        return self.definition or (self.prototypes[0] if self.prototypes else None)

    @property
    def hybrid(self) -> bool:
        return any(d.hybrid for d in self.definitions)

    @property
    def asserted(self) -> str:
        """"coroutine"/"native" if its definition asserts where it runs."""
        return self.definitions[0].asserted if self.definitions else ""


class CallGraph:
    """Function symbol -> calls, in both directions; one edge per call site.

    A plain adjacency map: linking adds a hundred thousand edges on a real
    tree, and the searches only need each node's callers and callees.
    """

    def __init__(self) -> None:
        self._out: dict[str, dict[tuple[str, str, int, int], Call]] = {}
        self._in: dict[str, dict[tuple[str, str, int, int], Call]] = {}

    def add_node(self, symbol: str) -> None:
        if symbol not in self._out:
            self._out[symbol] = {}
            self._in[symbol] = {}

    def add_call(self, caller: str, callee: str, call: Call) -> None:
        """The call edge ``caller -> callee`` at ``call``'s place, once however often it is added."""
        place = (callee, call.file, call.line, call.column)
        calls = self._out[caller]
        if place not in calls:
            calls[place] = call
            self._in[callee][(caller, *place[1:])] = call

    @property
    def nodes(self) -> Iterable[str]:
        return self._out.keys()

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._out

    def calls_into(self, symbol: str) -> list[tuple[str, Call]]:
        """(caller, call) of every call of ``symbol``, in source order of the calls."""
        return sorted(((place[0], call) for place, call in self._in[symbol].items()),
                      key=lambda item: _call_order(item[1]))

    def calls_out_of(self, symbol: str) -> list[tuple[str, Call]]:
        """(callee, call) of every call ``symbol`` makes, in source order."""
        return sorted(((place[0], call) for place, call in self._out[symbol].items()),
                      key=lambda item: _call_order(item[1]))

    def successors(self, symbol: str) -> set[str]:
        return {place[0] for place in self._out[symbol]}

    def predecessors(self, symbol: str) -> set[str]:
        return {place[0] for place in self._in[symbol]}

    def edges(self) -> Iterable[tuple[str, str, Call]]:
        """Every call edge as (caller, callee, call)."""
        for caller, calls in self._out.items():
            for place, call in calls.items():
                yield caller, place[0], call


@dataclass(frozen=True)
class RootReason:
    kind: str  # "undefined", "address-taken", "pointer", "configured"
    text: str


class Program:
    """The linked call graph of a set of units, with the inference result."""

    def __init__(self, summaries: Iterable[UnitSummary], roots: Iterable[str] = ()) -> None:
        self.functions: dict[str, Function] = {}
        self.graph = CallGraph()
        self.configured_roots = frozenset(roots)
        # Linking a record again changes nothing; the summaries of units that
        # include one header share that header's runs of records (``parts``),
        # so each run is linked once instead of once per includer.
        self._linked: set[int] = set()
        for summary in summaries:
            self._add(summary)
        del self._linked
        for function in self.functions.values():
            function.kinds = function.written_kinds()
        self.roots: dict[str, RootReason] = self._find_roots()
        self.next_hop: dict[str, tuple[str, Call | None]] = self._search_backwards()

    # -- linking ------------------------------------------------------------
    def _function(self, symbol: str, name: str) -> Function:
        function = self.functions.get(symbol)
        if function is None:
            function = self.functions[symbol] = Function(symbol, name)
            self.graph.add_node(symbol)
        return function

    def _add(self, summary: UnitSummary) -> None:
        for run in self._unlinked(summary, "declarations"):
            for decl in run:
                function = self._function(decl.symbol, decl.name)
                bucket = function.definitions if decl.is_definition else function.prototypes
                if _first_at(function, "definition" if decl.is_definition else "prototype", decl):
                    bucket.append(decl)
        for run in self._unlinked(summary, "address_taken"):
            for taken in run:
                function = self._function(taken.symbol, taken.name)
                if _first_at(function, "address", taken):
                    function.address_taken.append(taken)
        for run in self._unlinked(summary, "calls"):
            for call in run:
                if call.indirect:
                    # One node per caller and pointer expression, as CoroCheck draws them.
                    node = f"{call.callee}@{call.caller}"
                    target = self._function(node, call.callee)
                    target.indirect = True
                    target.pointer_kinds = frozenset(call.pointer_kinds)
                else:
                    node = call.callee
                    self._function(node, call.callee.split("@", 1)[0])
                self._function(call.caller, call.caller.split("@", 1)[0])
                self.graph.add_call(call.caller, node, call)

    def _unlinked(self, summary: UnitSummary, name: str) -> list[list[Any]]:
        """The runs of record list ``name`` not linked yet (a shared run is linked once)."""
        runs = []
        for run in summary.record_runs(name):
            if id(run) not in self._linked:
                self._linked.add(id(run))
                runs.append(run)
        return runs

    # -- inference ----------------------------------------------------------
    def _find_roots(self) -> dict[str, RootReason]:
        roots: dict[str, RootReason] = {}
        for symbol, function in self.functions.items():
            kinds = function.kinds
            if function.indirect:
                if COROUTINE in kinds:
                    roots[symbol] = RootReason("pointer", "an indirect call through a coroutine pointer")
                continue
            if function.name in self.configured_roots:
                roots[symbol] = RootReason("configured", "a configured coroutine primitive")
            elif COROUTINE in kinds and not function.definitions:
                roots[symbol] = RootReason("undefined", "annotated and defined elsewhere")
            elif function.asserted == COROUTINE and MIXED not in kinds:
                roots[symbol] = RootReason("asserted", "it asserts that it runs in a coroutine")
            elif COROUTINE in kinds and function.address_taken:
                taken = function.address_taken[0]
                roots[symbol] = RootReason(
                    "address-taken",
                    f"annotated and its address is taken at {taken.file}:{taken.line}",
                )
        return roots

    def _search_backwards(self) -> dict[str, tuple[str, Call | None]]:
        """Multi-source BFS over reversed call edges: node -> (next node, call)."""
        next_hop: dict[str, tuple[str, Call | None]] = {root: (root, None) for root in self.roots}
        queue = deque(sorted(self.roots))
        while queue:
            node = queue.popleft()
            if node not in self.roots and self.is_barrier(node):
                continue
            for caller, call in self.graph.calls_into(node):
                if call.context:
                    # Guarded: under P true it is fine and says nothing about the
                    # caller; under P false it is an error reported at the call.
                    continue
                if caller not in next_hop and self.functions[caller].asserted != NATIVE:
                    next_hop[caller] = (node, call)
                    queue.append(caller)
        return next_hop

    def is_barrier(self, symbol: str) -> bool:
        """Blocking or mixed by declaration: inference does not propagate through it."""
        kinds = self.functions[symbol].kinds
        return (BLOCKING in kinds or MIXED in kinds) and COROUTINE not in kinds

    # -- queries ------------------------------------------------------------
    def should_be_coroutine(self, symbol: str) -> bool:
        return symbol in self.next_hop

    def chain(self, symbol: str) -> list[Call]:
        """The calls leading from ``symbol`` to a root (empty for a root itself)."""
        calls: list[Call] = []
        node = symbol
        while node in self.next_hop:
            following, call = self.next_hop[node]
            if call is None:
                break
            calls.append(call)
            node = following
        return calls

    def chain_end(self, symbol: str) -> str:
        node = symbol
        while node in self.next_hop and self.next_hop[node][1] is not None:
            node = self.next_hop[node][0]
        return node

    def calls_from(self, symbol: str) -> list[tuple[str, Call]]:
        return self.graph.calls_out_of(symbol)

    def lookup(self, name: str) -> list[Function]:
        """Functions named ``name`` (several if static ones share it)."""
        if name in self.functions:
            return [self.functions[name]]
        return [f for f in self.functions.values() if f.name == name and not f.indirect]


def _first_at(function: Function, bucket: str, item: Declaration | AddressTaken) -> bool:
    """True the first time ``function`` gets an entry of ``bucket`` at item's place."""
    place = (bucket, item.file, item.line, item.column)
    if place in function.places:
        return False
    function.places.add(place)
    return True


def _call_order(call: Call) -> tuple[str, int, int]:
    return (call.file, call.line, call.column)
