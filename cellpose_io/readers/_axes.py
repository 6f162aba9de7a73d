"""Map a file's own axis letters onto MultiCellPose's T, Z, C, Y, X.

Formats name their axes differently (tifffile: "TZCYXS", "IYX", "QSYX"; czifile: "BSCZYX0";
nrrd: kinds). :class:`AxisPlan` turns any such layout into the contract's axes and tells how to
index one (t, z) plane out of an array-like with the file's own layout, so each reader only has
to say what its letters mean.

Rules: Y and X are required. C and S (RGB samples) become C (several are folded together in
file order). T and Z keep their meaning. Any other axis of size > 1 (tifffile's generic I/Q
page index, positions, tiles...) becomes Z when the file has no Z, else T, else it is folded
into T. Axes of size one are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANNEL_LETTERS = "CS"


@dataclass(frozen=True)
class AxisPlan:
    src_axes: str
    src_shape: tuple[int, ...]
    targets: tuple[str, ...]  # per source axis: "T", "Z", "C", "Y", "X" or "" (dropped)

    @classmethod
    def build(
        cls, src_axes: str, src_shape: tuple[int, ...], extra_to: str = "ZT",
        channel_letters: str = CHANNEL_LETTERS,
    ) -> AxisPlan:
        src_axes = src_axes.upper()
        src_shape = tuple(int(s) for s in src_shape)
        if len(src_axes) != len(src_shape):
            raise ValueError(f"axes {src_axes!r} do not match shape {src_shape}")
        for letter in "YX":
            if src_axes.count(letter) != 1:
                raise ValueError(f"axes {src_axes!r} need exactly one {letter}")
        present = {a for a, n in zip(src_axes, src_shape, strict=True) if n > 1}
        targets: list[str] = []
        for letter, size in zip(src_axes, src_shape, strict=True):
            if letter in "YX":
                targets.append(letter)
            elif size <= 1:
                targets.append("")
            elif letter in channel_letters:
                targets.append("C")
            elif letter in "TZ":
                targets.append(letter)
            else:
                free = [a for a in extra_to if a not in present]
                target = free[0] if free else "T"
                present.add(target)
                targets.append(target)
        return cls(src_axes, src_shape, tuple(targets))

    # -- sizes ----------------------------------------------------------------------------
    def _axes_of(self, target: str) -> list[int]:
        return [i for i, t in enumerate(self.targets) if t == target]

    def size(self, target: str) -> int:
        return int(np.prod([self.src_shape[i] for i in self._axes_of(target)], dtype=np.int64))

    @property
    def axes(self) -> str:
        return "".join(a for a in "TZCYX" if a in "YX" or self.size(a) > 1)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.size(a) for a in self.axes)

    # -- indexing -------------------------------------------------------------------------
    def plane_key(self, t: int, z: int) -> tuple:
        """Index into the source layout selecting plane (t, z) with all C, Y, X kept."""
        key: list[object] = [0] * len(self.src_shape)
        for target, value in (("T", t), ("Z", z)):
            axes = self._axes_of(target)
            if axes:
                idx = np.unravel_index(value, [self.src_shape[i] for i in axes])
                for i, v in zip(axes, idx, strict=True):
                    key[i] = int(v)
        for i, target in enumerate(self.targets):
            if target in "CYX" and target:
                key[i] = slice(None)
        return tuple(key)

    def to_cyx(self, selected: np.ndarray) -> np.ndarray:
        """Turn the array selected by ``plane_key`` into (C, Y, X)."""
        kept = [i for i, t in enumerate(self.targets) if t in ("C", "Y", "X")]
        order = [kept.index(i) for i in self._axes_of("C")]
        order += [kept.index(self._axes_of("Y")[0]), kept.index(self._axes_of("X")[0])]
        arr = np.transpose(selected, order)
        return arr.reshape((self.size("C"), self.size("Y"), self.size("X")))

    def read_plane(self, array, t: int, z: int) -> np.ndarray:
        """Plane (t, z) of an array-like (ndarray, memmap, paged file) in source layout."""
        return self.to_cyx(np.asarray(array[self.plane_key(t, z)]))
