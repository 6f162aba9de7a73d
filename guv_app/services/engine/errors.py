"""Errors of the model/inference service; each message says what to do, in one line."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error raised by ``guv_app.services.engine``."""


class ModelNotFoundError(EngineError, LookupError):
    """No built-in model, registry entry or file has this name."""


class ModelNameError(EngineError, ValueError):
    """A name that cannot be used for a new model (taken, reserved or invalid characters)."""


class ModelLoadError(EngineError):
    """A model folder or weights file exists but cannot be loaded (corrupt, wrong shapes)."""


class WeightsUnavailableError(ModelLoadError):
    """Pretrained weights are neither on disk nor downloadable (offline, blocked, cancelled)."""


class SegmentationCancelled(EngineError):
    """The caller's cancel flag was set; raised between tiles."""


_TORCH_ADVICE = ("weights only load failed", "weights_only", "check the documentation",
                 "in pytorch", "re-running", "do it only if", "you can use")


def load_error_line(path: object, exc: BaseException, what: str = "weights file") -> str:
    """One line for a file ``torch.load`` refused or could not read, naming the file.

    torch's ``UnpicklingError`` text is several paragraphs that end in advice to set
    ``weights_only=False`` -- i.e. to run the file's code. We keep only the sentence that
    says what was refused ("unsupported GLOBAL posix.system ...") and never that advice.
    """
    import pickle

    text = str(exc)
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in text:
        parts = [p.strip() for p in text.replace("\n", ". ").split(". ") if p.strip()]
        reason = next((p for p in parts if not p.lower().startswith(_TORCH_ADVICE)
                       and "weights_only" not in p and "http" not in p), "")
        reason = reason.rstrip(".") or "holds objects other than tensors"
        return f"{path}: refused {what}: {reason} (only plain tensors are loaded, for safety)"
    reason = " ".join(text.split()) or type(exc).__name__
    return f"{path}: not a readable {what} ({reason})"
