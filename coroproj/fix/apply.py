"""Apply planned edits: new file texts, a unified diff, atomic writes and rollback."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coroproj.fix.locate import SourceText
from coroproj.fix.plan import Edit
from coroproj.util.files import write_text_atomically


def edited_texts(sources: Mapping[Path, SourceText], edits: Iterable[Edit]) -> dict[Path, str]:
    """The new text of every file that has edits; edits must not overlap."""
    by_file: dict[Path, list[Edit]] = {}
    for edit in edits:
        by_file.setdefault(edit.file, []).append(edit)
    texts = {}
    for path, file_edits in by_file.items():
        text = sources[path].text
        # From the end, so that earlier offsets stay valid.
        for edit in sorted(file_edits, key=lambda e: (e.start, e.end), reverse=True):
            text = text[: edit.start] + edit.replacement + text[edit.end :]
        texts[path] = text
    return texts


NO_NEWLINE_MARKER = "\\ No newline at end of file\n"


def unified_diff(old: Mapping[Path, SourceText], new: Mapping[Path, str], root: Path) -> str:
    chunks = []
    for path in sorted(new):
        name = os.path.relpath(path, root)
        lines = difflib.unified_diff(
            old[path].text.splitlines(keepends=True),
            new[path].splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
        # A file whose last line has no newline: the marker patch and git apply
        # understand, so that no diff line runs into the next one.
        chunks.extend(line if line.endswith("\n") else line + "\n" + NO_NEWLINE_MARKER for line in lines)
    return "".join(chunks)


@dataclass
class Transaction:
    """Files written so far and their original text, to roll back as a whole."""

    originals: dict[Path, str] = field(default_factory=dict)

    def write(self, texts: Mapping[Path, str], sources: Mapping[Path, SourceText]) -> None:
        for path, text in texts.items():
            self.originals.setdefault(path, sources[path].text)
            _write(path, text)

    def rollback(self) -> list[Path]:
        """Put every written file back as it was; returns the files restored."""
        restored = []
        for path, text in self.originals.items():
            _write(path, text)
            restored.append(path)
        self.originals.clear()
        return restored


def _write(path: Path, text: str) -> None:
    # The text was read with newline="" and surrogateescape: write it back the same way.
    write_text_atomically(path, text, errors="surrogateescape")
