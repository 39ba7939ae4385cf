"""Every unit's summary as the last full run linked them: one file, read in one go.

A run that re-analyses one ``.c`` of QEMU needs the other 891 summaries
too.  Rebuilt from their cached layouts and header parts (``parts``), that
is 4,300 files and 45 MB of JSON decoded into 170,000 records, every run;
unpickled from one snapshot it is a fifth of that time, with the sharing
of header records between units kept.

The snapshot pairs each unit's summary with its summary key.  A unit is
taken from it only when the unit index says the unit is unchanged *and*
names that same key, so a stale entry is never used: it is only
re-read from the cache like a unit without one.  The snapshot is therefore
rewritten only when many of its entries went stale (or it is missing), not
on every edit: a one-file run does not pay for writing it.

Like the segment store it is a pickle in the cache directory, written
atomically, checked by magic, checksum and a fingerprint of the code that
defines summaries; anything that does not verify is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from coroproj import __version__
from coroproj.analysis import summary as summary_module
from coroproj.analysis.summary import UnitSummary

SNAPSHOT_FILE = "summaries.snapshot"
_MAGIC = b"coroproj-snapshot 1"

# job key -> (summary key, the summary)
Entries = dict[str, tuple[str, UnitSummary]]


def _identity(fingerprint: str) -> bytes:
    code = Path(summary_module.__file__).read_bytes()
    text = f"{__version__}\0{summary_module.SUMMARY_FORMAT}\0{fingerprint}\0".encode() + code
    return hashlib.sha256(text).hexdigest().encode()


def _header(fingerprint: str, body: bytes) -> bytes:
    checksum = hashlib.blake2b(body, digest_size=20).hexdigest().encode()
    return b" ".join((_MAGIC, _identity(fingerprint), checksum))


def load_snapshot(cache_dir: Path, fingerprint: str) -> Entries:
    """The entries of the snapshot made under ``fingerprint``, or none."""
    try:
        raw = (cache_dir / SNAPSHOT_FILE).read_bytes()
    except OSError:
        return {}
    header, newline, body = raw.partition(b"\n")
    if not newline or header != _header(fingerprint, body):
        return {}
    try:
        entries = pickle.loads(body)
    except Exception:  # a damaged cache file is only a miss
        return {}
    return entries if isinstance(entries, dict) else {}


def save_snapshot(cache_dir: Path, fingerprint: str, entries: Entries) -> None:
    """Replace the snapshot (quietly nothing if it cannot be written: it is a cache)."""
    try:
        body = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return
    header = _header(fingerprint, body)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".snapshot-", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(header + b"\n" + body)
            os.replace(temporary, cache_dir / SNAPSHOT_FILE)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError:
        return


def worth_rewriting(entries: Entries, used: int, units: int) -> bool:
    """Rewrite when the snapshot is missing or more than a tenth of the units were not in it."""
    return not entries or units - used > max(4, units // 10)
