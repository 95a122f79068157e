"""Chinese character vocabularies by name, derived from the codecs that define them.

A model for "every character" needs a fixed, reproducible class list; the national standards are that list,
and Python's codecs carry them exactly, so each vocabulary is computed rather than shipped:

- ``gb2312-1``: GB2312 level 1, the 3,755 most common simplified characters (rows 0xB0-0xD7), the
  vocabulary of CASIA HWDB/OLHWDB;
- ``gb2312``: all 6,763 GB2312 characters (levels 1 and 2);
- ``big5-common``: Big5's 5,401 frequently used traditional characters (0xA440-0xC67E);
- ``big5``: all 13,053 Big5 characters (with the less frequent 0xC940-0xF9D5);
- ``zh``: GB2312 and Big5 together, every simplified and traditional character of both: 15,433.

Characters are in code order (GB2312 first for ``zh``), so a class index means the same character everywhere.
"""

from __future__ import annotations

from functools import cache

from inkrec.errors import ConfigError

_BIG5_COMMON = (0xA440, 0xC67E)
_BIG5_RARE = (0xC940, 0xF9D5)
_BIG5_TRAIL = (*range(0x40, 0x7F), *range(0xA1, 0xFF))


def _char(raw: bytes, encoding: str) -> str | None:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return None
    return text if len(text) == 1 else None


def _gb2312(first_rows: range) -> list[str]:
    found = (_char(bytes([hi, lo]), "gb2312") for hi in first_rows for lo in range(0xA1, 0xFF))
    return [c for c in found if c]


def _big5(*ranges: tuple[int, int]) -> list[str]:
    out = []
    for start, end in ranges:
        for hi in range(start >> 8, (end >> 8) + 1):
            for lo in _BIG5_TRAIL:
                code = hi << 8 | lo
                if start <= code <= end and (c := _char(bytes([hi, lo]), "big5")):
                    out.append(c)
    return out


@cache
def _build(name: str) -> tuple[str, ...]:
    if name == "gb2312-1":
        return tuple(_gb2312(range(0xB0, 0xD8)))
    if name == "gb2312":
        return tuple(_gb2312(range(0xB0, 0xF8)))
    if name == "big5-common":
        return tuple(_big5(_BIG5_COMMON))
    if name == "big5":
        return tuple(_big5(_BIG5_COMMON, _BIG5_RARE))
    if name == "zh":
        return tuple(dict.fromkeys(_build("gb2312") + _build("big5")))
    raise ConfigError(f"unknown character set {name!r}; known: {', '.join(CHARSETS)}")


CHARSETS = ("gb2312-1", "gb2312", "big5-common", "big5", "zh")


def charset(name: str) -> list[str]:
    """The characters of the vocabulary `name` (one of `CHARSETS`), in code order."""
    return list(_build(name))
