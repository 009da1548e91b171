"""Model specs: `torchvision:NAME`, `timm:NAME` or `package.module:Factory`, built for N classes."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Callable

from torch import nn

from .errors import ModelSpecError

SPEC_FORMS = "torchvision:NAME, timm:NAME or package.module:Factory"


def build_model(spec: str, num_classes: int) -> nn.Module:
    """A float32 model in eval mode, with random weights, for `num_classes` outputs."""
    kind, _, name = spec.partition(":")
    if not kind or not name:
        raise ModelSpecError(f"--model {spec!r}: expected {SPEC_FORMS}")
    builder = {"torchvision": _torchvision, "timm": _timm}.get(kind)
    model = builder(name, num_classes) if builder else _factory(kind, name, num_classes)
    if not isinstance(model, nn.Module):
        raise ModelSpecError(f"--model {spec}: returned a {type(model).__name__}, not a nn.Module")
    return model.float().eval()


def _torchvision(name: str, num_classes: int) -> nn.Module:
    import torchvision

    known = torchvision.models.list_models()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3)
        raise ModelSpecError(
            f"--model torchvision:{name}: torchvision {torchvision.__version__} has no such model",
            hint=f"did you mean {', '.join(close)}?" if close else None,
        )
    return _call(
        f"torchvision:{name}",
        num_classes,
        lambda: torchvision.models.get_model(name, weights=None, num_classes=num_classes),
    )


def _timm(name: str, num_classes: int) -> nn.Module:
    try:
        import timm
    except ImportError as err:
        raise ModelSpecError(
            f"--model timm:{name} needs the timm package, which is not installed",
            hint="pip install timm (or pip install 'litecnn-publish[timm]')",
        ) from err
    if not timm.is_model(name):
        raise ModelSpecError(f"--model timm:{name}: timm {timm.__version__} has no such model")
    return _call(
        f"timm:{name}",
        num_classes,
        lambda: timm.create_model(name, pretrained=False, num_classes=num_classes),
    )


def _factory(module_name: str, attr: str, num_classes: int) -> nn.Module:
    spec = f"{module_name}:{attr}"
    # Like `python -m`, look in the working directory too: a training repository's own modules.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ModelSpecError(
            f"--model {spec}: cannot import {module_name}: {err}",
            hint=f"{SPEC_FORMS}; the module must be importable from the working directory or "
            "the environment",
        ) from err
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ModelSpecError(f"--model {spec}: {module_name} has no class or function {attr}")
    return _call(spec, num_classes, lambda: factory(num_classes=num_classes))


def _call(spec: str, num_classes: int, build: Callable[[], nn.Module]) -> nn.Module:
    try:
        return build()
    except Exception as err:
        raise ModelSpecError(
            f"--model {spec}: building it with num_classes={num_classes} failed: {err}"
        ) from err
