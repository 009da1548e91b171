"""Checkpoints: read one, find its state_dict, and load it into the model with every misfit named.

A checkpoint is a bare state_dict or a training checkpoint holding one under `model_state_dict`,
`state_dict`, `model` or `net` (optimizer state and the rest are ignored). Key prefixes added by
DataParallel (`module.`) and torch.compile (`_orig_mod.`) are stripped when every key has them.
Files are read with `torch.load(weights_only=True)`; a checkpoint that needs full unpickling (it
holds e.g. an argparse Namespace) is read that way with a warning, since it executes code.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import CheckpointError, listed

log = logging.getLogger(__name__)

CONTAINER_KEYS = ("model_state_dict", "state_dict", "model", "net")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_MAX_KEYS_LISTED = 20


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    sha256: str
    state_dict: dict[str, torch.Tensor]


def read_checkpoint(path: Path) -> Checkpoint:
    """Hash, load and unwrap a checkpoint file."""
    sha256 = sha256_file(path)
    state = extract_state_dict(_torch_load(path), str(path))
    return Checkpoint(path=path, sha256=sha256, state_dict=strip_wrapper_prefixes(state))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError as err:
        raise CheckpointError(f"checkpoint {path} not found") from err
    except OSError as err:
        raise CheckpointError(f"checkpoint {path}: cannot read it: {err.strerror}") from err
    return digest.hexdigest()


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        safe_error = err
    except Exception as err:
        raise CheckpointError(f"checkpoint {path}: not a PyTorch checkpoint ({err})") from err
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise CheckpointError(f"checkpoint {path}: not a PyTorch checkpoint ({err})") from err
    reason = str(safe_error).strip().splitlines()[0]
    log.warning(
        "%s needs full unpickling (weights_only=True refused it: %s); load only checkpoints "
        "you trust",
        path,
        reason,
    )
    return obj


def extract_state_dict(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """The state_dict inside a loaded checkpoint object."""
    if isinstance(obj, nn.Module):
        return dict(obj.state_dict())
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"checkpoint {source}: a {type(obj).__name__}, not a state_dict")
    if _is_state_dict(obj):
        return dict(obj)
    for key in CONTAINER_KEYS:
        if key in obj:
            return _inner_state_dict(obj[key], key, source)
    raise CheckpointError(
        f"checkpoint {source}: no state_dict found; expected a mapping of tensors or one of the "
        f"keys {', '.join(CONTAINER_KEYS)}; top-level keys: {listed(list(obj))}"
    )


def _inner_state_dict(value: Any, key: str, source: str) -> dict[str, torch.Tensor]:
    if isinstance(value, nn.Module):
        return dict(value.state_dict())
    if isinstance(value, Mapping) and _is_state_dict(value):
        return dict(value)
    raise CheckpointError(
        f"checkpoint {source}: `{key}` is a {type(value).__name__}, not a mapping of tensors"
    )


def _is_state_dict(obj: Mapping) -> bool:
    return bool(obj) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    )


def strip_wrapper_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop `module.` / `_orig_mod.` when every key starts with it (repeatedly: they nest)."""
    while True:
        prefix = next((p for p in WRAPPER_PREFIXES if all(k.startswith(p) for k in state)), None)
        if prefix is None:
            return state
        state = {key[len(prefix) :]: value for key, value in state.items()}


def load_weights(
    model: nn.Module, state: dict[str, torch.Tensor], num_classes: int, what: str = "checkpoint"
) -> None:
    """Copy `state` into `model`; raise CheckpointError naming every missing, extra or mis-shaped
    key (a classifier sized for another number of classes first). `what` names both sides."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    mismatched = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if not (missing or unexpected or mismatched):
        model.load_state_dict(state, strict=False)
        return
    shapes = [_shape_line(k, state[k], expected[k], num_classes) for k in mismatched]
    shapes.sort(key=lambda line: "classes" not in line)  # stable: model order otherwise
    lines = shapes[:_MAX_KEYS_LISTED]
    if len(shapes) > _MAX_KEYS_LISTED:
        lines.append(f"... and {len(shapes) - _MAX_KEYS_LISTED} more keys with other shapes")
    if missing:
        lines.append(f"missing keys ({len(missing)}): {listed(missing, _MAX_KEYS_LISTED)}")
    if unexpected:
        lines.append(f"unexpected keys ({len(unexpected)}): {listed(unexpected, _MAX_KEYS_LISTED)}")
    hint = None
    if any("classes" in line for line in shapes):
        hint = "--num-classes defaults to the number of labels; the labels file must match"
    elif len(missing) + len(unexpected) + len(mismatched) > len(expected) // 4:
        hint = "is --model the architecture (and width) the checkpoint was trained with?"
    message = f"the {what} does not fit the model:\n  " + "\n  ".join(lines)
    raise CheckpointError(message, hint=hint)


def _shape_line(key: str, got: torch.Tensor, want: torch.Tensor, num_classes: int) -> str:
    line = f"{key}: checkpoint {_shape(got)} vs model {_shape(want)}"
    same_rest = got.dim() == want.dim() >= 1 and got.shape[1:] == want.shape[1:]
    is_param = key.endswith((".weight", ".bias"))
    if is_param and same_rest and want.shape[0] == num_classes:
        line += f" (the checkpoint has {got.shape[0]} classes, the model {num_classes})"
    return line


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ",".join(str(size) for size in tensor.shape) + "]"
