"""The index: where occurrences live and how they are found.

`Store` is the whole interface the rest of the app uses (five methods), so a search server (Elasticsearch,
OpenSearch, Meilisearch…) can replace the embedded default when an archive outgrows one machine.
`SQLiteStore` is that default: one SQLite file, full-text search with FTS5 (prefix indexes for 2- and
3-letter prefixes, `unicode61` tokens without diacritics), WAL journal, and **one transaction per video**:
a video's occurrences become visible all together at commit, and a crash or kill before the commit rolls
the whole video back, so the index never holds half a video.
"""

from __future__ import annotations

import contextlib
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from deepgallery.core.errors import UserError

from .occurrences import Occurrence


@dataclass
class VideoRecord:
    """One indexed file."""

    path: str
    sha256: str
    size: int
    mtime: float
    duration: float = 0.0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    backend: str = ""
    id: int | None = None


@dataclass
class Hit:
    """One search result: an occurrence of matching text in a video."""

    video: str
    start: float
    end: float
    text: str
    conf: float
    box: tuple[float, float, float, float]
    rank: float  # the store's own relevance (FTS5 bm25; smaller is better)
    thumbnail: bytes | None = None  # JPEG of the frame (scaled by thumb_scale)
    thumb_scale: float = 1.0


class VideoWriter(ABC):
    """What indexing one video may write (inside that video's transaction)."""

    @abstractmethod
    def add(self, occ: Occurrence, thumbnail: bytes | None, thumb_scale: float) -> None:
        """One occurrence, with the JPEG of its best frame (the same bytes object is stored once)."""

    @abstractmethod
    def finish(self, record: VideoRecord) -> None:
        """Duration and frame size, known once the whole video was read."""


class Store(ABC):
    """The storage interface: look a file up, write one video atomically, search, list the vocabulary."""

    @abstractmethod
    def lookup(self, sha256: str) -> VideoRecord | None:
        """The record of an already indexed file with this content, if any."""

    @abstractmethod
    def by_path(self, path: str) -> VideoRecord | None:
        """The record indexed under this path, if any (for the size+mtime shortcut)."""

    @abstractmethod
    def relocate(self, sha256: str, path: str, size: int, mtime: float) -> None:
        """The indexed content now lives at `path` (moved, copied or touched file)."""

    @abstractmethod
    def video(self, record: VideoRecord) -> contextlib.AbstractContextManager[VideoWriter]:
        """Context manager: replace any earlier version of `record.path`, add occurrences; all or nothing."""

    @abstractmethod
    def search(self, match: str, limit: int) -> list[Hit]:
        """Occurrences matching an FTS5 MATCH expression (built by search.py), best first."""

    @abstractmethod
    def vocabulary(self) -> list[str]:
        """Every indexed term (lower case), for typo-tolerant query expansion."""

    def close(self) -> None:  # noqa: B027 - optional
        pass


SCHEMA = """
CREATE TABLE IF NOT EXISTS videos(
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE, size INTEGER, mtime REAL,
    duration REAL, fps REAL, width INTEGER, height INTEGER, backend TEXT, indexed_at TEXT);
CREATE INDEX IF NOT EXISTS videos_path ON videos(path);
CREATE TABLE IF NOT EXISTS frames(
    id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    scale REAL, jpeg BLOB);
CREATE TABLE IF NOT EXISTS occurrences(
    id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    text TEXT NOT NULL, start REAL, end REAL, x0 REAL, y0 REAL, x1 REAL, y1 REAL, conf REAL,
    frame_id INTEGER REFERENCES frames(id) ON DELETE SET NULL);
CREATE INDEX IF NOT EXISTS occurrences_video ON occurrences(video_id);
CREATE VIRTUAL TABLE IF NOT EXISTS occ_fts USING fts5(
    text, content='occurrences', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIRTUAL TABLE IF NOT EXISTS occ_vocab USING fts5vocab(occ_fts, 'row');
CREATE TRIGGER IF NOT EXISTS occ_ai AFTER INSERT ON occurrences BEGIN
    INSERT INTO occ_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER IF NOT EXISTS occ_ad AFTER DELETE ON occurrences BEGIN
    INSERT INTO occ_fts(occ_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
"""


class _SQLiteWriter(VideoWriter):
    def __init__(self, conn: sqlite3.Connection, video_id: int):
        self.conn, self.video_id = conn, video_id
        self._frames: dict[int, int] = {}  # id(thumbnail bytes) → frames.id, so a frame is stored once

    def add(self, occ: Occurrence, thumbnail: bytes | None, thumb_scale: float) -> None:
        frame_id = None
        if thumbnail is not None:
            frame_id = self._frames.get(id(thumbnail))
            if frame_id is None:
                frame_id = self.conn.execute("INSERT INTO frames(video_id, scale, jpeg) VALUES (?, ?, ?)",
                                             (self.video_id, thumb_scale, thumbnail)).lastrowid
                self._frames[id(thumbnail)] = frame_id
        self.conn.execute(
            "INSERT INTO occurrences(video_id, text, start, end, x0, y0, x1, y1, conf, frame_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.video_id, occ.text, occ.start, occ.end, *occ.box, occ.conf, frame_id))

    def finish(self, record: VideoRecord) -> None:
        self.conn.execute("UPDATE videos SET duration = ?, width = ?, height = ?, fps = ? WHERE id = ?",
                          (record.duration, record.width, record.height, record.fps, self.video_id))


def replace_video(conn: sqlite3.Connection, record: VideoRecord) -> VideoWriter:
    """Inside the caller's transaction on `conn`: drop any earlier version of the file (an edited file at the
    same path, or the same content indexed under another path), insert the record, return its writer."""
    old = conn.execute("SELECT id FROM videos WHERE path = ? OR sha256 = ?", (record.path, record.sha256)).fetchall()
    for (vid,) in old:
        conn.execute("DELETE FROM occurrences WHERE video_id = ?", (vid,))
        conn.execute("DELETE FROM frames WHERE video_id = ?", (vid,))
        conn.execute("DELETE FROM videos WHERE id = ?", (vid,))
    vid = conn.execute(
        "INSERT INTO videos(path, sha256, size, mtime, duration, fps, width, height, backend, indexed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record.path, record.sha256, record.size, record.mtime, record.duration, record.fps, record.width,
         record.height, record.backend, datetime.now(timezone.utc).isoformat(timespec="seconds")),
    ).lastrowid
    record.id = vid
    return _SQLiteWriter(conn, vid)


class SQLiteStore(Store):
    """The embedded default: one SQLite file with FTS5, no server."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self._conn: sqlite3.Connection | None = None
        self._created = False  # this store made the file: an index left empty is removed again on close
        self._made: list[Path] = []  # folders made for it
        if self.path.exists():
            self._connect()  # an existing file: check now that it is an index

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection; the index file is created only here, when something is about to be written."""
        if self._conn is None:
            self._connect()
        return self._conn  # type: ignore[return-value]

    def _connect(self) -> None:
        from deepgallery.core.atomic import unwritable

        new = not self.path.exists()
        made = [p for p in self.path.parents if not p.exists()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), isolation_level=None)  # we BEGIN/COMMIT ourselves
        except OSError as exc:
            raise unwritable(self.path, exc) from None
        except sqlite3.OperationalError as exc:  # "unable to open database file": a folder, no permission
            raise unwritable(self.path, OSError(0, str(exc))) from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if new:
                self._remove(made)
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise unwritable(self.path, OSError(0, str(exc))) from None
            raise UserError(f"{self.path}: not a textspot index ({exc}); pass another --db") from None
        self._conn, self._created, self._made = conn, new, made

    def _remove(self, made: list[Path]) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        for folder in made:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()

    def _record(self, row) -> VideoRecord | None:
        if row is None:
            return None
        return VideoRecord(path=row[1], sha256=row[2], size=row[3], mtime=row[4], duration=row[5], fps=row[6],
                           width=row[7], height=row[8], backend=row[9], id=row[0])

    def lookup(self, sha256: str) -> VideoRecord | None:
        if self._conn is None:  # no index yet: nothing indexed
            return None
        return self._record(self.conn.execute("SELECT * FROM videos WHERE sha256 = ?", (sha256,)).fetchone())

    def by_path(self, path: str) -> VideoRecord | None:
        if self._conn is None:
            return None
        return self._record(self.conn.execute(
            "SELECT * FROM videos WHERE path = ? ORDER BY id DESC LIMIT 1", (path,)).fetchone())

    def relocate(self, sha256: str, path: str, size: int, mtime: float) -> None:
        self.conn.execute("UPDATE videos SET path = ?, size = ?, mtime = ? WHERE sha256 = ?",
                          (path, size, mtime, sha256))

    @contextlib.contextmanager
    def video(self, record: VideoRecord) -> Iterator[VideoWriter]:
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # a read-only file or place, or another writer holding it
            from deepgallery.core.atomic import unwritable

            raise unwritable(self.path, OSError(0, str(exc))) from None
        try:
            yield replace_video(conn, record)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def search(self, match: str, limit: int) -> list[Hit]:
        if self._conn is None:
            return []
        try:
            rows = self.conn.execute(
                "SELECT v.path, o.start, o.end, o.text, o.conf, o.x0, o.y0, o.x1, o.y1, bm25(occ_fts), "
                "f.jpeg, f.scale FROM occ_fts JOIN occurrences o ON o.id = occ_fts.rowid "
                "JOIN videos v ON v.id = o.video_id LEFT JOIN frames f ON f.id = o.frame_id "
                "WHERE occ_fts MATCH ? ORDER BY bm25(occ_fts) LIMIT ?", (match, limit)).fetchall()
        except sqlite3.OperationalError as exc:
            raise UserError(f"query could not be searched ({exc}); use plain words") from None
        return [Hit(video=r[0], start=r[1], end=r[2], text=r[3], conf=r[4], box=(r[5], r[6], r[7], r[8]),
                    rank=r[9], thumbnail=r[10], thumb_scale=r[11] or 1.0) for r in rows]

    def vocabulary(self) -> list[str]:
        if self._conn is None:
            return []
        return [r[0] for r in self.conn.execute("SELECT term FROM occ_vocab")]

    def counts(self) -> tuple[int, int]:
        """(videos, occurrences) in the index."""
        if self._conn is None:
            return 0, 0
        v = self.conn.execute("SELECT count(*) FROM videos").fetchone()[0]
        o = self.conn.execute("SELECT count(*) FROM occurrences").fetchone()[0]
        return v, o

    def close(self) -> None:
        """Close; an index this store created and left empty (every file failed) is removed, with its folders."""
        if self._conn is None:
            return
        empty = self._created and self.counts() == (0, 0)
        self._conn.close()
        self._conn = None
        if empty:
            self._remove(self._made)
