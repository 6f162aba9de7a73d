"""Objects of two channels' label sets at the same places are tracked apart: a track never
jumps from one channel's set to the other's."""

from __future__ import annotations

import numpy as np

from guv_app.services.tracking import track_table


def test_each_label_channel_is_its_own_movie():
    rows = []  # channel 0's and channel 1's objects trade places every frame
    for t in range(4):
        x0, x1 = (20.0, 24.0) if t % 2 == 0 else (24.0, 20.0)
        rows += [(t, 0, 20.0, x0, 100.0), (t, 1, 20.0, x1, 100.0), (t, 0, 60.0, 60.0, 100.0)]
    t, ch, cy, cx, area = (np.array(v) for v in zip(*rows, strict=True))
    table = {"image": np.full(len(t), "a.tif", dtype=object), "t": t.astype(np.int64),
             "label_channel": ch.astype(np.int64), "object_id": np.arange(1, len(t) + 1),
             "centroid_y": cy, "centroid_x": cx, "area": area}
    result = track_table(table)
    tracks = result.table["track_id"]
    assert result.n_tracks == 3
    for track in np.unique(tracks):
        assert len(np.unique(ch[tracks == track])) == 1  # one channel per track
        assert sorted(t[tracks == track].tolist()) == [0, 1, 2, 3]
