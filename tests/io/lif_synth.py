"""Write a minimal Leica LIF project (one image) the way LAS X lays it out.

Used for scan modes no sample file has (XZ, XT, XZT line scans): an XML header (UTF-16)
describing the dimensions, then one memory block with the pixels, C planes per
non-displayed index (channel planes innermost after the two displayed dimensions).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

MAGIC, MEM = b"\x70\x00\x00\x00", b"\x2a"


def _block(payload_len: int, description: str) -> bytes:
    text = description.encode("utf-16-le")
    return (MAGIC + struct.pack("<I", 0) + MEM + struct.pack("<I", payload_len) + MEM
            + struct.pack("<I", len(description)) + text)


def write_lif(path: Path, name: str, dims: list[tuple[int, int, float]], data: np.ndarray) -> Path:
    """``dims``: (Leica DimID, size, length in m) in file order (fastest first).

    ``data`` uint8 with shape (*reversed non-display sizes, C, second, first).
    """
    data = np.ascontiguousarray(data, dtype=np.uint8)
    n_channels = data.shape[-3]
    plane = dims[0][1] * dims[1][1]
    channels = "".join(
        f'<ChannelDescription DataType="0" ChannelTag="0" Resolution="8" LUTName="Gray" '
        f'BytesInc="{c * plane}" />' for c in range(n_channels))
    inc, descriptions = 1, []
    for k, (dim_id, size, length) in enumerate(dims):
        descriptions.append(
            f'<DimensionDescription DimID="{dim_id}" NumberOfElements="{size}" Origin="0" '
            f'Length="{length}" Unit="{"s" if dim_id == 4 else "m"}" BitInc="0" '
            f'BytesInc="{inc}" />')
        inc *= size * (n_channels if k == 1 else 1)
    xml = (
        '<LMSDataContainerHeader Version="2"><Element Name="project"><Data><Experiment />'
        '</Data><Memory Size="0" MemoryBlockID="MemBlock_0" /><Children>'
        f'<Element Name="{name}"><Data><Image><ImageDescription><Channels>{channels}'
        f'</Channels><Dimensions>{"".join(descriptions)}</Dimensions></ImageDescription>'
        f'</Image></Data><Memory Size="{data.nbytes}" MemoryBlockID="MemBlock_1" />'
        '</Element></Children></Element></LMSDataContainerHeader>'
    )
    header = xml.encode("utf-16-le")
    out = MAGIC + struct.pack("<I", 0) + MEM + struct.pack("<I", len(xml)) + header
    out += _block(0, "MemBlock_0")
    out += _block(data.nbytes, "MemBlock_1") + data.tobytes()
    path.write_bytes(out)
    return path
