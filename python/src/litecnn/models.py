"""LiteCNN: litecnn's own small reference classifier.

A MobileNetV3-small-style network written for litecnn: a strided 3x3 stem, a stack of inverted
residual blocks (1x1 expansion, depthwise KxK, optional squeeze-and-excite, 1x1 linear projection,
residual add when shapes allow), a 1x1 head convolution, global average pooling and a two-layer
classifier with dropout. Activations are ReLU in the early, high-resolution blocks and hardswish
later; gates use hardsigmoid. Every channel count is scaled by ``width_mult`` and rounded to a
multiple of 8.

The network exports to ONNX with only ops that the litecnn engine supports (Conv, BatchNormalization
or folded Conv bias, Relu, HardSwish, HardSigmoid, Mul, Add, GlobalAveragePool, Flatten, Gemm).

    >>> model = LiteCNN(num_classes=10)          # width 1.0
    >>> model = lite_cnn_half(num_classes=10)    # width 0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "BLOCKS",
    "BlockSpec",
    "InvertedResidual",
    "LiteCNN",
    "SqueezeExcite",
    "lite_cnn",
    "lite_cnn_half",
    "make_divisible",
]


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never below ``min_value`` (default
    ``divisor``) and never more than 10 % below ``value``."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class BlockSpec:
    """One inverted residual block, channel counts at width 1.0."""

    kernel: int
    expanded: int
    out: int
    se: bool
    activation: str  # "relu" or "hardswish"
    stride: int


# The block table of LiteCNN (channel counts at width 1.0). Total stride with the stem: 32.
BLOCKS: tuple[BlockSpec, ...] = (
    BlockSpec(3, 16, 16, True, "relu", 2),
    BlockSpec(3, 64, 24, False, "relu", 2),
    BlockSpec(3, 72, 24, False, "relu", 1),
    BlockSpec(5, 96, 40, True, "hardswish", 2),
    BlockSpec(5, 192, 40, True, "hardswish", 1),
    BlockSpec(5, 144, 48, True, "hardswish", 1),
    BlockSpec(5, 288, 96, True, "hardswish", 2),
    BlockSpec(5, 480, 96, True, "hardswish", 1),
)
STEM_CHANNELS = 16
HEAD_CHANNELS = 480
CLASSIFIER_HIDDEN = 1024


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "hardswish":
        return nn.Hardswish(inplace=True)
    raise ValueError(f"unknown activation {name!r} (expected 'relu' or 'hardswish')")


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) + BatchNorm2d (PyTorch default momentum 0.1) + optional activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int = 1,
        stride: int = 1,
        groups: int = 1,
        activation: str | None = None,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel,
                stride=stride,
                padding=(kernel - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.1),
        ]
        if activation is not None:
            layers.append(_activation(activation))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcite(nn.Module):
    """Channel attention: global average pool, 1x1 reduce + ReLU, 1x1 expand + hardsigmoid."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        squeezed = make_divisible(channels / reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.relu = nn.ReLU(inplace=True)
        self.expand = nn.Conv2d(squeezed, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.expand(self.relu(self.reduce(self.pool(x)))))
        return x * scale


class InvertedResidual(nn.Module):
    """1x1 expand (skipped when it would not widen) -> depthwise KxK -> [SE] -> 1x1 project."""

    def __init__(self, in_channels: int, spec: BlockSpec, width_mult: float) -> None:
        super().__init__()
        expanded = make_divisible(spec.expanded * width_mult)
        out_channels = make_divisible(spec.out * width_mult)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(ConvBNAct(in_channels, expanded, 1, activation=spec.activation))
        layers.append(
            ConvBNAct(
                expanded,
                expanded,
                spec.kernel,
                stride=spec.stride,
                groups=expanded,
                activation=spec.activation,
            )
        )
        if spec.se:
            layers.append(SqueezeExcite(expanded))
        layers.append(ConvBNAct(expanded, out_channels, 1, activation=None))
        self.block = nn.Sequential(*layers)
        self.use_residual = spec.stride == 1 and in_channels == out_channels
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y


class LiteCNN(nn.Module):
    """litecnn's reference image classifier (MobileNetV3-small style).

    Args:
        num_classes: number of output logits.
        width_mult: channel multiplier; every channel count is rounded to a multiple of 8.
        dropout: dropout probability before the last linear layer.
        blocks: the inverted residual block table (default :data:`BLOCKS`).
        in_channels: input image channels (3 for RGB).

    Input ``[N, in_channels, H, W]`` float32 (any H, W >= 32; normalised images), output
    ``[N, num_classes]`` logits.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        width_mult: float = 1.0,
        dropout: float = 0.2,
        blocks: Sequence[BlockSpec] = BLOCKS,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if width_mult <= 0:
            raise ValueError(f"width_mult must be > 0, got {width_mult}")
        self.num_classes = num_classes
        self.width_mult = width_mult

        channels = make_divisible(STEM_CHANNELS * width_mult)
        layers: list[nn.Module] = [
            ConvBNAct(in_channels, channels, 3, stride=2, activation="hardswish")
        ]
        for spec in blocks:
            block = InvertedResidual(channels, spec, width_mult)
            layers.append(block)
            channels = block.out_channels
        head = make_divisible(HEAD_CHANNELS * width_mult)
        layers.append(ConvBNAct(channels, head, 1, activation="hardswish"))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        hidden = make_divisible(CLASSIFIER_HIDDEN * width_mult)
        self.classifier = nn.Sequential(
            nn.Linear(head, hidden),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(hidden, num_classes),
        )
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = torch.flatten(self.pool(x), 1)
        return self.classifier(x)


def lite_cnn(num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> LiteCNN:
    """LiteCNN at any width (publisher spec ``litecnn.models:lite_cnn``)."""
    return LiteCNN(num_classes=num_classes, width_mult=width_mult, dropout=dropout)


def lite_cnn_half(num_classes: int = 1000, dropout: float = 0.2) -> LiteCNN:
    """LiteCNN at width 0.5 (publisher spec ``litecnn.models:lite_cnn_half``)."""
    return LiteCNN(num_classes=num_classes, width_mult=0.5, dropout=dropout)
