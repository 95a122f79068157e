"""The one ink preprocessing of inkrec: raw strokes -> simplified strokes -> bitmap.

`inkrec.ink.simplify.simplify` reproduces the Quick, Draw! "simplified" format from raw strokes and
`inkrec.ink.raster.rasterize` (``rasterize_many`` for batches) reproduces its "numpy_bitmap"
rendering from simplified strokes. Training, the server and, through its JavaScript twin
``src/inkrec/serve/static/ink.js``, the drawing page all use these, so a model sees the same pixels wherever a
drawing comes from. `inkrec.ink.cli` exposes both as ``inkrec data simplify`` and
``inkrec data rasterize``.
"""
