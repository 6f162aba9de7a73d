"""The document edits its own copy: the array it was opened with never changes."""

from __future__ import annotations

import numpy as np

from guv_app.services.annotation import LabelDocument


def test_edits_and_undo_leave_the_callers_array_alone():
    masks = np.zeros((40, 40), np.uint32)  # already the document's dtype: no implicit copy
    masks[5:15, 5:15] = 1
    masks[20:30, 20:30] = 2
    kept = masks.copy()
    doc = LabelDocument(masks)
    doc.delete([1])
    doc.paint(np.array([[30.0, 5.0], [35.0, 5.0]]), 2.0)
    assert np.array_equal(masks, kept)
    doc.undo()
    doc.reset(masks)
    doc.merge([1, 2])
    assert np.array_equal(masks, kept)
