"""Small builders of hand-made files for the reader tests (the real files come from ../shared)."""

from __future__ import annotations

import contextlib
import io
import pickle
import resource
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height grey pixels but whose pixel data is a few bytes: what a
    decompression bomb looks like to a decoder that trusts the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def draw_on_paper(
    strokes, *, pen: int = 5, canvas: int = 500, scale: float = 1.7, offset=(30, 40)
) -> np.ndarray:
    """Strokes in the 0-255 space drawn like a person would on white paper: dark round pen, big canvas."""
    img = Image.new("L", (canvas, canvas), 255)
    dr = ImageDraw.Draw(img)
    r = pen / 2
    for s in strokes:
        pts = [(offset[0] + x * scale, offset[1] + y * scale) for x, y in np.asarray(s)[:2].T]
        if len(pts) > 1:
            dr.line(pts, fill=0, width=pen, joint="curve")
        for x, y in pts:
            dr.ellipse([x - r, y - r, x + r, y + r], fill=0)
    return np.asarray(img)


def pack_binary_record(key_id: int, cc: bytes, recognized: int, timestamp: int, strokes) -> bytes:
    """One record in the layout binary_file_parser.py unpacks (written independently of our writer)."""
    out = struct.pack("<Q", key_id) + struct.pack("<2s", cc) + struct.pack("<b", recognized)
    out += struct.pack("<I", timestamp) + struct.pack("<H", len(strokes))
    for xs, ys in strokes:
        out += (
            struct.pack("<H", len(xs)) + struct.pack(f"<{len(xs)}B", *xs) + struct.pack(f"<{len(ys)}B", *ys)
        )
    return out


def pack_gnt_record(tag: bytes, bitmap: np.ndarray) -> bytes:
    """One CASIA .gnt record from its documented layout (255 background)."""
    h, w = bitmap.shape
    return struct.pack("<I", 10 + w * h) + tag + struct.pack("<HH", w, h) + bitmap.astype(np.uint8).tobytes()


@contextlib.contextmanager
def address_space_limit(extra: int = 1 << 30):
    """RLIMIT_AS at `extra` bytes above what the process maps now: an allocation a corrupt header asks for
    fails loudly (MemoryError) instead of quietly reserving memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as fh:
        size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def zip_with_empty_member_name(data: bytes) -> bytes:
    """A stored zip archive whose one member has an empty name (zipfile itself cannot write one)."""
    crc, size = zlib.crc32(data), len(data)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, size, size, 0, 0) + data
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, size, size, 0, 0, 0, 0, 0, 0, 0
    )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def truncate(src: Path, dst: Path, keep: int) -> Path:
    dst.write_bytes(src.read_bytes()[:keep])
    return dst


def object_array(drawings) -> np.ndarray:
    """An object array of stroke-3 int16 arrays, as sketch-rnn stores a split."""
    out = np.empty(len(drawings), dtype=object)
    for i, d in enumerate(drawings):
        out[i] = np.asarray(d, dtype=np.int16)
    return out


def write_official_sketchrnn(path: Path, splits: dict) -> Path:
    """An .npz in the layout of Google's sketch-rnn files, written by numpy (object arrays, pickled)."""
    np.savez_compressed(path, **{k: object_array(v) for k, v in splits.items()})
    return path


class _Python2Pickler(pickle._Pickler):
    """Pickles bytes the way Python 2 pickled its str (SHORT_BINSTRING / BINSTRING), as the sketch-rnn
    files made with Python 2 hold them."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_str_bytes(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_str_bytes


def npz_member(header_shape: tuple, pickled: bytes) -> bytes:
    """An object-array .npy member: the header numpy writes, then the pickle."""
    text = f"{{'descr': '|O', 'fortran_order': False, 'shape': {header_shape!r}, }}"
    body = text.encode("latin-1")
    pad = 64 - (10 + len(body) + 1) % 64
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body) + pad + 1) + body + b" " * pad + b"\n" + pickled


def write_python2_sketchrnn(path: Path, splits: dict) -> Path:
    """Like `write_official_sketchrnn`, but with the pickle Python 2's numpy wrote (protocol 2, str data,
    `numpy.core.multiarray._reconstruct`)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, drawings in splits.items():
            buf = io.BytesIO()
            _Python2Pickler(buf, protocol=2).dump(object_array(drawings))
            data = buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
            zf.writestr(f"{name}.npy", npz_member((len(drawings),), data))
    return path


def write_npz_pickle(path: Path, pickled: bytes, shape: tuple = (1,)) -> Path:
    """An .npz whose `train` member is an object array holding the given pickle."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("train.npy", npz_member(shape, pickled))
    return path
