"""Git facts of a run, and a revision of the project checked out on the side.

``--baseline GIT_REV`` analyses that revision in a temporary ``git
worktree`` (the user's working tree is never touched).  The worktree sits
at a fixed place under the cache folder, so that its file names — which
the preprocessed text, hence the summary cache key, contains — are the
same from one run to the next and unchanged units are not parsed again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from coroproj.errors import UserError

WORKTREE_NAME = "baseline-worktree"


def _git(root: Path, *arguments: str, check: bool = True) -> str | None:
    try:
        done = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        if check:
            raise UserError("coroproj: git is not installed: a git revision cannot be a baseline") from None
        return None
    if done.returncode != 0:
        if check:
            message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
            raise UserError(f"coroproj: git {' '.join(arguments[:2])}: {message}")
        return None
    return done.stdout.strip()


def git_state(root: Path) -> tuple[str | None, str | None]:
    """The commit and branch checked out at ``root`` (None when not a git tree or detached)."""
    commit = _git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    branch = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return commit or None, branch or None


def resolve_revision(root: Path, revision: str) -> str | None:
    """The commit ``revision`` names in the repository of ``root``, or None if it names none."""
    if _git(root, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        return None
    return _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False) or None


@contextlib.contextmanager
def revision_worktree(root: Path, commit: str, parent: Path) -> Iterator[Path]:
    """Check ``commit`` out in a temporary worktree; yields the project root inside it."""
    toplevel = Path(_git(root, "rev-parse", "--show-toplevel") or root).resolve()
    place = (parent / WORKTREE_NAME).resolve()
    _remove_worktree(root, place)
    parent.mkdir(parents=True, exist_ok=True)
    _git(root, "worktree", "add", "--detach", "--force", "--quiet", str(place), commit)
    try:
        yield place / Path(os.path.realpath(root)).relative_to(toplevel)
    finally:
        _remove_worktree(root, place)


def _remove_worktree(root: Path, place: Path) -> None:
    if place.exists():
        _git(root, "worktree", "remove", "--force", str(place), check=False)
        shutil.rmtree(place, ignore_errors=True)
    _git(root, "worktree", "prune", check=False)


def relocated_database(database: Path, old_root: Path, new_root: Path, target: Path) -> Path:
    """A copy of ``database`` whose paths under ``old_root`` point under ``new_root``.

    The revision's own database (committed at the same place) is preferred
    when all its files lie in the revision's tree once relocated; otherwise
    the current one is used.  Entries whose file does not exist in the
    revision (added since) are dropped: their findings are new.
    """
    old = Path(os.path.realpath(old_root))
    try:
        relative = database.resolve().relative_to(old)
    except ValueError:
        relative = None
    candidates = [new_root / relative] if relative is not None and (new_root / relative).is_file() else []
    candidates.append(database)
    entries: list[dict[str, object]] = []
    for source in candidates:
        entries = _relocated_entries(source, old, new_root)
        if entries and all(_entry_file(e).is_relative_to(new_root) for e in entries):
            break
    kept = [entry for entry in entries if _entry_file(entry).is_file()]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(kept, indent=1))
    return target


def _relocated_entries(source: Path, old: Path, new_root: Path) -> list[dict[str, object]]:
    try:
        text = source.read_text()
    except OSError as error:
        raise UserError(f"{source}: cannot read the compile database: {error.strerror}") from None
    try:
        entries = json.loads(text.replace(json.dumps(str(old))[1:-1], json.dumps(str(new_root))[1:-1]))
    except json.JSONDecodeError:
        return []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _entry_file(entry: dict[str, object]) -> Path:
    file = Path(str(entry.get("file", "")))
    if not file.is_absolute():
        file = Path(str(entry.get("directory", ""))) / file
    return Path(os.path.normpath(file))
