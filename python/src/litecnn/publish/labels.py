"""Label files: the three accepted shapes, normalised to the manifest's list of objects.

Accepted (DESIGN section 9, Labels):

- a list of strings: ``["Border Collie", ...]``
- a list of objects: ``[{"name": "Border Collie", ...}]``; an object without ``name`` takes its
  first string field in file order (e.g. ``breed_en``) as the name
- an object keyed by class index: ``{"0": {...}, "1": {...}}`` (the original
  ``breed_classes.json``), keys exactly ``0..N-1`` read in numeric order; values as in a list

The result is always a list of objects whose first key is ``name``; every field of the original
object is kept, in file order. A UTF-8 byte-order mark is ignored; duplicate JSON keys are errors.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .errors import LabelsError, listed

_INDEX_KEY = re.compile(r"0|[1-9][0-9]*")


def load_labels(path: Path) -> list[dict[str, Any]]:
    """Read and normalise a labels file; raise LabelsError naming the file and the entry."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise LabelsError(f"labels file {path} not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise LabelsError(f"labels file {path}: cannot read it as UTF-8: {err}") from err
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise LabelsError(f"labels file {path}: invalid JSON: {err}") from err
    except _DuplicateKey as err:
        raise LabelsError(f"labels file {path}: duplicate key {err.args[0]!r}") from err
    try:
        return normalize_labels(data)
    except LabelsError as err:
        raise LabelsError(f"labels file {path}: {err}", hint=err.hint) from err


def normalize_labels(data: Any) -> list[dict[str, Any]]:
    """The manifest form of already-parsed label data (any of the three shapes)."""
    if isinstance(data, list):
        entries = data
    elif isinstance(data, dict):
        entries = _entries_by_index(data)
    else:
        raise LabelsError(
            f"expected a JSON list or an object keyed by class index, found {_json_type(data)}"
        )
    if not entries:
        raise LabelsError("no labels")
    return [_label(entry, index) for index, entry in enumerate(entries)]


def _entries_by_index(data: dict[str, Any]) -> list[Any]:
    bad = [key for key in data if not _INDEX_KEY.fullmatch(key)]
    if bad:
        raise LabelsError(
            "an object of labels must be keyed by class index 0..N-1; bad keys: "
            + listed([repr(key) for key in bad]),
            hint='use {"0": ..., "1": ...} or a JSON list',
        )
    indexes = {int(key) for key in data}
    missing = sorted(set(range(len(data))) - indexes)
    if missing:
        extra = sorted(indexes - set(range(len(data))))
        raise LabelsError(
            f"class indexes must be exactly 0..{len(data) - 1}: missing {listed(missing)}, "
            f"out of range {listed(extra)}"
        )
    return [data[str(index)] for index in range(len(data))]


def _label(entry: Any, index: int) -> dict[str, Any]:
    if isinstance(entry, str):
        return {"name": _non_empty(entry, index)}
    if not isinstance(entry, dict):
        raise LabelsError(
            f"label {index}: expected a string or an object, found {_json_type(entry)}"
        )
    if "name" in entry:
        name = entry["name"]
        if not isinstance(name, str):
            raise LabelsError(f"label {index}: `name` must be a string, found {_json_type(name)}")
    else:
        name = next((value for value in entry.values() if isinstance(value, str)), None)
        if name is None:
            raise LabelsError(f"label {index}: an object with no `name` and no string field")
    rest = {key: value for key, value in entry.items() if key != "name"}
    return {"name": _non_empty(name, index), **rest}


def _non_empty(name: str, index: int) -> str:
    if not name.strip():
        raise LabelsError(f"label {index}: the name is empty")
    return name


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
