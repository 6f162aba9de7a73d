"""Tracking a synthetic movie of moving discs whose identities are known.

Each frame is a label image measured by the real shape plugin; the tracker only sees the
measurement table. Identity is recovered when every true disc maps to exactly one track and
every track to exactly one disc.
"""

from __future__ import annotations

import numpy as np
import pytest
from disc_movies import crossing_movie, identities, movie_table

from guv_app.services.tracking import TrackingConfig, TrackingError, track_table, wide_table


def test_crossing_discs_and_a_one_frame_gap_keep_their_identities():
    table, truth = crossing_movie()
    result = track_table(table, TrackingConfig(max_distance=10, max_gap=1))
    out = result.table
    found = identities(out["track_id"], truth)
    assert all(len(tracks) == 1 for tracks in found.values()), found
    assert len({next(iter(s)) for s in found.values()}) == 4  # four distinct tracks
    assert result.n_tracks == 4
    status = out["track_status"]
    c_rows = np.flatnonzero(truth == 3)
    assert list(status[c_rows][out["t"][c_rows] == 6]) == ["gap-closed"]
    assert list(status[truth == 4][out["t"][truth == 4] == 8]) == ["new"]
    assert set(status[(truth == 1) & (out["t"] > 0)]) == {"matched"}
    # age in frames and seconds since the track's first object
    d_rows = truth == 4
    assert list(out["track_age"][d_rows]) == [0, 1, 2, 3]
    assert np.allclose(out["track_age_s"][d_rows], [0, 2.5, 5, 7.5])
    assert list(out)[: list(out).index("track_id") + 1][-2:] == ["object_id", "track_id"]


def test_without_gap_closing_the_vanishing_disc_gets_a_second_track():
    table, truth = crossing_movie()
    out = track_table(table, TrackingConfig(max_distance=10, max_gap=0)).table
    assert len(identities(out["track_id"], truth)[3]) == 2
    assert "gap-closed" not in set(out["track_status"])


def test_max_distance_is_a_hard_limit():
    table, truth = crossing_movie()  # A and B move 6 px per frame
    out = track_table(table, TrackingConfig(max_distance=5.5)).table
    assert len(identities(out["track_id"], truth)[1]) == 12  # a new track every frame


def test_area_cost_resolves_what_position_alone_gets_wrong():
    # A big disc and a small one swap to near each other's old positions in one frame.
    frames = [[(1, (40, 40), 6), (2, (60, 40), 2)], [(1, (58, 40), 6), (2, (42, 40), 2)]]
    table, truth = movie_table(frames)
    position_only = track_table(table, TrackingConfig(max_distance=40)).table
    assert any(len(s) > 1 for s in identities(position_only["track_id"], truth).values())
    with_area = track_table(table, TrackingConfig(max_distance=40, area_weight=20)).table
    assert all(len(s) == 1 for s in identities(with_area["track_id"], truth).values())


def test_class_constraint_forbids_links_between_classes():
    # A (class 1) ends in frame 2 where B (class 2) starts right beside it.
    frames = [[(1, (50, 50), 4)], [(1, (50, 52), 4)], [(2, (50, 54), 4)], [(2, (50, 56), 4)]]
    table, truth = movie_table(frames, classes={1: 1, 2: 2})
    free = track_table(table, TrackingConfig(max_distance=10)).table
    assert len(set(free["track_id"])) == 1
    strict = track_table(table, TrackingConfig(max_distance=10, same_class=True)).table
    assert identities(strict["track_id"], truth) == {1: {1}, 2: {2}}


def test_division_gives_two_daughter_tracks_with_the_mother_as_parent():
    frames = [[(1, (60, 60), 6)] for _ in range(4)]
    frames += [[(2, (60, 52), 4), (3, (60, 68), 4)] for _ in range(3)]
    table, truth = movie_table(frames)
    out = track_table(table, TrackingConfig(max_distance=12, divisions=True)).table
    found = identities(out["track_id"], truth)
    mother = next(iter(found[1]))
    daughters = found[2] | found[3]
    assert len(daughters) == 2 and mother not in daughters
    first = out["t"] == 4
    assert set(out["parent_track_id"][first]) == {mother}
    assert set(out["track_status"][first]) == {"divided"}
    assert set(out["lineage_id"]) == {mother}  # mother and daughters: one family tree


def test_wide_export_has_one_column_per_track_with_gaps_empty():
    table, truth = crossing_movie()
    out = track_table(table, TrackingConfig(max_distance=10, max_gap=1)).table
    wide = wide_table(out, "area")
    assert list(wide["t"]) == list(range(12))
    assert np.allclose(wide["time_s"], 2.5 * np.arange(12))
    c_track = int(out["track_id"][truth == 3][0])
    column = wide[f"track_{c_track}"]
    c_area = out["area"][truth == 3]
    assert np.isnan(column[5]) and np.allclose(np.delete(column, 5), c_area)
    assert len([k for k in wide if k.startswith("track_")]) == 4


def test_movies_are_tracked_separately_and_bad_tables_say_why():
    table, truth = crossing_movie()
    two = {k: np.concatenate([v, v]) for k, v in table.items()}
    two["image"] = np.array(["a.tif"] * len(truth) + ["b.tif"] * len(truth), dtype=object)
    out = track_table(two, TrackingConfig(max_distance=10, max_gap=1)).table
    assert not set(out["track_id"][: len(truth)]) & set(out["track_id"][len(truth):])
    with pytest.raises(TrackingError, match="'t'"):
        track_table({k: v for k, v in table.items() if k != "t"})
    with pytest.raises(TrackingError, match="centroid_x"):
        track_table({k: v for k, v in table.items() if k != "centroid_x"})


def test_overlap_cost_is_one_minus_bounding_box_iou_and_tracks_the_movie():
    from guv_app.services.tracking.costs import OverlapCost

    a = np.array([3.0, 4.0, 0, 0, 10, 10])  # y, x, then bbox y0, x0, y1, x1
    b = np.array([0.0, 0.0, 5, 5, 15, 15])  # IoU = 25 / 175
    assert OverlapCost(7.0)(a, b) == pytest.approx(25 + (7.0 * (1 - 1 / 7)) ** 2)
    table, truth = crossing_movie()
    out = track_table(table, TrackingConfig(max_distance=12, max_gap=1, overlap_weight=4)).table
    assert all(len(s) == 1 for s in identities(out["track_id"], truth).values())


def test_rows_without_position_or_time_stay_untracked_and_empty_tables_work():
    table, truth = crossing_movie()
    table = {k: np.asarray(v, dtype=np.float64) if k in ("t", "centroid_x") else v
             for k, v in table.items()}
    table["t"][0] = np.nan
    table["centroid_x"][1] = np.nan
    out = track_table(table, TrackingConfig(max_distance=10, max_gap=1)).table
    assert list(out["track_status"][:2]) == ["untracked", "untracked"]
    assert list(out["track_id"][:2]) == [0, 0]
    assert (out["track_id"][2:] > 0).all()
    empty = {k: v[:0] for k, v in table.items()}
    result = track_table(empty)
    assert result.n_tracks == 0 and len(result.table["track_id"]) == 0
    with pytest.raises(TrackingError, match="whole frame numbers"):
        track_table({**table, "t": table["t"] + 0.5})
