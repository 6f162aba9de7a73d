"""Synthetic movies of moving discs with known identities, measured by the real shape plugin."""

from __future__ import annotations

import numpy as np

from guv_app.services.measurement.runner import measure_arrays, resolve_plugins

SHAPE = (120, 120)


def disc(masks: np.ndarray, centre: tuple[float, float], radius: float, label: int) -> None:
    yy, xx = np.mgrid[: masks.shape[0], : masks.shape[1]]
    masks[(yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2] = label


def frame_masks(objects, t: int) -> tuple[np.ndarray, dict[int, int]]:
    """Label image of one frame and {label: true id}; label numbers change every frame."""
    masks = np.zeros(SHAPE, dtype=np.uint16)
    labels = np.random.default_rng(t).permutation(np.arange(1, len(objects) + 1))
    for (_, centre, radius), label in zip(objects, labels, strict=True):
        disc(masks, centre, radius, int(label))
    return masks, {int(label): o[0] for o, label in zip(objects, labels, strict=True)}


def crossing_frames() -> list[list[tuple[int, tuple[float, float], float]]]:
    """A and B pass each other 8 px apart; C vanishes in frame 5; D appears in frame 8."""
    frames = []
    for t in range(12):
        objects = [(1, (50, 10 + 6 * t), 3), (2, (58, 100 - 6 * t), 3)]
        if t != 5:
            objects.append((3, (100, 20 + 2 * t), 5))
        if t >= 8:
            objects.append((4, (15, 100), 4))
        frames.append(objects)
    return frames


def movie_table(frames: list[list[tuple[int, tuple[float, float], float]]],
                classes: dict[int, int] | None = None) -> tuple[dict, np.ndarray]:
    """Measure frames of (true id, centre, radius); return the table and the true id per row."""
    plugins = resolve_plugins(["shape"], None)
    tables, truth = [], []
    for t, objects in enumerate(frames):
        masks, by_label = frame_masks(objects, t)
        cls = np.zeros(len(objects) + 1, dtype=np.int32)
        for label, true_id in by_label.items():
            cls[label] = (classes or {}).get(true_id, 0)
        names = ["background", "A", "B"]
        table = measure_arrays(np.zeros((1,) + SHAPE), masks, cls, names, plugins, "movie.tif")
        shape = table.tables["shape"]
        n = len(shape["object_id"])
        shape = {"image": shape["image"], "series": np.zeros(n, np.int64),
                 "t": np.full(n, t, np.int64), "z": np.zeros(n, np.int64),
                 "time_s": np.full(n, 2.5 * t), **{k: v for k, v in shape.items() if k != "image"}}
        tables.append(shape)
        truth += [by_label[int(i)] for i in shape["object_id"]]
    merged = {k: np.concatenate([tb[k] for tb in tables]) for k in tables[0]}
    return merged, np.array(truth)


def identities(track_id: np.ndarray, truth: np.ndarray) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for true_id, track in zip(truth, track_id, strict=True):
        out.setdefault(int(true_id), set()).add(int(track))
    return out


def crossing_movie():
    """The crossing movie (:func:`crossing_frames`) measured: (table, true id per row)."""
    return movie_table(crossing_frames())
