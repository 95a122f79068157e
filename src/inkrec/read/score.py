"""How well lines were read: line accuracy (the whole text right) and character accuracy (1 - CER, the
edit distance over the true characters)."""

from __future__ import annotations

from dataclasses import dataclass


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions of characters."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


@dataclass
class LineScore:
    lines: int = 0
    right: int = 0
    errors: int = 0
    characters: int = 0

    def add(self, got: str, truth: str) -> None:
        self.lines += 1
        self.right += got == truth
        self.errors += edit_distance(got, truth)
        self.characters += len(truth)

    @property
    def line_accuracy(self) -> float:
        return self.right / max(self.lines, 1)

    @property
    def char_accuracy(self) -> float:
        return 1.0 - self.errors / max(self.characters, 1)

    def summary(self) -> str:
        return (f"{self.lines} lines with their truth: line accuracy {self.line_accuracy:.4f}, character "
                f"accuracy {self.char_accuracy:.4f} (1 - CER over {self.characters} characters)")
