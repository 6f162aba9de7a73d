"""The model registry: built-in models plus one folder per trained model.

Folder format (``paths.models_dir()/<name>/``):

* ``meta.json`` -- ``ModelMeta.to_dict()`` plus any extra keys (training data, metrics...).
  ``meta["weights"]`` says how to load the weights:
  ``{"kind": "state_dict", "file": "weights.pt"}`` (a full ``torch.save``-d state dict) or
  ``{"kind": "lora" | "unfreeze" | "head", ...}``, a fine-tune of ``meta["parent"]``
  (format and loading in ``guv_app.services.engine.finetune``).
* the weights file(s) named there.

No torch here except inside :func:`save_model`, so listing models stays cheap.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cellpose_io.atomic import atomic_write, atomic_write_text, default_mode
from guv_app import paths
from guv_app.services.engine.errors import ModelLoadError, ModelNameError, ModelNotFoundError
from guv_app.services.engine.meta import ModelMeta

log = logging.getLogger(__name__)

META_FILE = "meta.json"
WEIGHTS_FILE = "weights.pt"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


PACKAGED_MODELS_DIR = "models"  # inside ``paths.package_data_dir()``


def packaged_models() -> list[ModelMeta]:
    """Models shipped inside the package (``guv_app/data/models/<name>/``), e.g. the
    ``nuclei-starter``: read-only, listed as built-in, loaded from their folder."""
    root = paths.package_data_dir() / PACKAGED_MODELS_DIR
    found = []
    for folder in sorted(root.glob("*/" + META_FILE)):
        try:
            meta = read_meta(folder.parent)
        except ModelLoadError as exc:
            log.warning("skipping packaged model: %s", exc)
            continue
        meta.kind = "builtin"
        found.append(meta)
    return found


def builtin_folder(name: str) -> Path | None:
    """Folder holding a packaged built-in model's files (None for cpsam/tiny and others)."""
    folder = paths.package_data_dir() / PACKAGED_MODELS_DIR / name
    return folder if name in BUILTIN_NAMES and (folder / META_FILE).is_file() else None


def builtin_models() -> list[ModelMeta]:
    """``cpsam`` (Cellpose-SAM, vit_l, pretrained weights), ``tiny`` (small, seeded), then the
    packaged models (:func:`packaged_models`)."""
    return [
        ModelMeta(
            name="cpsam",
            backbone="vit_l",
            kind="builtin",
            description="Cellpose-SAM (vit_l) with the published pretrained weights",
            weights={"kind": "cpsam"},
        ),
        ModelMeta(
            name="tiny",
            backbone="tiny",
            kind="builtin",
            description="small randomly initialised backbone (fixed seed): demos, tests, "
            "fine-tuning on a CPU without downloading weights",
            weights={"kind": "seeded"},
        ),
        *packaged_models(),
    ]


def model_dir(name: str) -> Path:
    """Folder of a trained model (whether or not it exists yet)."""
    validate_name(name)
    return paths.models_dir() / name


def validate_name(name: str) -> str:
    """Raise :class:`ModelNameError` unless ``name`` is usable as a folder name."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ModelNameError(
            f"invalid model name {name!r}: use 1-100 letters, digits, '.', '_', '+' or '-', "
            "starting with a letter or digit"
        )
    return name


def is_name_free(name: str) -> bool:
    """True when a new trained model may be saved under ``name``."""
    try:
        validate_name(name)
    except ModelNameError:
        return False
    return name not in BUILTIN_NAMES and not (paths.models_dir() / name).exists()


def read_meta(folder: Path) -> ModelMeta:
    """Read ``folder/meta.json``; a clear :class:`ModelLoadError` when missing or corrupt."""
    meta_path = Path(folder) / META_FILE
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{meta_path}: missing (not a model folder)") from exc
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta_path}: cannot read model description ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{meta_path}: expected a JSON object")
    data.setdefault("name", Path(folder).name)
    try:
        return ModelMeta.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{meta_path}: invalid model description ({exc})") from exc


# after read_meta: packaged models are read from their meta.json at import
BUILTIN_NAMES = frozenset(m.name for m in builtin_models())


STARTER_NAME = "nuclei-starter"  # packaged: tiny trained on public nuclei (works offline)


def list_models() -> list[ModelMeta]:
    """Built-in models first, then trained models sorted by name (broken folders skipped)."""
    models = builtin_models()
    root = paths.models_dir()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            meta = read_meta(folder)
        except ModelLoadError as exc:
            log.warning("skipping model folder: %s", exc)
            continue
        if meta.name in BUILTIN_NAMES:
            log.warning("skipping model folder %s: name clashes with a built-in model", folder)
            continue
        models.append(meta)
    return models


def get_model_meta(name: str) -> ModelMeta:
    """Metadata of a built-in or trained model by name."""
    for meta in builtin_models():
        if meta.name == name:
            return meta
    try:
        folder = model_dir(name)
    except ModelNameError as exc:
        raise ModelNotFoundError(f"no model named {name!r}") from exc
    if not (folder / META_FILE).exists():
        known = ", ".join(m.name for m in list_models())
        raise ModelNotFoundError(f"no model named {name!r} (known: {known})")
    return read_meta(folder)


def save_model(
    name: str,
    meta: ModelMeta,
    state_dict: dict | None = None,
    *,
    files: dict[str, Path | bytes] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a trained model folder atomically and return it.

    With ``state_dict`` the weights go to ``weights.pt`` and ``meta.weights`` is set to
    ``{"kind": "state_dict", "file": "weights.pt"}``; otherwise ``meta.weights`` must already
    describe the weights and ``files`` supplies them (name -> bytes or a file to copy). The
    folder is assembled under a temporary name and renamed into place, so a crash never
    leaves a half-written model in the registry.
    """
    validate_name(name)
    if name in BUILTIN_NAMES:
        raise ModelNameError(f"{name!r} is a built-in model name; choose another")
    target = paths.models_dir() / name
    if target.exists() and not overwrite:
        raise ModelNameError(f"a model named {name!r} already exists in {target.parent}")
    meta.name = name
    meta.kind = "trained"
    if meta.created is None:
        meta.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=paths.models_dir()))
    try:
        tmp.chmod(default_mode(directory=True))  # mkdtemp makes 0o700: colleagues must read models
        if state_dict is not None:
            import torch

            cpu_state = {k: v.detach().to("cpu").clone() for k, v in state_dict.items()}
            atomic_write(tmp / WEIGHTS_FILE, lambda fh: torch.save(cpu_state, fh))
            meta.weights = {"kind": "state_dict", "file": WEIGHTS_FILE}
        if not meta.weights:
            raise ValueError("save_model needs a state_dict or meta.weights describing the files")
        for fname, content in (files or {}).items():
            if isinstance(content, bytes | bytearray):
                (tmp / fname).write_bytes(content)
            else:
                shutil.copyfile(content, tmp / fname)
        atomic_write_text(tmp / META_FILE, json.dumps(_json_ready(meta.to_dict()), indent=2))
        old = None
        if target.exists():
            old = target.with_name(f".{name}.old")
            if old.exists():
                shutil.rmtree(old)
            target.rename(old)
        tmp.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("saved model %s to %s", name, target)
    return target


def delete_model(name: str) -> None:
    """Remove a trained model folder (built-ins cannot be deleted)."""
    if name in BUILTIN_NAMES:
        raise ModelNameError(f"{name!r} is built in and cannot be deleted")
    folder = model_dir(name)
    if not folder.exists():
        raise ModelNotFoundError(f"no model named {name!r}")
    shutil.rmtree(folder)


def _json_ready(value: Any) -> Any:
    """numpy scalars/arrays and tuples in metrics become plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value
