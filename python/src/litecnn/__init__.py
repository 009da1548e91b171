"""litecnn on the training side: the reference architecture and the model-bundle publisher.

`litecnn.publish` turns a PyTorch checkpoint into a `litecnn-bundle/1` model bundle (ONNX, manifest,
golden outputs, checksums, optional minisign signature) for the litecnn edge server.
"""

__version__ = "0.1.0"
