"""Make bioimageio.spec 0.5.12 serialise file fields under pydantic >= 2.12.

Three wrap serializers of bioimageio.spec (``io_packaging.package_file_descr_serializer``,
``model.v0_4.package_weights``, ``ValidatedStringWithInnerNode._serialize``) call pydantic's
handler as ``handler(value, info)``; pydantic-core 2.4x checks the second
argument (an ``index_key``: int or str) and raises ``TypeError: 'index_key' is expected to be
an integer or a string``, so every ``ModelDescr`` with a file (covers, test tensors, weights)
fails to validate, save or load. The documented call is ``handler(value)`` (the info is only
needed by the function's own ``_package`` step), which is what the replacement does.

The function objects are referenced directly by pydantic schemas built at import time, so their
``__code__`` is replaced (their module globals, e.g. ``_package``, stay those of bioimageio).
Applied once, only when the installed version shows the fault; remove when bioimageio.spec
calls ``handler(value)`` itself.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_DONE = False


# Replacements: bioimageio's own bodies with ``handler(value)``; names not defined here are
# bioimageio's module globals (the code object runs with the original function's globals).
def _file_descr_serializer(value, handler, info):
    ret = handler(value)
    ret["source"] = _package(value.source, info, sha256=value.sha256)  # noqa: F821
    return ret


def _package_weights(value, handler, info):
    ctxt = packaging_context_var.get()  # noqa: F821
    if ctxt is not None and ctxt.weights_priority_order is not None:
        for wf in ctxt.weights_priority_order:
            w = getattr(value, wf, None)
            if w is not None:
                break
        else:
            raise ValueError(
                "None of the weight formats in `weights_priority_order`"
                + f" ({ctxt.weights_priority_order}) is present in the given model."
            )
        new_w = w.model_construct(**{k: v for k, v in w if k != "parent"})
        value = value.model_construct(None, **{wf: new_w})
    return handler(value)


def _inner_node_serialize(self, handler, info):
    _ = self._inner_node.model_dump(mode=info.mode)
    return handler(self)


def _targets() -> list:
    from bioimageio.spec._internal import io_packaging
    from bioimageio.spec._internal.validated_string_with_inner_node import (
        ValidatedStringWithInnerNode,
    )
    from bioimageio.spec.model import v0_4

    inner = ValidatedStringWithInnerNode.__dict__["_serialize"].wrapped  # pydantic's proxy
    return [(io_packaging.package_file_descr_serializer, _file_descr_serializer),
            (v0_4.package_weights, _package_weights),
            (inner, _inner_node_serialize)]


def _faulty() -> bool:
    from pathlib import Path
    from typing import Annotated

    from bioimageio.spec._internal.io_packaging import include_when_packaging
    from bioimageio.spec.model.v0_5 import FileDescr
    from pydantic import TypeAdapter

    adapter = TypeAdapter(Annotated[FileDescr, include_when_packaging])
    try:
        adapter.dump_python(FileDescr.model_construct(source=Path("probe.txt")), mode="json")
    except Exception as exc:  # noqa: BLE001 - pydantic wraps the TypeError differently by version
        return "index_key" in str(exc)
    return False


def ensure_bioimageio_compat() -> None:
    """Check bioimageio is installed (clear error otherwise) and patch the serializers when
    (and only when) the installed versions need it."""
    global _DONE
    if _DONE:
        return
    try:
        import bioimageio.spec  # noqa: F401
    except ImportError as exc:
        from guv_app.services.export.errors import ExportError

        raise ExportError("BioImage.IO support needs bioimageio.spec and bioimageio.core: "
                          "pip install 'multicellpose[bioimageio]'") from exc
    if _faulty():
        for original, replacement in _targets():
            original.__code__ = replacement.__code__
        log.info("bioimageio.spec file serializer patched for this pydantic version")
    _DONE = True
