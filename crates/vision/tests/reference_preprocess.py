"""Reference preprocessing for litecnn-vision's parity test: PIL + torchvision, the real thing.

Two steps, run by ``tests/preprocess_parity.rs`` with the test venv's interpreter:

    reference_preprocess.py images DIR     # test images made from real photos, and DIR/cases.json
    reference_preprocess.py reference DIR  # DIR/<case>.npy: the input tensor torchvision makes

The photos are the ones bundled in scikit-image's wheel (``skimage/data``: astronaut, chelsea,
coffee, rocket, camera), re-encoded with Pillow in every variant the decoder must handle. The
reference of a case is exactly what a PyTorch user writes for evaluation:

    img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    Compose([Resize(r, BILINEAR, antialias=True), CenterCrop(crop), ToTensor(), Normalize(m, s)])

and is saved as a float32 ``[1, 3, H, W]`` .npy.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
SPEC_224 = {"resize_shorter": 256, "center_crop": [224, 224], **IMAGENET}
SPEC_64 = {"resize_shorter": 73, "center_crop": [64, 64], **IMAGENET}  # tiny_cnn.onnx
# A crop taller than the resized image: torchvision pads with black before cropping.
SPEC_PAD = {"resize_shorter": 100, "center_crop": [112, 96], "mean": [0.5] * 3, "std": [0.25] * 3}
ORIENTATION = 0x0112


def case(name: str, file: str, spec: dict) -> dict:
    """One parity case: an image file and the manifest `preprocess` section to apply to it."""
    return {"name": name, "file": file, "spec": spec}


def photo(name: str) -> Image.Image:
    from skimage import data  # imported late: only the `images` step needs scikit-image

    return Image.fromarray(getattr(data, name)())


def png16_rgb(img: Image.Image) -> bytes:
    """A 16-bit RGB PNG (Pillow cannot write one): each sample v becomes v*257 + noise < 257."""
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint16)
    rng = np.random.default_rng(0)
    wide = rgb * 257 + rng.integers(0, 257, size=rgb.shape, dtype=np.uint16)
    h, w, _ = wide.shape
    rows = b"".join(b"\0" + wide[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def with_xmp_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Inserts an XMP APP1 segment that carries the orientation (and no EXIF) after SOI."""
    packet = (
        b"http://ns.adobe.com/xap/1.0/\0"
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'tiff:Orientation="' + str(orientation).encode() + b'"/></rdf:RDF></x:xmpmeta>'
    )
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(packet) + 2) + packet + jpeg[2:]


def exif_with(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif


def jpeg_cases(out: Path) -> list[dict]:
    cat, coffee, rocket = photo("chelsea"), photo("coffee"), photo("rocket")
    cases = []
    for quality in (95, 75, 30):
        for label, sub in (("420", 2), ("444", 0)):
            name = f"jpeg_q{quality}_{label}"
            coffee.save(out / f"{name}.jpg", "JPEG", quality=quality, subsampling=sub)
            cases.append(case(name, f"{name}.jpg", SPEC_224))
    cat.save(out / "jpeg_q85_422.jpg", "JPEG", quality=85, subsampling=1)
    cases.append(case("jpeg_q85_422", "jpeg_q85_422.jpg", SPEC_224))
    rocket.save(out / "jpeg_progressive.jpg", "JPEG", quality=85, progressive=True)
    cases.append(case("jpeg_progressive", "jpeg_progressive.jpg", SPEC_224))
    # Camera files often carry restart markers; optimised Huffman tables are common on the web.
    cat.save(out / "jpeg_restart_markers.jpg", "JPEG", quality=85, restart_marker_rows=1)
    cases.append(case("jpeg_restart_markers", "jpeg_restart_markers.jpg", SPEC_224))
    coffee.save(out / "jpeg_optimized.jpg", "JPEG", quality=85, optimize=True)
    cases.append(case("jpeg_optimized", "jpeg_optimized.jpg", SPEC_224))
    rocket.save(out / "jpeg_tiny_model.jpg", "JPEG", quality=90)
    cases.append(case("jpeg_tiny_model", "jpeg_tiny_model.jpg", SPEC_64))
    photo("camera").save(out / "jpeg_gray.jpg", "JPEG", quality=90)
    cases.append(case("jpeg_gray", "jpeg_gray.jpg", SPEC_224))
    coffee.convert("CMYK").save(out / "jpeg_cmyk.jpg", "JPEG", quality=92)
    cases.append(case("jpeg_cmyk", "jpeg_cmyk.jpg", SPEC_224))
    return cases


def orientation_cases(out: Path) -> list[dict]:
    cat = photo("chelsea")  # 451x300: every axis swap shows
    cases = []
    for o in range(2, 9):
        name = f"jpeg_exif_orientation_{o}"
        cat.save(out / f"{name}.jpg", "JPEG", quality=90, exif=exif_with(o))
        cases.append(case(name, f"{name}.jpg", SPEC_224))
    buf = io.BytesIO()
    cat.save(buf, "JPEG", quality=90)
    (out / "jpeg_xmp_orientation_6.jpg").write_bytes(with_xmp_orientation(buf.getvalue(), 6))
    cases.append(case("jpeg_xmp_orientation_6", "jpeg_xmp_orientation_6.jpg", SPEC_224))
    cat.save(out / "png_exif_orientation_8.png", "PNG", exif=exif_with(8))
    cases.append(case("png_exif_orientation_8", "png_exif_orientation_8.png", SPEC_224))
    return cases


def png_cases(out: Path) -> list[dict]:
    astronaut, coffee = photo("astronaut"), photo("coffee")
    ramp = np.linspace(0, 255, astronaut.width, dtype=np.uint8)[None, :].repeat(astronaut.height, 0)
    rgba = astronaut.copy()
    rgba.putalpha(Image.fromarray(ramp))
    gray = photo("camera").crop((0, 64, 512, 448))  # 512x384
    la = gray.convert("LA")
    la.putalpha(Image.fromarray(ramp[: gray.height, : gray.width]))
    palette = coffee.convert("P", palette=Image.Palette.ADAPTIVE, colors=200)
    images = {
        "png_rgb": coffee,
        "png_rgba": rgba,
        "png_gray": gray,
        "png_gray_alpha": la,
        "png_palette_trns": palette,
    }
    cases = []
    for name, img in images.items():
        options = {"transparency": 0} if name == "png_palette_trns" else {}
        img.save(out / f"{name}.png", "PNG", **options)
        cases.append(case(name, f"{name}.png", SPEC_224))
    (out / "png_rgb16.png").write_bytes(png16_rgb(photo("chelsea")))
    cases.append(case("png_rgb16", "png_rgb16.png", SPEC_224))
    return cases


def geometry_cases(out: Path) -> list[dict]:
    coffee = photo("coffee")  # 600x400
    small = coffee.resize((60, 41), Image.Resampling.LANCZOS)
    wide = coffee.resize((1500, 90), Image.Resampling.LANCZOS)
    tall = photo("rocket").resize((70, 1111), Image.Resampling.LANCZOS)
    small.save(out / "small_upscaled.png", "PNG")
    small.save(out / "small_upscaled.jpg", "JPEG", quality=95)
    wide.save(out / "very_wide.png", "PNG")
    tall.save(out / "very_tall.jpg", "JPEG", quality=90)
    return [
        case("small_upscaled_png", "small_upscaled.png", SPEC_224),
        case("small_upscaled_jpg", "small_upscaled.jpg", SPEC_224),
        case("very_wide", "very_wide.png", SPEC_224),
        case("very_tall", "very_tall.jpg", SPEC_224),
        case("crop_larger_than_image", "very_wide.png", SPEC_PAD),
    ]


def make_images(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cases = jpeg_cases(out) + orientation_cases(out) + png_cases(out) + geometry_cases(out)
    (out / "cases.json").write_text(json.dumps(cases, indent=1))


def reference(spec: dict, image_path: Path) -> np.ndarray:
    from torchvision import transforms as T

    transform = T.Compose(
        [
            T.Resize(
                spec["resize_shorter"],
                interpolation=T.InterpolationMode.BILINEAR,
                antialias=True,
            ),
            T.CenterCrop(spec["center_crop"]),
            T.ToTensor(),
            T.Normalize(spec["mean"], spec["std"]),
        ]
    )
    with Image.open(image_path) as img:
        upright = ImageOps.exif_transpose(img).convert("RGB")
    return transform(upright).unsqueeze(0).numpy().astype(np.float32)


def make_references(out: Path) -> None:
    for c in json.loads((out / "cases.json").read_text()):
        np.save(out / f"{c['name']}.npy", reference(c["spec"], out / c["file"]))


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("images", "reference"):
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[2])
    if argv[1] == "images":
        make_images(out)
    else:
        make_references(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
