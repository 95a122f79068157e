"""What reading a zip archive someone else made can raise, in one tuple.

Picture collections arrive as .zip files and sketch-rnn data as .npz (a zip of .npy members). Python's
zipfile reports a damaged archive in many ways besides BadZipFile: its decompressors' errors, an unknown
compression method or format version, an encrypted member, an empty member name. The readers turn all of
them into one `DataFormatError` naming the archive and member.
"""

from __future__ import annotations

import lzma
import struct
import zipfile
import zlib

ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,  # also bz2's "Invalid data stream"
    EOFError,
    zlib.error,
    lzma.LZMAError,
    ValueError,  # also undecodable UTF-8 member names
    NotImplementedError,  # compression method or zip version
    RuntimeError,  # an encrypted member
    IndexError,  # an empty member name
    OverflowError,
    struct.error,
)
