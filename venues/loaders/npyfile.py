"""Chunked reading and writing of ``.npy`` arrays (also inside ``.npz`` archives).

Used by the streaming parse (:mod:`venues.loaders.stream`) so that no step holds a whole file
of rows in memory: :func:`iter_rows` reads an ``.npz`` member (stored or deflated) or a plain
``.npy`` file a chunk of rows at a time, and :class:`NpyWriter` appends rows to an ``.npy`` file
whose header (written last, fixed :data:`HEADER_BYTES` long) records the final row count, so
the rows are written once and never copied. :func:`open_npy` maps such a file read-only and
checks its header and size first.

Format: NumPy's ``.npy`` version 1.0 (``numpy.lib.format``): 6-byte magic ``\\x93NUMPY``, 2
version bytes, a little-endian uint16 header length, then the header (a Python dict literal with
``descr``, ``fortran_order`` and ``shape``, padded with spaces and ending in ``\\n``) and the
C-order rows.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from venues.loaders._common import DataError

HEADER_BYTES = 256
"""Length of the header :class:`NpyWriter` writes (magic, version, length and dict; a multiple
of 64 so the rows are aligned for the compiled replay)."""

MAGIC = b"\x93NUMPY"


def _npy_header(f) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of an ``.npy`` stream positioned at its start (format
    versions 1.0 and 2.0; anything else raises ``ValueError``)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f"unsupported .npy version {version}")


def _read_header(f, name: str) -> tuple[np.dtype, int, int]:
    """``(dtype, rows, header length)`` of an ``.npy`` stream positioned at its start."""
    try:
        shape, fortran, dtype = _npy_header(f)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{name}: row 0: not a readable .npy array ({exc})") from None
    if fortran or len(shape) != 1:
        raise DataError(f"{name}: row 0: expected a 1-D C-order array of rows, got shape {shape}"
                        f"{' (Fortran order)' if fortran else ''}")
    if dtype.hasobject:
        raise DataError(f"{name}: row 0: object arrays are not market data (dtype {dtype})")
    return dtype, int(shape[0]), int(f.tell())


def iter_rows(path: str, chunk_rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first row index, rows)`` chunks of the array in an ``.npz`` (key ``data``, else
    its first member) or ``.npy`` file.

    Parameters
    ----------
    path : str
    chunk_rows : int
        Rows per chunk (the last may be shorter). Memory use is about ``chunk_rows × itemsize``.

    Yields
    ------
    start : int
        0-based index of the chunk's first row in the file.
    rows : ndarray, shape (<= chunk_rows,)
        A fresh (writable) structured array.

    Raises
    ------
    DataError
        Not a readable ``.npz``/``.npy``; an empty archive; a member shorter than its header
        says (truncated); a member whose bytes fail its CRC-32. Names the file (and member).
    """
    for start, rows, verify in read_chunks(path, chunk_rows):
        if verify is not None:
            verify()
        yield start, rows


def read_chunks(path: str, chunk_rows: int, alloc: Callable[[int], bytearray] = bytearray,
                defer: Callable[..., Future] | None = None) -> Iterator[tuple[int, np.ndarray, Callable | None]]:
    """:func:`iter_rows` with reusable buffers and the CRC-32 of ``.npz`` members computed elsewhere.

    Parameters
    ----------
    path, chunk_rows
        As :func:`iter_rows`.
    alloc : callable, default bytearray
        ``alloc(nbytes)``: a writable buffer of at least ``nbytes`` bytes for a chunk (a pool may
        hand back one it recycled; the rows are a view of it).
    defer : callable or None
        ``defer(fn, *args)`` runs ``fn(*args)`` later and returns a :class:`concurrent.futures.Future`
        (``ThreadPoolExecutor(1).submit``: jobs run one at a time, in order). The CRC-32 of a stored
        member's bytes is then computed by such jobs, each chunk's buffer being read by its job:
        the caller must not reuse a buffer before that job has run (submitting its release to the
        same executor does it). ``None``: computed here.

    Yields
    ------
    start : int
    rows : ndarray
    verify : callable or None
        Set on the last chunk of a member whose CRC-32 is checked by ``defer`` jobs: call it before
        using that chunk's rows for anything that can fail or be kept. It waits for the check and
        raises :class:`DataError` as :func:`iter_rows` would have when reading the chunk.

    Stored (uncompressed) members, the usual ``np.savez`` output, are read with plain reads from
    the file at the member's offset (one copy into the buffer) when their local header and size
    are as the central directory says; any other member (compressed, encrypted, damaged,
    truncated, with bytes after the rows) goes through :mod:`zipfile`, which reports its errors.
    """
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        raise DataError(f"{path}: row 0: not a readable .npz file ({exc})") from None
    if is_zip:
        try:
            zf = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path}: row 0: not a readable .npz file ({exc})") from None
        with zf:
            names = zf.namelist()
            if not names:
                raise DataError(f"{path}: row 0: empty .npz archive")
            member = "data.npy" if "data.npy" in names else names[0]
            info = zf.getinfo(member)
            fast = _stored(path, info, chunk_rows)
            if fast is not None:
                raw, start, head, dtype, n = fast
                with raw:
                    yield from _direct(raw, f"{path}[{member}]", path, member, info.CRC, start, head, dtype, n,
                                       chunk_rows, alloc, defer)
                return
            try:
                with zf.open(member) as f:
                    yield from _chunks(f, f"{path}[{member}]", chunk_rows, alloc)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(f"{path}: member {member}: not a readable .npz file ({exc})") from None
    else:
        try:
            f = open(path, "rb")
        except OSError as exc:
            raise DataError(f"{path}: row 0: not a readable .npz file ({exc})") from None
        with f:
            yield from _chunks(f, path, chunk_rows, alloc)


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader (30 bytes)
_ZIP_READAHEAD = 4096  # zipfile.ZipExtFile.MIN_READ_SIZE: its smallest read of a member


class _Span:
    """A read-only file object over ``[start, end)`` of a file (a member's bytes)."""

    def __init__(self, f, start: int, end: int) -> None:
        self.f, self.pos, self.end = f, start, end
        self.start = start

    def read(self, n: int = -1) -> bytes:
        n = self.end - self.pos if n < 0 else min(n, self.end - self.pos)
        self.f.seek(self.pos)
        b = self.f.read(n)
        self.pos += len(b)
        return b

    def tell(self) -> int:
        return self.pos - self.start


def _stored(path: str, info: zipfile.ZipInfo, chunk_rows: int):
    """``(raw file, member offset, .npy header length, dtype, rows)`` of a member that
    :func:`read_chunks` reads directly, else ``None``. Read directly: stored, not encrypted, a
    local header as :mod:`zipfile` requires it, every byte in the file, a readable ``.npy``
    header and exactly the rows it announces after it. The reads then end on the member's last
    byte with the last chunk, as :mod:`zipfile`'s (which checks the CRC-32 there) do: the member
    is larger than zipfile's first read-ahead and a chunk larger than that read-ahead."""
    if (info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x61  # encrypted, patched, strong
            or info.compress_size != info.file_size or info.file_size <= _ZIP_READAHEAD):
        return None
    try:
        raw = open(path, "rb", buffering=0)
    except OSError:
        return None
    try:
        size = os.fstat(raw.fileno()).st_size
        raw.seek(info.header_offset)
        h = raw.read(_LOCAL_HEADER.size)
        if len(h) != _LOCAL_HEADER.size:
            raise ValueError
        fh = _LOCAL_HEADER.unpack(h)
        fname = raw.read(fh[10])
        decoded = fname.decode("utf-8" if fh[3] & 0x800 else "cp437")
        if fh[0] != b"PK\x03\x04" or decoded != info.orig_filename:
            raise ValueError
        start = info.header_offset + _LOCAL_HEADER.size + fh[10] + fh[11]
        end = start + info.file_size
        if end > size:
            raise ValueError
        span = _Span(raw, start, end)
        shape, fortran, dtype = _npy_header(span)
        if fortran or len(shape) != 1 or dtype.hasobject or dtype.itemsize == 0:
            raise ValueError
        n, head = int(shape[0]), span.tell()
        if n == 0 or head + n * dtype.itemsize != info.file_size \
                or min(chunk_rows, n) * dtype.itemsize <= 2 * _ZIP_READAHEAD:
            raise ValueError
        return raw, start, head, dtype, n
    except Exception:  # anything unusual: zipfile reads it (and reports what is wrong)
        raw.close()
        return None


def _direct(raw, name: str, path: str, member: str, want_crc: int, start: int, head: int, dtype: np.dtype,
            n: int, chunk_rows: int, alloc, defer) -> Iterator[tuple[int, np.ndarray, Callable | None]]:
    """The chunks of a member :func:`_stored` accepted, read at its offset; the CRC-32 of the
    member's bytes (the ``.npy`` header included) checked with the last chunk, as zipfile does."""
    raw.seek(start)
    crc = [zlib.crc32(raw.read(head))]

    def update(view: memoryview) -> None:  # one at a time, in order
        crc[0] = zlib.crc32(view, crc[0])

    def check() -> None:
        if crc[0] != want_crc:
            raise DataError(f"{path}: member {member}: not a readable .npz file (Bad CRC-32 for file {member!r})")

    for pos, arr, view in _read(raw, name, dtype, n, chunk_rows, alloc):
        last = pos + arr.size == n
        verify = None
        if defer is None:
            update(view)
            if last:
                check()
        else:
            defer(update, view)
            if last:
                verify = defer(check).result
        del view
        yield pos, arr, verify


def _read(f, name: str, dtype: np.dtype, n: int, chunk_rows: int,
          alloc) -> Iterator[tuple[int, np.ndarray, memoryview]]:
    """``(start, rows, their bytes)`` chunks of ``n`` rows read from ``f`` (at the first row)."""
    size = dtype.itemsize
    start = 0
    while start < n:
        m = min(chunk_rows, n - start)
        buf = alloc(m * size)
        view = memoryview(buf)[: m * size]
        got = 0
        while got < len(view):
            k = f.readinto(view[got:])
            if not k:
                raise DataError(f"{name}: row {start + got // size + 1}: file ends after "
                                f"{start + got // size} of the {n} rows its header announces (truncated)")
            got += k
        yield start, np.frombuffer(buf, dtype=dtype, count=m), view
        start += m


def _chunks(f, name: str, chunk_rows: int, alloc) -> Iterator[tuple[int, np.ndarray, None]]:
    dtype, n, _ = _read_header(f, name)
    for start, arr, _view in _read(f, name, dtype, n, chunk_rows, alloc):
        yield start, arr, None


def _header(dtype: np.dtype, rows: int) -> bytes:
    d = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (rows,)}
    body = repr(d).encode("latin1")
    pad = HEADER_BYTES - len(MAGIC) - 4 - len(body) - 1
    if pad < 0:
        raise ValueError(f"dtype {dtype} does not fit a {HEADER_BYTES}-byte .npy header")
    return MAGIC + b"\x01\x00" + struct.pack("<H", HEADER_BYTES - 10) + body + b" " * pad + b"\n"


SYNC_BYTES = 32 << 20
""":class:`NpyWriter` starts flushing the rows written to disk (``fdatasync`` on a helper thread)
each time this many bytes are written after the last flush started, so that :meth:`NpyWriter.close`
(which syncs the file before it counts as written) waits for the last few only."""


class NpyWriter:
    """Append rows of one dtype to an ``.npy`` file; :meth:`close` writes the header.

    The rows are written once, in order, after a reserved header of :data:`HEADER_BYTES`; the
    sha256 of the row bytes is computed on the way (:attr:`data_sha256`). Rows are flushed to disk
    in the background as they come (:data:`SYNC_BYTES`); :meth:`close` syncs the rest.

    Parameters
    ----------
    path : str or path-like
        The file (created or truncated).
    dtype : numpy.dtype
    hash_on : callable or None
        ``hash_on(fn, *args)`` runs ``fn(*args)`` later, in order, and returns a
        :class:`concurrent.futures.Future` (``ThreadPoolExecutor(1).submit``): the sha256 of the
        rows is then computed by such jobs while :meth:`append` writes, and the rows given to
        :meth:`append` must stay unchanged until a job submitted to ``hash_on`` after it has run.
        ``None``: hashed in :meth:`append`.
    """

    def __init__(self, path: str | os.PathLike, dtype: np.dtype,
                 hash_on: Callable[..., Future[None]] | None = None) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self._hash_on = hash_on
        self._hashed: Future[None] | None = None  # the last hash job
        self._h = hashlib.sha256()
        self._f = open(self.path, "wb")
        self._f.write(b"\0" * HEADER_BYTES)
        self._unsynced = 0
        self._syncer: ThreadPoolExecutor | None = None
        self._sync: Future[None] | None = None

    def append(self, rows: np.ndarray) -> None:
        """Write ``rows`` (dtype :attr:`dtype`) after the rows written so far."""
        if rows.dtype != self.dtype:
            raise TypeError(f"rows of dtype {rows.dtype}, writer holds {self.dtype}")
        b = memoryview(np.ascontiguousarray(rows)).cast("B")
        if self._hash_on is None:
            self._h.update(b)
        else:
            self._hashed = self._hash_on(self._h.update, b)
        self._f.write(b)
        self.rows += rows.size
        self._unsynced += len(b)
        if self._unsynced >= SYNC_BYTES and (self._sync is None or self._sync.done()):
            if self._sync is not None:
                self._sync.result()  # a failed flush fails the write
            if self._syncer is None:
                self._syncer = ThreadPoolExecutor(1, thread_name_prefix="mmsim-sync")
            self._unsynced = 0
            self._sync = self._syncer.submit(os.fdatasync, self._f.fileno())

    def _stop_syncing(self) -> None:
        """Wait for the background flush (its error, if any, is raised) and end its thread."""
        try:
            if self._sync is not None:
                self._sync.result()
        finally:
            self._sync = None
            if self._syncer is not None:
                self._syncer.shutdown(wait=True)
                self._syncer = None

    @property
    def data_sha256(self) -> str:
        """Hex sha256 of the row bytes written so far (the header excluded)."""
        if self._hashed is not None:
            self._hashed.result()  # in order: every row written is hashed
        return self._h.hexdigest()

    def close(self) -> dict:
        """Write the header, flush and close; returns the digest :func:`open_npy` checks:
        ``{"rows", "size", "data_sha256"}``."""
        self._stop_syncing()
        self._f.seek(0)
        self._f.write(_header(self.dtype, self.rows))
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        return {"rows": self.rows, "size": HEADER_BYTES + self.rows * self.dtype.itemsize,
                "data_sha256": self.data_sha256}

    def abort(self) -> None:
        """Close and delete the file."""
        try:
            self._stop_syncing()
        except OSError:
            pass  # the file goes anyway
        self._f.close()
        self.path.unlink(missing_ok=True)


def data_sha256(path: str | os.PathLike, offset: int) -> str:
    """Hex sha256 of a file's bytes from ``offset`` on (read in 4 MiB blocks, not mapped)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


_VERIFIED: set[tuple] = set()
"""Files whose rows :func:`open_npy` hashed in this process, by ``(path, inode, size,
modification time, sha256)``: a multi-GB cache file is hashed once per process, not per open."""


def _tag(path: Path, data_sha256) -> tuple:
    s = os.stat(path)
    return str(path.resolve()), s.st_ino, s.st_size, s.st_mtime_ns, data_sha256


def remember_verified(path: str | os.PathLike, inode: int, digest: dict) -> None:
    """Record in :data:`_VERIFIED` the file :class:`NpyWriter` just wrote (``digest``, from
    :meth:`NpyWriter.close`, hashed from the bytes written) so that :func:`open_npy` in this
    process does not hash it again; nothing if ``path`` is no longer that file (``inode``) or
    not of the size written."""
    path = Path(path)
    try:
        s = os.stat(path)
        if s.st_ino != inode or s.st_size != digest["size"]:
            return
        _VERIFIED.add(_tag(path, digest["data_sha256"]))
    except (OSError, KeyError):
        return


def open_npy(path: str | os.PathLike, dtype: np.dtype, want: dict | None = None) -> np.ndarray:
    """Map an ``.npy`` file of ``dtype`` rows read-only, after checking it.

    Parameters
    ----------
    path : str or path-like
    dtype : numpy.dtype
        The dtype the file must hold.
    want : dict or None
        The digest :meth:`NpyWriter.close` returned; when given the row count, the file size and
        the sha256 of the row bytes must match it (hashed once per process and file version).

    Returns
    -------
    ndarray, shape (rows,)
        A read-only view of the memory map (a plain ndarray, so compiled code takes it; its
        ``base`` chain holds the :class:`numpy.memmap`).

    Raises
    ------
    DataError
        Unreadable header, another dtype, a file shorter or longer than the header says
        (truncated), or bytes that differ from the digest; the message names the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            got, n, off = _read_header(f, str(path))
    except OSError as exc:
        raise DataError(f"{path}: cache file unreadable ({exc})") from None
    if got != dtype:
        raise DataError(f"{path}: row 0: dtype {got} is not the expected {dtype}")
    if size != off + n * dtype.itemsize:
        raise DataError(f"{path}: {size} bytes, but its header announces {n} rows of "
                        f"{dtype.itemsize} bytes after a {off}-byte header ({off + n * dtype.itemsize} "
                        "bytes): truncated or corrupt cache file")
    tag = _tag(path, want.get("data_sha256")) if want is not None else None
    if want is not None and tag not in _VERIFIED:
        if want.get("rows") != n or want.get("size") != size:
            raise DataError(f"{path}: {n} rows / {size} bytes, the cache recorded {want.get('rows')} rows / "
                            f"{want.get('size')} bytes: corrupt cache file")
        if data_sha256(path, off) != want.get("data_sha256"):
            raise DataError(f"{path}: the rows' sha256 differs from the one recorded when the file was "
                            "written: corrupt cache file")
        _VERIFIED.add(tag)
    if n == 0:
        return np.empty(0, dtype=dtype)
    mm = np.memmap(path, dtype=dtype, mode="r", offset=off, shape=(n,))
    return np.asarray(mm)

