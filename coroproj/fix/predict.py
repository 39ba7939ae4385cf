"""Predict the analysis after a plan's edits, without writing or parsing anything.

``--diff`` must change nothing, yet the edits of one round can make more
findings fixable (a function that gets the annotation becomes a root, so
its callers need it too).  The summaries already say everything the
inference uses about function declarations, so the edits to those are
applied to a copy of the summaries and the program is linked and checked
again: the next round is planned on that prediction.

Edits to pointer types (struct members, typedefs, parameters) are not
predicted — their effect on indirect calls needs the types, i.e. a parse —
so ``--diff`` can show fewer rounds than writing, which re-checks for real.
"""

from __future__ import annotations

import copy
import os

from coroproj.analysis.inference import BLOCKING, COROUTINE
from coroproj.analysis.pipeline import Analysis, AnalysisOptions, analyse
from coroproj.fix.plan import Plan


def predicted_analysis(analysis: Analysis, plan: Plan, options: AnalysisOptions) -> Analysis:
    changes = {
        (str(edit.file), edit.declaration_line, edit.subject): edit.change
        for edit in plan.edits
        if edit.change
    }
    summaries = copy.deepcopy(analysis.summaries)
    for summary in summaries:
        for declaration in summary.declarations:
            change = changes.get((os.path.realpath(declaration.file), declaration.line, declaration.name))
            kinds = set(declaration.kinds)
            if change == "add":
                kinds.add(COROUTINE)
            elif change == "remove":
                kinds.discard(COROUTINE)
            elif change == "replace":
                kinds = (kinds - {BLOCKING}) | {COROUTINE}
            declaration.kinds = sorted(kinds)
        # The pointer events the plan fixes (on either side) disappear.
        summary.local_findings = [f for f in summary.local_findings if f.fingerprint not in plan.targets]
    return analyse(summaries, options, analysis.failures)
