"""The publisher's errors: one root, `PublishError`, and one subclass per cause.

Every failure a user can fix is raised as a `PublishError` whose message names the file, key,
option or tensor at fault; `hint`, when set, says what to do about it. The CLI prints
`error: <message>` (and `hint: <hint>`) and exits 1.
"""

from __future__ import annotations


class PublishError(Exception):
    """Root of every error the publisher reports to its user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class OptionsError(PublishError):
    """An option value that cannot work (bad name, sizes, both or neither of --repo/--out)."""


class ModelSpecError(PublishError):
    """The --model SPEC cannot be resolved or called."""


class LabelsError(PublishError):
    """The labels file is unreadable or not one of the accepted shapes."""


class CheckpointError(PublishError):
    """The checkpoint cannot be read or does not fit the model."""


class GoldenInputError(PublishError):
    """The golden images cannot be found or decoded."""


class ExportError(PublishError):
    """The ONNX export failed or produced a graph that breaks the bundle contract."""


class ParityError(PublishError):
    """ONNX Runtime's output differs from PyTorch's beyond the tolerances."""


class MetricsError(PublishError):
    """The --metrics file is unreadable or not a JSON object."""


class KeyFileError(PublishError):
    """A minisign key file is missing, malformed, encrypted, or would be overwritten."""


class RepositoryError(PublishError):
    """The bundle cannot be written (version exists, I/O failure)."""


def listed(items: list[object], limit: int = 10) -> str:
    """`a, b, c and 7 more`: a bounded list of names for an error message."""
    shown = ", ".join(str(item) for item in items[:limit])
    more = len(items) - limit
    return (shown or "none") + (f" and {more} more" if more > 0 else "")
