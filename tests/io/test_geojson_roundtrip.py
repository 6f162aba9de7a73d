"""QuPath GeoJSON: classes, holes, MultiPolygons, pixel-centre rule, and round trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellpose_io import LabelReadError
from cellpose_io.geojson import read_geojson, write_geojson

DATA = Path(__file__).resolve().parents[1] / "data"


def _write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


def _feature(coords, cls=None, kind="Polygon"):
    props = {"objectType": "annotation"}
    if cls is not None:
        props["classification"] = cls
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coords}, "properties": props}


def test_tiny_square_uses_pixel_centres(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        _feature([[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]]),
        _feature([[[3.5, 0.5], [4.4, 0.5], [4.4, 1.4], [3.5, 1.4], [3.5, 0.5]]]),
    ]}
    seg = read_geojson(_write(tmp_path / "sq.geojson", doc), shape=(5, 6))
    assert np.argwhere(seg.masks == 1).tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]
    # Centre (3.5, 0.5) lies on the left/top edges: included; nothing else is.
    assert np.argwhere(seg.masks == 2).tolist() == [[0, 3]]


def test_qupath_classes_holes_and_multipolygons(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        _feature(
            [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[3, 3], [3, 6], [6, 6], [6, 3], [3, 3]]],
            {"name": "Tumor", "color": [200, 0, 0]},
        ),
        _feature(
            [[[[12, 0], [14, 0], [14, 2], [12, 2], [12, 0]]], [[[12, 5], [13, 5], [13, 6], [12, 6], [12, 5]]]],
            {"name": "Stroma", "colorRGB": -16711936},  # old QuPath: packed ARGB, green
            kind="MultiPolygon",
        ),
        _feature([[[15, 8], [17, 8], [17, 10], [15, 10], [15, 8]]], {"name": "Tumor"}),
        _feature([[[18, 0], [19, 0], [19, 1], [18, 1], [18, 0]]]),  # unclassified
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 1]}, "properties": {}},
    ]}
    seg = read_geojson(_write(tmp_path / "q.geojson", doc), shape=(12, 20))
    assert seg.masks.max() == 4  # the point is skipped
    assert seg.class_names == ["background", "Tumor", "Stroma"]
    assert seg.class_colors == [(0, 0, 0), (200, 0, 0), (0, 255, 0)]
    assert seg.classes.tolist() == [0, 1, 2, 1, 0]
    assert (seg.masks == 1).sum() == 100 - 9  # hole removed
    assert seg.masks[4, 4] == 0 and seg.masks[1, 1] == 1
    assert (seg.masks == 2).sum() == 4 + 1  # both parts of one object


def test_known_class_names_keep_their_ids(tmp_path):
    doc = [_feature([[[0, 0], [2, 0], [2, 2], [0, 2]]], {"name": "dead"})]  # bare list, open ring
    seg = read_geojson(_write(tmp_path / "l.json", doc), (4, 4), class_names=["background", "alive", "dead"])
    assert seg.classes.tolist() == [0, 2]
    assert seg.class_names == ["background", "alive", "dead"]


def _iou_per_object(a: np.ndarray, b: np.ndarray) -> list[float]:
    out = []
    for obj in np.unique(a)[1:]:
        mine = a == obj
        ids, counts = np.unique(b[mine], return_counts=True)
        best = ids[np.argmax(counts)]
        other = b == best
        out.append((mine & other).sum() / (mine | other).sum() if best else 0.0)
    return out


@pytest.mark.parametrize("source", ["stardist", "dsb2018"])
def test_masks_to_geojson_to_masks_keeps_objects_and_classes(tmp_path, source):
    if source == "stardist":
        masks = tifffile.imread(DATA / "labelled" / "stardist" / "mask2d.tif")
    else:
        masks = tifffile.imread(sorted((DATA / "labelled" / "dsb2018" / "masks").glob("*.tif"))[1])
    ids = np.unique(masks)[1:]
    classes = np.zeros(int(masks.max()) + 1, np.int32)
    classes[ids] = 1 + ids % 3
    names = ["background", "round", "long", "odd"]
    colors = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]
    out = write_geojson(tmp_path / "objs.geojson", masks, classes, names, colors)
    doc = json.loads(out.read_text())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == len(ids)
    first = doc["features"][0]["properties"]["classification"]
    assert first["name"] in names[1:] and len(first["color"]) == 3
    seg = read_geojson(out, masks.shape)
    assert seg.masks.max() == len(ids)
    ious = _iou_per_object(masks, seg.masks)
    # Exact by construction (edges follow pixel borders); the contract allows one boundary
    # pixel ring, i.e. IoU >= 0.9 per object and mean near 1 - we observe exactly 1.
    assert min(ious) >= 0.9 and np.mean(ious) > 0.99
    assert min(ious) == 1.0
    relabel = np.zeros(int(masks.max()) + 1, np.uint32)
    relabel[ids] = np.arange(1, len(ids) + 1)
    np.testing.assert_array_equal(seg.masks, relabel[masks])
    got = {seg.class_names[c] for c in seg.classes[1:]}
    assert got <= set(names[1:])
    assert [seg.class_names[c] for c in seg.classes[1:]] == [names[c] for c in classes[ids]]
    for c in range(1, 4):
        assert seg.class_colors[seg.class_names.index(names[c])] == colors[c]


def test_object_with_hole_and_two_parts_round_trips(tmp_path):
    masks = np.zeros((20, 20), np.uint32)
    masks[1:9, 1:9] = 2**32 - 1
    masks[3:6, 3:6] = 0
    masks[12:15, 12:15] = 2**32 - 1
    masks[9:11, 9:11] = 7  # diagonal contact with the big object
    out = write_geojson(tmp_path / "h.geojson", masks)
    feats = json.loads(out.read_text())["features"]
    assert [f["geometry"]["type"] for f in feats] == ["Polygon", "MultiPolygon"]
    assert len(feats[1]["geometry"]["coordinates"][0]) == 2  # exterior + hole
    seg = read_geojson(out, masks.shape)
    np.testing.assert_array_equal(seg.masks == 2, masks == 2**32 - 1)
    np.testing.assert_array_equal(seg.masks == 1, masks == 7)


def test_shape_defaults_to_extent_and_overlaps_drop_covered_objects(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        _feature([[[2, 2], [3, 2], [3, 3], [2, 3], [2, 2]]]),
        _feature([[[0, 0], [6, 0], [6, 4], [0, 4], [0, 0]]]),  # covers the first fully
    ]}
    seg = read_geojson(_write(tmp_path / "o.geojson", doc))
    assert seg.masks.shape == (4, 6)
    assert seg.masks.max() == 1 and (seg.masks == 1).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"type": "Topology"}', "unsupported GeoJSON type"),
        ('{"type": "FeatureCollection"}', "without a 'features' list"),
        ('{"type": "FeatureCollection", "features": []}', "contains no polygons"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
         '{"type": "Polygon", "coordinates": [[["a", 1], [2, 2], [3, 3]]]}}]}', "feature 0"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
         '{"type": "LineString", "coordinates": [[0, 0], [2, 2]]}}]}', "LineString"),
    ],
)
def test_bad_geojson_names_file_and_problem(tmp_path, text, message):
    path = tmp_path / "bad.geojson"
    path.write_text(text)
    with pytest.raises(LabelReadError, match=message) as info:
        read_geojson(path, (10, 10))
    assert info.value.path == str(path)


def test_missing_geojson(tmp_path):
    with pytest.raises(LabelReadError, match="file not found"):
        read_geojson(tmp_path / "none.geojson", (4, 4))
