"""The model input: what a model sees, defined once for training, evaluation, the server and the page.

torch-free (numpy, Pillow, numba), at the bottom of the pipeline: `inkrec.data` and everything above use it,
it uses nothing of theirs.

- `simplify`: raw strokes -> the Quick, Draw! "simplified" format (Google's recipe, point for point).
- `raster`: simplified strokes -> the "numpy_bitmap" rendering (cairo's rasterizer, pixel for pixel).
- `strokes`: drawings -> the (dx, dy, pen_lift) sequences that stroke models read.
- `pictures`: a picture (PNG/JPEG, any size or polarity) -> white-on-black ink framed like a drawing.
- `spec`: `InputSpec`, a model's input as it records it (checkpoint or ONNX metadata).
- `batch`: drawings, bitmaps and pictures -> a model's batch, driven by its `InputSpec`.
- `stats`: ink statistics of a stack of bitmaps (how a rendering compares with another).

`ink.js` and `picture.js`, beside these, are the drawing page's twins of `simplify`/`raster` and of
`pictures`; the parity tests hold them to the same points and pixels.
"""
