"""Checkpoints: the accepted shapes, prefix stripping, and errors naming every misfit key."""

from __future__ import annotations

import argparse
import logging

import pytest
import torch
import torchvision
from litecnn.publish.checkpoint import load_weights, read_checkpoint
from litecnn.publish.errors import CheckpointError
from litecnn.publish.spec import build_model


def fresh_model(ref, num_classes: int = 5) -> torch.nn.Module:
    return build_model(ref.spec, num_classes)


def assert_same_weights(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[key], state[key]) for key in state)


@pytest.mark.parametrize("kind", ["bare", "training", "data_parallel"])
def test_each_checkpoint_shape_loads_the_same_weights(ref, kind):
    checkpoint = read_checkpoint(getattr(ref, kind))
    assert checkpoint.state_dict.keys() == ref.state_dict.keys()
    model = fresh_model(ref)
    load_weights(model, checkpoint.state_dict, 5)
    assert_same_weights(model, ref.state_dict)


@pytest.mark.parametrize(
    ("wrap", "prefix"),
    [
        (lambda s: {"model": s}, "module."),
        (lambda s: {"net": s, "optimizer": {}}, "_orig_mod."),
        (lambda s: {"state_dict": s}, "module._orig_mod."),
    ],
)
def test_container_keys_and_wrapper_prefixes(ref, tmp_path, wrap, prefix):
    path = tmp_path / "ckpt.pth"
    torch.save(wrap({prefix + key: value for key, value in ref.state_dict.items()}), path)
    assert read_checkpoint(path).state_dict.keys() == ref.state_dict.keys()


def test_sha256_is_the_file_hash(ref):
    import hashlib

    assert read_checkpoint(ref.bare).sha256 == hashlib.sha256(ref.bare.read_bytes()).hexdigest()


def test_missing_and_unexpected_keys_are_listed_by_name(ref):
    state = dict(ref.state_dict)
    del state["features.0.0.weight"]
    state["extra.head.weight"] = torch.zeros(3)
    with pytest.raises(CheckpointError) as caught:
        load_weights(fresh_model(ref), state, 5)
    message = str(caught.value)
    assert "missing keys (1): features.0.0.weight" in message
    assert "unexpected keys (1): extra.head.weight" in message


def test_num_batches_tracked_may_be_missing(ref):
    state = {k: v for k, v in ref.state_dict.items() if not k.endswith("num_batches_tracked")}
    load_weights(fresh_model(ref), state, 5)


def test_wrong_shape_shows_both_shapes(ref):
    state = dict(ref.state_dict)
    state["features.1.block.0.0.weight"] = torch.zeros(16, 1, 5, 5)
    with pytest.raises(CheckpointError) as caught:
        load_weights(fresh_model(ref), state, 5)
    assert "features.1.block.0.0.weight: checkpoint [16,1,5,5] vs model [16,1,3,3]" in str(
        caught.value
    )


def test_class_count_mismatch_names_the_classifier_key(ref):
    with pytest.raises(CheckpointError) as caught:
        load_weights(fresh_model(ref, num_classes=7), ref.state_dict, 7)
    message = str(caught.value)
    assert "classifier.3.weight: checkpoint [5,1024] vs model [7,1024]" in message
    assert "the checkpoint has 5 classes, the model 7" in message
    assert "classifier.3.bias: checkpoint [5] vs model [7]" in message
    assert "--num-classes" in caught.value.hint


def test_checkpoint_needing_full_unpickling_loads_with_a_warning(ref, tmp_path, caplog):
    path = tmp_path / "with_args.pth"
    torch.save({"args": argparse.Namespace(lr=0.1), "model": ref.state_dict}, path)
    with caplog.at_level(logging.WARNING, logger="litecnn"):
        checkpoint = read_checkpoint(path)
    assert checkpoint.state_dict.keys() == ref.state_dict.keys()
    assert "full unpickling" in caplog.text


def test_whole_module_saved_as_checkpoint(tmp_path):
    model = torchvision.models.mobilenet_v3_small(num_classes=3)
    path = tmp_path / "module.pth"
    torch.save(model, path)
    assert read_checkpoint(path).state_dict.keys() == model.state_dict().keys()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"epoch": 3, "optimizer": {}}, "no state_dict found; expected"),
        ({"model": {"a": 1}}, "`model` is a dict, not a mapping of tensors"),
        ([1, 2, 3], "a list, not a state_dict"),
    ],
)
def test_objects_without_a_state_dict_are_errors(tmp_path, content, message):
    path = tmp_path / "ckpt.pth"
    torch.save(content, path)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(path)


def test_not_a_checkpoint_and_missing_file(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        read_checkpoint(path)
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nope.pth")
