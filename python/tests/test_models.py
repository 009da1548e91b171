"""LiteCNN: shapes, channel rounding, ONNX export (symbolic batch) and ONNX Runtime parity."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from litecnn.models import LiteCNN, lite_cnn, lite_cnn_half, make_divisible
from torch import nn

torch.set_num_threads(1)


def _calibrated(model: LiteCNN, size: int, seed: int = 0) -> LiteCNN:
    """Random weights whose output really depends on the input (DESIGN.md §6): BatchNorm
    statistics recalibrated on random batches, classifier scaled to O(1-10) logits."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, 3, size, size))
        model.eval()
        logits = model(torch.randn(8, 3, size, size))
        model.classifier[-1].weight.mul_(5.0 / logits.std().clamp_min(1e-12))
        model.classifier[-1].bias.zero_()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    return model.eval()


@pytest.mark.parametrize(
    ("factory", "width"),
    [
        (lambda n: LiteCNN(num_classes=n), 1.0),
        (lambda n: lite_cnn_half(n), 0.5),
        (lambda n: lite_cnn(num_classes=n, width_mult=0.75, dropout=0.0), 0.75),
    ],
)
@pytest.mark.parametrize("size", [64, 96])
def test_forward_shapes(factory, width, size):
    model = factory(7).eval()
    assert model.width_mult == width
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


def test_default_constructor_and_defaults():
    model = LiteCNN(num_classes=10)
    assert model.width_mult == 1.0
    assert model.classifier[-1].out_features == 10
    assert isinstance(model.classifier[2], nn.Dropout)
    assert LiteCNN(num_classes=3, dropout=0.5).classifier[2].p == 0.5
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert m.momentum == 0.1


@pytest.mark.parametrize("width", [0.25, 0.5, 0.75, 1.0, 1.3])
def test_channels_are_multiples_of_8(width):
    model = LiteCNN(num_classes=5, width_mult=width)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs
    for conv in convs:
        assert conv.out_channels % 8 == 0, conv
        if conv is not convs[0]:  # the stem's input is the image (3 channels)
            assert conv.in_channels % 8 == 0, conv
    assert model.classifier[0].out_features % 8 == 0
    # Depthwise convolutions really are depthwise, and the network has squeeze-and-excite.
    assert any(c.groups == c.in_channels > 1 for c in convs)
    assert any(type(m).__name__ == "SqueezeExcite" for m in model.modules())


def test_half_is_smaller_than_full():
    params = [sum(p.numel() for p in m.parameters()) for m in (lite_cnn_half(10), LiteCNN(10))]
    assert params[0] < params[1] / 2


@pytest.mark.parametrize(("value", "expected"), [(3.9, 8), (12, 16), (20, 24), (36, 40), (8, 8)])
def test_make_divisible(value, expected):
    assert make_divisible(value) == expected


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter's notice
@pytest.mark.parametrize("factory", [lite_cnn_half, lambda n: LiteCNN(num_classes=n)])
def test_onnx_export_symbolic_batch_and_ort_parity(tmp_path, factory):
    size = 64
    model = _calibrated(factory(10), size)
    path = tmp_path / "lite.onnx"
    torch.onnx.export(
        model,
        (torch.randn(1, 3, size, size),),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    batch_dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.HasField("dim_value")
    ops = {node.op_type for node in proto.graph.node}
    assert {"Conv", "HardSwish", "HardSigmoid", "GlobalAveragePool", "Gemm"} <= ops, ops

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(1)
    for batch in (1, 3):
        x = torch.randn(batch, 3, size, size, generator=gen)
        with torch.no_grad():
            expected = model(x).numpy()
        (got,) = session.run(["logits"], {"input": x.numpy()})
        assert got.shape == (batch, 10)
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale)
        assert (got.argmax(1) == expected.argmax(1)).all()
        if batch > 1:
            # The output depends on the input: two images give clearly different logits, and
            # ORT reproduces that difference too.
            diff = expected[1] - expected[0]
            assert np.abs(diff).max() > 0.1
            np.testing.assert_allclose(got[1] - got[0], diff, rtol=0, atol=2e-4 * scale)


def test_dynamo_export_symbolic_batch(tmp_path):
    """torch >= 2.9's default exporter (what the publisher uses) also handles LiteCNN."""
    pytest.importorskip("onnxscript")
    model = _calibrated(lite_cnn_half(4), 64)
    path = tmp_path / "lite-dynamo.onnx"
    torch.onnx.export(
        model,
        (torch.randn(2, 3, 64, 64),),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        dynamo=True,
        verbose=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        expected = model(x).numpy()
    (got,) = session.run(None, {"input": x.numpy()})
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale)
