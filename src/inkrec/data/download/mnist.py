"""The MNIST family's catalogue: MNIST, Fashion-MNIST, Kuzushiji-MNIST (gzipped idx files on their
mirrors, with the md5s their publishers list) and EMNIST (NIST's one zip, from which the chosen splits'
idx files are extracted). Files land in `dest/` under their published names, the layout the idx reader
opens.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from inkrec.data.download.engine import (
    ChecksumError,
    FetchedFile,
    Fetcher,
    FetchError,
    Manifest,
    digests,
    extract_member,
    fetcher_scope,
    locked,
    now,
    verified_entry,
)
from inkrec.data.terms import dataset_terms
from inkrec.errors import ConfigError, DataFormatError


@dataclass(frozen=True)
class IdxSource:
    """An MNIST-family data set shipped as gzipped idx files (or, for EMNIST, a zip of them)."""

    name: str
    mirrors: tuple[str, ...]
    # file name on the server -> md5 its publisher lists (None where nobody publishes one)
    files: dict[str, str | None]
    license: str
    attribution: str


def _terms(name: str) -> dict[str, str]:
    """A catalogue entry's licence and attribution: those of `inkrec.data.terms`."""
    terms = dataset_terms(name, None)
    return {"license": terms["license"], "attribution": terms["attribution"]}


_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

IDX_SOURCES: dict[str, IdxSource] = {
    # yann.lecun.com publishes no sums; these md5s of the original files are the ones the widely used
    # torchvision MNIST loader verifies (identical on both mirrors).
    "mnist": IdxSource(
        name="mnist",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        files=dict(
            zip(
                _MNIST_FILES,
                (
                    "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                    "d53e105ee54ea40749a09fcbcd1e9432",
                    "9fb629c4189551a2d022fa330f9573f3",
                    "ec29112dd5afa0611ce80d1b7f02629c",
                ),
            )
        ),
        **_terms("mnist"),
    ),
    # md5s as published in the "Get the Data" table of github.com/zalandoresearch/fashion-mnist README.
    "fashion-mnist": IdxSource(
        name="fashion-mnist",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files=dict(
            zip(
                _MNIST_FILES,
                (
                    "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    "25c81989df183df01b3e8a0aad5dffbe",
                    "bef4ecab320f06d8554ea6380940ec79",
                    "bb300cfdad3c16e7a12a480ee83cd310",
                ),
            )
        ),
        **_terms("fashion-mnist"),
    ),
    # Kuzushiji-MNIST in MNIST format from ROIS-DS CODH (github.com/rois-codh/kmnist); md5s of the
    # published files as verified by torchvision's KMNIST loader.
    "kmnist": IdxSource(
        name="kmnist",
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        files=dict(
            zip(
                _MNIST_FILES,
                (
                    "bdb82020997e1d708af4cf47b453dcf7",
                    "e144d726b3acfaa3e44228e80efcd344",
                    "5c965bf0a639b31b8f53240b1b52f4d7",
                    "7320c461ea6c1c855c0b718fb2a4b134",
                ),
            )
        ),
        **_terms("kmnist"),
    ),
    # NIST ships EMNIST as one zip of gzipped idx files; md5 of gzip.zip as verified by torchvision's
    # EMNIST loader.
    "emnist": IdxSource(
        name="emnist",
        mirrors=(
            "https://biometrics.nist.gov/cs_links/EMNIST/",
            "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/",
        ),
        files={"gzip.zip": "58c8d27c78d21e728a6bc7b3cc06412e"},
        **_terms("emnist"),
    ),
}
EMNIST_SPLITS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")


def emnist_members(split: str) -> list[str]:
    """The idx members of NIST's gzip.zip that make up one EMNIST split."""
    return [
        f"gzip/emnist-{split}-{part}-{kind}-ubyte.gz"
        for part in ("train", "test")
        for kind in ("images-idx3", "labels-idx1")
    ]


def emnist_mapping_member(split: str) -> str:
    """The split's label -> character-code table, extracted too when the archive has it."""
    return f"gzip/emnist-{split}-mapping.txt"


# --------------------------------------------------------------------------------------------------
# MNIST family


def fetch_idx_dataset(
    name: str,
    dest: str | Path,
    *,
    base_url: str | None = None,
    verify: bool = True,
    fetcher: Fetcher | None = None,
    force: bool = False,
    splits: Iterable[str] | None = None,
    keep_archive: bool = True,
    on_file: Callable[[FetchedFile], None] | None = None,
) -> list[FetchedFile]:
    """Fetch MNIST, Fashion-MNIST, Kuzushiji-MNIST (idx .gz files) or EMNIST (one zip, then extracted).

    `base_url` replaces the official mirrors. `verify=False` skips the published md5s (a mirror that
    re-packed the files); the sha256 of what arrived is still recorded in the manifest.
    """
    if name not in IDX_SOURCES:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(IDX_SOURCES)}")
    src = IDX_SOURCES[name]
    mirrors = (base_url,) if base_url else src.mirrors
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(dest)
    out: list[FetchedFile] = []
    chosen = _emnist_splits(splits) if name == "emnist" else []
    if chosen and not force:  # extracted files already in place: the archive is not needed again
        have = [_extracted_entry(manifest, dest, Path(m).name) for s in chosen for m in emnist_members(s)]
        if all(have):
            for got in have:
                if on_file is not None:
                    on_file(got)
            if not keep_archive:
                (dest / "gzip.zip").unlink(missing_ok=True)
                manifest.remove("gzip.zip")
            return have
    with fetcher_scope(fetcher) as f:
        for fname, md5 in src.files.items():
            want_md5 = md5 if verify else None
            got = _fetch_from_mirrors(f, manifest, src, fname, want_md5, mirrors, dest, force, published=md5)
            out.append(got)
            if on_file is not None:
                on_file(got)
    if chosen:
        for extracted in _extract_emnist(dest / "gzip.zip", dest, chosen, manifest, src, force):
            out.append(extracted)
            if on_file is not None:
                on_file(extracted)
        if not keep_archive:
            (dest / "gzip.zip").unlink(missing_ok=True)
            manifest.remove("gzip.zip")
    return out


def _fetch_from_mirrors(
    f: Fetcher,
    manifest: Manifest,
    src: IdxSource,
    fname: str,
    md5: str | None,
    mirrors: tuple[str, ...],
    dest: Path,
    force: bool,
    published: str | None,
) -> FetchedFile:
    with locked(dest / fname, f.log):  # another process may be fetching this very file
        errors: list[str] = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + quote(fname)
            if not force:
                got = manifest.current(fname, url=url, md5=md5, dest=dest)
                if got is None:
                    got = _adopt_verified(dest / fname, url, md5, src)
                if got is not None:
                    return got
            try:
                dl = f.fetch(url, dest / fname, md5=md5)
            except ChecksumError:
                raise
            except FetchError as exc:
                errors.append(str(exc))
                continue
            if md5 is not None:
                checksum = "md5 verified (published)"
            else:
                checksum = "md5 not verified (--no-verify)" if published else "none published"
            got = FetchedFile(
                name=fname,
                url=url,
                bytes=dl.bytes,
                sha256=dl.sha256,
                md5=dl.md5,
                source=src.name,
                checksum=checksum,
                fetched_at=now(),
            )
            manifest.add(got, source=src.name, license=src.license, attribution=src.attribution)
            return got
    raise FetchError(f"{src.name}: could not fetch {fname}:\n  " + "\n  ".join(errors))


def _adopt_verified(path: Path, url: str, md5: str | None, src: IdxSource) -> FetchedFile | None:
    """A file already in place whose md5 matches the published one need not be fetched again."""
    if md5 is None or not path.is_file():
        return None
    d = digests(path)
    if d["md5"] != md5:
        return None
    return FetchedFile(
        name=path.name,
        url=url,
        bytes=path.stat().st_size,
        sha256=d["sha256"],
        md5=d["md5"],
        source=src.name,
        checksum="md5 verified (published)",
        fetched_at=now(),
        skipped=True,
    )


def _emnist_splits(splits: Iterable[str] | None) -> list[str]:
    chosen = list(splits) if splits else ["balanced"]
    if chosen == ["all"]:
        return list(EMNIST_SPLITS)
    bad = [s for s in chosen if s not in EMNIST_SPLITS]
    if bad:
        raise ConfigError(
            f"unknown EMNIST split(s) {', '.join(bad)}; choose from {', '.join(EMNIST_SPLITS)} or all"
        )
    return chosen


def _extracted_entry(manifest: Manifest, dest: Path, name: str) -> FetchedFile | None:
    """The manifest's entry of an extracted file that is still there with its recorded size and sha256."""
    entry = manifest.files.get(name)
    path = dest / name
    if not isinstance(entry, dict) or not entry.get("extracted_from") or not path.is_file():
        return None
    return verified_entry(path, entry)


def _extract_emnist(
    archive: Path, dest: Path, splits: list[str], manifest: Manifest, src: IdxSource, force: bool
) -> Iterator[FetchedFile]:
    """Extract the idx files of the chosen splits from NIST's gzip.zip, each atomically."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFormatError(archive, f"not a readable zip archive: {exc}") from None
    with zf:
        names = set(zf.namelist())
        for split in splits:
            mapping = emnist_mapping_member(split)
            for member in emnist_members(split) + ([mapping] if mapping in names else []):
                if member not in names:
                    raise DataFormatError(archive, f"has no member {member} (split {split!r})")
                target = dest / Path(member).name
                with locked(target):
                    got = None if force else _extracted_entry(manifest, dest, target.name)
                    if got is None:
                        got = extract_member(zf, member, archive, target, manifest, source=src.name,
                                             license=src.license, attribution=src.attribution)
                yield got
