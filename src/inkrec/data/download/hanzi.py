"""The Chinese handwriting catalogues: CASIA's isolated-character archives and the Traditional Chinese
Handwriting data set's.

CASIA (nlpr.ia.ac.cn, "character sample data" of its Download page): each data set is train and test zip
archives of one file per writer, offline `.gnt` under ``Offline/CharData/`` and online `.pot` under
``Online/CharData/``. After download their `.gnt`/`.pot` members are extracted into the destination folder
(flat, atomically, each recorded in the manifest), where train and test writers together give the readers'
writer-disjoint split: the first 80% of writers train, which is CASIA's own cut (HWDB1.1/OLHWDB1.1: writers
1001-1240 train, 1241-1300 test). md5s are checked where one is known (the HWDB1.1 archives, as DeepMind's
dm_nevis loader verifies them); elsewhere our sha256 is recorded. (The older ``feature_data/`` archives,
``HWDB1.1trn_gnt.zip`` and kin, pack the same characters differently, one of them as an ALZip archive inside
the zip, so they are not used.)

Traditional Chinese Handwriting (AI . FREE Team): the whole set is one Big5-named zip cut into byte slices
``all_data.zip.001`` ... in the GitHub repository chenkenanalytic/handwritting_data_all; the slices are
fetched in order until the server has no next one, and are read as they lie (`inkrec.data.formats.tchd`).
The common-characters set is four Google Drive parts in AI-FREE-Team/Traditional-Chinese-Handwriting-Dataset.
Neither publishes checksums: our sha256s are recorded.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from inkrec.data.download.engine import (
    ChecksumError,
    FetchedFile,
    Fetcher,
    FetchError,
    Manifest,
    extract_member,
    fetcher_scope,
    locked,
    now,
    verified_entry,
)
from inkrec.data.terms import dataset_terms
from inkrec.data.zips import ZIP_ERRORS
from inkrec.errors import ConfigError, DataFormatError


@dataclass(frozen=True)
class ArchiveFile:
    """One file of a catalogue: its path under the base URL, what it holds and its published size."""

    path: str
    split: str  # "train", "test" or "all"
    megabytes: int  # as the publisher lists it (approximate)
    md5: str | None = None


@dataclass(frozen=True)
class HanziSource:
    name: str
    base_url: str
    files: tuple[ArchiveFile, ...]
    terms: str  # the `inkrec.data.terms` entry
    extract: str | None = None  # suffix of the members to extract (".gnt", ".pot"), None: keep the archives
    slices: str | None = None  # `all_data.zip`: files are `<slices>.001`, `.002`, ... until the server has none

    @property
    def description(self) -> str:
        if self.slices:
            return f"{self.slices}.001, .002, ... (slices of one zip, fetched until the last)"
        total = sum(f.megabytes for f in self.files)
        return f"{len(self.files)} archives" + (f", about {total:,} MB" if total else "")


CASIA_BASE_URL = "http://www.nlpr.ia.ac.cn/databases/Download/"
TCHD_BASE_URL = "https://github.com/chenkenanalytic/handwritting_data_all/raw/master/"
TCHD_COMMON_BASE_URL = "https://github.com/AI-FREE-Team/Traditional-Chinese-Handwriting-Dataset/raw/master/data/"

HANZI_SOURCES: dict[str, HanziSource] = {
    s.name: s
    for s in (
        HanziSource(
            "hwdb1.0",
            CASIA_BASE_URL,
            (
                ArchiveFile("Offline/CharData/Gnt1.0TrainPart1.zip", "train", 962),
                ArchiveFile("Offline/CharData/Gnt1.0TrainPart2.zip", "train", 973),
                ArchiveFile("Offline/CharData/Gnt1.0TrainPart3.zip", "train", 983),
                ArchiveFile("Offline/CharData/Gnt1.0Test.zip", "test", 722),
            ),
            terms="casia",
            extract=".gnt",
        ),
        HanziSource(
            "hwdb1.1",
            CASIA_BASE_URL,
            (
                ArchiveFile("Offline/CharData/Gnt1.1TrainPart1.zip", "train", 897, "72bac7b6a5ce37f184f277421adfacfd"),
                ArchiveFile("Offline/CharData/Gnt1.1TrainPart2.zip", "train", 943, "a8b76e4eccfb1fd8d56c448f6a096c27"),
                ArchiveFile("Offline/CharData/Gnt1.1Test.zip", "test", 468, "e74f9a4863e73d8b80ed402452c97448"),
            ),
            terms="casia",
            extract=".gnt",
        ),
        HanziSource(
            "olhwdb1.0",
            CASIA_BASE_URL,
            (
                ArchiveFile("Online/CharData/Pot1.0Train.zip", "train", 273),
                ArchiveFile("Online/CharData/Pot1.0Test.zip", "test", 68),
            ),
            terms="casia",
            extract=".pot",
        ),
        HanziSource(
            "olhwdb1.1",
            CASIA_BASE_URL,
            (
                ArchiveFile("Online/CharData/Pot1.1Train.zip", "train", 189),
                ArchiveFile("Online/CharData/Pot1.1Test.zip", "test", 47),
            ),
            terms="casia",
            extract=".pot",
        ),
        HanziSource("tchd", TCHD_BASE_URL, (), terms="tchd", slices="all_data.zip"),
        HanziSource(
            "tchd-common",
            TCHD_COMMON_BASE_URL,
            tuple(
                ArchiveFile(f"cleaned_data(50_50)-20200420T071507Z-{k:03d}.zip", "all", 0)  # sizes unpublished
                for k in (1, 2, 3, 4)
            ),
            terms="tchd",
        ),
    )
}
MAX_SLICES = 999


def fetch_hanzi(
    name: str,
    dest: str | Path,
    *,
    base_url: str | None = None,
    splits: Iterable[str] = ("train", "test"),
    verify: bool = True,
    keep_archives: bool = True,
    fetcher: Fetcher | None = None,
    force: bool = False,
    on_file: Callable[[FetchedFile], None] | None = None,
) -> list[FetchedFile]:
    """Fetch one catalogue entry of `HANZI_SOURCES` into `dest` (resumable; files already there and intact
    are skipped); CASIA archives are then extracted. `base_url` replaces the publisher's (a mirror of its
    layout); `verify=False` skips the known md5s."""
    if name not in HANZI_SOURCES:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(HANZI_SOURCES)}")
    src = HANZI_SOURCES[name]
    wanted = set(splits)
    bad = wanted - {"train", "test"}
    if bad or not wanted:
        raise ConfigError(f"splits must be train and/or test, got {', '.join(sorted(bad)) or 'none'}")
    base = (base_url or src.base_url).rstrip("/") + "/"
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(dest)
    terms = dataset_terms(src.terms, None)
    out: list[FetchedFile] = []

    def done(got: FetchedFile) -> None:
        out.append(got)
        if on_file is not None:
            on_file(got)

    with fetcher_scope(fetcher) as f:
        if src.slices:
            for k in range(1, MAX_SLICES + 1):
                entry = ArchiveFile(f"{src.slices}.{k:03d}", "all", 0)
                try:
                    got = _fetch_one(f, manifest, src, terms, base, entry, dest, force, verify)
                except FetchError as exc:
                    if exc.status in (404, 410) and k > 1:
                        break  # the last slice was the one before
                    raise
                done(got)
            return out
        for entry in src.files:
            if entry.split != "all" and entry.split not in wanted:
                continue
            got = _fetch_one(f, manifest, src, terms, base, entry, dest, force, verify)
            done(got)
            if src.extract:
                for extracted in _extract(dest / got.name, dest, src, terms, manifest, force, src.extract):
                    done(extracted)
                if not keep_archives:
                    (dest / got.name).unlink(missing_ok=True)
                    manifest.remove(got.name)
    return out


def _fetch_one(
    f: Fetcher,
    manifest: Manifest,
    src: HanziSource,
    terms: dict,
    base: str,
    entry: ArchiveFile,
    dest: Path,
    force: bool,
    verify: bool,
) -> FetchedFile:
    fname = PurePosixPath(entry.path).name
    url = base + quote(entry.path)
    md5 = entry.md5 if verify else None
    with locked(dest / fname, f.log):
        if not force:
            got = manifest.current(fname, url=url, md5=md5, dest=dest)
            if got is not None:
                return got
            if src.extract and _extracted_from(manifest, dest, fname):
                return FetchedFile(name=fname, url=url, bytes=0, sha256="", source=src.name,
                                   checksum="extracted earlier; archive removed", skipped=True)
        try:
            dl = f.fetch(url, dest / fname, md5=md5)
        except ChecksumError:
            raise
        except FetchError as exc:
            raise FetchError(f"{src.name}: could not fetch {fname}: {exc}", url=url, status=exc.status) from None
        if md5 is not None:
            checksum = "md5 verified (published)"
        else:
            checksum = "md5 not verified (--no-verify)" if entry.md5 else "none published"
        got = FetchedFile(name=fname, url=url, bytes=dl.bytes, sha256=dl.sha256, md5=dl.md5, source=src.name,
                          checksum=checksum, fetched_at=now())
        manifest.add(got, source=src.name, license=terms["license"], attribution=terms["attribution"])
        return got


def _extracted_from(manifest: Manifest, dest: Path, archive: str) -> bool:
    """Whether every file extracted from `archive` earlier is still there intact (the archive itself may
    have been removed with --remove-archives)."""
    entries = {n: e for n, e in manifest.files.items() if isinstance(e, dict) and e.get("extracted_from") == archive}
    return bool(entries) and all(
        (dest / n).is_file() and verified_entry(dest / n, e) is not None for n, e in entries.items()
    )


def _extract(
    archive: Path, dest: Path, src: HanziSource, terms: dict, manifest: Manifest, force: bool, suffix: str
) -> list[FetchedFile]:
    """The writer files of a CASIA archive, extracted flat into `dest`, each atomically."""
    if not archive.is_file():  # extracted earlier and removed
        return []
    try:
        zf = zipfile.ZipFile(archive)
    except ZIP_ERRORS as exc:
        raise DataFormatError(archive, f"not a readable zip archive: {exc}") from None
    out = []
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(suffix)]
        if not members:
            raise DataFormatError(archive, f"holds no {suffix} files")
        seen: dict[str, str] = {}
        for info in members:
            target_name = PurePosixPath(info.filename).name
            if target_name in seen:
                raise DataFormatError(archive, f"two members are named {target_name}: {seen[target_name]} and "
                                      f"{info.filename}")
            seen[target_name] = info.filename
            target = dest / target_name
            with locked(target):
                entry = manifest.files.get(target_name)
                got = None
                if not force and isinstance(entry, dict) and entry.get("extracted_from") == archive.name \
                        and target.is_file():
                    got = verified_entry(target, entry)
                if got is None:
                    got = extract_member(zf, info, archive, target, manifest, source=src.name,
                                         license=terms["license"], attribution=terms["attribution"])
            out.append(got)
    return out
