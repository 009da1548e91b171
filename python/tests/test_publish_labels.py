"""Label files: the three accepted shapes, the manifest form, and the errors (DESIGN section 9)."""

from __future__ import annotations

import json

import pytest
from litecnn.publish.errors import LabelsError
from litecnn.publish.labels import load_labels, normalize_labels

BOM = "\ufeff"


def write(tmp_path, text: str, name: str = "labels.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["Border Collie", "Jindo"], [{"name": "Border Collie"}, {"name": "Jindo"}]),
        (
            [
                {"name": "Border Collie", "breed_ko": "보더 콜리"},
                {"breed_ko": "진돗개", "name": "Jindo"},
            ],
            [
                {"name": "Border Collie", "breed_ko": "보더 콜리"},
                {"name": "Jindo", "breed_ko": "진돗개"},
            ],
        ),
        (  # no `name`: the first string field in file order, numbers skipped; all fields kept
            [{"id": 7, "breed_en": "Jindo", "breed_ko": "진돗개"}],
            [{"name": "Jindo", "id": 7, "breed_en": "Jindo", "breed_ko": "진돗개"}],
        ),
        (
            {"0": "Border Collie", "1": {"breed_en": "Jindo"}},
            [
                {"name": "Border Collie"},
                {"name": "Jindo", "breed_en": "Jindo"},
            ],
        ),
    ],
    ids=["list-of-strings", "list-of-objects", "first-string-field", "keyed-by-index"],
)
def test_accepted_shapes_become_objects_with_name_first(data, expected):
    labels = normalize_labels(data)
    assert labels == expected
    assert all(next(iter(label)) == "name" for label in labels)


def test_index_keys_are_read_in_numeric_order_not_string_order(tmp_path):
    names = [f"class-{i}" for i in range(12)]
    # Written in string order ("0", "1", "10", "11", "2", ...), as sort_keys would.
    text = json.dumps({str(i): {"breed_en": name} for i, name in enumerate(names)}, sort_keys=True)
    assert text.index('"10"') < text.index('"2"')
    labels = load_labels(write(tmp_path, text))
    assert [label["name"] for label in labels] == names


def test_thudogs_labels_with_bom(thudogs_labels):
    assert thudogs_labels.read_bytes().startswith(BOM.encode())
    labels = load_labels(thudogs_labels)
    assert len(labels) == 130
    assert labels[0] == {"name": "Shiba Inu", "breed_en": "Shiba Inu", "breed_ko": "시바 이누"}
    assert all(label["name"] and label["breed_ko"] for label in labels)
    raw = json.loads(thudogs_labels.read_text(encoding="utf-8-sig"))
    assert [label["breed_ko"] for label in labels] == [raw[str(i)]["breed_ko"] for i in range(130)]


@pytest.mark.parametrize("text", ['["a", "b"]', '{"0": "a", "1": "b"}'])
def test_byte_order_mark_is_ignored(tmp_path, text):
    labels = load_labels(write(tmp_path, BOM + text))
    assert [label["name"] for label in labels] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"0": "a", "2": "c"}', "missing 1, out of range 2"),
        ('{"0": "a", "one": "b"}', "bad keys: 'one'"),
        ('{"0": "a", "01": "b"}', "bad keys: '01'"),
        ('{"0": "a", "0": "b"}', "duplicate key '0'"),
        ("[]", "no labels"),
        ('"dogs"', "found a string"),
        ('["a", 3]', "label 1: expected a string or an object, found a number"),
        ('["a", ""]', "label 1: the name is empty"),
        ('[{"id": 1}]', "label 0: an object with no `name` and no string field"),
        ('[{"name": 5}]', "label 0: `name` must be a string"),
        ('["a",', "invalid JSON"),
    ],
)
def test_bad_label_files_are_errors_naming_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(LabelsError) as caught:
        load_labels(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_labels_file_is_an_error(tmp_path):
    with pytest.raises(LabelsError, match="not found"):
        load_labels(tmp_path / "nope.json")
