"""One drawing as Quick, Draw! records it: a list of strokes plus the record's metadata.

Strokes keep exactly the ndjson layout, one float64 array per stroke of shape (2, n) ``[x; y]`` or
(3, n) ``[x; y; t]`` (t in milliseconds, raw format only), so that every stroke format in
`inkrec.data.formats` (ndjson, binary, sketch-rnn) round-trips without reshaping and the ink preprocessing
sees one layout. `parse_drawing` turns one Quick, Draw! record object (an ndjson line, or a mapping handed
to a writer) into a `Drawing`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def as_strokes(strokes: Iterable[Any]) -> list[np.ndarray]:
    """Turn strokes given as array-likes (lists of lists, arrays) into float64 (2|3, n) arrays.

    Raises ValueError with the index of the offending stroke, so callers can wrap it into a
    `DataFormatError` that also names the file and record.
    """
    out: list[np.ndarray] = []
    if isinstance(strokes, (str, bytes)) or not isinstance(strokes, Iterable):
        # ValueError, not TypeError: callers report bad data as DataFormatError
        raise ValueError("strokes must be a list of strokes [[x...], [y...](, [t...])]")  # noqa: TRY004
    for i, stroke in enumerate(strokes):
        try:
            arr = np.asarray(stroke, dtype=np.float64)
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise ValueError(
                f"stroke {i} is not a rectangular list of numbers [[x...], [y...](, [t...])]: "
                "its rows differ in length or hold something other than numbers"
            ) from None
        if arr.ndim != 2 or arr.shape[0] not in (2, 3):
            raise ValueError(f"stroke {i} has shape {arr.shape}; expected (2, n) [x; y] or (3, n) [x; y; t]")
        if not np.isfinite(arr).all():
            raise ValueError(f"stroke {i} contains NaN or infinite coordinates")
        out.append(arr)
    return out


@dataclass
class Drawing:
    """A drawing and the metadata that Quick, Draw! stores with it.

    ``strokes`` is converted to float64 (2|3, n) arrays on construction (any array-like accepted);
    an invalid stroke raises ValueError.
    """

    strokes: list[np.ndarray] = field(default_factory=list)
    word: str = ""
    key_id: str = ""
    countrycode: str = ""
    recognized: bool = True
    timestamp: str | int | None = None

    def __post_init__(self) -> None:
        self.strokes = as_strokes(self.strokes)

    @property
    def n_points(self) -> int:
        """Total number of points over all strokes."""
        return int(sum(s.shape[1] for s in self.strokes))

    @property
    def has_time(self) -> bool:
        """True for raw drawings, whose strokes carry a t row."""
        return bool(self.strokes) and all(s.shape[0] == 3 for s in self.strokes)

    def to_json(self) -> dict[str, Any]:
        """The ndjson object of this drawing (integral coordinates written as ints, as Google does)."""
        return {
            "word": self.word,
            "countrycode": self.countrycode,
            "timestamp": self.timestamp,
            "recognized": bool(self.recognized),
            "key_id": self.key_id,
            "drawing": [[_json_numbers(row) for row in s] for s in self.strokes],
        }

    @classmethod
    def from_checked(cls, strokes: list[np.ndarray], **meta: Any) -> Drawing:
        """Build a Drawing from strokes a reader has already validated as finite float64 (2|3, n) arrays,
        without checking them again (the readers' hot path)."""
        d = cls.__new__(cls)
        fields = {"word": "", "key_id": "", "countrycode": "", "recognized": True, "timestamp": None}
        unknown = set(meta) - set(fields)
        if unknown:
            raise TypeError(f"unknown Drawing fields: {', '.join(sorted(unknown))}")
        fields.update(meta)
        d.__dict__.update(fields, strokes=strokes)
        return d

    def __eq__(self, other: object) -> bool:  # arrays need element-wise comparison
        if not isinstance(other, Drawing):
            return NotImplemented
        return (
            (self.word, self.key_id, self.countrycode, bool(self.recognized), self.timestamp)
            == (other.word, other.key_id, other.countrycode, bool(other.recognized), other.timestamp)
            and len(self.strokes) == len(other.strokes)
            and all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(self.strokes, other.strokes))
        )


def _json_numbers(row: Sequence[float] | np.ndarray) -> list[int | float]:
    arr = np.asarray(row, dtype=np.float64)
    if arr.size and np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
        return [int(v) for v in arr]
    return [float(v) for v in arr]


def parse_drawing(obj: Any) -> Drawing:
    """Build a `Drawing` from one decoded Quick, Draw! record object; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")  # noqa: TRY004 (bad data)
    if "drawing" not in obj:
        raise ValueError("missing the 'drawing' field")
    drawing = obj["drawing"]
    if not isinstance(drawing, list):
        raise ValueError("'drawing' must be a list of strokes")  # noqa: TRY004 (bad data)
    strokes = _strokes_from_json(drawing)
    recognized = obj.get("recognized", True)
    key_id = obj.get("key_id", "")
    return Drawing.from_checked(
        strokes,
        word=str(obj.get("word", "")),
        key_id=str(key_id) if key_id is not None else "",
        countrycode=str(obj.get("countrycode", "") or ""),
        recognized=bool(recognized),
        timestamp=obj.get("timestamp"),
    )


def _strokes_from_json(drawing: list) -> list[np.ndarray]:
    """ndjson strokes -> float64 (2|3, n) arrays: shapes checked in Python (cheap), all numbers converted
    in one `np.fromiter` call and split into views, which is several times faster than an array per
    stroke. Falls back to `as_strokes` for its precise message when anything is off."""
    shapes = []
    total = 0
    for stroke in drawing:
        if not isinstance(stroke, list) or len(stroke) not in (2, 3) or not isinstance(stroke[0], list):
            return as_strokes(drawing)  # raises with the stroke's index and what is wrong
        n = len(stroke[0])
        for row in stroke:
            if not isinstance(row, list) or len(row) != n:
                return as_strokes(drawing)
        shapes.append((len(stroke), n))
        total += len(stroke) * n
    try:
        flat = np.fromiter(
            itertools.chain.from_iterable(itertools.chain.from_iterable(drawing)),
            dtype=np.float64,
            count=total,
        )
    except (TypeError, ValueError, OverflowError):
        return as_strokes(drawing)
    if not np.isfinite(flat).all():
        return as_strokes(drawing)
    out = []
    pos = 0
    for rows, n in shapes:
        out.append(flat[pos : pos + rows * n].reshape(rows, n))
        pos += rows * n
    return out
