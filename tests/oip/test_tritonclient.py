"""`litecnn serve` spoken to by the official Open Inference Protocol client, ``tritonclient.http``.

The real binary ($LITECNN_BIN, built by ./scripts/test) serves its built-in demo (the
Fashion-MNIST bundle named in examples/models/fashion-mnist/LATEST) on 127.0.0.1, port 0, with a
bearer token that the client sends through ``headers``. Inference with binary tensors (the
client's default) and with JSON tensors must both equal ``litecnn run`` on the same tensor
(max abs diff <= 1e-5). A missing $LITECNN_BIN is a failure, never a skip.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "examples" / "models" / "fashion-mnist"
NAME = "fashion-mnist"
TOKEN = "oip-test-token"
SHAPE = (2, 3, 64, 64)
CLASSES = 10
TOLERANCE = 1e-5


def auth() -> dict[str, str]:
    """A fresh headers dict per call: ``infer`` adds Inference-Header-Content-Length to the dict
    it is given, which would then go stale on the next request."""
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def version() -> str:
    return (MODEL_DIR / "LATEST").read_text().strip()


@pytest.fixture(scope="module")
def server(launch_server, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`litecnn serve` with a token file; its `host:port`."""
    tmp = tmp_path_factory.mktemp("oip")
    tokens = tmp / "tokens"
    tokens.write_text(f"{TOKEN}\n")
    env = {"LITECNN_STORE": str(tmp / "store"), "XDG_CACHE_HOME": str(tmp)}
    return launch_server("--threads", "2", "--token-file", str(tokens), env=env)


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpclient.InferenceServerClient]:
    client = httpclient.InferenceServerClient(url=server)
    yield client
    client.close()


@pytest.fixture(scope="module")
def reference(
    litecnn_bin: Path, version: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[np.ndarray, np.ndarray]:
    """An input whose two images differ, and `litecnn run`'s output on it."""
    x = np.random.default_rng(20261126).normal(size=SHAPE).astype(np.float32)
    tmp = tmp_path_factory.mktemp("run")
    np.save(tmp / "x.npy", x)
    cmd = [str(litecnn_bin), "run", str(MODEL_DIR / version)]
    cmd += ["--input", str(tmp / "x.npy"), "--output", str(tmp / "y.npy")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    y = np.load(tmp / "y.npy")
    assert y.shape == (SHAPE[0], CLASSES)
    assert np.abs(y[0] - y[1]).max() > 1e-3, "the two images must give different logits"
    return x, y


def test_health_and_metadata(client: httpclient.InferenceServerClient, version: str) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(NAME, headers=auth())
    assert client.is_model_ready(NAME, version, headers=auth())
    assert not client.is_model_ready(NAME), "a model route without the token must be refused"
    assert not client.is_model_ready("mnist", headers=auth())

    assert "binary_tensor_data" in client.get_server_metadata(headers=auth())["extensions"]
    metadata = client.get_model_metadata(NAME, headers=auth())
    assert metadata == {
        "name": NAME,
        "versions": [version],
        "platform": "litecnn_onnx",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 3, 64, 64]}],
        "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, CLASSES]}],
    }
    with pytest.raises(InferenceServerException) as unknown:
        client.get_model_metadata("mnist", headers=auth())
    assert unknown.value.status() == "404"
    assert "unknown model" in unknown.value.message()


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_infer_equals_litecnn_run(
    client: httpclient.InferenceServerClient,
    reference: tuple[np.ndarray, np.ndarray],
    version: str,
    binary: bool,
) -> None:
    x, want = reference
    tensor = httpclient.InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    # No outputs named: the client asks for binary outputs; JSON ones must be asked by name.
    outputs = None if binary else [httpclient.InferRequestedOutput("logits", binary_data=False)]
    result = client.infer(NAME, [tensor], outputs=outputs, headers=auth(), request_id="r1")
    answer = result.get_response()
    assert answer["model_name"] == NAME
    assert answer["model_version"] == version
    assert answer["id"] == "r1"
    assert ("binary_data_size" in answer["outputs"][0].get("parameters", {})) == binary
    got = result.as_numpy("logits")
    assert got.dtype == np.float32
    assert got.shape == want.shape
    assert float(np.abs(got - want).max()) <= TOLERANCE


def test_infer_needs_the_token(
    client: httpclient.InferenceServerClient, reference: tuple[np.ndarray, np.ndarray]
) -> None:
    x, _ = reference
    tensor = httpclient.InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    with pytest.raises(InferenceServerException) as refused:
        client.infer(NAME, [tensor])
    assert refused.value.status() == "401"
    assert "bearer token" in refused.value.message()


def test_bad_shape_is_a_clear_error(client: httpclient.InferenceServerClient) -> None:
    tensor = httpclient.InferInput("input", [1, 3, 32, 32], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 3, 32, 32), np.float32))
    with pytest.raises(InferenceServerException) as refused:
        client.infer(NAME, [tensor], headers=auth())
    assert refused.value.status() == "400"
    assert "does not fit the model" in refused.value.message()
