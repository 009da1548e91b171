"""Golden inputs: the tensors whose PyTorch outputs ship in `golden.safetensors`.

Real images when the publisher is given a directory (up to 8, sorted by path, through exactly the
preprocessing the manifest declares), topped up with seeded noise to at least 4 rows; seeded noise
(4 rows) otherwise. Noise is image-like: smooth random colour fields plus fine grain, in [0, 1]
before normalisation, so that different rows give clearly different outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision import transforms
from torchvision.transforms import InterpolationMode

from .errors import GoldenInputError, OptionsError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MAX_IMAGES = 8
MIN_ROWS = 4
NOISE_SEED = 20261126


@dataclass(frozen=True)
class Preprocess:
    """The manifest's `preprocess` section; `transform()` is its torchvision twin."""

    resize: int = 256
    input_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.input_size < 1 or self.resize < self.input_size:
            raise OptionsError(
                f"--resize {self.resize} and --input-size {self.input_size}: the shorter side is "
                "resized first, then the centre is cropped, so resize >= input size >= 1"
            )
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise OptionsError("--mean and --std take 3 values each, std > 0")

    def manifest(self) -> dict:
        return {
            "resize_shorter": self.resize,
            "center_crop": [self.input_size, self.input_size],
            "interpolation": "bilinear",
            "antialias": True,
            "mean": list(self.mean),
            "std": list(self.std),
            "color": "RGB",
        }

    def transform(self) -> transforms.Compose:
        return transforms.Compose(
            [
                transforms.Resize(
                    self.resize, interpolation=InterpolationMode.BILINEAR, antialias=True
                ),
                transforms.CenterCrop(self.input_size),
                transforms.ToTensor(),
                transforms.Normalize(self.mean, self.std),
            ]
        )

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (pixels - mean) / std


@dataclass(frozen=True)
class GoldenInputs:
    tensor: torch.Tensor  # [n, 3, H, W] float32
    images: list[str]  # paths of the image rows, relative to the directory; noise rows follow


def golden_inputs(preprocess: Preprocess, images_dir: Path | None) -> GoldenInputs:
    rows: list[torch.Tensor] = []
    names: list[str] = []
    if images_dir is not None:
        for path in list_images(images_dir)[:MAX_IMAGES]:
            rows.append(load_image(path, preprocess))
            names.append(path.relative_to(images_dir).as_posix())
    if len(rows) < MIN_ROWS:
        rows.extend(noise_images(preprocess, MIN_ROWS - len(rows)))
    return GoldenInputs(tensor=torch.stack(rows).contiguous(), images=names)


def list_images(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise GoldenInputError(f"--golden-images {directory}: not a directory")
    found = sorted(
        path
        for path in directory.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    )
    if not found:
        raise GoldenInputError(
            f"--golden-images {directory}: no {'/'.join(IMAGE_SUFFIXES)} files found"
        )
    return found


def load_image(path: Path, preprocess: Preprocess) -> torch.Tensor:
    """One image as the server will see it: EXIF orientation applied, RGB, resized, cropped."""
    try:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
    except (OSError, UnidentifiedImageError) as err:
        raise GoldenInputError(f"golden image {path}: cannot decode it: {err}") from err
    return preprocess.transform()(rgb)


def noise_images(preprocess: Preprocess, count: int) -> list[torch.Tensor]:
    size = preprocess.input_size
    gen = torch.Generator().manual_seed(NOISE_SEED)
    pixels = torch.zeros(count, 3, size, size)
    for cells, weight in ((2, 0.4), (6, 0.3), (max(size // 4, 1), 0.2), (size, 0.1)):
        coarse = torch.rand(count, 3, cells, cells, generator=gen)
        pixels += weight * torch.nn.functional.interpolate(
            coarse, size=(size, size), mode="bilinear"
        )
    return list(preprocess.normalize(pixels.clamp(0.0, 1.0)))
