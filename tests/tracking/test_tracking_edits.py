"""Deleting and merging whole tracks (with undo), and measurements over time per track/class."""

from __future__ import annotations

import numpy as np
import pytest
from disc_movies import crossing_movie, identities, movie_table

from guv_app.services.tracking import (
    TrackEdits,
    TrackingConfig,
    TrackingError,
    class_series,
    delete_tracks,
    merge_tracks,
    track_series,
    track_table,
)


@pytest.fixture
def split_c():
    """The crossing movie tracked without gap closing: disc C is cut into two tracks."""
    table, truth = crossing_movie()
    out = track_table(table, TrackingConfig(max_distance=10, max_gap=0)).table
    return out, truth


def test_merging_the_two_halves_of_a_track_makes_it_one_gap_closed_track(split_c):
    table, truth = split_c
    first, second = sorted(identities(table["track_id"], truth)[3])
    merged = merge_tracks(table, first, second)
    assert identities(merged["track_id"], truth)[3] == {first}
    rows = truth == 3
    t = merged["t"][rows]
    status = merged["track_status"][rows][np.argsort(t)]
    assert status[0] == "new" and status[5] == "gap-closed"  # t=6 follows t=4
    assert set(np.delete(status, [0, 5])) == {"matched"}
    assert list(np.sort(merged["track_age"][rows])) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert len(set(table["track_id"][rows])) == 2  # the input table is unchanged


def test_merging_tracks_that_share_a_frame_is_refused(split_c):
    table, truth = split_c
    a = next(iter(identities(table["track_id"], truth)[1]))
    b = next(iter(identities(table["track_id"], truth)[2]))
    with pytest.raises(TrackingError, match="both have an object at t=0"):
        merge_tracks(table, a, b)


def test_delete_then_undo_and_redo_are_single_steps(split_c):
    table, truth = split_c
    edits = TrackEdits(table)
    a = next(iter(identities(table["track_id"], truth)[1]))
    c1, c2 = sorted(identities(table["track_id"], truth)[3])
    edits.delete([a])
    assert a not in set(edits.table["track_id"]) and len(edits.table["t"]) == len(truth) - 12
    edits.merge(c1, c2)
    assert edits.undo() and len(set(edits.table["track_id"])) == 4  # merge undone
    assert edits.undo() and np.array_equal(edits.table["track_id"], table["track_id"])
    assert not edits.undo()
    assert edits.redo() and a not in set(edits.table["track_id"])
    with pytest.raises(TrackingError, match="no track 999"):
        delete_tracks(table, [999])


def test_deleting_a_mother_makes_her_daughters_new_tracks():
    frames = [[(1, (60, 60), 6)] for _ in range(3)]
    frames += [[(2, (60, 52), 4), (3, (60, 68), 4)] for _ in range(2)]
    table, truth = movie_table(frames)
    out = track_table(table, TrackingConfig(max_distance=12, divisions=True)).table
    mother = int(out["track_id"][truth == 1][0])
    after = delete_tracks(out, [mother])
    assert set(after["parent_track_id"]) == {0}
    assert sorted(set(after["lineage_id"])) == sorted(set(after["track_id"]))  # own roots
    assert list(after["track_status"][after["t"] == 3]) == ["new", "new"]


def test_time_series_per_track_and_per_class_mean_and_sd():
    # two classes; class A has two discs of radius 3 and 5 in every frame
    frames = [[(1, (20, 20 + 2 * t), 3), (2, (60, 20 + 2 * t), 5), (3, (100, 60), 4)]
              for t in range(4)]
    table, truth = movie_table(frames, classes={1: 1, 2: 1, 3: 2})
    out = track_table(table, TrackingConfig(max_distance=5)).table
    per_track = track_series(out, "area")
    assert len(per_track) == 3
    for series in per_track:
        assert np.allclose(series.x, 2.5 * np.arange(4))  # time_s
    a = out["area"][truth == 1][0]
    b = out["area"][truth == 2][0]
    (class_a, class_b) = class_series(out, "area")
    assert class_a.name == "A" and np.allclose(class_a.y, (a + b) / 2)
    assert np.allclose(class_a.spread, abs(a - b) / 2) and list(class_a.n) == [2, 2, 2, 2]
    assert class_b.name == "B" and np.allclose(class_b.spread, 0)
