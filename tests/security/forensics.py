"""A forensic reader for copies of the survey database, and the linkage attacks built on it.

Threat: someone obtains a copy of the database taken after the fact (a file copy of the SQLite
database with its ``-wal`` and ``-shm``, a ``.backup``, a ``VACUUM INTO``, a ``pg_dump``, a copy
of PostgreSQL's data directory) together with the directory (who was invited). They try to tell
whose response is whose, or to read a draft. Nothing here uses the application's code or keys:
only what such a reader sees.

The module has four parts:

* linkage scoring: an attack predicts ``person -> response``; ``score`` counts how many of the
  predictions are right, ``chance_threshold`` says how many a random guess practically never
  reaches;
* a raw SQLite reader (``SqliteCopy``): b-tree pages, free pages and every WAL frame, so that
  rows are seen with their rowid, page, cell slot and cell offset, and also in old page images;
* PostgreSQL readers: ``pg_dump`` COPY blocks, ``pg_waldump`` records, raw heap tuples through
  ``pageinspect`` (dead ones included);
* the attack catalogues ``sqlite_attacks`` and ``postgres_attacks``: every method we could think
  of, each returning a ``Linkage``.

The attacks only rely on the published vocabulary of the data model: a ``participation`` row
names a person, an ``invitation`` row a person, a ``draft`` row an invitation; ``response``,
``answer`` and ``comment`` rows carry (or are) a response id. How the application stores them
(sealed until close, encrypted, shuffled) is not assumed.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import struct
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# --- Linkage scoring --------------------------------------------------------------------------

#: Tables whose rows say who took part / who was invited / whose draft it is.
PERSON_TABLES = ("participation", "invitation", "draft")
#: Tables whose rows belong to a response, and the column that names the response.
RESPONSE_COLUMNS = {"response": "id", "answer": "response_id", "comment": "response_id"}


@dataclass
class Linkage:
    """What one attack method concluded: ``predicted`` maps person id -> response id.

    ``method`` names the method and the copy it read (for the failure message); ``note`` adds
    what the method found when it could not predict anything (e.g. "no WAL").
    """

    method: str
    predicted: dict[int, int]
    note: str = ""
    correct: int = 0

    def scored(self, truth: Mapping[int, int]) -> Linkage:
        self.correct = score(self.predicted, truth)
        return self

    def __str__(self) -> str:
        extra = f" ({self.note})" if self.note else ""
        return f"{self.method}: {self.correct} linked of {len(self.predicted)} guesses{extra}"


def score(predicted: Mapping[int, int], truth: Mapping[int, int]) -> int:
    """Count the people whose predicted response is their own.

    :param truth: person id -> the id of that person's response in the copy under attack.
    """
    return sum(1 for person, response in predicted.items() if truth.get(person) == response)


def poisson_tail(k: int, mean: float = 1.0) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    return 1.0 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k))


def chance_threshold(methods: int, false_alarm: float = 1e-3, floor: int = 6) -> int:
    """The fewest correct links that counts as "markedly better than chance".

    A method that carries no information pairs people with responses like a random permutation
    of n; its number of fixed points (people paired with their own response) tends to
    Poisson(1) as n grows and is within 1e-6 of it for n = 30: mean 1, P(>= 6) = 6e-4,
    P(>= 8) = 1e-5, P(>= 10) = 1e-7. With ``methods`` methods tried at once, a union bound gives
    the chance that any of them reaches k by luck alone: methods * P(>= k). The threshold is the
    smallest k (at least ``floor``) that keeps this below ``false_alarm``: the test then fails
    by accident less than once in a thousand runs, while a leak that links a third of the
    people still fails it.
    """
    k = floor
    while methods * poisson_tail(k) >= false_alarm:
        k += 1
    return k


def link_by_order(method: str, person_keys: Mapping[int, object],
                  response_keys: Mapping[int, object], *, reverse: bool = False) -> Linkage:
    """Pair the i-th person with the i-th response, each sorted by its key.

    The classic order attack: if both kinds of rows are stored in the order of the submits,
    sorting each by the same physical property (rowid, page and offset, transaction id, line
    in a dump) lines them up. ``reverse`` sorts the responses the other way.
    """
    people = sorted(person_keys, key=lambda p: (person_keys[p], p))
    responses = sorted(response_keys, key=lambda r: (response_keys[r], r), reverse=reverse)
    note = "" if people and responses else "nothing to order"
    return Linkage(method, dict(zip(people, responses, strict=False)), note)


def link_by_equal_key(method: str, person_keys: Mapping[int, Iterable[object]],
                      response_keys: Mapping[int, Iterable[object]]) -> Linkage:
    """Pair a person with a response when they share a key no other response has.

    For identifiers of a moment: a transaction id, a WAL commit, a commit time.
    """
    owners: dict[object, set[int]] = defaultdict(set)
    for response, keys in response_keys.items():
        for key in keys:
            owners[key].add(response)
    predicted = {}
    for person, keys in person_keys.items():
        candidates = set().union(*(owners.get(k, set()) for k in keys)) if keys else set()
        if len(candidates) == 1:
            predicted[person] = next(iter(candidates))
    return Linkage(method, predicted)


@dataclass
class OrderKeys:
    """The orderings the attacks on one copy used, kept so that copies taken at different
    moments can be combined (last night's backup for the people, today's for the responses)."""

    people: dict[str, dict[int, object]] = field(default_factory=dict)
    responses: dict[str, dict[int, object]] = field(default_factory=dict)
    participants: set[int] = field(default_factory=set)


def order_attacks(name: str, person_orders: Mapping[str, Mapping[int, object]],
                  response_orders: Mapping[str, Mapping[int, object]],
                  participants: set[int] | None = None,
                  keys: OrderKeys | None = None) -> list[Linkage]:
    """Every person ordering against every response ordering, both directions.

    ``participants``: the people known to have submitted (the participation table says so);
    when given, the others are left out of the person orderings, so that one abandoned draft
    does not shift every pair by one. ``keys``, when given, records the orderings.
    """
    if keys is not None:
        keys.people.update({k: dict(v) for k, v in person_orders.items()})
        keys.responses.update({k: dict(v) for k, v in response_orders.items()})
        keys.participants |= set(participants or ())

    def only_participants(keys: Mapping[int, object]) -> Mapping[int, object]:
        if not participants:
            return keys
        return {p: k for p, k in keys.items() if p in participants}

    return [
        link_by_order(f"{name}: {p_name} ~ {r_name}{' (reversed)' if reverse else ''}",
                      only_participants(p_keys), r_keys, reverse=reverse)
        for p_name, p_keys in person_orders.items()
        for r_name, r_keys in response_orders.items()
        for reverse in (False, True)
    ]


# --- Byte search ------------------------------------------------------------------------------


def text_forms(text: str) -> dict[str, bytes]:
    """The byte forms in which ``text`` may sit in a file: UTF-8, JSON-escaped (ASCII-only
    and not), UTF-16 (little- and big-endian)."""
    forms = {
        "utf-8": text.encode(),
        "json": json.dumps(text)[1:-1].encode(),
        "json-ascii": json.dumps(text, ensure_ascii=True)[1:-1].encode(),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
    }
    return {name: form for name, form in forms.items() if form}


@dataclass(frozen=True)
class Hit:
    path: str
    offset: int
    form: str

    def __str__(self) -> str:
        return f"{self.path} @ {self.offset} ({self.form})"


def files_under(*roots: Path) -> list[Path]:
    """Every regular file under ``roots`` (files given directly are kept)."""
    found = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink())
    return found


def search_files(paths: Iterable[Path], text: str) -> list[Hit]:
    """Every place where ``text`` occurs, in any of its ``text_forms``, in the files."""
    forms = text_forms(text)
    hits = []
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:  # vanished (a temp file of a running server) or not readable
            continue
        seen = set()  # forms that are the same bytes (ASCII text) count once
        for name, needle in forms.items():
            start = data.find(needle)
            while start != -1:
                if start not in seen:
                    seen.add(start)
                    hits.append(Hit(str(path), start, name))
                start = data.find(needle, start + 1)
    return hits


# --- SQLite: raw pages and WAL frames ---------------------------------------------------------

SQLITE_HEADER = b"SQLite format 3\x00"
WAL_MAGIC = (0x377F0682, 0x377F0683)
TABLE_LEAF, TABLE_INTERIOR, INDEX_LEAF, INDEX_INTERIOR = 0x0D, 0x05, 0x0A, 0x02


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """SQLite's big-endian varint at ``pos``: (value, position after it)."""
    value = 0
    for i in range(8):
        byte = buf[pos + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos + i + 1
    return (value << 8) | buf[pos + 8], pos + 9


def decode_record(payload: bytes) -> tuple:
    """The values of a SQLite record (header of serial types, then the body).

    :raise ValueError: the bytes are not a well-formed record.
    """
    header_size, pos = read_varint(payload, 0)
    if not 0 < header_size <= len(payload):
        raise ValueError("bad record header")
    types = []
    while pos < header_size:
        serial, pos = read_varint(payload, pos)
        types.append(serial)
    values = []
    body = header_size
    for serial in types:
        if serial == 0:
            values.append(None)
        elif 1 <= serial <= 6:
            size = (1, 2, 3, 4, 6, 8)[serial - 1]
            values.append(int.from_bytes(payload[body:body + size], "big", signed=True))
            body += size
        elif serial == 7:
            values.append(struct.unpack(">d", payload[body:body + 8])[0])
            body += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            size = (serial - 12) // 2
            raw = payload[body:body + size]
            values.append(raw.decode("utf-8", "replace") if serial % 2 else bytes(raw))
            body += size
        else:
            raise ValueError("reserved serial type")
        if body > len(payload):
            raise ValueError("record body overruns its payload")
    return tuple(values)


@dataclass(frozen=True)
class WalFrame:
    """One frame of a WAL file: a page image written by a commit.

    ``index`` is the frame's position in the file; ``txn`` numbers the commits in the order they
    happened (older WAL generations, still in the file past the newest frames, come first).
    """

    index: int
    page_no: int
    commit_size: int
    salt: tuple[int, int]
    data: bytes
    txn: int
    current: bool


@dataclass(frozen=True)
class Row:
    """A table row or index entry found in a copy, with where it physically sits.

    ``where`` is "live" (reachable from the object's b-tree in the current state), "free" (on a
    page no b-tree owns: freelist or orphan) or "wal" (in a WAL frame's page image, which
    may be an old version of the page). ``frame`` and ``txn`` are set for WAL rows.
    """

    obj: str | None
    table: str | None
    is_index: bool
    rowid: int | None
    values: tuple
    page: int
    slot: int
    offset: int
    where: str
    frame: int | None = None
    txn: int | None = None


@dataclass
class SchemaObject:
    name: str
    table: str
    is_index: bool
    root: int
    columns: list[str]
    rowid_alias: int | None = None  # column index of an INTEGER PRIMARY KEY
    types: list[str] = field(default_factory=list)


def _fits(obj: SchemaObject, values: tuple) -> bool:
    """Whether a record could be a row of table ``obj`` (SQLite's type affinity rules)."""
    if len(values) != len(obj.columns):
        return False
    for i, (value, declared) in enumerate(zip(values, obj.types, strict=True)):
        declared = declared.upper()
        if value is None or i == obj.rowid_alias:
            continue
        if "INT" in declared and not isinstance(value, int):
            return False
        if any(t in declared for t in ("CHAR", "CLOB", "TEXT")) and not isinstance(value, str):
            return False
    return True


class SqliteCopy:
    """The raw bytes of a SQLite database file and, if present, its WAL.

    The "current" view is the database file with the last committed WAL image of each page laid
    over it, as SQLite itself would read it. Nothing is written: the files are read into memory
    once.
    """

    def __init__(self, db_path: Path, wal_path: Path | None = None):
        self.name = db_path.name
        self.db = db_path.read_bytes()
        if not self.db.startswith(SQLITE_HEADER):
            raise ValueError(f"{db_path} is not a SQLite database")
        size = struct.unpack(">H", self.db[16:18])[0]
        self.page_size = 65536 if size == 1 else size
        self.usable = self.page_size - self.db[20]
        wal_path = wal_path if wal_path is not None else Path(str(db_path) + "-wal")
        self.wal = wal_path.read_bytes() if wal_path.exists() else b""
        self.frames = self._read_frames()
        self._current: dict[int, bytes] = {}
        for frame in self.frames:
            if frame.current:
                self._current[frame.page_no] = frame.data
        self.schema = self._read_schema()
        self.owner = self._map_owners()

    # pages

    def file_page(self, page_no: int) -> bytes | None:
        start = (page_no - 1) * self.page_size
        page = self.db[start:start + self.page_size]
        return page if len(page) == self.page_size else None

    def page(self, page_no: int) -> bytes | None:
        """The page as SQLite would read it now (WAL first, then the file)."""
        return self._current.get(page_no) or self.file_page(page_no)

    @property
    def page_count(self) -> int:
        in_wal = max((f.page_no for f in self.frames if f.current), default=0)
        return max(len(self.db) // self.page_size, in_wal)

    def _read_frames(self) -> list[WalFrame]:
        """Every frame in the WAL file, valid or left over from an earlier generation."""
        wal = self.wal
        if len(wal) < 32 or struct.unpack(">I", wal[:4])[0] not in WAL_MAGIC:
            return []
        page_size = struct.unpack(">I", wal[8:12])[0]
        header_salt = struct.unpack(">II", wal[16:24])
        raw = []
        pos = 32
        while pos + 24 + page_size <= len(wal):
            page_no, commit_size, salt1, salt2 = struct.unpack(">IIII", wal[pos:pos + 16])
            raw.append((len(raw), page_no, commit_size, (salt1, salt2),
                        wal[pos + 24:pos + 24 + page_size]))
            pos += 24 + page_size
        # Commits in time order: by WAL generation (salt-1 grows by one at each restart), then
        # by position. A frame belongs to the commit whose commit frame follows it.
        order = sorted(raw, key=lambda f: (f[3][0], f[0]))
        frames = []
        txn = 0
        pending = []
        last_commit_of_current = max(
            (f[0] for f in raw if f[3] == header_salt and f[2]), default=-1)
        for index, page_no, commit_size, salt, data in order:
            pending.append((index, page_no, commit_size, salt, data))
            if commit_size:
                for p in pending:
                    current = p[3] == header_salt and p[0] <= last_commit_of_current
                    frames.append(WalFrame(p[0], p[1], p[2], p[3], p[4], txn, current))
                pending = []
                txn += 1
        for p in pending:  # frames of a commit that never finished
            frames.append(WalFrame(p[0], p[1], p[2], p[3], p[4], txn, False))
        frames.sort(key=lambda f: f.index)
        return frames

    # b-tree pages

    def _header_offset(self, page_no: int) -> int:
        return 100 if page_no == 1 else 0

    def _local_size(self, payload: int, is_index: bool) -> int:
        u = self.usable
        x = ((u - 12) * 64 // 255) - 23 if is_index else u - 35
        if payload <= x:
            return payload
        m = ((u - 12) * 32 // 255) - 23
        k = m + ((payload - m) % (u - 4))
        return k if k <= x else m

    def _payload(self, page: bytes, pos: int, size: int, is_index: bool,
                 get_page: Callable[[int], bytes | None]) -> bytes:
        local = self._local_size(size, is_index)
        data = page[pos:pos + local]
        if local < size:
            overflow = struct.unpack(">I", page[pos + local:pos + local + 4])[0]
            seen = set()
            while overflow and len(data) < size and overflow not in seen:
                seen.add(overflow)
                chunk = get_page(overflow)
                if chunk is None:
                    break
                data += chunk[4:self.usable]
                overflow = struct.unpack(">I", chunk[:4])[0]
        return data[:size]

    def cells(self, page: bytes, page_no: int,
              get_page: Callable[[int], bytes | None] | None = None
              ) -> Iterator[tuple[int, int, int | None, tuple]]:
        """The cells of a leaf page: (slot, offset, rowid or None, values).

        Malformed cells (a page that is not what its first byte says) are skipped.
        """
        get_page = get_page or self.page
        h = self._header_offset(page_no)
        kind = page[h]
        if kind not in (TABLE_LEAF, INDEX_LEAF):
            return
        count = struct.unpack(">H", page[h + 3:h + 5])[0]
        for slot in range(count):
            at = h + 8 + 2 * slot
            if at + 2 > len(page):
                return
            offset = struct.unpack(">H", page[at:at + 2])[0]
            try:
                size, pos = read_varint(page, offset)
                rowid = None
                if kind == TABLE_LEAF:
                    rowid, pos = read_varint(page, pos)
                    if rowid >= 1 << 63:
                        rowid -= 1 << 64
                payload = self._payload(page, pos, size, kind == INDEX_LEAF, get_page)
                values = decode_record(payload)
            except (IndexError, ValueError, struct.error):
                continue
            yield slot, offset, rowid, values

    def children(self, page: bytes, page_no: int) -> list[int]:
        """The child pages of an interior page (empty for a leaf)."""
        h = self._header_offset(page_no)
        if page[h] not in (TABLE_INTERIOR, INDEX_INTERIOR):
            return []
        count = struct.unpack(">H", page[h + 3:h + 5])[0]
        result = []
        for slot in range(count):
            offset = struct.unpack(">H", page[h + 12 + 2 * slot:h + 14 + 2 * slot])[0]
            result.append(struct.unpack(">I", page[offset:offset + 4])[0])
        result.append(struct.unpack(">I", page[h + 8:h + 12])[0])
        return result

    def tree_pages(self, root: int) -> list[int]:
        """Every page of the b-tree rooted at ``root`` in the current view (leaves and
        interior pages), overflow pages left out."""
        pages, todo, seen = [], [root], set()
        while todo:
            page_no = todo.pop()
            if page_no in seen or not 0 < page_no <= self.page_count:
                continue
            seen.add(page_no)
            page = self.page(page_no)
            if page is None:
                continue
            pages.append(page_no)
            todo.extend(self.children(page, page_no))
        return pages

    def _read_schema(self) -> dict[str, SchemaObject]:
        objects = {}
        shapes = sqlite3.connect(":memory:")
        try:
            for page_no in self.tree_pages(1):
                for _slot, _offset, _rowid, values in self.cells(self.page(page_no), page_no):
                    if len(values) != 5 or values[0] not in ("table", "index"):
                        continue
                    kind, name, table, root, sql = values
                    if not isinstance(root, int) or not root:
                        continue
                    columns, alias, info = [], None, []
                    if kind == "table" and sql:
                        shapes.execute(sql)
                        info = shapes.execute(f'PRAGMA table_info("{name}")').fetchall()
                        columns = [row[1] for row in info]
                        pks = [row for row in info if row[5]]
                        if len(pks) == 1 and pks[0][2].upper() == "INTEGER":
                            alias = pks[0][0]
                    objects[name] = SchemaObject(name, table, kind == "index", root, columns,
                                                 alias, [row[2] for row in info] if columns
                                                 else [])
        finally:
            shapes.close()
        return objects

    def _map_owners(self) -> dict[int, SchemaObject]:
        owner = {}
        for obj in self.schema.values():
            for page_no in self.tree_pages(obj.root):
                owner[page_no] = obj
        return owner

    def freelist(self) -> set[int]:
        """Trunk and leaf pages of the freelist (current view)."""
        first = self.page(1)
        trunk = struct.unpack(">I", first[32:36])[0]
        pages, seen = set(), set()
        while trunk and trunk not in seen:
            seen.add(trunk)
            pages.add(trunk)
            page = self.page(trunk)
            if page is None:
                break
            count = struct.unpack(">I", page[4:8])[0]
            for i in range(min(count, (self.usable - 8) // 4)):
                pages.add(struct.unpack(">I", page[8 + 4 * i:12 + 4 * i])[0])
            trunk = struct.unpack(">I", page[:4])[0]
        return pages

    # rows

    def _row(self, obj: SchemaObject | None, rowid, values, page_no, slot, offset, where,
             frame: WalFrame | None = None) -> Row:
        if obj is not None and not obj.is_index and obj.rowid_alias is not None:
            values = tuple(rowid if i == obj.rowid_alias else v for i, v in enumerate(values))
        return Row(obj.name if obj else None, obj.table if obj else None,
                   bool(obj and obj.is_index), rowid, values, page_no, slot, offset, where,
                   frame.index if frame else None, frame.txn if frame else None)

    def _owner_if_shaped(self, page_no: int, values: tuple, is_index: bool
                         ) -> SchemaObject | None:
        obj = self.owner.get(page_no)
        if obj is None or obj.is_index != is_index:
            return None
        if not is_index and not _fits(obj, values):
            return None
        return obj

    def rows(self) -> Iterator[Row]:
        """Every row and index entry: live ones, those on pages no b-tree owns, and those in
        every WAL frame's page image."""
        for page_no, obj in self.owner.items():
            page = self.page(page_no)
            for slot, offset, rowid, values in self.cells(page, page_no):
                yield self._row(obj, rowid, values, page_no, slot, offset, "live")
        for page_no in range(1, self.page_count + 1):
            if page_no in self.owner:
                continue
            page = self.page(page_no)
            if page is None:
                continue
            for slot, offset, rowid, values in self.cells(page, page_no):
                obj = self._guess_owner(values, rowid is None)
                yield self._row(obj, rowid, values, page_no, slot, offset, "free")
        for frame in self.frames:
            for slot, offset, rowid, values in self.cells(frame.data, frame.page_no):
                obj = (self._owner_if_shaped(frame.page_no, values, rowid is None)
                       or self._guess_owner(values, rowid is None))
                yield self._row(obj, rowid, values, frame.page_no, slot, offset, "wal", frame)

    def _guess_owner(self, values: tuple, is_index: bool) -> SchemaObject | None:
        """The one table whose columns fit a row found on an unowned page (else None): the
        same number of columns, each value allowed by the column's type affinity."""
        if is_index:
            return None
        fits = [o for o in self.schema.values() if not o.is_index and _fits(o, values)]
        return fits[0] if len(fits) == 1 else None

    def column(self, row: Row, name: str):
        """The value of column ``name`` of a table row (None if the table has no such column)."""
        obj = self.schema.get(row.obj or "")
        if obj is None or name not in obj.columns:
            return None
        i = obj.columns.index(name)
        return row.values[i] if i < len(row.values) else None


def sqlite_query(db_path: Path, sql: str, scratch: Path) -> list[tuple]:
    """Run ``sql`` with sqlite3 on a scratch copy of ``db_path`` (and its WAL), as any reader of
    the copy would; the copy itself is left untouched (opening it would checkpoint its WAL)."""
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / db_path.name
    for suffix in ("", "-wal"):
        source = Path(str(db_path) + suffix)
        dest = Path(str(target) + suffix)
        if dest.exists():
            dest.unlink()
        if source.exists():
            dest.write_bytes(source.read_bytes())
    connection = sqlite3.connect(target)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


# --- What a copy holds: responses, and who they belong to ------------------------------------


@dataclass
class ResponseContent:
    answers: dict[str, int] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)


def responses_from_rows(answer_rows: Iterable[tuple], comment_rows: Iterable[tuple]
                        ) -> dict[int, ResponseContent]:
    """Group ``(response_id, statement_key, value)`` and ``(response_id, question_key, text)``
    rows into responses."""
    found: dict[int, ResponseContent] = defaultdict(ResponseContent)
    for response_id, key, value in answer_rows:
        found[int(response_id)].answers[key] = int(value)
    for response_id, key, text in comment_rows:
        found[int(response_id)].comments[key] = text
    return dict(found)


def ground_truth(responses: Mapping[int, ResponseContent],
                 submitted: Mapping[int, ResponseContent]) -> dict[int, int]:
    """person id -> response id in the copy, recognised by content (the test knows what each
    person submitted; every answer vector and comment is distinct)."""
    by_comment = {c.comments.get("improve"): r for r, c in responses.items() if c.comments}
    by_answers = {json.dumps(c.answers, sort_keys=True): r for r, c in responses.items()
                  if c.answers}
    truth = {}
    for person, content in submitted.items():
        response = by_comment.get(content.comments.get("improve"))
        if response is None:
            response = by_answers.get(json.dumps(content.answers, sort_keys=True))
        if response is not None:
            truth[person] = response
    return truth


def content_link(method: str, remnants: Iterable[tuple[int, bytes | str]],
                 responses: Mapping[int, ResponseContent]) -> Linkage:
    """Pair a person with a response when a remnant naming that person (e.g. an old draft of
    their invitation) holds text found in exactly that response: a comment, or all its answers
    as the draft's JSON would write them.

    :param remnants: (person id, bytes or text of the remnant).
    """
    needles: dict[int, list[bytes]] = {}
    for response, content in responses.items():
        forms = []
        for text in content.comments.values():
            if len(text) >= 12:
                forms.extend(text_forms(text).values())
        if content.answers:
            forms.append(json.dumps(content.answers, separators=(",", ":")).encode())
            forms.append(json.dumps(content.answers).encode())
        needles[response] = forms
    votes: dict[int, set[int]] = defaultdict(set)
    for person, blob in remnants:
        data = blob.encode() if isinstance(blob, str) else bytes(blob)
        for response, forms in needles.items():
            if any(f in data for f in forms):
                votes[person].add(response)
    predicted = {p: next(iter(rs)) for p, rs in votes.items() if len(rs) == 1}
    return Linkage(method, predicted)


# --- SQLite attack catalogue ------------------------------------------------------------------


def _placement(row: Row) -> tuple[int, int]:
    return (row.page, row.offset)


def _upwards(row: Row) -> tuple[int, int]:
    # Cells are written from the end of a page towards its start: a later insert sits lower.
    return (row.page, -row.offset)


def sqlite_attacks(copy: SqliteCopy, copy_name: str, responses: Mapping[int, ResponseContent],
                   person_of_invitation: Mapping[int, int],
                   keys: OrderKeys | None = None) -> list[Linkage]:
    """Every linkage method on one SQLite copy.

    :param responses: the responses of the round as the copy holds them (response id ->
        content), read with sqlite3.
    :param person_of_invitation: invitation id -> person id, from the copy's invitation table.
    :param keys: if given, receives the orderings used (see ``OrderKeys``).
    """
    rows = list(copy.rows())
    response_ids = set(responses)

    def response_of(row: Row) -> int | None:
        column = RESPONSE_COLUMNS.get(row.table or "")
        if column is None:
            return None
        value = row.rowid if (column == "id" and not row.is_index) else copy.column(row, column)
        if row.is_index:  # an index entry of a response table: any value that is a response id
            value = next((v for v in row.values if v in response_ids), None)
        return value if value in response_ids else None

    def person_of(row: Row) -> int | None:
        if row.is_index:
            return None
        if row.table == "participation":
            return copy.column(row, "person_id")
        if row.table == "draft":
            return person_of_invitation.get(copy.column(row, "invitation_id"))
        return None

    # Person side: participation rows, live.
    live_participation = [r for r in rows if r.where == "live" and r.table == "participation"
                          and not r.is_index and person_of(r) is not None]
    person_orders = {
        "participation rowid": {person_of(r): r.rowid for r in live_participation},
        "participation page/offset": {person_of(r): _placement(r) for r in live_participation},
        "participation page/-offset": {person_of(r): _upwards(r) for r in live_participation},
        "participation page/slot": {person_of(r): (r.page, r.slot) for r in live_participation},
    }
    # Response side: every live row or index entry that carries a response id.
    by_response: dict[str, dict[int, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.where != "live":
            continue
        response = response_of(row)
        if response is not None:
            by_response[row.obj][response].append(row)
    response_orders: dict[str, dict[int, object]] = {}
    for obj, groups in sorted(by_response.items()):
        kind = "index " if copy.schema[obj].is_index else ""
        if all(x.rowid is not None for g in groups.values() for x in g):
            response_orders[f"{obj} first rowid"] = {r: min(x.rowid for x in g)
                                                     for r, g in groups.items()}
            response_orders[f"{obj} last rowid"] = {r: max(x.rowid for x in g)
                                                    for r, g in groups.items()}
        response_orders[f"{kind}{obj} page/offset"] = {r: min(map(_placement, g))
                                                       for r, g in groups.items()}
        response_orders[f"{kind}{obj} page/-offset"] = {r: min(map(_upwards, g))
                                                        for r, g in groups.items()}
    participants = {person_of(r) for r in live_participation}
    attacks = order_attacks(copy_name, person_orders, response_orders, participants, keys)

    # WAL: the commit in which each person's participation, and each response, first appears;
    # the last commit in which each person's draft is seen (the next one deleted it).
    wal_rows = [r for r in rows if r.where == "wal"]
    if wal_rows:
        person_txn: dict[int, set[int]] = defaultdict(set)
        first_person: dict[int, int] = {}
        last_draft: dict[int, int] = {}
        for row in wal_rows:
            person = person_of(row)
            if person is None:
                continue
            if row.table == "participation":
                first_person[person] = min(first_person.get(person, row.txn), row.txn)
            else:
                last_draft[person] = max(last_draft.get(person, row.txn), row.txn)
        for person, txn in first_person.items():
            person_txn[person].add(txn)
        draft_txn = {p: {t + 1} for p, t in last_draft.items()}
        first_response: dict[int, int] = {}
        for row in wal_rows:
            response = response_of(row)
            if response is not None:
                first_response[response] = min(first_response.get(response, row.txn), row.txn)
        response_txn = {r: {t} for r, t in first_response.items()}
        attacks.append(link_by_equal_key(
            f"{copy_name}: WAL commit of participation = WAL commit of response",
            person_txn, response_txn))
        attacks.append(link_by_equal_key(
            f"{copy_name}: WAL commit after the draft's last image = WAL commit of response",
            draft_txn, response_txn))
        attacks.extend(order_attacks(
            copy_name,
            {"WAL commit of participation": {p: min(t) for p, t in person_txn.items()},
             "WAL commit deleting the draft": {p: min(t) for p, t in draft_txn.items()}},
            {"WAL commit of response": dict(first_response)}, participants, keys))
        # Sizes: how much the participation's commit wrote besides the person's own rows, against
        # how much text each response holds (a sealed copy of a response, unpadded, is as long
        # as what it seals).
        first_seen: dict[tuple[str | None, int], tuple[int, Row]] = {}
        for row in wal_rows:
            if row.is_index or row.rowid is None or row.table in PERSON_TABLES:
                continue
            key = (row.obj, row.rowid)
            if key not in first_seen or row.txn < first_seen[key][0]:
                first_seen[key] = (row.txn, row)
        written: dict[int, int] = defaultdict(int)
        for txn, row in first_seen.values():
            written[txn] += value_size(row.values)
        attacks.extend(order_attacks(
            copy_name,
            {"bytes written by the participation's WAL commit": {
                p: written.get(t, 0) for p, t in first_person.items()}},
            {"bytes of response text": {r: content_size(c) for r, c in responses.items()}},
            participants, keys))
    else:
        attacks.append(Linkage(f"{copy_name}: WAL", {}, "no WAL frames"))

    # Remnants: any draft row (live, on a free page, or in a WAL image) whose invitation is
    # known and whose text holds a response's comment or answers.
    remnants = [(person_of(r), "\n".join(_strings(r.values))) for r in rows
                if r.table == "draft" and not r.is_index and person_of(r) is not None]
    attacks.append(content_link(f"{copy_name}: draft rows (live, free pages, WAL) by content",
                                remnants, responses))
    return attacks


def value_size(values: Iterable[object]) -> int:
    """Bytes of a row's text and blob values (numbers count 8)."""
    return sum(len(v.encode()) if isinstance(v, str) else len(v) if isinstance(v, bytes) else 8
               for v in values if v is not None)


def content_size(content: ResponseContent) -> int:
    """Bytes of a response's comments (the answers are the same size for everyone)."""
    return sum(len(text.encode()) for text in content.comments.values()) + len(content.answers)


def _strings(values: Iterable[object]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, bytes):
            yield value.decode("utf-8", "replace")


# --- PostgreSQL -------------------------------------------------------------------------------


def parse_pg_dump(dump: str) -> dict[str, list[list[str]]]:
    """The data of a plain-format dump: table name -> rows (fields as text, in dump order)."""
    tables: dict[str, list[list[str]]] = {}
    current = None
    for line in dump.splitlines():
        if current is None:
            match = re.match(r"COPY (?:\w+\.)?\"?(\w+)\"? \((.*)\) FROM stdin;", line)
            if match:
                current = match.group(1)
                tables[current] = [[c.strip().strip('"') for c in match.group(2).split(",")]]
        elif line == "\\.":
            current = None
        else:
            tables[current].append(line.split("\t"))
    return tables


def dump_column(tables: Mapping[str, list[list[str]]], table: str, column: str
                ) -> list[str]:
    """The values of one column, in dump order (the first list entry holds the names)."""
    if table not in tables or column not in tables[table][0]:
        return []
    i = tables[table][0].index(column)
    return [row[i] for row in tables[table][1:]]


@dataclass(frozen=True)
class WalRecord:
    """A record as ``pg_waldump`` prints it: transaction, resource manager, what it did and the
    blocks it touched as (relfilenode, block, offset)."""

    lsn: str
    xid: int
    rmgr: str
    desc: str
    blocks: tuple[tuple[int, int], ...]  # (relfilenode, block)
    offset: int | None


_WALDUMP = re.compile(r"rmgr: (\w+)\s+len.*?tx:\s+(\d+), lsn: (\S+), prev \S+, desc: (.*)$")


def read_pg_wal(waldump: Path, wal_dir: Path, database_oid: int) -> list[WalRecord]:
    """Every record of the WAL segments in ``wal_dir`` that touches ``database_oid``, read
    with ``pg_waldump`` (from the first segment to the last one; old segments included).
    """
    segments = sorted(p.name for p in wal_dir.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name))
    if not segments:
        return []
    result = subprocess.run([str(waldump), "-p", str(wal_dir), segments[0], segments[-1]],
                            capture_output=True, text=True)
    records = []
    for line in result.stdout.splitlines():
        match = _WALDUMP.search(line)
        if not match:
            continue
        rmgr, xid, lsn, desc = match.groups()
        blocks = tuple(
            (int(rel), int(blk))
            for spc, db, rel, blk in re.findall(r"rel (\d+)/(\d+)/(\d+)(?: fork \w+)? blk (\d+)",
                                                desc)
            if int(db) == database_oid
        )
        if not blocks:
            continue
        off = re.search(r"\boff (\d+)", desc)
        records.append(WalRecord(lsn, int(xid), rmgr, desc, blocks,
                                 int(off.group(1)) if off else None))
    return records


def decode_datum(raw: bytes | None, type_name: str):
    """A column value from ``heap_page_item_attrs``' raw bytes: integers, or the bytes of a
    variable-length value (its header removed; compressed or external values stay raw)."""
    if raw is None:
        return None
    raw = bytes(raw)
    if type_name in ("smallint", "integer", "bigint"):
        return int.from_bytes(raw, "little", signed=True)
    if raw and raw[0] & 0x01 and raw[0] != 0x01:  # 1-byte header
        return raw[1:raw[0] >> 1]
    if len(raw) >= 4 and raw[0] & 0x03 == 0:  # 4-byte header, not compressed
        return raw[4:struct.unpack("<I", raw[:4])[0] >> 2]
    return raw


@dataclass(frozen=True)
class HeapTuple:
    """A tuple read from a heap page with ``pageinspect``: live or dead."""

    table: str
    ctid: tuple[int, int]
    xmin: int
    xmax: int
    values: dict[str, object]
    raw: bytes


def heap_tuples(connection, table: str) -> list[HeapTuple]:
    """Every tuple on every page of ``table`` (dead ones included), via ``pageinspect``.

    ``connection`` is a SQLAlchemy connection as a superuser with the extension created.
    """
    from sqlalchemy import text

    columns = connection.execute(text(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum"), {"t": table}).all()
    pages = connection.execute(text(
        "SELECT pg_relation_size(CAST(:t AS regclass)) / current_setting('block_size')::int"),
        {"t": table}).scalar()
    found = []
    for block in range(pages):
        items = connection.execute(text(
            "WITH p AS (SELECT get_raw_page(:t, :b) AS page) "
            "SELECT i.lp, i.t_xmin, i.t_xmax, a.t_attrs, i.t_data FROM p, "
            "heap_page_items(p.page) AS i JOIN heap_page_item_attrs(p.page, CAST(:t AS regclass))"
            " AS a USING (lp) WHERE i.t_data IS NOT NULL"),
            {"t": table, "b": block}).all()
        for lp, xmin, xmax, attrs, data in items:
            values = {}
            for (name, type_name), raw in zip(columns, attrs or [], strict=False):
                values[name] = decode_datum(raw, type_name)
            found.append(HeapTuple(table, (block, lp), int(xmin), int(xmax), values,
                                   bytes(data)))
    return found


def live_rows(connection, table: str) -> list[dict]:
    """``SELECT xmin, xmax, ctid, *`` of a table, as dicts (ctid as (block, offset))."""
    from sqlalchemy import text

    result = connection.execute(text(
        f"SELECT xmin::text::bigint AS _xmin, xmax::text::bigint AS _xmax, "
        f"ctid::text AS _ctid, * FROM {table}"))
    rows = []
    for row in result.mappings():
        row = dict(row)
        block, offset = row["_ctid"].strip("()").split(",")
        row["_ctid"] = (int(block), int(offset))
        rows.append(row)
    return rows


@dataclass
class PostgresEvidence:
    """What a PostgreSQL copy shows: live rows with system columns, raw tuples (``None`` when
    ``pageinspect`` is missing), the dump, the WAL records and the commit times."""

    rows: dict[str, list[dict]]
    tuples: dict[str, list[HeapTuple]] | None
    dump: dict[str, list[list[str]]]
    wal: list[WalRecord] | None
    relfilenodes: dict[int, str]
    commit_times: dict[int, float] | None
    notes: list[str] = field(default_factory=list)


def postgres_attacks(ev: PostgresEvidence, responses: Mapping[int, ResponseContent],
                     phase: str, keys: OrderKeys | None = None) -> list[Linkage]:
    """Every linkage method on a PostgreSQL copy (see the module docstring)."""
    response_ids = set(responses)
    invitation_person = {r["id"]: r["person_id"] for r in ev.rows["invitation"]}

    def response_rows(table: str) -> dict[int, list[dict]]:
        column = RESPONSE_COLUMNS[table]
        grouped: dict[int, list[dict]] = defaultdict(list)
        for row in ev.rows.get(table, []):
            if row[column] in response_ids:
                grouped[row[column]].append(row)
        return grouped

    participation = {r["person_id"]: r for r in ev.rows["participation"]}
    # Transaction ids that wrote or locked a person's rows.
    person_xids = {
        "participation xmin": {p: {r["_xmin"]} for p, r in participation.items()},
        "invitation xmax (row lock)": {
            invitation_person[r["id"]]: {r["_xmax"]} for r in ev.rows["invitation"]
            if r["_xmax"]},
    }
    response_xids: dict[int, set[int]] = defaultdict(set)
    response_orders: dict[str, dict[int, object]] = {}
    for table in RESPONSE_COLUMNS:
        grouped = response_rows(table)
        for response, rows in grouped.items():
            response_xids[response].update(r["_xmin"] for r in rows)
        response_orders[f"{table} ctid"] = {k: min(r["_ctid"] for r in v)
                                            for k, v in grouped.items()}
        response_orders[f"{table} xmin"] = {k: min(r["_xmin"] for r in v)
                                            for k, v in grouped.items()}
    attacks = [link_by_equal_key(f"{phase} PostgreSQL: {name} = xmin of response rows",
                                 keys, response_xids)
               for name, keys in person_xids.items()]

    # Dead tuples (pageinspect): old draft versions name their invitation; their xmax is the
    # transaction that replaced or deleted them (the submit, for the last one).
    if ev.tuples is not None:
        draft_person = {}
        remnants = []
        for t in ev.tuples.get("draft", []):
            person = invitation_person.get(t.values.get("invitation_id"))
            if person is None:
                continue
            remnants.append((person, t.raw))
            if t.xmax:
                draft_person.setdefault(person, set()).add(t.xmax)
        attacks.append(link_by_equal_key(
            f"{phase} PostgreSQL: xmax of draft tuples (pageinspect) = xmin of response rows",
            draft_person, response_xids))
        attacks.append(content_link(
            f"{phase} PostgreSQL: draft tuples (pageinspect, dead included) by content",
            remnants, responses))
        dead_participation = {t.values.get("person_id"): {t.xmin}
                              for t in ev.tuples.get("participation", [])}
        attacks.append(link_by_equal_key(
            f"{phase} PostgreSQL: participation tuples, dead included (pageinspect) = xmin "
            "of response rows", dead_participation, response_xids))
        # Sizes: the bytes every table (TOAST included) got from the participation's
        # transaction, besides the person's own rows, against the text of each response.
        written: dict[int, int] = defaultdict(int)
        for table, tuples in ev.tuples.items():
            if table not in PERSON_TABLES:
                for t in tuples:
                    written[t.xmin] += len(t.raw)
        attacks.extend(order_attacks(
            f"{phase} PostgreSQL",
            {"bytes written by the participation's transaction": {
                p: written.get(r["_xmin"], 0) for p, r in participation.items()}},
            {"bytes of response text": {r: content_size(c) for r, c in responses.items()}},
            set(participation), keys))
    else:
        attacks.append(Linkage(f"{phase} PostgreSQL: dead tuples", {}, "pageinspect missing"))

    # WAL: the transaction that inserted each participation and each response row, and the
    # tuple it wrote (found again by its place, live or dead).
    if ev.wal is not None and ev.tuples is not None:
        at_place = {(table, t.ctid): t for table, ts in ev.tuples.items() for t in ts}
        wal_person: dict[int, set[int]] = defaultdict(set)
        wal_response: dict[int, set[int]] = defaultdict(set)
        for record in ev.wal:
            if record.rmgr not in ("Heap", "Heap2") or record.offset is None:
                continue
            if not record.desc.startswith(("INSERT", "HOT_UPDATE", "UPDATE")):
                continue
            rel, block = record.blocks[0]
            table = ev.relfilenodes.get(rel)
            t = at_place.get((table, (block, record.offset)))
            if t is None:
                continue
            if table == "participation" and t.values.get("person_id") is not None:
                wal_person[t.values["person_id"]].add(record.xid)
            elif table in RESPONSE_COLUMNS:
                response = t.values.get(RESPONSE_COLUMNS[table])
                if response in response_ids:
                    wal_response[response].add(record.xid)
        attacks.append(link_by_equal_key(
            f"{phase} PostgreSQL: WAL (pg_waldump) transaction inserting participation = "
            "inserting response rows", wal_person, wal_response))
    else:
        attacks.append(Linkage(f"{phase} PostgreSQL: WAL", {}, "no WAL or no pageinspect"))

    # Commit timestamps, when the server tracks them.
    if ev.commit_times:
        person_orders_time = {p: ev.commit_times.get(r["_xmin"], math.inf)
                              for p, r in participation.items()}
        response_time = {k: min(ev.commit_times.get(x, math.inf) for x in v)
                         for k, v in response_xids.items()}
        attacks.extend(order_attacks(f"{phase} PostgreSQL", {"commit time": person_orders_time},
                                     {"commit time of response": response_time},
                                     set(participation), keys))
    else:
        attacks.append(Linkage(f"{phase} PostgreSQL: commit timestamps", {},
                               "track_commit_timestamp is off"))

    # Orders: physical place, transaction order, line of the dump.
    person_orders = {
        "participation ctid": {p: r["_ctid"] for p, r in participation.items()},
        "participation xmin": {p: r["_xmin"] for p, r in participation.items()},
        "invitation xmax": {invitation_person[r["id"]]: r["_xmax"] for r in ev.rows["invitation"]
                            if r["_xmax"]},
        "participation line in pg_dump": {
            int(p): i for i, p in enumerate(dump_column(ev.dump, "participation", "person_id"))},
    }
    for table, column in RESPONSE_COLUMNS.items():
        lines: dict[int, int] = {}
        for i, value in enumerate(dump_column(ev.dump, table, column)):
            if value.lstrip("-").isdigit() and int(value) in response_ids:
                lines.setdefault(int(value), i)
        response_orders[f"{table} line in pg_dump"] = lines
    attacks.extend(order_attacks(f"{phase} PostgreSQL", person_orders, response_orders,
                                 set(participation), keys))
    return attacks
