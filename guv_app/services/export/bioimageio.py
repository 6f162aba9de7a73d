"""Export a model as a BioImage.IO model package (spec v0.5, TorchScript weights).

What goes in the zip:

* ``weights.torchscript`` -- the network traced on one 256 x 256 tile with upstream SAM
  attention (plain matmul/softmax, so any PyTorch >= 1.10 consumer can run it: deepImageJ,
  ilastik, bioimageio.core, BioEngine). TorchScript carries its own architecture, so the
  ``tiny`` and ``vit_b`` backbones travel as well as vit_l.
* input ``raw`` (batch, channel[3], y[256], x[256]) float32 with ``scale_range`` 1-99th
  percentile per channel -- Cellpose's ``normalize_img``; outputs ``flows`` (dY, dX, cellprob
  logit: what Cellpose's dynamics turn into instance masks) and, for class models,
  ``class_logits`` (background first).
* test input/output tensors cut from the model's own validation image, a cover made from a
  prediction overlay of that image, ``doc.md`` (training data, metrics, intended use,
  classes, lineage) and our ``meta.json`` as an attachment (read back by import).
* ``config.multicellpose``: backbone, classes with colours, channels, parent and training
  data (paths + sha256) from meta.json.

Upstream ``cellpose.export`` (4.2) still describes the Cellpose 3 network (``resnet_torch.py``,
2 input channels, a 3-value forward); its pieces do not fit CP4, so this module uses the same
``bioimageio.spec`` v0.5 classes directly. Before the package is moved to its final name it is
validated by ``bioimageio.spec`` and run by ``bioimageio.core.test_model``; a failure leaves
nothing behind.
"""

from __future__ import annotations

import getpass
import json
import logging
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guv_app.services.export.errors import ExportError
from guv_app.services.export.package_docs import CITATIONS, cover_png, doc_markdown, package_config

log = logging.getLogger(__name__)

TILE = 256  # CPSAM's position embedding is fixed to 256 px tiles
DEFAULT_LICENSE = "CC-BY-4.0"
WEIGHTS_NAME = "weights.torchscript"
META_ATTACHMENT = "multicellpose_meta.json"
@dataclass
class PackageInfo:
    """What a user may say about the package; empty values get the defaults documented."""

    authors: list[str] = field(default_factory=list)  # default: the system user name
    license: str | None = None  # SPDX id, default CC-BY-4.0
    version: str = "0.1.0"
    description: str = ""  # default: from meta.json
    tags: list[str] = field(default_factory=list)


@dataclass
class BioImageIOExport:
    path: Path
    model_name: str
    format_version: str
    weights_formats: list[str]
    validation: str  # "passed" / "valid-format" ...
    test: str  # "passed" / "skipped"


def _validation_image(meta, images: Path | None) -> tuple[np.ndarray, Path]:
    """(C, Y, X) plane of the first validation image in meta.json (or of ``images``)."""
    import cellpose_io
    from guv_app.paths import package_data_dir
    from guv_app.services.datasets.discovery import find_labelled_images

    files = ((meta.extra.get("dataset") or {}).get("files")) or []
    candidates = [Path(f["image"]) for f in files if f.get("role") == "val"]
    candidates += [Path(f["image"]) for f in files if f.get("role") != "val"]
    if images is not None:
        report = find_labelled_images(images)
        candidates = [p.image for p in report.pairs] + (
            [p for p in sorted(Path(images).iterdir()) if cellpose_io.is_image_file(p)]
            if Path(images).is_dir() else [Path(images)])
    if images is None:
        # no training record (imported model) or its images are gone: the bundled sample
        candidates.append(package_data_dir() / "sample.png")
    for path in candidates:
        if path.is_file():
            if path.parent == package_data_dir():
                log.warning("model %s: no training images found, test tensors and cover come "
                            "from the bundled sample", meta.name)
            with cellpose_io.read_image(path) as image:
                return image.plane(), path
    raise ExportError(
        f"{images if images is not None else meta.name}: no readable example image "
        f"({len(candidates)} candidates); give a folder of example images with --images"
    )


def _tile(plane: np.ndarray, channels) -> np.ndarray:
    """Centre TILE x TILE crop (zero-padded when smaller) of the selected channels."""
    from guv_app.services.engine.inference import prepare_image

    x = prepare_image(plane, channels).transpose(2, 0, 1)  # (3, Y, X)
    _, ly, lx = x.shape
    out = np.zeros((3, TILE, TILE), np.float32)
    y0, x0 = max(0, (ly - TILE) // 2), max(0, (lx - TILE) // 2)
    crop = x[:, y0:y0 + TILE, x0:x0 + TILE]
    out[:, : crop.shape[1], : crop.shape[2]] = crop
    return out


def _normalise(raw: np.ndarray) -> np.ndarray:
    """What the package's ``scale_range`` preprocessing does: 1-99th percentile per channel."""
    lo = np.percentile(raw, 1, axis=(1, 2), keepdims=True)
    hi = np.percentile(raw, 99, axis=(1, 2), keepdims=True)
    return ((raw - lo) / (hi - lo + 1e-6)).astype(np.float32)


def _wrapper_class():
    import torch

    class BioImageIOCellposeSAM(torch.nn.Module):
        """Tensor-only forward for consumers: flows (+ class logits), no style vector."""

        def __init__(self, net, n_cls: int) -> None:
            super().__init__()
            self.net = net
            self.n_cls = n_cls

        def forward(self, x):
            y = self.net(x)[0]
            if self.n_cls:
                return y[:, -3:], y[:, : self.n_cls]
            return y[:, -3:]

    return BioImageIOCellposeSAM


def trace_network(net, n_cls: int, example: np.ndarray):
    """TorchScript of ``net`` (a copy, upstream attention) traced on ``example`` (B,3,256,256)."""
    import copy

    import torch

    from guv_app.services.engine.attention import use_fast_attention

    net = copy.deepcopy(net).float().eval()
    use_fast_attention(net.encoder, False)  # portable ops only in the traced graph
    wrapper = _wrapper_class()(net, n_cls).eval()
    with torch.no_grad(), warnings.catch_warnings():
        # SAM's relative-position code turns tensor sizes into Python ints: constant for the
        # fixed 256 px tile the package declares, which is what the tracer warns about.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is "deprecated" but current
        traced = torch.jit.trace(wrapper, torch.from_numpy(example), check_trace=False)
    return traced


def export_bioimageio(model: str | Path, out: str | Path, *, info: PackageInfo | None = None,
                      overwrite: bool = False, images: Path | None = None,
                      run_test: bool = True) -> BioImageIOExport:
    """Write ``model`` as a BioImage.IO package ``out`` (a ``.zip``), validated and tested.

    Raises :class:`ExportError` when ``out`` exists (without ``overwrite``), when no example
    image is available, or when validation / the model test fails (message names the check).
    """
    import torch

    from guv_app.services.export.bioimageio_compat import ensure_bioimageio_compat

    ensure_bioimageio_compat()
    from bioimageio.spec import save_bioimageio_package
    from bioimageio.spec.model import v0_5 as bio

    from guv_app.services.engine.inference import SegmentParams, segment
    from guv_app.services.engine.loading import load_model
    from guv_app.services.engine.registry import _json_ready

    info = info or PackageInfo()
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise ExportError(f"{out}: a BioImage.IO package is a .zip file (use NAME.zip)")
    if out.exists() and not overwrite:
        raise ExportError(f"{out}: already exists (choose another name or allow overwriting)")
    loaded = load_model(model, device="cpu")
    meta, net = loaded.meta, loaded.net
    plane, image_path = _validation_image(meta, images)
    raw = _tile(plane, meta.channels)[np.newaxis]
    x = _normalise(raw[0])[np.newaxis]
    traced = trace_network(net, meta.n_class_logits, x)
    with torch.no_grad():
        outputs = traced(torch.from_numpy(x))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    result = segment(plane, loaded, SegmentParams(device="cpu"))

    work = Path(tempfile.mkdtemp(prefix=".bioimageio-", dir=out.parent))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.jit.save(traced, str(work / WEIGHTS_NAME))
        np.save(work / "test_input.npy", raw)
        np.save(work / "test_flows.npy", outputs[0].numpy())
        if meta.n_classes:
            np.save(work / "test_class_logits.npy", outputs[1].numpy())
        cover_png(plane, result, meta, work / "cover.png")
        (work / "doc.md").write_text(doc_markdown(meta, info, image_path, result.n_objects, TILE),
                                     encoding="utf-8")
        (work / META_ATTACHMENT).write_text(
            json.dumps(_json_ready(meta.to_dict()), indent=2), encoding="utf-8")

        def space(axis: str):
            return bio.SpaceOutputAxis(
                id=bio.AxisId(axis), size=bio.SizeReference(
                    tensor_id=bio.TensorId("raw"), axis_id=bio.AxisId(axis)))

        raw_descr = bio.InputTensorDescr(
            id=bio.TensorId("raw"),
            description="one network tile; channels as listed in doc.md",
            axes=[bio.BatchAxis(),
                  bio.ChannelAxis(channel_names=[bio.Identifier(f"c{i}") for i in range(3)]),
                  bio.SpaceInputAxis(id=bio.AxisId("y"), size=TILE),
                  bio.SpaceInputAxis(id=bio.AxisId("x"), size=TILE)],
            test_tensor=bio.FileDescr(source=work / "test_input.npy"),
            data=bio.IntervalOrRatioDataDescr(type="float32"),
            preprocessing=[bio.ScaleRangeDescr(kwargs=bio.ScaleRangeKwargs(
                axes=[bio.AxisId("y"), bio.AxisId("x")], min_percentile=1.0,
                max_percentile=99.0, eps=1e-6))],
        )
        outputs_descr = [bio.OutputTensorDescr(
            id=bio.TensorId("flows"),
            description="Cellpose flows dY, dX and cell-probability logit",
            axes=[bio.BatchAxis(), bio.ChannelAxis(channel_names=[
                bio.Identifier("flow_y"), bio.Identifier("flow_x"), bio.Identifier("cellprob")]),
                space("y"), space("x")],
            test_tensor=bio.FileDescr(source=work / "test_flows.npy"),
        )]
        if meta.n_classes:
            outputs_descr.append(bio.OutputTensorDescr(
                id=bio.TensorId("class_logits"),
                description="class logits, background first: " + ", ".join(meta.class_names),
                axes=[bio.BatchAxis(), bio.ChannelAxis(channel_names=[
                    bio.Identifier(f"class{i}") for i in range(meta.n_class_logits)]),
                    space("y"), space("x")],
                test_tensor=bio.FileDescr(source=work / "test_class_logits.npy"),
            ))
        authors = info.authors or [getpass.getuser() or "MultiCellPose user"]
        descr = bio.ModelDescr(
            name=meta.name,
            description=(info.description or meta.description
                         or "Cellpose-SAM-family instance segmentation model")[:1000],
            authors=[bio.Author(name=a) for a in authors],
            cite=[bio.CiteEntry(text=t, doi=bio.Doi(d)) for t, d in CITATIONS],
            license=bio.LicenseId(info.license or DEFAULT_LICENSE),
            covers=[bio.FileDescr(source=work / "cover.png")],
            documentation=bio.FileDescr(source=work / "doc.md"),
            attachments=[bio.FileDescr(source=work / META_ATTACHMENT)],
            tags=sorted({"cellpose", "cellpose-sam", "instance-segmentation", "2d",
                         "multicellpose", meta.backbone, *info.tags}),
            version=bio.Version(info.version),
            inputs=[raw_descr],
            outputs=outputs_descr,
            weights=bio.WeightsDescr(torchscript=bio.TorchscriptWeightsDescr(
                source=work / WEIGHTS_NAME,
                pytorch_version=bio.Version(torch.__version__.split("+")[0]))),
            config=bio.Config(**package_config(meta)),
        )
        package = work / "package.zip"
        save_bioimageio_package(descr, output_path=package)
        validation, test = _check(package, run_test)
        package.replace(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BioImageIOExport(path=out, model_name=meta.name,
                            format_version=str(descr.format_version),
                            weights_formats=["torchscript"], validation=validation, test=test)


def _check(package: Path, run_test: bool) -> tuple[str, str]:
    """Validate with bioimageio.spec and run bioimageio.core's model test; raise on failure."""
    from bioimageio.spec import load_description

    loaded = load_description(package)
    summary = loaded.validation_summary
    if summary.status not in ("passed", "valid-format"):
        raise ExportError(f"{package.name}: bioimageio.spec validation failed: "
                          f"{_first_error(summary)}")
    if not run_test:
        return str(summary.status), "skipped"
    from bioimageio.core import test_model

    tested = test_model(package)
    if tested.status != "passed":
        raise ExportError(f"{package.name}: bioimageio.core model test failed: "
                          f"{_first_error(tested)}")
    return str(summary.status), str(tested.status)


def _first_error(summary) -> str:
    for detail in getattr(summary, "details", []):
        for err in getattr(detail, "errors", []) or []:
            return f"{detail.name}: {getattr(err, 'msg', err)}"[:300]
    return str(getattr(summary, "status", "failed"))
