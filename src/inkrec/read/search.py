"""The best reading of a line: a path through its pieces, each step one character made of a run of pieces.

A step's score is the model's log-probability of its best label, plus what the line's geometry says about
the step as a character (width and gap priors, in line heights): a run much wider than a character, or with
blank space inside, is unlikely to be one; a character whose left edge was cut through ink (a picture's
touching strokes) pays for every stroke cut, since a cut through a character's own strokes is the likelier
one. A fixed bonus per character keeps the search from gluing pieces
together merely because one confident guess costs less than two. Dynamic programming over the pieces finds
the best path exactly; the number of runs is bounded by `max_span`, so the work is linear in the line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from inkrec.read.segment import Pieces


@dataclass(frozen=True)
class Priors:
    """Character shape priors, in line heights. The defaults suit characters about as wide as high or
    narrower (digits, Chinese, Latin capitals)."""

    max_span: int = 5  # pieces one character may be made of
    max_width: float = 1.6  # no character is wider than this
    wide: float = 1.0  # beyond this width a character pays `wide_cost` per line height
    wide_cost: float = 1.0
    gap_cost: float = 3.0  # per line height of blank between the pieces of one character
    short: float = 0.45  # a character lower than this pays `short_cost` per line height it lacks
    short_cost: float = 4.0
    char_bonus: float = 0.05  # per character read (the model is never surer than ~0.92: log 0.92 = -0.08)
    join_cost: float = 0.0  # per stroke of ink a character's left edge cuts through (pictures' touching ink)

    def updated(self, fields: dict) -> Priors:
        """These priors with some fields replaced (a model's own, `metadata.line_priors`); max_span stays
        a whole number."""
        if not fields:
            return self
        return dataclasses.replace(self, **{k: int(v) if k == "max_span" else float(v) for k, v in fields.items()})

    def spans(self, pieces: Pieces) -> list[tuple[int, int]]:
        """Every run (i, j) of consecutive pieces that could be one character (single pieces always)."""
        out = []
        n = len(pieces)
        for i in range(n):
            for j in range(i, min(n, i + self.max_span)):
                box = pieces.span_box(i, j)
                if j > i and (box[2] - box[0]) > self.max_width * pieces.height:
                    break
                out.append((i, j))
        return out

    def shape_scores(self, pieces: Pieces, spans: list[tuple[int, int]]) -> np.ndarray:
        """The prior part of each span's score."""
        gaps = np.maximum(pieces.gaps(), 0.0)
        out = np.empty(len(spans))
        for k, (i, j) in enumerate(spans):
            box = pieces.span_box(i, j)
            width = (box[2] - box[0]) / pieces.height
            height = (box[3] - box[1]) / pieces.height
            inside = float(gaps[i:j].sum()) if j > i else 0.0
            out[k] = (
                self.char_bonus
                - self.wide_cost * max(0.0, width - self.wide)
                - self.short_cost * max(0.0, self.short - height)
                - self.gap_cost * inside
                - self.join_cost * pieces.join(i)
            )
        return out


def prior_fields(text: str) -> dict[str, float]:
    """'wide=0.8,wide_cost=2' -> {"wide": 0.8, "wide_cost": 2.0}: priors as written on a command line ('' -> {})."""
    return {k.strip(): float(v) for k, _, v in (p.partition("=") for p in text.split(",") if p.strip())}


# Pictures are cut much finer than ink (wherever strokes might part, see segment._cuts), so a picture's path
# is offered many more ways to split a character: each character read earns more, and each cut through ink
# costs (a character's left edge drawn through a stroke is as likely a split character as two that touch).
PICTURE_PRIORS = Priors(char_bonus=0.2, join_cost=0.2)


def best_path(n: int, spans: list[tuple[int, int]], scores: np.ndarray) -> list[int]:
    """Indices into `spans` of the best-scoring path covering pieces 0..n-1 (dynamic programming)."""
    best = np.full(n + 1, -np.inf)
    best[0] = 0.0
    back = np.full(n + 1, -1, dtype=np.int64)
    ending: list[list[int]] = [[] for _ in range(n)]
    for k, (_, j) in enumerate(spans):
        ending[j].append(k)
    for j in range(n):
        for k in ending[j]:
            i = spans[k][0]
            s = best[i] + scores[k]
            if s > best[j + 1]:
                best[j + 1] = s
                back[j + 1] = k
    path = []
    at = n
    while at > 0:
        k = int(back[at])
        path.append(k)
        at = spans[k][0]
    return path[::-1]
