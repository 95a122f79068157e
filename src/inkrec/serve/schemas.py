"""The API's request and response bodies, as Pydantic models (they also make the OpenAPI schema).

Strokes are in the Quick, Draw! ndjson layout: each stroke is `[[x...], [y...]]` (simplified: integer
coordinates 0-255) or `[[x...], [y...], [t...]]` (raw: screen coordinates, t in ms). Sizes are capped
here so that a request's cost is bounded before any work is done on it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Caps: a drawing on the page has tens of strokes and hundreds of points; raw drawings from the data set
# have at most a few thousand points. The caps leave room for that and no more.
MAX_STROKES = 512
MAX_POINTS_PER_STROKE = 8192
MAX_POINTS = 32768
# A handwriting keyboard shows 10 candidates and a page of 20 at most; more guesses are only noise.
MAX_TOP_K = 20
# Coordinates beyond this are not a drawing on any screen; they would only overflow later arithmetic.
MAX_ABS_COORD = 1e7

Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_COORD, le=MAX_ABS_COORD)]
Row = Annotated[list[Coordinate], Field(min_length=1, max_length=MAX_POINTS_PER_STROKE)]
Stroke = Annotated[list[Row], Field(min_length=2, max_length=3)]
ModelId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class PredictRequest(BaseModel):
    """A drawing as strokes, and which model should look at it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": "doodles",
                    "strokes": [[[10, 120, 240], [20, 200, 30]], [[60, 180], [130, 130]]],
                    "top_k": 5,
                }
            ]
        },
    )

    model: ModelId | None = Field(
        None, description="Model id from GET /v1/models; the first loaded model when left out."
    )
    strokes: Annotated[list[Stroke], Field(min_length=1, max_length=MAX_STROKES)] = Field(
        ...,
        description="Strokes as in the Quick, Draw! ndjson: [[x...], [y...]] (simplified, 0-255) or "
        "[[x...], [y...], [t...]] (raw). Raw strokes (t present, or coordinates outside 0-255 or not "
        "integers) are simplified first, exactly like the data set.",
    )
    top_k: int = Field(
        5, ge=1, le=MAX_TOP_K, description=f"How many guesses to return (1-{MAX_TOP_K}; fewer when the model knows fewer labels)."
    )

    @model_validator(mode="after")
    def _rows_match(self) -> PredictRequest:
        total = 0
        for i, stroke in enumerate(self.strokes):
            n = len(stroke[0])
            if any(len(row) != n for row in stroke):
                raise ValueError(f"stroke {i}: x, y (and t) must have the same number of points")
            total += n
        if total > MAX_POINTS:
            raise ValueError(f"too many points: {total} (at most {MAX_POINTS})")
        return self


class Prediction(BaseModel):
    label: str
    probability: float


class PredictResponse(BaseModel):
    model: str
    predictions: list[Prediction]
    ms: float = Field(..., description="Server time for this request (parse, preprocess, model), ms.")
    not_sure: bool | None = Field(
        None, description="True when the drawing scores below the model's open-set threshold: probably none of "
        "its classes (the guesses are still its best). Absent for a model without an open-set rule.")
    open_set_score: float | None = Field(
        None, description="The model's open-set score (higher: more like its own classes).")


class ReadCharacter(BaseModel):
    box: list[float] = Field(..., description="[x0, y0, x1, y1] in the picture's pixels or the strokes' units.")
    candidates: list[Prediction] = Field(..., description="What the character may be, most likely first.")


class ReadResponse(BaseModel):
    model: str
    text: str = Field(..., description="The line as read: each character's first candidate.")
    characters: list[ReadCharacter]
    ms: float = Field(..., description="Server time for this request, ms.")


class UploadForm(BaseModel):
    """multipart/form-data: a picture of a drawing (PNG/JPEG, any size, either polarity)."""

    file: bytes = Field(..., json_schema_extra={"format": "binary"})
    model: ModelId | None = None
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)


class ModelDescription(BaseModel):
    """One served model: what it recognizes, what it reads and how well it did on its test split."""

    id: str
    labels: list[str]
    input: dict = Field(..., description="What the model reads: kind (bitmap or strokes), size, scale.")
    preprocessing: dict = Field(
        default_factory=dict,
        description="How strokes become the model's input (the rasterizer recipe and its parameters); the "
        "page and any other client must prepare input exactly this way.",
    )
    architecture: str | None = Field(None, description="The registry name of the network (e.g. inknet).")
    metrics: dict
    dataset: dict | str | None = None
    license: str = ""
    attribution: str = ""
    quantized: str | None = None
    embedding: bool = Field(False, description="Whether the file has the 'embedding' output (teaching).")
    open_set: dict | None = Field(None, description="The open-set rule: score, threshold, what it was fit on.")
    teach: dict | None = Field(None, description="How a class taught from a few drawings scores (scale, bias).")
    vocabulary: str | None = Field(None, description="The named character set the labels are (e.g. zh), if any.")
    layout: str = Field(
        "drawing",
        description="How the page presents the model: 'writing' (a handwriting keyboard of ten candidates) for "
        "a character model with many classes, else 'drawing' (live guesses with probabilities).",
    )
    lines: bool = Field(False, description="Whether the model reads lines of characters (POST /v1/read).")
    line_priors: dict | None = Field(
        None, description="The line reader's priors this model sets for itself, for ink and/or pictures "
        "(e.g. {\"ink\": {\"char_bonus\": -0.4}}); the rest are the reader's defaults.")
    url: str = Field(..., description="Where to download the ONNX file (for running it in the browser).")


class ModelList(BaseModel):
    models: list[ModelDescription]
    message: str | None = Field(None, description="Set when no model is loaded, saying how to load one.")


class Health(BaseModel):
    status: str
    models: list[str]


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


_ERROR_TEXT = {
    400: "Malformed JSON or multipart body.",
    404: "Unknown model.",
    413: "Body or picture too large.",
    415: "Neither application/json nor multipart/form-data.",
    422: "Invalid drawing, picture or parameters.",
    503: "The request took too long.",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """The OpenAPI `responses` of a route that may answer these error statuses (one JSON shape for all)."""
    return {status: {"model": ErrorResponse, "description": _ERROR_TEXT[status]} for status in statuses}
