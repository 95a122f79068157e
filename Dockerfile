# The slim serving image: inkrec's HTTP API and drawing page on onnxruntime, no torch.
#   docker build -t inkrec .
#   docker run --rm -p 8000:8000 inkrec            # then open http://localhost:8000/
# Other models: mount a folder of exported .onnx files and point INKREC_MODELS at it, e.g.
#   docker run --rm -p 8000:8000 -v $PWD/my-models:/models -e INKREC_MODELS=/models inkrec
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    INKREC_MODELS=/app/models \
    NUMBA_CACHE_DIR=/app/.numba-cache

WORKDIR /app
# The package first (the built drawing page is package data under src/inkrec/page), then the
# bundled models, so that a new model does not reinstall the dependencies.
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# compile the ink kernels now (numba caches them), not at every container start
RUN pip install ".[serve]" && rm -rf src build \
    && python -c "from inkrec.serve.preprocess import precompile; precompile()" \
    && chown -R nobody /app/.numba-cache
COPY models ./models

USER nobody
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["inkrec", "serve", "--host", "0.0.0.0", "--port", "8000"]
