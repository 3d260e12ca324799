"""The catalogue site's search: a prebuilt index that a browser queries with no server, and that one
publication updates at a cost that does not grow with the site.

Chinese has no spaces, and a dictionary would need updating, so words are found without one: every
run of Han characters is indexed as its characters and its character pairs (bigrams), and a query of
n >= 2 characters asks for its n-1 bigrams (a single character asks for itself). ASCII words and
numbers (years, the parts of 索引号 and 文号) are indexed whole. Text is NFKC-normalised first, so
full-width ``２０２６`` and ``ＧＫ`` are found as ``2026`` and ``gk``. A document matches when it holds
every query token (in its title or its text); title hits rank first, then the newest.

Layout under ``root`` (``<site>/search/``), all JSON::

    manifest.json          format, version, bucket count, capacity, shard count, chunk size
    b/<B>/m.json           bucket B: slot count and each slot's date (3 characters, days since 1970; ~~~ removed)
    b/<B>/s<K>.json        bucket B's postings of the tokens whose FNV-1a hash is K mod shards
    b/<B>/d<C>.json        bucket B's documents (title, url, date, category, snippet), a chunk of slots a file
    ids/<xx>/<sha256>.json where a document id lives (bucket, slot): read by the writer, never by a browser

Documents fill fixed-capacity buckets in the order they arrive; a new one goes into the last bucket,
a changed one stays in its slot, a removed one leaves a hole (a full rebuild compacts). So an update
reads and rewrites one bucket's files, whatever the number of buckets. A reader fetches the manifest,
then per bucket its ``m.json`` and only the shards of the query's tokens, then the document chunks of
the hits it shows. ``static/search.js`` implements the same reading; :func:`search` here is its twin.

Each file is written to a temporary name and renamed over the old one, so a reader never sees half a
file. The order of the writes keeps every crash harmless for the documents not being changed: the
location file is written before the document's slot, the manifest last (a new bucket becomes visible
only then), a location file is deleted last on removal; readers skip slots beyond the bucket's count,
removed slots and empty document entries. The one document being changed may be found or missed until
the same update is run again, which completes it. Writers are serialised by a lock file (one machine);
``fsync`` is not called: a power loss may lose the last update, which the next build redoes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflow.core.errors import InvalidInput

FORMAT = 1
BUCKET_CAPACITY = 256
SHARDS = 256
CHUNK = 4
SNIPPET_CHARS = 160

MANIFEST = "manifest.json"
_LOCK = ".lock"
_EPOCH = dt.date(1970, 1, 1)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_CODE = {char: value for value, char in enumerate(_ALPHABET)}
# Han ideographs (BMP, extension A, compatibility, the supplementary planes) and 〇; search.js has the same.
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN = re.compile(f"([{_HAN}]+)|([0-9a-z]+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SearchDoc:
    """One page as the search sees it; ``url`` is relative to the site root (``items/x.html``)."""

    id: str
    url: str
    title: str
    text: str
    """Plain text of the body; anything else to be findable (索引号, 文号, 主题词) goes in here too."""
    date: str
    """YYYY-MM-DD: results are newest first."""
    category: str
    """The catalogue sub-directory's name, shown with the result."""


@dataclass(frozen=True)
class SearchHit:
    id: str
    url: str
    title: str
    date: str
    category: str
    snippet: str
    title_hits: int
    """How many of the query's tokens are in the title (results with more come first)."""


@dataclass(frozen=True)
class SearchResult:
    total: int
    """Documents that match, of which ``hits`` are the first ``limit``."""
    hits: list[SearchHit]


@dataclass(frozen=True)
class WriteStats:
    """What one call wrote: tests and the benchmark count them."""

    files: int
    bytes: int
    deleted: int


# --- tokens -------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def index_tokens(text: str) -> set[str]:
    """The tokens a document is found by: each Han character and pair, each ASCII word or number."""
    tokens: set[str] = set()
    for match in _TOKEN.finditer(normalise(text)):
        run, word = match.groups()
        if run:
            tokens.update(run)
            tokens.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.add(word)
    return tokens


def query_tokens(text: str) -> list[str]:
    """The tokens a document must all hold to match ``text``, in query order without repeats."""
    tokens: dict[str, None] = {}
    for match in _TOKEN.finditer(normalise(text)):
        run, word = match.groups()
        if run and len(run) == 1:
            tokens[run] = None
        elif run:
            tokens.update((run[i : i + 2], None) for i in range(len(run) - 1))
        else:
            tokens[word] = None
    return list(tokens)


def shard_of(token: str, shards: int) -> int:
    """FNV-1a (32 bits) of the token's UTF-8, modulo ``shards``: search.js computes the same."""
    value = 0x811C9DC5
    for byte in token.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % shards


# --- postings: a set of slots as text -----------------------------------------------------------


def encode_slots(slots: Iterable[int], capacity: int) -> str:
    """Two base64url characters a slot, or ``*`` and a bitmap of 6 slots a character when shorter."""
    ordered = sorted(slots)
    width = (capacity + 5) // 6
    if 2 * len(ordered) <= width + 1:
        return "".join(_ALPHABET[slot >> 6] + _ALPHABET[slot & 63] for slot in ordered)
    bits = [0] * width
    for slot in ordered:
        bits[slot // 6] |= 1 << (slot % 6)
    return "*" + "".join(_ALPHABET[value] for value in bits)


def decode_slots(text: str) -> set[int]:
    if text.startswith("*"):
        return {i * 6 + bit for i, char in enumerate(text[1:]) for bit in range(6) if _CODE[char] >> bit & 1}
    return {_CODE[text[i]] << 6 | _CODE[text[i + 1]] for i in range(0, len(text), 2)}


def _day(date: str) -> int:
    return (dt.date.fromisoformat(date) - _EPOCH).days


_NO_DAY = "~~~"


def encode_days(days: Sequence[int | None]) -> str:
    """Three base64url characters a slot (days since 1970, up to the year 2687), ``~~~`` for an empty slot."""
    return "".join(
        _NO_DAY if day is None else _ALPHABET[day >> 12] + _ALPHABET[day >> 6 & 63] + _ALPHABET[day & 63]
        for day in days
    )


def decode_days(text: str) -> list[int | None]:
    return [
        None if text[i : i + 3] == _NO_DAY else _CODE[text[i]] << 12 | _CODE[text[i + 1]] << 6 | _CODE[text[i + 2]]
        for i in range(0, len(text), 3)
    ]


def _snippet(text: str) -> str:
    return _SPACE.sub(" ", text).strip()[:SNIPPET_CHARS]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _read_json(path: Path) -> Any:
    """The file's JSON, or None when it does not exist (yet, or any more)."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


# --- the index ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How an index is cut into files: chosen when it is written in full, then read from its manifest."""

    capacity: int = BUCKET_CAPACITY
    """Documents a bucket: what one update rewrites at most."""
    shards: int = SHARDS
    """Postings files a bucket: a query fetches about 1/shards of each bucket's postings."""
    chunk: int = CHUNK
    """Documents a document file: a result fetches its chunk."""

    def __post_init__(self) -> None:
        if not (1 <= self.chunk <= self.capacity <= 4096 and self.capacity % self.chunk == 0 and self.shards >= 1):
            raise ValueError(f"{self}: capacity up to 4096, a multiple of chunk; shards at least 1")

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> Layout:
        return cls(manifest["capacity"], manifest["shards"], manifest["chunk"])


@dataclass
class _Bucket:
    """One bucket in memory while it is changed."""

    number: int
    layout: Layout
    postings: dict[str, tuple[set[int], set[int]]] = field(default_factory=dict)
    """token -> (slots holding it, slots holding it in the title)"""
    days: list[int | None] = field(default_factory=list)
    chunks: dict[int, list[dict[str, str] | None]] = field(init=False)
    shard_text: dict[int, bytes] = field(default_factory=dict)
    """Each shard file as read, so that only the changed ones are written."""
    changed_chunks: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.chunks = {c: [] for c in range(self.layout.capacity // self.layout.chunk)}

    def clear(self, slot: int) -> None:
        for token in [token for token, (slots, _) in self.postings.items() if slot in slots]:
            slots, titles = self.postings[token]
            slots.discard(slot)
            titles.discard(slot)
            if not slots:
                del self.postings[token]

    def put(self, slot: int, doc: SearchDoc, *, fresh: bool = False) -> None:
        """Index ``doc`` in ``slot``; ``fresh``: the slot was never used (a full write), nothing to clear."""
        if not fresh:
            self.clear(slot)
        title = index_tokens(doc.title)
        for token in title | index_tokens(doc.text):
            slots, titles = self.postings.setdefault(token, (set(), set()))
            slots.add(slot)
            if token in title:
                titles.add(slot)
        self.days.extend([None] * (slot + 1 - len(self.days)))
        self.days[slot] = _day(doc.date)
        entry = {
            "id": doc.id,
            "url": doc.url,
            "title": doc.title,
            "date": doc.date,
            "category": doc.category,
            "snippet": _snippet(doc.text),
        }
        self._set_entry(slot, entry)

    def drop(self, slot: int) -> None:
        self.clear(slot)
        if slot < len(self.days):
            self.days[slot] = None
        self._set_entry(slot, None)

    def _set_entry(self, slot: int, entry: dict[str, str] | None) -> None:
        number, at = divmod(slot, self.layout.chunk)
        chunk = self.chunks[number]
        chunk.extend([None] * (at + 1 - len(chunk)))
        chunk[at] = entry
        self.changed_chunks.add(number)

    def entry(self, slot: int) -> dict[str, str] | None:
        number, at = divmod(slot, self.layout.chunk)
        chunk = self.chunks.get(number, [])
        return chunk[at] if at < len(chunk) else None

    def shard_files(self) -> dict[int, bytes]:
        shards, capacity = self.layout.shards, self.layout.capacity
        grouped: dict[int, dict[str, Any]] = {k: {} for k in range(shards)}
        for token in sorted(self.postings):
            slots, titles = self.postings[token]
            encoded = encode_slots(slots, capacity)
            grouped[shard_of(token, shards)][token] = [encoded, encode_slots(titles, capacity)] if titles else encoded
        return {k: _json(value) for k, value in grouped.items()}

    def meta(self) -> bytes:
        return _json({"n": len(self.days), "d": encode_days(self.days)})


class SearchIndex:
    """The search index in ``root``: written in full once, then kept up to date one document at a time.

    One writer at a time (a lock file serialises the writers of one machine); any number of readers.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.last = WriteStats(0, 0, 0)
        self._files = 0
        self._bytes = 0
        self._deleted = 0
        self._folders: set[Path] = set()

    # -- the public operations

    def write_full(
        self,
        docs: Iterable[SearchDoc],
        *,
        capacity: int = BUCKET_CAPACITY,
        shards: int = SHARDS,
        chunk: int = CHUNK,
    ) -> None:
        """A fresh index of ``docs`` (in their order) into an empty or missing ``root``."""
        layout = Layout(capacity, shards, chunk)
        listed = list(docs)
        _check(listed)
        if self.root.exists() and any(self.root.iterdir()):
            raise InvalidInput("search.not_empty", path=str(self.root))
        self.root.mkdir(parents=True, exist_ok=True)
        with self._writing():
            buckets = 0
            for start in range(0, len(listed), capacity):
                bucket = _Bucket(buckets, layout)
                for slot, doc in enumerate(listed[start : start + capacity]):
                    self._put_location(doc.id, bucket.number, slot)
                    bucket.put(slot, doc, fresh=True)
                self._write_bucket(bucket)
                buckets += 1
            manifest = {"format": FORMAT, "version": 1, "buckets": buckets, "capacity": capacity}
            self._put(self.root / MANIFEST, _json({**manifest, "shards": shards, "chunk": chunk}))

    def upsert(self, docs: Sequence[SearchDoc]) -> None:
        """Add or replace ``docs`` (by id): reads and rewrites only the buckets that hold them."""
        _check(docs)
        self._manifest()  # no index: refused before anything is touched
        with self._writing():
            manifest = self._manifest()
            layout = Layout.of(manifest)
            buckets = manifest["buckets"]
            loaded: dict[int, _Bucket] = {}
            new_buckets: set[int] = set()
            for doc in docs:
                found = self._locate(doc.id, loaded, manifest)
                if found is None:
                    number = buckets - 1
                    if number < 0 or len(self._load(number, loaded, layout).days) >= layout.capacity:
                        number = buckets
                    bucket = self._load(number, loaded, layout)
                    if number >= manifest["buckets"] and number not in new_buckets:
                        bucket.days = []  # not in the manifest: what a crash left there is nobody's
                        new_buckets.add(number)
                    slot = len(bucket.days)
                    bucket.days.append(None)  # taken: the next new document of this call gets the next slot
                    self._put_location(doc.id, number, slot)
                    buckets = max(buckets, number + 1)
                else:
                    bucket, slot = found
                bucket.put(slot, doc)
            for number in sorted(loaded):
                self._write_bucket(loaded[number])
            self._put(self.root / MANIFEST, _json({**manifest, "version": manifest["version"] + 1, "buckets": buckets}))

    def remove(self, ids: Sequence[str]) -> None:
        """Make the documents ``ids`` unfindable (an unknown id is no error: it is already gone)."""
        self._manifest()
        with self._writing():
            manifest = self._manifest()
            loaded: dict[int, _Bucket] = {}
            gone: list[str] = []
            for doc_id in dict.fromkeys(ids):
                found = self._locate(doc_id, loaded, manifest)
                if found is not None:
                    bucket, slot = found
                    bucket.drop(slot)
                gone.append(doc_id)
            for number in sorted(loaded):
                self._write_bucket(loaded[number])
            self._put(self.root / MANIFEST, _json({**manifest, "version": manifest["version"] + 1}))
            for doc_id in gone:  # last: until the slot is cleared, its location must stay known
                self._delete(self._location_path(doc_id))

    # -- files

    def _put(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` through a temporary file and a rename: never half a file."""
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        self._files += 1
        self._bytes += len(data)

    def _delete(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            self._deleted += 1

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        self._files = self._bytes = self._deleted = 0
        self._folders = set()
        with (self.root / _LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                self.last = WriteStats(self._files, self._bytes, self._deleted)

    def _manifest(self) -> dict[str, Any]:
        manifest = _read_json(self.root / MANIFEST)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InvalidInput("search.no_index", path=str(self.root))
        return manifest

    def _bucket_dir(self, number: int) -> Path:
        return self.root / "b" / str(number)

    def _load(self, number: int, loaded: dict[int, _Bucket], layout: Layout) -> _Bucket:
        if number in loaded:
            return loaded[number]
        folder = self._bucket_dir(number)
        meta = _read_json(folder / "m.json") or {"d": ""}
        bucket = _Bucket(number, layout, days=decode_days(meta["d"]))
        for k in range(layout.shards):
            path = folder / f"s{k}.json"
            try:
                bucket.shard_text[k] = path.read_bytes()
            except FileNotFoundError:
                continue
            for token, value in json.loads(bucket.shard_text[k]).items():
                slots, titles = (value, "") if isinstance(value, str) else value
                bucket.postings[token] = (decode_slots(slots), decode_slots(titles))
        for c in bucket.chunks:
            bucket.chunks[c] = list(_read_json(folder / f"d{c}.json") or [])
        loaded[number] = bucket
        return bucket

    def _write_bucket(self, bucket: _Bucket) -> None:
        """Documents first, then postings, then the slot count and dates (what makes new slots visible)."""
        folder = self._bucket_dir(bucket.number)
        for c in sorted(bucket.changed_chunks):
            self._put(folder / f"d{c}.json", _json(bucket.chunks[c]))
        for k, data in bucket.shard_files().items():
            if bucket.shard_text.get(k) != data:
                self._put(folder / f"s{k}.json", data)
        self._put(folder / "m.json", bucket.meta())

    def _location_path(self, doc_id: str) -> Path:
        digest = hashlib.sha256(doc_id.encode("utf-8")).hexdigest()
        return self.root / "ids" / digest[:2] / f"{digest}.json"

    def _put_location(self, doc_id: str, bucket: int, slot: int) -> None:
        self._put(self._location_path(doc_id), _json({"id": doc_id, "b": bucket, "s": slot}))

    def _locate(self, doc_id: str, loaded: dict[int, _Bucket], manifest: dict[str, Any]) -> tuple[_Bucket, int] | None:
        """The bucket and slot of ``doc_id``, when its location file names a visible slot that holds it."""
        where = _read_json(self._location_path(doc_id))
        if not where or where.get("id") != doc_id or where["b"] >= manifest["buckets"]:
            return None  # never indexed, or a crash left it in a bucket the manifest does not list yet
        bucket = self._load(where["b"], loaded, Layout.of(manifest))
        slot = where["s"]
        entry = bucket.entry(slot)
        if entry is None or entry["id"] != doc_id or slot >= len(bucket.days):
            return None  # a crash left the location written but not the slot, or another took the slot since
        return bucket, slot


def _check(docs: Sequence[SearchDoc]) -> None:
    """Refuse the whole call, before anything is written, when one document is malformed."""
    seen: set[str] = set()
    for position, doc in enumerate(docs, start=1):
        if not doc.id:
            raise InvalidInput("search.bad_id", position=position)
        if doc.id in seen:
            raise InvalidInput("search.duplicate_id", id=doc.id)
        seen.add(doc.id)
        try:
            valid_date = bool(_DATE.fullmatch(doc.date)) and 0 <= _day(doc.date) < 1 << 18  # 1970 to 2687
        except ValueError:
            valid_date = False
        if not valid_date:
            raise InvalidInput("search.bad_date", id=doc.id, value=doc.date)
        if not doc.url or doc.url.startswith(("/", "\\")) or _SCHEME.match(doc.url):
            raise InvalidInput("search.bad_url", id=doc.id, value=doc.url)


# --- reading: what search.js does, in Python ----------------------------------------------------


def search(root: Path, text: str, limit: int = 20) -> SearchResult:
    """Documents of the index in ``root`` holding every token of ``text``: title hits, then newest, first."""
    tokens = query_tokens(text)
    manifest = _read_json(root / MANIFEST)
    if not tokens or not isinstance(manifest, dict):
        return SearchResult(0, [])
    layout = Layout.of(manifest)
    shards, capacity = layout.shards, layout.capacity
    needed = {shard_of(token, shards) for token in tokens}
    matches: list[tuple[int, int, int, int]] = []  # (title hits, day, bucket, slot)
    for number in range(manifest["buckets"]):
        folder = root / "b" / str(number)
        meta = _read_json(folder / "m.json")
        if meta is None:
            continue
        postings: dict[str, Any] = {}
        for k in needed:
            postings.update(_read_json(folder / f"s{k}.json") or {})
        found: set[int] | None = None
        titles: list[set[int]] = []
        for token in tokens:
            value = postings.get(token)
            if value is None:
                found = set()
                break
            slots, in_title = (value, "") if isinstance(value, str) else value
            found = decode_slots(slots) if found is None else found & decode_slots(slots)
            titles.append(decode_slots(in_title))
        days = decode_days(meta["d"])
        for slot in found or ():
            day = days[slot] if slot < min(meta["n"], capacity, len(days)) else None
            if day is not None:  # beyond the count: not committed yet; None: removed
                matches.append((sum(slot in t for t in titles), day, number, slot))
    matches.sort(reverse=True)
    hits: list[SearchHit] = []
    chunks: dict[tuple[int, int], list[Any]] = {}
    for title_hits, _, number, slot in matches[:limit]:
        key = (number, slot // layout.chunk)
        if key not in chunks:
            chunks[key] = _read_json(root / "b" / str(number) / f"d{key[1]}.json") or []
        chunk = chunks[key]
        entry = chunk[slot % layout.chunk] if slot % layout.chunk < len(chunk) else None
        if entry is not None:
            fields = {name: entry[name] for name in ("id", "url", "title", "date", "category", "snippet")}
            hits.append(SearchHit(**fields, title_hits=title_hits))
    return SearchResult(len(matches), hits)


def query(root: Path, text: str, limit: int = 20) -> list[SearchHit]:
    """The first ``limit`` hits of :func:`search`."""
    return search(root, text, limit).hits
