#!/usr/bin/env python3
"""Train an image classifier on any ImageFolder dataset, then (optionally) publish it.

Dataset layout: ``DATA/train/<class>/*.jpg|png`` and ``DATA/val/<class>/*`` (the class directories
of both must be the same), or ``DATA/<class>/*`` with ``--val-split 0.1`` (a seeded random split).
For the original dog-breed users that is ``DATA/train/<breed>/*.jpg``.

    python train_imagefolder.py --data ~/thudogs --epochs 30 --out runs/dogs \\
        --publish-repo /srv/models --name dog-breeds

Preprocessing: evaluation uses exactly the preprocessing written into the bundle manifest by the
publisher -- EXIF orientation applied, converted to RGB, Resize(--resize, bilinear, antialias),
CenterCrop(--input-size), ToTensor, Normalize(--mean, --std). Training uses the same, or with
``--augment`` RandomResizedCrop(--input-size) + RandomHorizontalFlip.

Outputs in ``--out``: ``last.pth`` every epoch and ``best.pth`` whenever validation top-1 improves
(training checkpoints ``{"epoch", "model_state_dict", "optimizer_state_dict", "val_top1",
"val_top5", "classes", ...}``), ``labels.json`` (class names in class-index order) and
``metrics.json`` (``{"val_top1", "val_top5", "dataset"}`` of best.pth). ``--resume last.pth``
continues a run (model, optimizer and epoch count) up to ``--epochs`` in total.

``--arch`` is a publisher model spec: ``package.module:Factory`` (called with ``num_classes=N``;
default ``litecnn.models:lite_cnn_half``) or ``torchvision:NAME``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_rgb(path: str) -> Image.Image:
    """Open an image as the server does: EXIF orientation applied, then RGB."""
    with open(path, "rb") as f:
        img = Image.open(f)
        img = ImageOps.exif_transpose(img)
        return img.convert("RGB")


def eval_transform(args: argparse.Namespace) -> transforms.Compose:
    """The manifest's preprocessing (litecnn-bundle/1 ``preprocess``)."""
    return transforms.Compose(
        [
            transforms.Resize(
                args.resize,
                interpolation=transforms.InterpolationMode.BILINEAR,
                antialias=True,
            ),
            transforms.CenterCrop(args.input_size),
            transforms.ToTensor(),
            transforms.Normalize(args.mean, args.std),
        ]
    )


def train_transform(args: argparse.Namespace) -> transforms.Compose:
    if not args.augment:
        return eval_transform(args)
    return transforms.Compose(
        [
            transforms.RandomResizedCrop(
                args.input_size,
                scale=(0.35, 1.0),
                interpolation=transforms.InterpolationMode.BILINEAR,
                antialias=True,
            ),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(args.mean, args.std),
        ]
    )


def build_datasets(args: argparse.Namespace):
    """(train, val, classes, dataset_name)."""
    root = Path(args.data)
    train_dir, val_dir = root / "train", root / "val"
    if args.val_split is None:
        if not (train_dir.is_dir() and val_dir.is_dir()):
            sys.exit(f"error: {root} has no train/ and val/ subdirectories (or use --val-split F)")
        train = datasets.ImageFolder(train_dir, train_transform(args), loader=load_rgb)
        val = datasets.ImageFolder(val_dir, eval_transform(args), loader=load_rgb)
        if train.classes != val.classes:
            sys.exit(
                f"error: class directories differ between {train_dir} and {val_dir}: "
                f"{sorted(set(train.classes) ^ set(val.classes))}"
            )
        return train, val, train.classes, args.dataset_name or f"{root.name}/val"

    if not 0.0 < args.val_split < 1.0:
        sys.exit("error: --val-split must be between 0 and 1")
    base = train_dir if train_dir.is_dir() else root
    train_all = datasets.ImageFolder(base, train_transform(args), loader=load_rgb)
    val_all = datasets.ImageFolder(base, eval_transform(args), loader=load_rgb)
    n = len(train_all)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed)).tolist()
    n_val = max(1, round(n * args.val_split))
    if n_val >= n:
        sys.exit(f"error: --val-split {args.val_split} leaves no training images ({n} in total)")
    val_idx, train_idx = sorted(order[:n_val]), sorted(order[n_val:])
    return (
        Subset(train_all, train_idx),
        Subset(val_all, val_idx),
        train_all.classes,
        args.dataset_name or f"{root.name}/val-split-{args.val_split:g}-seed{args.seed}",
    )


def build_model(spec: str, num_classes: int) -> nn.Module:
    """Instantiate a publisher model spec (``torchvision:NAME`` or ``module:Factory``)."""
    if spec.startswith("torchvision:"):
        import torchvision.models

        return torchvision.models.get_model(
            spec.split(":", 1)[1], weights=None, num_classes=num_classes
        )
    if ":" not in spec:
        sys.exit(f"error: --arch {spec!r}: expected 'torchvision:NAME' or 'package.module:Factory'")
    module_name, attr = spec.split(":", 1)
    module = importlib.import_module(module_name)
    factory = module
    for part in attr.split("."):
        factory = getattr(factory, part)
    return factory(num_classes=num_classes)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[float, float]:
    """(top-1, top-5) accuracy as fractions (top-5 = top-k with k = min(5, classes))."""
    model.eval()
    correct1 = correct5 = total = 0
    for images, targets in loader:
        images, targets = images.to(device), targets.to(device)
        logits = model(images)
        k = min(5, logits.shape[1])
        topk = logits.topk(k, dim=1).indices
        hits = topk == targets[:, None]
        correct1 += hits[:, 0].sum().item()
        correct5 += hits.any(dim=1).sum().item()
        total += targets.numel()
    return correct1 / max(total, 1), correct5 / max(total, 1)


def cosine_lr(base_lr: float, epoch: int, epochs: int) -> float:
    """Per-epoch cosine decay; epoch 0 runs at ``base_lr``. A run of E epochs and a run of 1
    epoch resumed to E follow the same schedule."""
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_json_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def publish(args: argparse.Namespace, out: Path) -> int:
    """Run ``litecnn-publish export`` on best.pth."""
    # Prefer the one installed next to this interpreter (a venv not on PATH), then PATH.
    beside = Path(sys.executable).parent / "litecnn-publish"
    exe = str(beside) if beside.exists() else shutil.which("litecnn-publish")
    if exe is None:
        sys.exit("error: litecnn-publish not found (pip install the litecnn Python package)")
    cmd = [exe]
    cmd += [
        "export",
        "--model", args.arch,
        "--checkpoint", str(out / "best.pth"),
        "--labels", str(args.labels or out / "labels.json"),
        "--name", args.name,
        "--repo", str(args.publish_repo),
        "--input-size", str(args.input_size),
        "--resize", str(args.resize),
        "--mean", *map(str, args.mean),
        "--std", *map(str, args.std),
        "--metrics", str(out / "metrics.json"),
    ]  # fmt: skip
    if args.version:
        cmd += ["--version", args.version]
    if args.golden_images:
        cmd += ["--golden-images", str(args.golden_images)]
    if args.sign_key:
        cmd += ["--sign-key", str(args.sign_key)]
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=False).returncode


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Train an image classifier on an ImageFolder dataset (CPU or GPU).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", required=True, type=Path, help="dataset root (train/ and val/)")
    p.add_argument(
        "--val-split",
        type=float,
        default=None,
        help="no val/ directory: hold out this fraction of the images (seeded)",
    )
    p.add_argument(
        "--dataset-name",
        default=None,
        help='"dataset" in metrics.json (default: the name of DATA + "/val")',
    )
    p.add_argument(
        "--arch",
        default="litecnn.models:lite_cnn_half",
        help="model spec: package.module:Factory or torchvision:NAME",
    )
    p.add_argument("--input-size", type=int, default=224, help="center crop size")
    p.add_argument("--resize", type=int, default=256, help="shorter side before the crop")
    p.add_argument("--mean", type=float, nargs=3, default=IMAGENET_MEAN, metavar=("R", "G", "B"))
    p.add_argument("--std", type=float, nargs=3, default=IMAGENET_STD, metavar=("R", "G", "B"))
    p.add_argument(
        "--augment", action="store_true", help="RandomResizedCrop + horizontal flip for training"
    )
    p.add_argument("--epochs", type=int, default=10, help="total epochs (including resumed ones)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (cosine decay)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--workers", type=int, default=2, help="data loader worker processes")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--device", default=None, help="cuda, cpu, mps (default: cuda if available)")
    p.add_argument("--out", required=True, type=Path, help="checkpoint directory")
    p.add_argument("--resume", type=Path, default=None, help="continue from this last.pth")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop each epoch after this many batches (smoke tests)",
    )
    g = p.add_argument_group("publishing (after training, on best.pth)")
    g.add_argument("--publish-repo", type=Path, default=None, help="model repository directory")
    g.add_argument("--name", default=None, help="model name in the repository")
    g.add_argument("--version", default=None, help="explicit version (default: the publisher's)")
    g.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="label file to publish instead of labels.json (e.g. with extra fields)",
    )
    g.add_argument("--golden-images", type=Path, default=None)
    g.add_argument("--sign-key", type=Path, default=None)
    args = p.parse_args(argv)
    if args.publish_repo and not args.name:
        p.error("--publish-repo needs --name")
    if args.epochs < 1:
        p.error("--epochs must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Let the example run from a source checkout without installing the package.
    src = Path(__file__).resolve().parents[1] / "src"
    if src.is_dir() and str(src) not in sys.path:
        sys.path.append(str(src))
    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    if args.device:
        device = torch.device(args.device)
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    train_set, val_set, classes, dataset_name = build_datasets(args)
    print(
        f"data: {len(train_set)} train / {len(val_set)} val images, {len(classes)} classes; "
        f"device {device}",
        flush=True,
    )
    loader_kw = {
        "batch_size": args.batch_size,
        "num_workers": args.workers,
        "pin_memory": device.type == "cuda",
        "persistent_workers": args.workers > 0,
    }
    train_loader = DataLoader(
        train_set,
        shuffle=True,
        drop_last=len(train_set) > args.batch_size,
        generator=torch.Generator().manual_seed(args.seed),
        **loader_kw,
    )
    val_loader = DataLoader(val_set, shuffle=False, **loader_kw)

    model = build_model(args.arch, len(classes)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    criterion = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    start_epoch, best_top1 = 0, -1.0
    if args.resume:
        ckpt = torch.load(args.resume, map_location=device, weights_only=True)
        if ckpt.get("classes") != classes:
            sys.exit(f"error: {args.resume} was trained on other classes than {args.data}")
        model.load_state_dict(ckpt["model_state_dict"])
        optimizer.load_state_dict(ckpt["optimizer_state_dict"])
        start_epoch = int(ckpt["epoch"])
        print(f"resumed {args.resume} after epoch {start_epoch}", flush=True)
    if (out / "best.pth").exists():
        best_top1 = float(torch.load(out / "best.pth", map_location="cpu")["val_top1"])
    write_json_atomic(list(classes), out / "labels.json")

    for epoch in range(start_epoch, args.epochs):
        lr = cosine_lr(args.lr, epoch, args.epochs)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        t0 = time.monotonic()
        seen, loss_sum, correct = 0, 0.0, 0
        for step, (images, targets) in enumerate(train_loader):
            if args.max_steps is not None and step >= args.max_steps:
                break
            images = images.to(device, non_blocking=True)
            targets = targets.to(device, non_blocking=True)
            logits = model(images)
            loss = criterion(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += targets.numel()
            loss_sum += loss.item() * targets.numel()
            correct += (logits.argmax(1) == targets).sum().item()
        train_s = time.monotonic() - t0
        top1, top5 = evaluate(model, val_loader, device)
        epoch_s = time.monotonic() - t0
        print(
            f"epoch {epoch + 1}/{args.epochs}: lr {lr:.2e} loss {loss_sum / max(seen, 1):.4f} "
            f"train-acc {correct / max(seen, 1):.4f} val top-1 {top1:.4f} top-5 {top5:.4f} "
            f"({train_s:.0f}s train, {epoch_s:.0f}s total)",
            flush=True,
        )
        ckpt = {
            "epoch": epoch + 1,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(),
            "val_top1": top1,
            "val_top5": top5,
            "classes": list(classes),
            "arch": args.arch,
            "preprocess": {
                "input_size": args.input_size,
                "resize": args.resize,
                "mean": list(args.mean),
                "std": list(args.std),
            },
        }
        save_atomic(ckpt, out / "last.pth")
        if top1 > best_top1:
            best_top1 = top1
            save_atomic(ckpt, out / "best.pth")
            write_json_atomic(
                {"val_top1": top1, "val_top5": top5, "dataset": dataset_name},
                out / "metrics.json",
            )
            print(f"  new best: {out / 'best.pth'}", flush=True)

    if args.publish_repo:
        if not (out / "best.pth").exists():
            sys.exit("error: no best.pth to publish")
        return publish(args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
