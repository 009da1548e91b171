"""The publisher: PyTorch checkpoint -> `litecnn-bundle/1` model bundle (DESIGN section 2).

Modules, in pipeline order: `labels` (label files), `spec` (--model SPEC), `checkpoint` (state_dict
extraction and loading), `golden` (preprocessing and golden inputs), `export` (ONNX), `parity`
(ONNX Runtime against PyTorch), `manifest` (litecnn.json, versions), `minisign` (keys and
signatures), `repository` (atomic bundle and LATEST writes); `pipeline` runs them in order and
`cli` is the `litecnn-publish` command. Every error a user can fix is a `PublishError`.
"""

from .errors import PublishError

__all__ = ["PublishError"]
