"""metaseg_monai.handlers.MetadataSpecSaver: the metadata spec written beside the weights when training starts."""

from __future__ import annotations

import json
import logging

import pytest
from ignite.engine import Engine, Events

from metaseg_monai.handlers import MetadataSpecSaver
from metaseg_monai.transforms import ContinuousField, MetadataSpec

FIELDS = [
    {"name": "cell_line", "type": "categorical", "categories": ["HeLa", "MDCK"]},
    {"name": "radiographic_size", "type": "continuous", "minimum": 0.0, "maximum": 10.0, "valid_min": 0.0},
]


def _engine() -> Engine:
    return Engine(lambda engine, batch: None)


def test_writes_the_spec_at_started_and_reads_back(tmp_path):
    models = tmp_path / "out" / "models"
    saver = MetadataSpecSaver(MetadataSpec(FIELDS), models)
    engine = _engine()
    saver.attach(engine)
    seen = []
    engine.add_event_handler(Events.ITERATION_STARTED, lambda e: seen.append(saver.path.is_file()))
    engine.run([0, 1], max_epochs=1)
    assert seen == [True, True]  # written before the first iteration
    assert saver.path == models / "metadata_spec.json" and sorted(p.name for p in models.iterdir()) == [
        "metadata_spec.json"
    ]
    content = json.loads(saver.path.read_text(encoding="utf-8"))
    assert content == {"fields": FIELDS}
    spec = MetadataSpec.from_config(content)
    assert spec.fields == MetadataSpec(FIELDS).fields and spec.to_config() == FIELDS


def test_rewrites_at_every_start_and_warns_when_the_spec_changes(tmp_path, caplog):
    engine = _engine()
    MetadataSpecSaver({"fields": FIELDS}, tmp_path).attach(engine)
    engine.run([0], max_epochs=1)
    first = (tmp_path / "metadata_spec.json").read_text()
    with caplog.at_level(logging.WARNING):
        again = _engine()
        MetadataSpecSaver(FIELDS, tmp_path).attach(again)
        again.run([0], max_epochs=1)  # a resumed run: same content, no warning
        assert (tmp_path / "metadata_spec.json").read_text() == first and "Replacing" not in caplog.text
        other = _engine()
        MetadataSpecSaver([ContinuousField("age", 50.0, 20.0)], tmp_path, filename="spec.json").attach(other)
        other.run([0], max_epochs=1)
        assert "Replacing" not in caplog.text  # another file
        changed = _engine()
        MetadataSpecSaver([ContinuousField("age", 50.0, 20.0)], tmp_path).attach(changed)
        changed.run([0], max_epochs=1)
    assert "Replacing" in caplog.text and "another metadata spec" in caplog.text
    assert json.loads((tmp_path / "metadata_spec.json").read_text())["fields"][0]["name"] == "age"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata_spec.json", "spec.json"]  # no temporary files


def test_bundle_config_form_and_errors(tmp_path):
    from monai.bundle import ConfigParser

    config = {
        "saver": {
            "_target_": "metaseg_monai.handlers.MetadataSpecSaver",
            "metadata_spec": "@fields",
            "save_dir": str(tmp_path / "models"),
        },
        "fields": FIELDS,
    }
    saver = ConfigParser(config).get_parsed_content("saver")
    assert isinstance(saver, MetadataSpecSaver)
    saver(None)
    assert json.loads((tmp_path / "models" / "metadata_spec.json").read_text()) == {"fields": FIELDS}
    with pytest.raises(ValueError, match="plain file name"):
        MetadataSpecSaver(FIELDS, tmp_path, filename="sub/spec.json")
    # a network that reads no metadata (the video bundle) saves an empty spec: width 0
    assert MetadataSpecSaver([], tmp_path).spec.num_features == 0
