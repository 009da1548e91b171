"""What a user would write instead of ``litecnn serve``: FastAPI + uvicorn + ONNX Runtime + Pillow.

The comparison server of ``bench/http/run.py``. It serves the model of a litecnn bundle, with the
bundle's preprocessing done the torchvision way on a PIL image (resize the shorter side with
antialiased bilinear, center crop, scale to [0, 1], normalise), so both servers run the same model
on the same input. ``POST /predict`` takes a raw image body or a multipart field ``image`` and
answers the top-5 classes, like litecnn's; ``GET /health`` answers ``{"status": "ok"}``.

    python bench/http/fastapi_server.py BUNDLE_DIR --port 8892 [--threads 2]

Plain PIL + NumPy instead of ``torchvision.transforms`` keeps torch out of the process (it would
add hundreds of MB of resident memory to this side of the comparison); the arithmetic is the same.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from PIL import Image, UnidentifiedImageError


class Classifier:
    """One bundle's model, preprocessing and labels."""

    def __init__(self, bundle: Path, threads: int) -> None:
        manifest = json.loads((bundle / "litecnn.json").read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(bundle / manifest["model"]["file"]), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = manifest["model"]["input"]
        self.softmax = manifest["model"]["output_kind"] == "logits"
        pre = manifest["preprocess"]
        self.resize_shorter = pre["resize_shorter"]
        self.crop_h, self.crop_w = pre["center_crop"]
        self.mean = np.asarray(pre["mean"], np.float32).reshape(3, 1, 1)
        self.std = np.asarray(pre["std"], np.float32).reshape(3, 1, 1)
        self.labels = [label["name"] for label in manifest["labels"]]

    def preprocess(self, data: bytes) -> np.ndarray:
        image = Image.open(io.BytesIO(data)).convert("RGB")
        width, height = image.size
        short, long = min(width, height), max(width, height)
        new_long = int(self.resize_shorter * long / short)  # torchvision's rounding
        if width <= height:
            size = (self.resize_shorter, new_long)
        else:
            size = (new_long, self.resize_shorter)
        image = image.resize(size, Image.Resampling.BILINEAR)  # antialiased, as torchvision's
        top = round((size[1] - self.crop_h) / 2.0)
        left = round((size[0] - self.crop_w) / 2.0)
        image = image.crop((left, top, left + self.crop_w, top + self.crop_h))
        pixels = np.asarray(image, np.float32).transpose(2, 0, 1) / 255.0
        return ((pixels - self.mean) / self.std)[None]

    def predict(self, data: bytes, top_k: int = 5) -> dict:
        scores = self.session.run(None, {self.input_name: self.preprocess(data)})[0][0]
        if self.softmax:
            scores = np.exp(scores - scores.max())
            scores /= scores.sum()
        best = np.argsort(-scores)[:top_k]
        return {
            "predictions": [
                {"index": int(i), "label": self.labels[i], "probability": float(scores[i])}
                for i in best
            ]
        }


def build_app(classifier: Classifier) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(request: Request) -> dict:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("image")
            if upload is None or isinstance(upload, str):
                raise HTTPException(400, 'the form has no file field "image"')
            data = await upload.read()
        else:
            data = await request.body()
        try:
            # Off the event loop, as a careful user would: decoding and inference block.
            return await run_in_threadpool(classifier.predict, data)
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise HTTPException(400, f"cannot read the image: {err}") from err

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="a litecnn bundle directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8892)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    args = parser.parse_args()
    app = build_app(Classifier(args.bundle, args.threads))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
