"""ONNX export, and the checks that the graph keeps the bundle's contract.

Two exporters: `torchscript` (the default: torch.onnx.export(dynamo=False), opset 17) and `dynamo`
(torch.export + onnxscript, opset 18). Either way the result is one self-contained file with input
`input` [N,3,H,W] and output `logits` [N,C], float32, N symbolic; anything else is an ExportError.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import onnx
import torch
from torch import nn

from .errors import ExportError

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
BATCH_DIM = "N"
DEFAULT_OPSET = {"torchscript": 17, "dynamo": 18}
EXPORTERS = tuple(DEFAULT_OPSET)


def export_onnx(
    model: nn.Module,
    example: torch.Tensor,
    num_classes: int,
    exporter: str = "torchscript",
    opset: int | None = None,
) -> bytes:
    """Export `model` (in eval mode) and return the serialised, checked ONNX model."""
    if exporter not in DEFAULT_OPSET:
        raise ExportError(f"unknown exporter {exporter!r}; choose one of {', '.join(EXPORTERS)}")
    opset = opset or DEFAULT_OPSET[exporter]
    with tempfile.TemporaryDirectory(prefix="litecnn-export-") as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            with torch.no_grad(), _quiet_exporters():
                _RUNNERS[exporter](model, example, path, opset)
        except Exception as err:
            other = "dynamo" if exporter == "torchscript" else "torchscript"
            raise ExportError(
                f"the {exporter} exporter failed: {_first_line(err)}",
                hint=f"try --exporter {other}, or run with --debug for the full traceback",
            ) from err
        proto = onnx.load(str(path), load_external_data=True)
    _check_self_contained(proto)
    check_graph(proto, example, num_classes)
    return proto.SerializeToString()


def _torchscript(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    torch.onnx.export(
        model,
        (example,),
        str(path),
        dynamo=False,
        opset_version=opset,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: BATCH_DIM}, OUTPUT_NAME: {0: BATCH_DIM}},
    )


def _dynamo(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    # min=2: torch.export specialises sizes 0 and 1 (and some nets, e.g. ShuffleNet, guard N != 1);
    # the ONNX graph keeps no such guard, and parity is then checked at other batch sizes.
    batch = torch.export.Dim(BATCH_DIM, min=2, max=1 << 16)
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        opset_version=opset,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: batch},),
        external_data=False,
        verbose=False,
    )
    program.save(str(path), external_data=False)


_RUNNERS: dict[str, Callable[[nn.Module, torch.Tensor, Path, int], None]] = {
    "torchscript": _torchscript,
    "dynamo": _dynamo,
}


@contextlib.contextmanager
def _quiet_exporters() -> Iterator[None]:
    """Exporter chatter (deprecations, torchvision op schemas) is not the user's business."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _check_self_contained(proto: onnx.ModelProto) -> None:
    for tensor in proto.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ExportError(f"initializer {tensor.name} still refers to external data")


def check_graph(proto: onnx.ModelProto, example: torch.Tensor, num_classes: int) -> None:
    """The graph must have one float32 input `input` [N,3,H,W] and one output `logits` [N,C]."""
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as err:
        raise ExportError(f"the exported graph is not valid ONNX: {_first_line(err)}") from err
    initializers = {tensor.name for tensor in proto.graph.initializer}
    inputs = [value for value in proto.graph.input if value.name not in initializers]
    _check_value(inputs, INPUT_NAME, list(example.shape[1:]), "input")
    _check_value(list(proto.graph.output), OUTPUT_NAME, [num_classes], "output")


def _check_value(values: list, name: str, rest: list[int], what: str) -> None:
    if [value.name for value in values] != [name]:
        found = ", ".join(value.name for value in values) or "none"
        raise ExportError(f"the graph must have one {what} named `{name}`, found: {found}")
    tensor_type = values[0].type.tensor_type
    if tensor_type.elem_type != onnx.TensorProto.FLOAT:
        elem = onnx.TensorProto.DataType.Name(tensor_type.elem_type)
        raise ExportError(f"{what} `{name}` is {elem}, expected FLOAT")
    dims = list(tensor_type.shape.dim)
    if not dims or dims[0].HasField("dim_value"):
        shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]
        raise ExportError(f"{what} `{name}` has shape {shape}: the batch axis must be symbolic")
    if [d.dim_value for d in dims[1:]] != rest:
        raise ExportError(f"{what} `{name}` must be [N,{','.join(map(str, rest))}]")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
