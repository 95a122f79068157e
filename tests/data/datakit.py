"""Small builders of hand-made files for the reader tests (the real files come from ../shared)."""

from __future__ import annotations

import struct
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


def truncate(src: Path, dst: Path, keep: int) -> Path:
    dst.write_bytes(src.read_bytes()[:keep])
    return dst
