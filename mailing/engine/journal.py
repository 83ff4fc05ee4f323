"""The journal: each SMTP result made durable the moment it is known.

A database write per result costs a round trip; a `kill -9` needs much less
to be survived. Each dispatcher appends every settled delivery, as one line
of JSON, to a file of its own opened with O_APPEND: one `os.write` per
result, no fsync. A killed process's writes are already in the kernel's page
cache and reach the file whatever happens to the process (only a crash of
the whole machine loses them; see README, "Sending: guarantees"). The writer
thread then stores results in the database in big groups, and a journal file
is removed once everything in it is stored.

The dispatcher holds an `flock` on its journal files for as long as it
lives; the kernel drops it when the process dies, however it dies. So a
journal file that nobody holds belongs to a dead dispatcher: the next
dispatcher on the machine replays it before it claims anything (and so
before it can re-claim the dead one's expired leases), then removes it.
Replaying stores a result only where the delivery is still `sending` under
the claim token the line names, exactly as the dead dispatcher's writer
would have: a replay twice, or of a result already stored, changes nothing.
A line cut short (the disk filled up mid-write) is ignored; its delivery is
re-claimed after its lease, like one whose result was never known.

Files are named after the database they belong to (a hash of its
connection settings), so dispatchers of another database sharing the
directory leave them alone.
"""

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.db import connection, transaction

from .record import Attempt, Settled, store_settled

logger = logging.getLogger("mailing.engine")

# A journal file is retired (and a new one started) past this size, and
# removed once everything in it is stored: a long run keeps it small.
ROTATE_BYTES = 1 << 20
# Results per replayed write.
_REPLAY_CHUNK = 500
_file_seq = itertools.count(1)


class JournalError(Exception):
    """The journal could not be written (a full or read-only disk)."""


def database_key() -> str:
    """Short name of the database this process's dispatchers work on."""
    settings = connection.settings_dict
    identity = "|".join(
        str(settings.get(name) or "") for name in ("ENGINE", "HOST", "PORT", "NAME")
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


class Journal:
    """One dispatcher's journal, open and locked until `close()`.

    `record(settled)` appends a line and then hands the result on with
    `handoff((seq, settled))`, under one lock, so results reach the writer
    in journal order; `stored_through(seq)` tells that every result up to
    `seq` is in the database, which lets retired files go.
    """

    def __init__(self, directory: Path, *, handoff: Callable):
        self.directory = Path(directory)
        self.key = database_key()
        self.error: OSError | None = None
        self._handoff = handoff
        self._lock = threading.Lock()
        self._seq = 0
        self._size = 0
        self._retired: list[tuple[int, Path, int]] = []  # (fd, path, last seq)
        self._fd, self.path = self._open_new()

    def _open_new(self) -> tuple[int, Path]:
        """A new locked file: created under a hidden temporary name, locked,
        then renamed, so that no replayer ever sees it unlocked."""
        self.directory.mkdir(parents=True, exist_ok=True)
        number = next(_file_seq)
        name = f"{self.key}-{socket.gethostname()}-{os.getpid()}-{number}.journal"
        temporary = self.directory / f".{name}.tmp"
        fd = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
            0o600,
        )
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, self.directory / name)
        return fd, self.directory / name

    def record(self, settled: Settled) -> None:
        """Make one result durable against a crash of this process, then
        hand it to the writer. A journal that cannot be written is logged
        once (`error`); the results still reach the writer."""
        line = encode(settled)
        with self._lock:
            if self.error is None:
                try:
                    self._append(line)
                except OSError as exc:
                    logger.exception("Writing the journal failed")
                    self.error = exc
            self._seq += 1
            self._handoff((self._seq, settled))

    def _append(self, line: bytes) -> None:
        if self._size >= ROTATE_BYTES:
            self._retired.append((self._fd, self.path, self._seq))
            self._fd, self.path = self._open_new()
            self._size = 0
        view = memoryview(line)
        while view:
            view = view[os.write(self._fd, view) :]
        self._size += len(line)

    def stored_through(self, seq: int) -> None:
        """Every result up to `seq` is stored: remove the files holding
        nothing else."""
        with self._lock:
            keep = []
            for fd, path, last in self._retired:
                if last <= seq:
                    _remove(fd, path)
                else:
                    keep.append((fd, path, last))
            self._retired = keep

    def close(self, *, remove: bool) -> None:
        """Release the journal; with `remove`, everything in it is stored and
        its files go; without, they stay for the next dispatcher to replay."""
        with self._lock:
            for fd, path, _ in [*self._retired, (self._fd, self.path, self._seq)]:
                if remove:
                    _remove(fd, path)
                else:
                    os.close(fd)
            self._retired = []


def _remove(fd: int, path: Path) -> None:
    # Unlinked while still locked, so that no replayer reads it meanwhile.
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    os.close(fd)


def encode(settled: Settled) -> bytes:
    """One journal line: the settled delivery as JSON, newline-terminated."""
    return (json.dumps(settled, default=datetime.isoformat) + "\n").encode()


def decode(line: bytes) -> Settled | None:
    """The settled delivery of a journal line, or None for a torn line."""
    if not line.endswith(b"\n"):
        return None
    try:
        fields = json.loads(line)
        settled = Settled(*fields)
        return settled._replace(
            last_attempt_at=_when(settled.last_attempt_at),
            next_attempt_at=_when(settled.next_attempt_at),
            attempt=_attempt(settled.attempt),
        )
    except (ValueError, TypeError):
        return None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _attempt(value) -> Attempt | None:
    if value is None:
        return None
    attempt = Attempt(*value)
    return attempt._replace(attempted_at=_when(attempt.attempted_at))


def replay_dead_journals(directory: Path) -> int:
    """Store the results in journals of dead dispatchers of this database,
    then remove those journals; returns how many results were stored.

    A journal still locked belongs to a live dispatcher and is left alone.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    stored = 0
    for path in sorted(directory.glob(f"{database_key()}-*.journal")):
        stored += _replay(path)
    return stored


def _replay(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return 0  # replayed and removed by another dispatcher meanwhile
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # its dispatcher is alive
        if os.fstat(fd).st_nlink == 0:
            return 0  # removed by the replayer that locked it first
        with os.fdopen(os.dup(fd), "rb") as lines:
            stored = _store_lines(lines, path)
        path.unlink()
        return stored
    finally:
        os.close(fd)


def _store_lines(lines, path: Path) -> int:
    settled, torn = [], 0
    for line in lines:
        item = decode(line)
        if item is None:
            torn += 1
        else:
            settled.append(item)
    if torn:
        logger.warning("Journal %s: %s torn line(s) ignored", path.name, torn)
    stored = 0
    for start in range(0, len(settled), _REPLAY_CHUNK):
        with transaction.atomic():
            stored += len(store_settled(settled[start : start + _REPLAY_CHUNK]))
    if settled:
        logger.info(
            "Journal %s of a stopped dispatcher: %s of %s result(s) stored",
            path.name,
            stored,
            len(settled),
        )
    return stored
