"""Weights: finding/downloading cpsam (no network here), strict loading, pretrained readout."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

import pytest

torch = pytest.importorskip("torch")

from guv_app import paths  # noqa: E402
from guv_app.services.engine import weights  # noqa: E402
from guv_app.services.engine.errors import ModelLoadError, WeightsUnavailableError  # noqa: E402
from guv_app.services.engine.loading import (  # noqa: E402
    load_model,
    load_state_into,
    read_state_dict,
)
from guv_app.services.engine.network import build_network  # noqa: E402


@pytest.fixture
def no_internet(monkeypatch):
    """Every URL open fails like an offline machine, and we count the attempts."""
    calls = []

    def offline(*args, **kwargs):
        calls.append((args, kwargs))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return calls


@pytest.fixture
def pretrained_file(tmp_path):
    """An upstream-format (flows-only) checkpoint from a tiny-shaped random model."""
    source = build_network("tiny", 0, seed=21)
    path = tmp_path / "cpsam_like.pt"
    torch.save(source.state_dict(), path)
    return source, path


def test_offline_cpsam_is_one_clear_error(no_internet):
    with pytest.raises(WeightsUnavailableError) as info:
        load_model("cpsam", "cpu")
    message = str(info.value)
    assert str(paths.weights_dir() / "cpsam") in message
    assert "'tiny'" in message
    assert no_internet, "a download should have been attempted"
    assert list(paths.weights_dir().iterdir()) == []  # nothing half-written


def test_offline_switch_never_touches_the_network(no_internet, monkeypatch):
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    with pytest.raises(WeightsUnavailableError, match="downloads are off"):
        weights.ensure_cpsam_weights()
    assert no_internet == []


def test_timeout_is_reported_not_hung(monkeypatch):
    seen = {}

    def slow(request, timeout=None, context=None):
        seen["timeout"] = timeout
        raise TimeoutError("timed out")

    monkeypatch.setattr(urllib.request, "urlopen", slow)
    with pytest.raises(WeightsUnavailableError, match="timed out"):
        weights.ensure_cpsam_weights(timeout=0.5)
    assert seen["timeout"] == 0.5


def test_download_verifies_certificates_and_reports_progress(pretrained_file, monkeypatch):
    _, source = pretrained_file
    real_urlopen = urllib.request.urlopen
    contexts = []

    def recording(request, timeout=None, context=None):
        contexts.append(context)
        return real_urlopen(request, timeout=timeout)

    monkeypatch.setattr(urllib.request, "urlopen", recording)
    progress = []
    path = weights.ensure_cpsam_weights(
        url=source.as_uri(), progress=lambda d, t, m: progress.append((d, t))
    )
    assert path == paths.weights_dir() / "cpsam"
    assert path.read_bytes() == source.read_bytes()
    assert progress[-1] == (source.stat().st_size, source.stat().st_size)
    assert contexts[0].verify_mode == ssl.CERT_REQUIRED and contexts[0].check_hostname
    assert ssl._create_default_https_context is ssl.create_default_context
    assert weights.find_cpsam_weights() == path  # found next time without downloading


def test_cellpose_model_cache_is_searched(tmp_path, monkeypatch, no_internet):
    cache = tmp_path / "cp_models"
    cache.mkdir()
    (cache / "cpsam").write_bytes(b"weights")
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(cache))
    assert weights.ensure_cpsam_weights() == cache / "cpsam"
    user = tmp_path / "mine.pth"
    user.write_bytes(b"w")
    assert weights.ensure_cpsam_weights(user) == user
    assert no_internet == []


def test_pretrained_weights_into_class_model_keep_readout(pretrained_file):
    source, path = pretrained_file
    fresh = build_network("tiny", 3, seed=21)
    net = build_network("tiny", 3, seed=5)
    load_state_into(net, read_state_dict(path), source=str(path))
    for key, value in source.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key
    # the class head is not in the checkpoint: it stays as initialised
    assert not torch.equal(net.class_out.weight, fresh.class_out.weight)
    assert torch.equal(
        net.class_W2, torch.eye(4 * 64).reshape(256, 4, 8, 8)
    )
    x = torch.rand((1, 3, 256, 256), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(net(x)[0][:, -3:], source(x)[0])


def test_weights_file_path_loads_with_inferred_architecture(pretrained_file):
    source, path = pretrained_file
    loaded = load_model(str(path), "cpu")
    assert (loaded.meta.backbone, loaded.meta.n_classes) == ("tiny", 0)
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.net.state_dict()[key], value)


def test_unmerged_lora_or_foreign_keys_are_rejected(pretrained_file, tmp_path):
    _, path = pretrained_file
    state = read_state_dict(path)
    qkv = state.pop("encoder.blocks.0.attn.qkv.weight")
    state["encoder.blocks.0.attn.qkv.base_layer.weight"] = qkv
    with pytest.raises(ModelLoadError, match="missing"):
        load_state_into(build_network("tiny", 1), state, source="peft.pt")
    big = build_network("tiny", 0).state_dict()
    big["out.weight"] = torch.zeros(3, 3, 1, 1)
    with pytest.raises(ModelLoadError, match="shape mismatch"):
        load_state_into(build_network("tiny", 0), big, source="other.pt")


def test_corrupt_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x00not a torch file")
    with pytest.raises(ModelLoadError, match="broken.pt"):
        load_model(str(bad), "cpu")


def test_device_choice():
    from guv_app.services.engine.loading import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda:0")


@pytest.mark.parametrize("saved", [torch.float64, torch.float16])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_checkpoint_in_another_float_dtype_loads_in_the_dtype_asked_for(tmp_path, saved,
                                                                          dtype):
    """A float64 or float16 checkpoint (a ``.double()``/``.half()`` model saved as it was)
    gives a network in the dtype asked for, equal to the file cast, and it segments."""
    import numpy as np

    from guv_app.services.engine.inference import SegmentParams, segment

    state = build_network("tiny", 0, seed=6).to(saved).state_dict()
    path = tmp_path / "other_dtype.pt"
    torch.save(state, path)
    loaded = load_model(str(path), "cpu", dtype=dtype, cache=False)
    want_dtype = getattr(torch, dtype)
    got = loaded.net.state_dict()
    assert {t.dtype for t in got.values()} == {want_dtype}
    for name, tensor in state.items():
        assert torch.equal(got[name], tensor.to(want_dtype)), name
    result = segment(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64), loaded,
                     SegmentParams(dtype=dtype))
    assert result.flows.shape == (2, 64, 64) and np.isfinite(result.flows).all()
