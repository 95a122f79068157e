"""The drawing page, as one tree of files for the server (`inkrec serve`) and the static site (`inkrec export --web`).

The page's own sources live in this folder (index.html, app.js, pad.js, runtime.js, style.css; vendor/ holds
onnxruntime-web, written by web/build.mjs). Its preprocessing twins, ink.js and picture.js, live beside the
Python they repeat, in `inkrec.preprocess`, so that a change to one is seen next to the other; the page loads
them from `preprocess/`. `page_files()` joins both into the tree a browser sees.
"""

from __future__ import annotations

from pathlib import Path

from inkrec.errors import ConfigError

PAGE_DIR = Path(__file__).resolve().parent
PREPROCESS_DIR = PAGE_DIR.parent / "preprocess"
TWINS = ("ink.js", "picture.js")
_SKIP_SUFFIXES = (".py", ".pyc")
# Swagger UI, vendored beside onnxruntime-web, is the server's /docs and not part of the page (nor of a
# static site, which has no API to document).
_NOT_THE_PAGE = ("vendor/swagger/",)


def page_files(page_dir: str | Path | None = None) -> dict[str, Path]:
    """URL path (relative to the page) -> file, for every file of the page.

    `page_dir` replaces this folder (a page under development); the preprocessing twins always come from
    `inkrec.preprocess` unless that folder carries its own `preprocess/`.
    """
    root = Path(page_dir) if page_dir is not None else PAGE_DIR
    files = {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in _SKIP_SUFFIXES
        and not p.relative_to(root).as_posix().startswith(_NOT_THE_PAGE)
    }
    for name in TWINS:
        files.setdefault(f"preprocess/{name}", PREPROCESS_DIR / name)
    return files


def check_built(files: dict[str, Path]) -> None:
    """ConfigError unless the page is there: its HTML and its script."""
    missing = [name for name in ("index.html", "app.js") if name not in files]
    if missing:
        raise ConfigError(
            f"the drawing page is not built (missing {', '.join(missing)}); run `npm ci && node build.mjs` in web/"
        )
