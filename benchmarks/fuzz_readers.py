"""Fuzz every data reader with mutated real files: any exception other than InkrecError is a bug.

A reader handed a corrupt download must say what is wrong (`DataFormatError`, naming the file), never
crash, hang or allocate what a corrupt header claims. For each reader this script takes real files from
`../shared/datasets` (or files inkrec writes from real drawings and handwriting, for the formats the
shared data does not ship: .bin, sketch-rnn .npz, .gnt), mutates them with a seeded random mutator (bit
and byte flips, truncation, insertion, deletion, duplicated chunks, integer fields set to extreme values,
numbers in text made huge, splices; inside containers too: a member of a zip or the payload of a gzip is
mutated and the container rebuilt, so mutants get past the checksums) and runs the reader on each mutant
in this process, under an address-space limit (RLIMIT_AS: `--memory` GiB above what the process uses at
start) and a time limit per case.

Reported per reader: cases run, cases per second, crashes (exceptions other than InkrecError, hangs,
cases that grow the resident set by more than `--case-rss` MiB; distinct by exception type and place;
each saved with its mutant and traceback under `--crashes`), and the peak resident set while it ran.

Usage: python benchmarks/fuzz_readers.py [--minutes 10] [--reader NAME ...] [--seed 0] [--memory 2]
                                         [--crashes fuzz-crashes] [--json results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import hashlib
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("INKREC_DATASETS", REPO.parent / "shared" / "datasets"))
sys.path.insert(0, str(REPO / "src"))

from inkrec.data.formats import FORMATS
from inkrec.data.formats.image_folder import ImageFolder
from inkrec.errors import InkrecError
from inkrec.preprocess.raster import rasterize

# every reader module of the registry, by its format name: a format added there without a fuzz target
# below is reported (`uncovered`), not silently skipped
binary, gnt, idx, image_folder, ndjson, numpy_bitmap, pot, sketchrnn, tchd, tegaki = (
    FORMATS[n] for n in ("binary", "gnt", "idx", "image_folder", "ndjson", "numpy_bitmap", "pot", "sketchrnn",
                         "tchd", "tegaki"))

GIB = 1 << 30


# ------------------------------------------------------------------------------------------ mutations

_INTERESTING = [
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    10**6,
    10**9,
    10**12,
    2**63 - 1,
    2**64 - 1,
]


def mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """One to four random mutations of `data` (`others`: bytes to splice from)."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        n = len(out)
        kind = rng.randrange(11)
        pos = rng.randrange(n) if n else 0
        if n == 0:
            out += rng.randbytes(rng.randint(1, 16))
        elif kind == 0:  # flip bits
            for _ in range(rng.randint(1, 8)):
                p = rng.randrange(n)
                out[p] ^= 1 << rng.randrange(8)
        elif kind == 1:  # random bytes
            for _ in range(rng.randint(1, 4)):
                out[rng.randrange(n)] = rng.randrange(256)
        elif kind == 2:  # truncate
            del out[rng.randrange(n) :]
        elif kind == 3:  # insert random bytes
            out[pos:pos] = rng.randbytes(rng.choice((1, 2, 4, 8, 64, 1000)))
        elif kind == 4:  # delete a chunk
            del out[pos : pos + rng.choice((1, 2, 4, 16, 256, 4096))]
        elif kind == 5:  # duplicate a chunk
            size = rng.choice((1, 4, 16, 256, 4096))
            out[pos:pos] = out[pos : pos + size]
        elif kind in (6, 7):  # an integer field set to an extreme value, mostly near the start (headers)
            width = rng.choice((1, 2, 4, 8))
            p = rng.randrange(min(n, 64)) if kind == 6 else pos
            value = rng.choice(_INTERESTING) % (1 << (8 * width))
            out[p : p + width] = value.to_bytes(width, rng.choice(("little", "big")))
        elif kind == 8:  # a number in text made huge, negative or not a number
            text = bytes(out)
            numbers = [m.span() for m in re.finditer(rb"\d+", text[:200_000])]
            if numbers:
                a, b = rng.choice(numbers)
                out[a:b] = rng.choice(
                    (
                        b"99999999999999999999999",
                        b"-1",
                        b"1e999",
                        b"NaN",
                        b"0",
                        b"[" * 5000,
                        str(rng.choice(_INTERESTING)).encode(),
                    )
                )
        elif kind == 9 and others:  # splice from another seed
            other = rng.choice(others)
            if other:
                a = rng.randrange(len(other))
                out[pos:pos] = other[a : a + rng.choice((8, 64, 1024))]
        else:  # overwrite a chunk with a copy of another part of the file
            a = rng.randrange(n)
            chunk = out[a : a + rng.choice((4, 32, 512))]
            out[pos : pos + len(chunk)] = chunk
    return bytes(out)


def _rezip(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """Mutate one member of a zip archive and write the archive again (valid checksums)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = [(i, zf.read(i)) for i in zf.infolist()]
    k = rng.randrange(len(members))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for j, (info, body) in enumerate(members):
            out.writestr(info, mutate(body, rng, others) if j == k else body)
    return buf.getvalue()


def _regzip(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    return gzip.compress(mutate(gzip.decompress(data), rng, others), mtime=0)


# ------------------------------------------------------------------------------------------ readers


@dataclass
class Reader:
    """One reader under test: seed files, how a mutant is laid out on disk, and what reading it means."""

    name: str
    fmt: str  # the format in the registry (inkrec.data.formats.FORMATS) it exercises
    seeds: Callable[[Path], list[Path]]  # real files (or files written from real data) in a work folder
    read: Callable[[Path], None]  # read everything in the mutant at this path
    container: Callable[[bytes, random.Random, list[bytes]], bytes] | None = None  # mutate inside
    place: Callable[[Path, Path, bytes], Path] | None = None  # write mutant bytes, return what `read` gets


def _drain(source, kind: str) -> None:
    """Every sample of an opened source, the way training reads them."""
    n = len(source)
    for i in range(min(n, 64)):
        source.sample(i)
    if kind == "bitmap" and n:
        source.bitmaps(np.arange(min(n, 512)))


def _simplified(category: str) -> list:
    return list(ndjson.iter_ndjson(DATA / "quickdraw" / "simplified" / f"{category}.ndjson"))


def seed_numpy_bitmap(work: Path) -> list[Path]:
    rows = numpy_bitmap.load_bitmaps(DATA / "quickdraw" / "numpy_bitmap" / "apple.npy")[:300]
    path = work / "apple.npy"
    np.save(path, np.asarray(rows), allow_pickle=False)
    return [path]


def read_numpy_bitmap(path: Path) -> None:
    np.asarray(numpy_bitmap.load_bitmaps(path)).sum()
    _drain(numpy_bitmap.open_source(path), "bitmap")


def seed_ndjson(kind: str) -> Callable[[Path], list[Path]]:
    def seeds(work: Path) -> list[Path]:
        out = []
        for cat in ("cat", "house plant"):
            path = work / f"{cat}.ndjson"
            shutil.copy(DATA / "quickdraw" / kind / f"{cat}.ndjson", path)
            out.append(path)
        return out

    return seeds


def read_ndjson(path: Path) -> None:
    list(ndjson.iter_ndjson(path))
    ndjson.read_ndjson_at(path, ndjson.ndjson_offsets(path))
    _drain(ndjson.open_source(path, progress=False), "strokes")


def seed_binary(work: Path) -> list[Path]:
    out = []
    for cat in ("cat", "house plant"):
        binary.write_binary(work / f"{cat}.bin", _simplified(cat))
        out.append(work / f"{cat}.bin")
    return out


def read_binary(path: Path) -> None:
    list(binary.iter_binary(path))
    binary.read_binary_at(path, binary.binary_offsets(path))
    _drain(binary.open_source(path, progress=False), "strokes")


def seed_sketchrnn(work: Path) -> list[Path]:
    s3 = [sketchrnn.strokes_to_stroke3(d.strokes) for d in _simplified("cat")]
    splits = {"train": s3[:15], "valid": s3[15:20], "test": s3[20:]}
    official = {}
    for name, drawings in splits.items():  # Google's layout: object arrays of int16 arrays
        official[name] = np.empty(len(drawings), dtype=object)
        for i, d in enumerate(drawings):
            official[name][i] = d.astype(np.int16)
    np.savez(work / "official.npz", **official)
    sketchrnn.write_sketchrnn(work / "inkrec.npz", splits, compress=False)
    return [work / "official.npz", work / "inkrec.npz"]


def read_sketchrnn(path: Path) -> None:
    for drawings in sketchrnn.load_sketchrnn(path).values():
        for d in drawings:
            sketchrnn.stroke3_to_strokes(d)
    _drain(sketchrnn.open_source(path), "strokes")


def seed_idx(gz: bool) -> Callable[[Path], list[Path]]:
    def seeds(work: Path) -> list[Path]:
        images = idx.load_idx(DATA / "mnist" / "t10k-images-idx3-ubyte.gz")[:200]
        labels = idx.load_idx(DATA / "mnist" / "t10k-labels-idx1-ubyte.gz")[:200]
        suffix = ".gz" if gz else ""
        out = [work / f"t10k-images-idx3-ubyte{suffix}", work / f"t10k-labels-idx1-ubyte{suffix}"]
        idx.write_idx(out[0], images)
        idx.write_idx(out[1], labels)
        return out

    return seeds


def place_idx(case: Path, seed: Path, data: bytes) -> Path:
    """The mutant beside an intact copy of its pair (images with labels, labels with images)."""
    for other in seed.parent.iterdir():
        if other.name != seed.name and "-idx" in other.name:
            shutil.copy(other, case / other.name)
    (case / seed.name).write_bytes(data)
    return case / seed.name


def read_idx(path: Path) -> None:
    np.asarray(idx.load_idx(path)).sum()
    _drain(idx.open_source(path.parent), "bitmap")


@functools.lru_cache(maxsize=1)
def _pictures() -> list[Path]:
    folder = DATA / "chinese-mnist"
    classes = sorted(p for p in folder.iterdir() if p.is_dir())[:3]
    return [min(c.iterdir()) for c in classes]


def seed_pictures(work: Path) -> list[Path]:
    out = []
    for i, src in enumerate(_pictures()):
        path = work / f"{i}{src.suffix}"
        shutil.copy(src, path)
        out.append(path)
    png = work / "3.png"  # the same handwriting as PNG
    Image.open(_pictures()[0]).save(png)
    return [*out, png]


def place_picture(case: Path, seed: Path, data: bytes) -> Path:
    """A class folder holding the mutant, beside a class with an intact picture."""
    (case / "a").mkdir()
    (case / "b").mkdir()
    (case / "a" / f"x{seed.suffix}").write_bytes(data)
    shutil.copy(_pictures()[1], case / "b" / "y.jpg")
    return case


def read_image_folder(path: Path) -> None:
    folder = ImageFolder(path)
    for i in range(len(folder)):
        folder.image_size(i)
        folder.load_ink(i)
    _drain(image_folder.open_source(path), "bitmap")


def seed_image_zip(work: Path) -> list[Path]:
    path = work / "pictures.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i, src in enumerate(_pictures()):
            zf.write(src, f"wrap/class{i}/{src.name}")
            zf.write(src, f"wrap/class{i}/copy-{src.name}")
    return [path]


def seed_pot(work: Path) -> list[Path]:
    """The first 40 real characters of CASIA writer 1043, byte for byte."""
    real = DATA / "casia-olhwdb" / "1043-c.pot"
    end = int(pot.index_pot(real).offsets[40])
    (work / "1043-c.pot").write_bytes(real.read_bytes()[:end])
    return [work / "1043-c.pot"]


def read_pot(path: Path) -> None:
    list(pot.iter_pot(path))
    pot.read_pot_at(path, pot.index_pot(path).offsets)
    _drain(pot.open_source(path, progress=False), "bitmap")


def seed_tegaki(work: Path) -> list[Path]:
    """A real single-character file and the real Traditional Chinese collection."""
    out = []
    for src in (DATA / "tegaki" / "tegaki-lab" / "train" / "japanese-native1" / "s1",
                DATA / "tegaki" / "traditional-chinese" / "train"):
        first = sorted(src.glob("*.xml"))[0]
        out.append(work / f"{src.name}-{first.name}")
        out[-1].write_bytes(first.read_bytes())
    return out


def read_tegaki(path: Path) -> None:
    list(tegaki.iter_tegaki(path))
    _drain(tegaki.open_source(path, progress=False), "bitmap")


def seed_gnt(work: Path) -> list[Path]:
    hanzi = ImageFolder(DATA / "chinese-mnist")
    samples = [
        (hanzi.classes[hanzi.samples[i][1]], hanzi.load_ink(i)[2:60, 5:64]) for i in range(0, 12000, 800)
    ]
    gnt.write_gnt(work / "1001-c.gnt", samples)
    return [work / "1001-c.gnt"]


def read_gnt(path: Path) -> None:
    list(gnt.iter_gnt(path))
    index = gnt.index_gnt(path)
    gnt.read_gnt_at(path, index.offsets)
    _drain(gnt.open_source(path, progress=False), "bitmap")


def seed_tchd(work: Path) -> list[Path]:
    """A Traditional Chinese Handwriting part: real Tegaki Traditional Chinese ink drawn as 300x300 PNGs
    (dark on white), Big5-named members in the published `cleaned_data/<char>/<char>_<n>.png` layout."""
    src = tegaki.open_source(DATA / "tegaki" / "traditional-chinese", progress=False)
    path = work / "cleaned_data(50_50)-20200420T071507Z-001.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for row in range(0, len(src), max(1, len(src) // 12)):
            label = src.class_names[int(src.labels[row])]
            if not _in_big5(label):
                continue
            buf = io.BytesIO()
            Image.fromarray(255 - rasterize(src.sample(row), size=300)).save(buf, format="PNG")
            zf.writestr(_Big5Member(f"cleaned_data/{label}/{label}_{row}.png"), buf.getvalue())
    return [path]


def _in_big5(label: str) -> bool:
    try:
        label.encode("cp950")
    except UnicodeEncodeError:
        return False
    return True


class _Big5Member(zipfile.ZipInfo):
    """A member named in Big5 without the UTF-8 flag, as the published archive names them."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp950"), self.flag_bits


def place_tchd_slices(case: Path, seed: Path, data: bytes) -> Path:
    """The mutant cut into the whole set's `all_data.zip.NNN` slices (read joined, in place)."""
    cuts = sorted({0, len(data) // 3, 2 * len(data) // 3, len(data)})
    for k, (a, b) in enumerate(zip(cuts, cuts[1:]), 1):
        (case / f"all_data.zip.{k:03d}").write_bytes(data[a:b])
    return case


def read_tchd(path: Path) -> None:
    for _label, _picture in tchd.iter_tchd(path):
        pass
    _drain(tchd.open_source(path), "bitmap")


READERS = {r.name: r for r in (
    Reader("numpy_bitmap", "numpy_bitmap", seed_numpy_bitmap, read_numpy_bitmap),
    Reader("ndjson_simplified", "ndjson", seed_ndjson("simplified"), read_ndjson),
    Reader("ndjson_raw", "ndjson", seed_ndjson("raw"), read_ndjson),
    Reader("binary", "binary", seed_binary, read_binary),
    Reader("sketchrnn", "sketchrnn", seed_sketchrnn, read_sketchrnn, container=_rezip),
    Reader("idx_gz", "idx", seed_idx(gz=True), read_idx, container=_regzip, place=place_idx),
    Reader("idx_raw", "idx", seed_idx(gz=False), read_idx, place=place_idx),
    Reader("image_folder", "image_folder", seed_pictures, read_image_folder, place=place_picture),
    Reader("image_zip", "image_folder", seed_image_zip, read_image_folder, container=_rezip),
    Reader("gnt", "gnt", seed_gnt, read_gnt),
    Reader("pot", "pot", seed_pot, read_pot),
    Reader("tegaki", "tegaki", seed_tegaki, read_tegaki),
    Reader("tchd_zip", "tchd", seed_tchd, read_tchd, container=_rezip),
    Reader("tchd_slices", "tchd", seed_tchd, read_tchd, container=_rezip, place=place_tchd_slices),
)}  # fmt: skip


def uncovered() -> list[str]:
    """Formats of the registry that no reader here exercises."""
    return sorted(set(FORMATS) - {r.fmt for r in READERS.values()})


# ------------------------------------------------------------------------------------------ running


class _Hang(Exception):
    pass


@dataclass
class Result:
    reader: str
    cases: int = 0
    seconds: float = 0.0
    refused: int = 0  # mutants the reader refused with an InkrecError
    crashes: dict[str, str] = field(default_factory=dict)  # signature -> saved mutant
    peak_rss_mib: float = 0.0

    @property
    def crash_count(self) -> int:
        return len(self.crashes)


def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


@contextlib.contextmanager
def address_space_limit(extra: int):
    """RLIMIT_AS at `extra` bytes above the address space in use now (restored afterwards)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _status("VmSize") + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f for f in reversed(frames) if "/inkrec/" in f.filename), frames[-1] if frames else None)
    place = f"{Path(where.filename).name}:{where.lineno}" if where else "?"
    return f"{type(exc).__name__} at {place}"


def fuzz(
    reader: Reader,
    seconds: float,
    *,
    seed: int = 0,
    crashes: Path | None = None,
    memory: int = 2 * GIB,
    case_timeout: int = 10,
    case_rss: int = GIB,
) -> Result:
    """Run `reader` on mutants of its seeds for `seconds`; crashes are saved under `crashes/<reader>/`.

    A case that raises the resident set by more than `case_rss` bytes counts as a crash too: a reader
    must not allocate what a corrupt header claims, even where the address-space limit would allow it.
    (The default leaves room for what is allowed: a picture at the 40-megapixel decoding limit takes about
    0.9 GB through `normalize_ink`.)
    """
    result = Result(reader.name)
    rng = random.Random(f"{seed}-{reader.name}")
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{reader.name}-") as tmp:
        work = Path(tmp)
        (work / "seeds").mkdir()
        seeds = reader.seeds(work / "seeds")
        blobs = [p.read_bytes() for p in seeds]
        for p in seeds:  # the seeds themselves must read cleanly
            reader.read(
                p if reader.place is None else reader.place(_fresh(work / "check"), p, p.read_bytes())
            )
        old_handler = signal.signal(signal.SIGALRM, _raise_hang)
        _reset_peak_rss()
        baseline = _status("VmRSS")
        peak = 0
        start = time.perf_counter()
        try:
            with address_space_limit(memory):
                while time.perf_counter() - start < seconds:
                    k = rng.randrange(len(seeds))
                    data = _mutant(reader, blobs[k], rng, blobs)
                    case = _fresh(work / "case")
                    target = reader.place(case, seeds[k], data) if reader.place else case / seeds[k].name
                    if reader.place is None:
                        target.write_bytes(data)
                    result.cases += 1
                    signal.alarm(case_timeout)
                    try:
                        reader.read(target)
                    except InkrecError:
                        result.refused += 1
                    except _Hang as exc:
                        _record(result, f"hang over {case_timeout} s", exc, case, crashes)
                    except Exception as exc:  # noqa: BLE001  what the fuzzer looks for
                        _record(result, _signature(exc), exc, case, crashes)
                    finally:
                        signal.alarm(0)
                    case_peak = _status("VmHWM")
                    peak = max(peak, case_peak)
                    if case_peak - baseline > case_rss:
                        grew = (case_peak - baseline) >> 20
                        _record(
                            result,
                            f"resident set grew by over {case_rss >> 20} MiB",
                            MemoryError(f"the resident set grew by {grew} MiB reading this case"),
                            case,
                            crashes,
                        )
                        _reset_peak_rss()
                        baseline = _status("VmRSS")
        finally:
            signal.signal(signal.SIGALRM, old_handler)
        result.seconds = time.perf_counter() - start
        result.peak_rss_mib = max(peak, _status("VmHWM")) / (1 << 20)
    return result


def _raise_hang(signum, frame):
    raise _Hang()


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


def _mutant(reader: Reader, data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    if reader.container is not None and rng.random() < 0.6:
        with contextlib.suppress(Exception):  # a seed the container step cannot open: mutate the raw bytes
            return reader.container(data, rng, others)
    return mutate(data, rng, others)


def _record(result: Result, signature: str, exc: BaseException, case: Path, crashes: Path | None) -> None:
    if signature in result.crashes:
        return
    saved = ""
    if crashes is not None:
        name = hashlib.sha1(signature.encode()).hexdigest()[:12]
        dest = crashes / result.reader / name
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(case, dest)
        (dest / "traceback.txt").write_text("".join(traceback.format_exception(exc)))
        saved = str(dest)
    result.crashes[signature] = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="Fuzzing time per reader.")
    parser.add_argument("--reader", action="append", choices=sorted(READERS), help="Only these readers.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory", type=float, default=2.0, help="GiB of address space above the start.")
    parser.add_argument("--case-rss", type=float, default=1024, help="MiB a single case may add to the RSS.")
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="Where crashes are saved.")
    parser.add_argument("--json", type=Path, help="Also write the results as JSON.")
    args = parser.parse_args()
    if uncovered():
        print(f"no fuzz target for format(s) {', '.join(uncovered())}: add a Reader for each", file=sys.stderr)
        return 2
    results = []
    print(f"{'reader':<18} {'cases':>8} {'cases/s':>8} {'refused':>8} {'crashes':>8} {'peak RSS':>9}")
    for name in args.reader or list(READERS):
        r = fuzz(
            READERS[name],
            args.minutes * 60,
            seed=args.seed,
            crashes=args.crashes,
            memory=int(args.memory * GIB),
            case_rss=int(args.case_rss * (1 << 20)),
        )
        results.append(r)
        print(
            f"{r.reader:<18} {r.cases:>8,} {r.cases / r.seconds:>8.0f} {r.refused:>8,} {r.crash_count:>8} "
            f"{r.peak_rss_mib:>6.0f} MiB",
            flush=True,
        )
        for signature, saved in r.crashes.items():
            print(f"    {signature}" + (f"  -> {saved}" if saved else ""))
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "reader": r.reader,
                        "cases": r.cases,
                        "seconds": round(r.seconds, 1),
                        "refused": r.refused,
                        "crashes": r.crashes,
                        "peak_rss_mib": round(r.peak_rss_mib),
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    return 1 if any(r.crashes for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
