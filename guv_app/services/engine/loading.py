"""Load a model by name or path into a ready-to-run network (cached per device).

Names are resolved in this order: built-in (``cpsam``, ``tiny``), trained model in the
registry, then a filesystem path (a model folder with ``meta.json``, or a bare weights file
such as an upstream Cellpose-SAM checkpoint or our ``weights.pt``).

Weights are loaded with explicit key checks: a pretrained 3-channel (flows + cellprob)
checkpoint fills the encoder and the standard ``out``/``W2`` readout bit for bit and leaves
only the class head fresh; anything else missing or unexpected (e.g. unmerged LoRA keys) is
an error rather than silently random weights.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from guv_app.services.engine import pages, registry
from guv_app.services.engine.errors import ModelLoadError, ModelNotFoundError, load_error_line
from guv_app.services.engine.finetune import apply_finetune, is_finetune, merged_path
from guv_app.services.engine.meta import ModelMeta
from guv_app.services.engine.network import build_network, infer_architecture
from guv_app.services.engine.weights import ensure_cpsam_weights
from guv_app.services.progress import Progress

log = logging.getLogger(__name__)

_CACHE: OrderedDict[tuple, LoadedModel] = OrderedDict()
_CACHE_SIZE = 2  # a vit_l is ~1.2 GB: keep few
_CACHE_LOCK = threading.Lock()
_CLASS_PREFIXES = ("class_out.", "class_W2")
_LOADS = {"count": 0}  # networks built by load_model in this process (cache misses)


@dataclass
class LoadedModel:
    """A network in eval mode on ``device`` with its description.

    Cached instances are shared: do not train ``net`` in place; call
    ``load_model(..., cache=False)`` for a private copy.
    """

    net: Any
    meta: ModelMeta
    device: Any
    source: str = ""


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"``: cuda > mps > cpu; anything else is passed to ``torch.device``."""
    if isinstance(device, torch.device):
        return device
    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r} (use auto, cpu, cuda, cuda:N or mps)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but no CUDA GPU is available")
    mps = getattr(torch.backends, "mps", None)
    if dev.type == "mps" and not (mps is not None and mps.is_available()):
        raise ValueError(f"device {device!r} requested but Apple MPS is not available")
    return dev


def read_state_dict(path: str | Path, *, mmap: bool = True) -> dict[str, torch.Tensor]:
    """``torch.load`` a state dict safely (weights only) with a clear error on bad files.

    Memory-mapped when the file format allows it, so loading vit_l weights does not hold a
    second 1.2 GB copy in memory while they are copied into the network.
    """
    path = Path(path)
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)  # legacy format
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{path}: weights file not found") from exc
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelLoadError(load_error_line(path, exc)) from None
    if not isinstance(state, dict) or not state:
        raise ModelLoadError(f"{path}: not a state dict")
    if next(iter(state)).startswith("module."):  # saved from DataParallel
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def _fitting_state(net: torch.nn.Module, state: dict) -> tuple[dict, dict]:
    """(``state`` without class-head tensors that do not fit ``net``, ``net``'s own state)."""
    own = net.state_dict()
    state = dict(state)
    for key in [k for k in state if k.startswith(_CLASS_PREFIXES)]:
        if key not in own or own[key].shape != state[key].shape:
            state.pop(key)
    return state, own


def load_state_into(net: torch.nn.Module, state: dict, *, source: str = "weights",
                    assign: bool = False) -> None:
    """Load ``state`` into ``net``; only the class head may be missing, nothing unexpected.

    A class head of a different size (e.g. a 2-class parent into a 3-class child) is
    dropped and left fresh. ``assign`` makes the network hold ``state``'s tensors instead
    of copying them (``load_state_dict(assign=True)``: no second copy of the weights; the
    way to fill a skeleton built on the meta device).
    """
    state, own = _fitting_state(net, state)
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if mismatched:
        raise ModelLoadError(
            f"{source}: weights do not fit the {getattr(net, 'arch', '?')} network "
            f"(shape mismatch in {', '.join(mismatched[:4])})"
        )
    result = net.load_state_dict(state, strict=False, assign=assign)
    missing = [k for k in result.missing_keys if not k.startswith(_CLASS_PREFIXES)]
    if missing or result.unexpected_keys:
        raise ModelLoadError(
            f"{source}: weights do not match the network (missing: {missing[:4]}, "
            f"unexpected: {result.unexpected_keys[:4]})"
        )


def base_state(
    meta: ModelMeta,
    folder: Path | None,
    *,
    weights_path: str | Path | None = None,
    progress: Progress | None = None,
    mmap: bool = True,
) -> dict | None:
    """The full state dict that goes into a freshly built network for ``meta`` (None for
    the seeded ``tiny``): the cpsam file, a model's weights file, a fine-tune's merged
    weights or else its PARENT's weights (the fine-tune's own tensors come after).

    Raises ModelLoadError (unreadable or missing files, unknown kind) and
    WeightsUnavailableError (cpsam weights neither found nor downloadable).
    """
    weights = meta.weights or {}
    kind = weights.get("kind", "state_dict")
    if kind == "seeded":
        return None
    if kind == "cpsam":
        return read_state_dict(ensure_cpsam_weights(weights_path, progress=progress),
                               mmap=mmap)
    if kind == "file":
        return read_state_dict(weights["path"], mmap=mmap)
    if folder is None:
        raise ModelLoadError(f"model {meta.name!r}: weights kind {kind!r} needs a model folder")
    if kind == "state_dict":
        return read_state_dict(folder / weights.get("file", registry.WEIGHTS_FILE), mmap=mmap)
    if is_finetune(weights):
        merged = merged_path(folder, weights)
        if merged is not None:
            return read_state_dict(merged, mmap=mmap)
        if not meta.parent:
            raise ModelLoadError(f"model {meta.name!r}: a fine-tune without a parent model")
        from guv_app.services.engine.lineage import check_parent

        check_parent(meta)  # the adapter only makes sense on the weights it was trained on
        parent_meta, parent_folder, _ = _resolve(meta.parent)
        if is_finetune(parent_meta.weights) and merged_path(parent_folder, parent_meta.weights) is None:
            # a fine-tune of a fine-tune: its weights only exist once it is built
            return _load_uncached(meta.parent, progress=progress).net.state_dict()
        state = base_state(parent_meta, parent_folder, progress=progress, mmap=mmap)
        if state is None:  # a seeded parent (tiny): its weights are its seeded build
            state = build_network(parent_meta.backbone, parent_meta.n_classes).state_dict()
        return state
    raise ModelLoadError(f"model {meta.name!r}: unknown weights kind {kind!r}")


def build_from_meta(
    meta: ModelMeta,
    folder: Path | None = None,
    *,
    weights_path: str | Path | None = None,
    progress: Progress | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.nn.Module:
    """A CPU network for ``meta`` with its weights loaded (eval mode), in ``dtype``.

    One straight path: weights located and read (:func:`base_state`; cpsam is found or
    downloaded before vit_l is built) -> network built -> weights loaded -> a fine-tune's
    adapter applied (:func:`guv_app.services.engine.finetune.apply_finetune`) -> cast.

    Peak memory: on Linux the file is memory-mapped and each tensor copied (float32) or
    cast into the network's own memory, its file pages handed back once done
    (:mod:`guv_app.services.engine.pages`: the network plus one tensor; the loaded network
    never depends on the file afterwards); elsewhere the file is read into memory and the
    network holds (float32) or casts those tensors, each let go once cast (at most the
    file's size, never file + network). A fine-tune's adapter is merged in float32 first.
    """
    adapter = is_finetune(meta.weights or {}) and merged_path(folder, meta.weights) is None
    # the file's own float dtype need not be float32 (a float64 or float16 checkpoint):
    # every float tensor is cast to what was asked for (an adapter is merged in float32)
    target = torch.float32 if adapter else dtype
    # mapped only where each tensor's pages can be handed back once copied (Linux): a
    # mapping that cannot is read into memory instead (one copy of the file at any time)
    state = base_state(meta, folder, weights_path=weights_path, progress=progress,
                       mmap=pages.AVAILABLE)
    if state is not None:
        pages.cast_floats(state, target)
    net = _network_holding(meta, state, source=f"weights of model {meta.name!r}")
    del state  # the network holds the only reference to the weights now
    if adapter:
        net = apply_finetune(net, folder, meta.weights)
    if dtype != torch.float32:
        net.dtype = dtype  # upstream BaseModel's setter: casts what is not cast yet
    return net.eval()


def _network_holding(meta: ModelMeta, state: dict | None, *, source: str) -> torch.nn.Module:
    """The network of ``meta`` holding ``state``'s tensors.

    When ``state`` fills every tensor of the network, the network is built on the meta
    device (no random initialisation: building vit_l that way took ~3 s of a CPU and 1.2 GB
    that the weights then overwrote) and takes the state's tensors as they are
    (``assign``), then copies what still lies in a memory-mapped file into its own memory
    (:func:`pages.own_memory`: no second copy of the file at any time). Otherwise (a fresh
    class head, or no state: the seeded ``tiny``) it is built for real and the state copied in.
    """
    if state is not None:
        with torch.device("meta"):
            skeleton = build_network(meta.backbone, meta.n_classes)
        fitting, own = _fitting_state(skeleton, state)
        if set(fitting) == set(own):
            load_state_into(skeleton, fitting, source=source, assign=True)
            pages.own_memory(skeleton)
            return skeleton.eval()
    net = build_network(meta.backbone, meta.n_classes)
    if state is not None:
        load_state_into(net, state, source=source)
    return net


def describe_model(name_or_path: str | Path) -> ModelMeta:
    """The description of a built-in, registry model, model folder or weights file (a
    weights file is read once to find its architecture)."""
    return _resolve(name_or_path)[0]


def _resolve(name_or_path: str | Path) -> tuple[ModelMeta, Path | None, str]:
    """(meta, folder, cache identity) for a name or a path."""
    name = str(name_or_path)
    if name in registry.BUILTIN_NAMES:  # packaged built-ins have a folder, cpsam/tiny none
        return registry.get_model_meta(name), registry.builtin_folder(name), f"builtin:{name}"
    try:
        meta = registry.get_model_meta(name)
        folder = registry.model_dir(name)
        return meta, folder, f"{folder}:{_mtime(folder)}"
    except ModelNotFoundError:
        pass
    path = Path(name).expanduser()
    if path.is_dir():
        return registry.read_meta(path), path, f"{path.resolve()}:{_mtime(path)}"
    if path.is_file():
        backbone, n_classes = _file_architecture(path)
        meta = ModelMeta(name=path.stem, backbone=backbone, n_classes=n_classes,
                         kind="trained", description=f"weights file {path}",
                         weights={"kind": "file", "path": str(path)})
        return meta, None, f"{path.resolve()}:{_mtime(path)}"
    known = ", ".join(m.name for m in registry.list_models())
    raise ModelNotFoundError(f"no model or file named {name!r} (models: {known})")


_ARCHITECTURES: dict[tuple, tuple[str, int]] = {}  # (path, mtime_ns, size) -> architecture


def _file_architecture(path: Path) -> tuple[str, int]:
    """(backbone, n_classes) of a weights file, read once per file version: every plane of
    a batch resolves its model by name, and unpickling a vit_l file's index costs ~0.2 s."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _ARCHITECTURES:
        try:
            _ARCHITECTURES[key] = infer_architecture(read_state_dict(path))
        except ValueError as exc:
            raise ModelLoadError(f"{path}: {exc}") from exc
    return _ARCHITECTURES[key]


def _mtime(path: Path) -> float:
    target = path / registry.META_FILE if path.is_dir() else path
    try:
        return target.stat().st_mtime
    except OSError:
        return 0.0


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """``"float32"``/``"bfloat16"`` (or a torch dtype) -> torch dtype; None: float32.

    Raises ValueError for any other dtype (float16 is not offered: Cellpose-SAM's
    activations overflow it)."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        if dtype in DTYPES.values():
            return dtype
    elif str(dtype) in DTYPES:
        return DTYPES[str(dtype)]
    raise ValueError(f"unknown dtype {dtype!r} (use {' or '.join(DTYPES)})")


def _load_uncached(name_or_path, *, weights_path=None, progress=None,
                   dtype: torch.dtype = torch.float32, resolved=None) -> LoadedModel:
    meta, folder, ident = resolved or _resolve(name_or_path)
    net = build_from_meta(meta, folder, weights_path=weights_path, progress=progress,
                          dtype=dtype)
    return LoadedModel(net=net, meta=meta, device=torch.device("cpu"), source=ident)


def load_model(
    name_or_path: str | Path,
    device: str | torch.device = "auto",
    *,
    cache: bool = True,
    weights_path: str | Path | None = None,
    progress: Progress | None = None,
    dtype: str | torch.dtype = "float32",
) -> LoadedModel:
    """Load a model (built-in, registry name, model folder or weights file) onto ``device``.

    The network is in eval mode with its weights in ``dtype`` (``"float32"``, the default,
    for training and export; ``"bfloat16"`` halves the weights' memory and is what
    inference uses by default, as upstream Cellpose's ``use_bfloat16=True``).
    ``weights_path`` points ``cpsam`` at a user's weights file; ``progress`` reports a
    weights download. With ``cache`` the same ``LoadedModel`` is returned for repeated
    calls (per device and dtype) until the model's files change.
    """
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    resolved = _resolve(name_or_path)
    meta, _, ident = resolved
    key = (ident, str(dev), str(weights_path or ""), str(torch_dtype))
    if cache:
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]
    loaded = _load_uncached(name_or_path, weights_path=weights_path, progress=progress,
                            dtype=torch_dtype, resolved=resolved)
    with _CACHE_LOCK:
        _LOADS["count"] += 1
    loaded.net = loaded.net.to(dev).eval()
    loaded.device = dev
    if cache:
        with _CACHE_LOCK:
            _CACHE[key] = loaded
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    log.info("loaded model %s (%s, %d classes) on %s in %s", meta.name, meta.backbone,
             meta.n_classes, dev, str(torch_dtype).removeprefix("torch."))
    return loaded


def load_count() -> int:
    """How many networks ``load_model`` built in this process (cache hits not counted).

    A Dask worker reports it to show that a model is loaded once per worker, not per task.
    """
    return _LOADS["count"]


def clear_cache() -> None:
    """Forget cached networks (frees their memory once no caller holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()
