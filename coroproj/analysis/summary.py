"""The summary of one translation unit: everything the whole-program
inference needs, and nothing that needs the AST any more.

Summaries are plain data, serialisable to JSON (``to_json``/``from_json``)
so that they can be cached on disk and linked across units.

Symbols: an ``extern`` function is known by its name across the project; a
``static`` function by ``name@file:line`` of its definition, so that two
units with a ``static`` function of the same name stay apart, while every
unit that includes one header's ``static inline`` definition agrees on one
symbol for it.  Indirect calls get a node ``*<expression>`` per caller.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from coroproj.analysis.findings import Finding, Note, Step
from coroproj.frontend.markers import MarkedFile

SUMMARY_FORMAT = 2


@dataclass(slots=True)
class Declaration:
    """One declaration or the definition of a function, where it was written."""

    name: str
    symbol: str
    file: str
    line: int
    column: int
    kinds: list[str]  # written annotations: "coroutine", "blocking", "mixed"
    is_definition: bool = False
    is_static: bool = False
    hybrid: bool = False  # definitions only: branches on a context predicate
    # Definitions only: "coroutine"/"native" when every normal exit knows the
    # predicate's value (assert(qemu_in_coroutine()) and the like).
    asserted: str = ""


@dataclass(slots=True)
class Call:
    """A call edge from a defined function to a function or a pointer."""

    caller: str  # symbol of the calling function
    callee: str  # symbol, or "*expr" for an indirect call
    file: str
    line: int
    column: int
    indirect: bool = False
    pointer_kinds: list[str] = field(default_factory=list)  # of the pointer's function type
    # "coroutine"/"native" when a context guard decides where the call runs
    # (analysis/context.py); "" where nothing is known.
    context: str = ""


@dataclass(slots=True)
class AddressTaken:
    symbol: str
    name: str
    file: str
    line: int
    column: int


@dataclass
class Suppression:
    """``/* coroproj: ignore[check, ...] reason */`` on a line or the line above."""

    file: str
    line: int  # the line the suppression applies to
    checks: list[str]
    reason: str


class RecordRun(list):  # type: ignore[type-arg]
    """Records shared by the summaries of every unit that walked the same header segment.

    ``encoded`` is for a serialiser (``project.parts``) to keep what it
    derived from these records, so that a header included by a thousand units
    is encoded once per process, not once per unit.  Records are never
    modified once in a run.
    """

    __slots__ = ("encoded",)

    def __init__(self, records: Iterable[Any] = ()) -> None:
        super().__init__(records)
        self.encoded: object = None


class RunsView(Sequence[Any]):
    """The records of several runs read as one list, without copying them.

    What a summary joined from shared runs holds (``project.parts``): a real
    tree's summaries would otherwise keep a flat copy of every header's
    records per includer, a quarter of a check's memory on QEMU.
    """

    __slots__ = ("runs",)

    def __init__(self, runs: list[list[Any]]) -> None:
        self.runs = runs

    def __iter__(self) -> Iterator[Any]:
        return itertools.chain.from_iterable(self.runs)

    def __len__(self) -> int:
        return sum(map(len, self.runs))

    def __getitem__(self, index: Any) -> Any:
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (list, RunsView)):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr(list(self))


@dataclass
class UnitSummary:
    unit: str  # the unit's identity, e.g. "src/a.c" or "src/a.c#config"
    main_file: str
    declarations: list[Declaration] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    address_taken: list[AddressTaken] = field(default_factory=list)
    local_findings: list[Finding] = field(default_factory=list)  # pointer-mismatch, ...
    suppressions: list[Suppression] = field(default_factory=list)
    included_files: list[str] = field(default_factory=list)
    # The runs ``declarations``/``calls``/``address_taken`` are made of, when
    # some are lists shared with other summaries (header segments walked once
    # per worker, ``RecordRun``; header parts decoded once per run,
    # ``project.parts``): what is derived from them is derived once per shared
    # run, not once per unit.  Not serialised; None for a summary built in one piece.
    runs: dict[str, list[list[Any]]] | None = field(default=None, repr=False, compare=False)
    # Every file the unit's line markers name, system headers included: what
    # it read, for the dependency index.  Not serialised.
    marked_files: list[MarkedFile] = field(default_factory=list, repr=False, compare=False)

    def record_runs(self, name: str) -> list[list[Any]]:
        """The runs of record list ``name`` (the whole list as one run if not shared)."""
        if self.runs is not None and name in self.runs:
            return self.runs[name]
        return [getattr(self, name)]

    def to_json(self, *, records: bool = True) -> dict[str, Any]:
        """The summary as JSON data; without ``declarations``, ``calls`` and
        ``address_taken`` unless ``records``."""
        # What dataclasses.asdict gives, written out: asdict deep-copies every
        # field of every record, a sixth of a cold run on QEMU.
        data: dict[str, Any] = {"unit": self.unit, "main_file": self.main_file}
        if records:
            data["declarations"] = [flat_record(d) for d in self.declarations]
            data["calls"] = [flat_record(c) for c in self.calls]
            data["address_taken"] = [flat_record(a) for a in self.address_taken]
        data["local_findings"] = [asdict(f) for f in self.local_findings]
        data["suppressions"] = [asdict(s) for s in self.suppressions]
        data["included_files"] = list(self.included_files)
        data["format"] = SUMMARY_FORMAT
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UnitSummary:
        """Rebuild a summary; raises ValueError/KeyError/TypeError if malformed."""
        if data.get("format") != SUMMARY_FORMAT:
            raise ValueError("summary format mismatch")
        return cls(
            unit=data["unit"],
            main_file=data["main_file"],
            declarations=[Declaration(**d) for d in data["declarations"]],
            calls=[Call(**c) for c in data["calls"]],
            address_taken=[AddressTaken(**a) for a in data["address_taken"]],
            local_findings=[finding_from_json(f) for f in data["local_findings"]],
            suppressions=[Suppression(**s) for s in data["suppressions"]],
            included_files=list(data["included_files"]),
        )


_DECLARATION_FIELDS = tuple(f.name for f in fields(Declaration))
_CALL_FIELDS = tuple(f.name for f in fields(Call))
_ADDRESS_FIELDS = tuple(f.name for f in fields(AddressTaken))


def _pickled_as_arguments(cls: type, names: tuple[str, ...]) -> None:
    """Pickle records as (class, field values): the default for slotted
    dataclasses goes through Python-level state methods, twice as slow on
    the 170,000 records of a real tree's snapshot."""
    values = operator.attrgetter(*names)

    def reduce(self: object) -> tuple[type, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]


_pickled_as_arguments(Declaration, _DECLARATION_FIELDS)
_pickled_as_arguments(Call, _CALL_FIELDS)
_pickled_as_arguments(AddressTaken, _ADDRESS_FIELDS)


_RECORD_FIELDS = {
    Declaration: _DECLARATION_FIELDS,
    Call: _CALL_FIELDS,
    AddressTaken: _ADDRESS_FIELDS,
}


def flat_record(record: Declaration | Call | AddressTaken) -> dict[str, Any]:
    """A record (str/int/bool/list-of-str fields) as a JSON object, lists copied."""
    data = {name: getattr(record, name) for name in _RECORD_FIELDS[type(record)]}
    for name, value in data.items():
        if type(value) is list:
            data[name] = list(value)
    return data


def finding_from_json(data: dict[str, Any]) -> Finding:
    data = dict(data)
    data.pop("fingerprint", None)
    data["chain"] = [Step(**s) for s in data.get("chain", [])]
    data["notes"] = [Note(**n) for n in data.get("notes", [])]
    return Finding(**data)
