"""The course stack, as our users first meet it: one small Keras CNN on TensorFlow (CPU).

This is the yardstick the quality and serving benchmarks compare inkrec against, so it is built and trained
exactly as the course does: a Rescaling(1/255) layer inside the model, Conv 16/32/64 3x3 same + ReLU each
followed by 2x2 max-pooling, Flatten, Dense 128 ReLU, Dense n; Adam, batch 256, validation split 0.1, early
stopping with patience 3 on the validation loss. Needs the `bench` extra (tensorflow-cpu).
"""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_course_cnn(num_classes: int, size: int = 28):
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((size, size, 1)),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(num_classes),
        ]
    )


def train_course_cnn(
    x_train: np.ndarray,
    y_train: np.ndarray,
    num_classes: int,
    *,
    max_epochs: int = 30,
    seed: int = 0,
    verbose: int = 0,
):
    """Train as the course does. `x_train` is uint8 (N, H, W); returns (model, stats)."""
    import keras

    keras.utils.set_random_seed(seed)
    size = x_train.shape[1]
    model = build_course_cnn(num_classes, size)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    # Keras' validation_split takes the last 10% without shuffling: shuffle first, as course notebooks do.
    order = np.random.default_rng(seed).permutation(len(x_train))
    x = x_train[order][..., None].astype("float32")
    y = y_train[order]
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)
    t0 = time.perf_counter()
    history = model.fit(
        x, y, batch_size=256, epochs=max_epochs, validation_split=0.1, callbacks=[stop], verbose=verbose
    )
    seconds = time.perf_counter() - t0
    epochs = len(history.history["loss"])
    n_fit = int(len(x) * 0.9)
    return model, {"epochs": epochs, "train_seconds": seconds, "samples_per_s": n_fit * epochs / seconds}


def predict_probs(model, x: np.ndarray) -> np.ndarray:
    """Softmax probabilities for uint8 (N, H, W) images (the model rescales itself)."""
    import keras

    logits = model.predict(x[..., None].astype("float32"), batch_size=1024, verbose=0)
    return np.asarray(keras.ops.softmax(logits))
