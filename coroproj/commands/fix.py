"""Insert the coroutine annotations the whole-project inference requires.

  coroproj fix [PATH...] [--diff] [--remove-spurious] [--yes]

Adds ``coroutine_fn`` to definitions, their prototypes (in headers too) and
the typedefs, struct members and parameters whose pointer type must carry
it; replaces a blocking annotation only where it is ``wrong-blocking``;
removes spurious annotations only with ``--remove-spurious``.  Only files
inside the project root are edited; spots that cannot be found for sure
(a declaration made by a macro, for instance) are listed, not guessed at.
The edited tree is checked again: if an edit did not have its effect,
every file is put back as it was; an edit that had it but broke something
else (a cast that now drops the annotation, a native callback stored in a
type that now has it) is left out and listed, and fix starts over without
it.  PATHS restrict which findings are fixed.

When edits make more findings fixable (a function now annotated has
callers), writing goes on round after round to the fixpoint, re-checking
each time; ``--diff`` predicts those rounds from the summaries (edits of
pointer types excepted, which need a parse).

Exit status, as ``check``'s on the tree fix leaves: 0 nothing left at
warning level or above, 1 findings left (spots listed for a human, findings
no annotation fixes; with ``--diff``, also changes to make), 2 rolled back or
the analysis failed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from coroproj.analysis.findings import Finding
from coroproj.commands.inputs import Inputs, add_input_arguments, inputs_from_args
from coroproj.errors import UserError
from coroproj.fix.apply import Transaction, edited_texts, unified_diff
from coroproj.fix.plan import Edit, Plan, Refusal, merged, plan_fixes
from coroproj.fix.predict import predicted_analysis
from coroproj.project.discover import find_project_root
from coroproj.report.text import format_finding

# Each round's edits can make new findings fixable (a function annotated in
# round 1 becomes a root: its callers need the annotation in round 2).
MAX_ROUNDS = 5
# Edits left out (and listed) for breaking something, before fix gives up and just rolls back.
MAX_EXCLUDED = 20
_POINTER_SOURCE = re.compile(r"'([^']*)' is a ")
# Findings an edit must never introduce: the edit broke something.
_BROKEN_BY_EDIT = frozenset({"parse-error", "pointer-mismatch", "proto-mismatch", "conflict",
                             "misplaced-annotation"})


USAGE = "coroproj fix [options] [PATH...] [--diff] [--remove-spurious] [--yes]"
DESCRIPTION = """\
Insert the coroutine annotations the whole-project inference requires: on
definitions, their prototypes (in headers too), and the typedefs, struct
members and parameters whose pointer type must carry them.  Only files
inside the project are edited; spots that cannot be found for sure are
listed, not guessed at.  The edited tree is checked again, and every file is
put back when an edit did not have its effect.  PATHs restrict which
findings are fixed.  Exit status as check's on the tree fix leaves."""
EXAMPLES = (
    "coroproj fix --diff > annotations.patch   # change nothing, show the edits",
    "coroproj fix --yes block/",
)

def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser, paths_help="fix only the findings in these files/folders (default: all)")
    parser.add_argument("--diff", action="store_true", help="print a unified diff and change nothing")
    parser.add_argument("--remove-spurious", action="store_true",
                        help="also remove spurious coroutine annotations (they can be deliberate)")
    parser.add_argument("--yes", action="store_true", help="write the edits without asking")


@dataclass
class FixOutcome:
    """What a fix run did."""

    changed_files: list[Path] = field(default_factory=list)
    edits: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    rolled_back: str | None = None  # the reason, when everything was put back
    # Findings at warning level or above in the tree as fix leaves it (what makes check exit 1).
    remaining: list[Finding] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    inputs = _analyse(args)
    root = _root(inputs, args)
    plan = _plan(inputs, root, args)
    if args.diff:
        plan = _predicted_fixpoint(inputs, root, args, plan)
        texts = edited_texts(plan.sources, plan.edits)
        _print_refusals(plan.refusals)
        # Paths relative to where the user is, when every edited file is below
        # it: `git apply` and `patch -p1` then work from there.
        here = Path.cwd().resolve()
        below = all(Path(path).resolve().is_relative_to(here) for path in texts)
        diff = unified_diff(plan.sources, texts, here if below else root)
        sys.stdout.write(diff)
        return 1 if diff or plan.refusals or _serious(inputs) else 0
    if plan.edits and not args.yes:
        _confirm(plan, root)
    outcome = apply_fixes(args, inputs, root, plan)
    _print_refusals(outcome.refusals)
    if outcome.rolled_back is not None:
        print(f"coroproj fix: rolled back, no file changed: {outcome.rolled_back}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"coroproj fix: {outcome_summary(outcome, root)}", file=sys.stderr)
    return 1 if outcome.refusals or outcome.remaining else 0


def outcome_summary(outcome: FixOutcome, root: Path) -> str:
    """One line: what was edited, and what is left (never 'nothing to change' when something is)."""
    if outcome.edits:
        parts = [f"{outcome.edits} edit(s) in {len(outcome.changed_files)} file(s): "
                 + ", ".join(os.path.relpath(p, root) for p in outcome.changed_files)]
    elif outcome.refusals or outcome.remaining:
        parts = ["no edit made"]
    else:
        return "nothing to change"
    if outcome.refusals:
        parts.append(f"{len(outcome.refusals)} spot(s) left for a human (listed above)")
    if outcome.remaining:
        parts.append(f"{len(outcome.remaining)} finding(s) at warning level or above remain "
                     "(coroproj check lists them)")
    return "; ".join(parts)


def _serious(inputs: Inputs) -> list[Finding]:
    """The findings that make ``check`` exit 1."""
    return [f for f in inputs.analysis.findings if not f.suppressed and f.severity in ("error", "warning")]


def _predicted_fixpoint(inputs: Inputs, root: Path, args: argparse.Namespace, plan: Plan) -> Plan:
    """The plan and the rounds predicted to follow it (see ``coroproj.fix.predict``)."""
    analysis, round_plan = inputs.analysis, plan
    for _round in range(MAX_ROUNDS - 1):
        analysis = predicted_analysis(analysis, round_plan, inputs.options)
        round_plan = plan_fixes(analysis, inputs.options.names, root, remove_spurious=args.remove_spurious,
                                build_dirs=_build_dirs(inputs))
        if not round_plan.edits:
            break
        plan = merged(plan, round_plan)
    return plan


def apply_fixes(args: argparse.Namespace, inputs: Inputs, root: Path, plan: Plan) -> FixOutcome:
    """Write the plan, re-check, and repeat while new findings become fixable.

    An edit that did not have its effect rolls everything back.  An edit
    that had it but broke something else (a cast of the function now drops
    the annotation, say) is attributed to its function: everything is rolled
    back and fix starts over without annotating that function, which is
    listed instead.
    """
    excluded: dict[str, str] = {}
    while True:
        outcome, culprit = _attempt(args, inputs, root, plan, excluded)
        if outcome.rolled_back is None or culprit is None or culprit in excluded:
            return outcome
        if len(excluded) >= MAX_EXCLUDED:
            return outcome
        excluded[culprit] = outcome.rolled_back.removeprefix("the edits introduced: ")
        plan = _plan(inputs, root, args, excluded)


def _attempt(args: argparse.Namespace, inputs: Inputs, root: Path, plan: Plan,
             excluded: dict[str, str]) -> tuple[FixOutcome, str | None]:
    outcome = FixOutcome()
    transaction = Transaction()
    changed: set[Path] = set()
    edits: list[Edit] = []
    for _round in range(MAX_ROUNDS):
        outcome.refusals.extend(r for r in plan.refusals if r not in outcome.refusals)
        if not plan.edits:
            break
        changed.update(plan.files())
        edits.extend(plan.edits)
        outcome.edits += len(plan.edits)
        try:
            transaction.write(edited_texts(plan.sources, plan.edits), plan.sources)
            after = _analyse(args)
        except OSError as error:
            transaction.rollback()
            outcome.rolled_back = f"cannot write {error.filename}: {error.strerror}"
            return outcome, None
        except UserError as error:
            transaction.rollback()
            outcome.rolled_back = f"the edited tree could not be analysed: {error}"
            return outcome, None
        except BaseException:  # interrupted: never leave the tree half-edited
            transaction.rollback()
            raise
        problem, suspects = _verify(plan, inputs, after)
        if problem is not None:
            transaction.rollback()
            outcome.rolled_back = problem
            outcome.edits, changed = 0, set()
            subjects = {edit.subject for edit in edits}
            return outcome, next((s for s in _suspects(suspects, edits) if s in subjects), None)
        inputs = after
        plan = _plan(inputs, root, args, excluded)
    outcome.changed_files = sorted(changed)
    outcome.remaining = _serious(inputs)
    return outcome, None


def _verify(plan: Plan, before: Inputs, after: Inputs) -> tuple[str | None, Finding | None]:
    """Why the edits did not have their intended effect, and the finding they caused; or None."""
    if after.analysis.failures:
        return "after the edits: " + format_finding(after.analysis.failures[0]).splitlines()[0], None
    remaining = {f.fingerprint: f for f in after.analysis.findings if not f.suppressed}
    for fingerprint in plan.targets:
        if fingerprint in remaining:
            still = remaining[fingerprint]
            return f"{still.file}:{still.line}: still reported after the edit: {still.message}", None
    previous = {f.fingerprint for f in before.analysis.findings}
    # A function the edits made a coroutine function is reported `missing` at
    # its definition and `proto-mismatch` at its prototypes: both are the next
    # round's to annotate, not something the edits broke.
    newly_inferred = {f.function for f in remaining.values() if f.check == "missing"}
    for fingerprint, finding in remaining.items():
        if fingerprint in previous or finding.check not in _BROKEN_BY_EDIT:
            continue
        if finding.check == "proto-mismatch" and finding.function in newly_inferred:
            continue
        return f"the edits introduced: {_one_line(finding)}", finding
    return None, None


def _suspects(finding: Finding | None, edits: list[Edit]) -> list[str]:
    """The subjects of the edits a new finding can be blamed on, most likely first.

    A pointer mismatch names the function stored; its note says where the
    pointer's function type is declared, which may be a type fix just edited.
    """
    if finding is None:
        return []
    if finding.check != "pointer-mismatch":
        return [finding.function] if finding.function else []
    suspects = []
    match = _POINTER_SOURCE.search(finding.message)
    if match:
        suspects.append(match.group(1).strip("&*() "))
    for note in finding.notes:
        place = (Path(os.path.realpath(note.file)), note.line)
        suspects.extend(e.subject for e in edits if not e.change and (e.file, e.line) == place)
    return suspects


def _one_line(finding: Finding) -> str:
    return f"{finding.file}:{finding.line}: {finding.message} [coroproj-{finding.check}]"


def _analyse(args: argparse.Namespace) -> Inputs:
    inputs = inputs_from_args(args)
    if inputs.analysis.failures:
        for failure in inputs.analysis.failures:
            print(format_finding(failure), file=sys.stderr)
        raise UserError(
            f"coroproj fix: {len(inputs.analysis.failures)} unit(s) could not be analysed; "
            "nothing is fixed in an incomplete program"
        )
    return inputs


def _root(inputs: Inputs, args: argparse.Namespace) -> Path:
    if inputs.project is not None:
        return inputs.project.root
    return find_project_root(Path(args.paths[0]) if args.paths else Path.cwd())


def _plan(inputs: Inputs, root: Path, args: argparse.Namespace,
          excluded: dict[str, str] | None = None) -> Plan:
    return plan_fixes(inputs.analysis, inputs.options.names, root, remove_spurious=args.remove_spurious,
                      build_dirs=_build_dirs(inputs), excluded=excluded)


def _build_dirs(inputs: Inputs) -> list[Path]:
    return [inputs.project.database.parent] if inputs.project is not None else []


def _confirm(plan: Plan, root: Path) -> None:
    if not sys.stdin.isatty():
        raise UserError("coroproj fix: not a terminal: pass --yes to write the edits (or --diff to see them)")
    for edit in plan.edits:
        print(f"{os.path.relpath(edit.file, root)}:{edit.line}: {edit.why}", file=sys.stderr)
    try:
        answer = input(f"Write {len(plan.edits)} edit(s) to {len(plan.files())} file(s)? [y/N] ")
    except EOFError:  # end of input at the prompt: a no, on a line of its own
        print(file=sys.stderr)
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UserError("coroproj fix: nothing written")


def _print_refusals(refusals: list[Refusal]) -> None:
    for refusal in refusals:
        what = f"'{refusal.function}': " if refusal.function else ""
        print(f"{refusal.file}:{refusal.line}: note: not fixed: {what}{refusal.reason} [coroproj-fix]",
              file=sys.stderr)
