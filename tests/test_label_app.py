"""The parts of MONAI Label serving that need no MONAI Label: the request-metadata check, /info's field list, the
app folder ``metaseg label app`` writes, and the server command. The server itself: tests/test_label_server.py."""

from __future__ import annotations

import sys

import pytest

from metaseg_monai.label import (
    MetadataRequestError,
    check_request_metadata,
    describe_fields,
    parse_bundle_names,
    server_command,
    write_app,
)
from metaseg_monai.transforms import MetadataSpec

SPEC = MetadataSpec(
    [
        {"name": "cell_line", "type": "categorical", "categories": ["HeLa", "MDCK"]},
        {"name": "radiographic_size", "type": "continuous", "minimum": 0.0, "maximum": 10.0, "valid_min": 0.0},
    ]
)


def test_check_request_metadata_returns_the_values():
    params = {"cell_line": "MDCK", "radiographic_size": "3.2", "device": "cpu"}
    assert check_request_metadata(SPEC, params, "m") == {"cell_line": "MDCK", "radiographic_size": "3.2"}
    assert check_request_metadata(MetadataSpec([]), {}, "video") == {}


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"radiographic_size": 1.0}, ["'cell_line'", "['HeLa', 'MDCK']", "found nothing", '{"cell_line": "HeLa"}']),
        ({"cell_line": " ", "radiographic_size": 1.0}, ["'cell_line'", "found ' '"]),
        ({"cell_line": "HeLa-S3", "radiographic_size": 1.0}, ["'cell_line'", "['HeLa', 'MDCK']", "'HeLa-S3'"]),
        ({"cell_line": "HeLa", "radiographic_size": float("nan")}, ["'radiographic_size'", "[0.0, inf)", "nan"]),
        ({"cell_line": "HeLa", "radiographic_size": -2}, ["'radiographic_size'", "[0.0, inf)", "-2"]),
        ({"cell_line": "HeLa", "radiographic_size": "large"}, ["'radiographic_size'", "'large'"]),
    ],
)
def test_check_request_metadata_names_the_field_and_what_it_accepts(params, names):
    with pytest.raises(MetadataRequestError) as err:
        check_request_metadata(SPEC, params, "kits")
    assert "'kits'" in str(err.value)
    for name in names:
        assert name in str(err.value)


def test_describe_fields_lists_categories_and_ranges():
    assert describe_fields(SPEC) == [
        {"name": "cell_line", "required": True, "type": "categorical", "categories": ["HeLa", "MDCK"]},
        {
            "name": "radiographic_size",
            "required": True,
            "type": "continuous",
            "valid_min": 0.0,
            "valid_max": None,
            "range": "[0.0, inf)",
        },
    ]


def test_write_app_copies_the_bundles_and_refuses_a_used_folder(tmp_path):
    app = write_app(tmp_path / "app", ["cell_lines_nuclei_segmentation", "kits21_tumor_size_segmentation"])
    assert "MetasegLabelApp" in (app / "main.py").read_text()
    for name in ("cell_lines_nuclei_segmentation", "kits21_tumor_size_segmentation"):
        assert (app / "model" / name / "configs" / "inference.json").is_file()
        assert (app / "model" / name / "models" / "model.pt").is_file()
    with pytest.raises(FileExistsError, match="not empty"):
        write_app(app, ["cell_lines_nuclei_segmentation"])


def test_write_app_refuses_unknown_or_untrained_bundles_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_bundle"):
        write_app(tmp_path / "app", ["cell_lines_nuclei_segmentation", "no_such_bundle"])
    assert not (tmp_path / "app").exists() and not list(tmp_path.iterdir())
    untrained = tmp_path / "untrained"
    write_app(tmp_path / "copy", ["cell_lines_nuclei_segmentation"])
    (tmp_path / "copy" / "model" / "cell_lines_nuclei_segmentation").rename(untrained)
    (untrained / "models" / "model.pt").unlink()
    with pytest.raises(FileNotFoundError, match="no trained weights"):
        write_app(tmp_path / "app2", [str(untrained)])
    with pytest.raises(ValueError, match="twice"):
        write_app(tmp_path / "app3", ["cell_lines_nuclei_segmentation", "cell_lines_nuclei_segmentation"])


def test_parse_bundle_names_and_server_command():
    assert parse_bundle_names("a, b") == ["a", "b"] == parse_bundle_names(("a", "b"))
    with pytest.raises(ValueError, match="at least one"):
        parse_bundle_names(" , ")
    command = server_command("/app", "/studies", 8123, "127.0.0.1", ["a", "b"])
    assert command[:4] == [sys.executable, "-m", "monailabel.main", "start_server"]
    assert command[-5:] == ["--port", "8123", "--conf", "models", "a,b"]
