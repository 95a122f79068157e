"""The data stage: read every supported data set format, download the public ones, and serve any of them
as one list of labelled samples with standard splits.

- `formats/`: one module per format, each reading, recognising and opening it as a `Source`
  (`numpy_bitmap`, `ndjson`, `binary`, `sketchrnn`, `idx`, `image_folder`, `gnt`); `formats/__init__.py`
  is the registry (`detect_format`, `open_source`).
- `sources`: the `Source` interface and the storage layouts formats share (memory-mapped / pread bitmap
  arrays, offset-indexed records, in-memory strokes).
- `dataset`: `InkDataset` and `open_dataset` (class maps, splits, per-class caps, batches).
- `splits`: the standard, random and writer-disjoint cuts as pure functions.
- `drawing`: one Quick, Draw! drawing (`Drawing`) and its record layout.
- `npy`: the `.npy` header, read and written in one place; `zips`: what a damaged zip archive raises.
- `download/`: the resumable, verified download `engine` and one catalogue per source (`quickdraw`,
  `mnist`).
- `convert`, `inspect`: whole-file conversions and looking at data sets, behind the `inkrec data`
  commands that `cli` defines.
"""
