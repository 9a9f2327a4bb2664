"""``--tracking mlflow``: MONAI's MLFlowHandler plus MLFlowBundleRecorder record the metrics, the bundle's settings
and the trained model in one run, read back here with mlflow's own client (the ``mlflow`` extra)."""

from __future__ import annotations

import json
from pathlib import Path

import monai
import pytest
import torch
from bundle_support import (
    BUNDLE_NAMES,
    BUNDLES,
    IGNORE_DEPRECATED_PACKAGES,
    ONE_EPOCH,
    SMALL_DATA,
    bundle_workflow,
    requires_regular_package,
)

from metaseg_monai.handlers import MLFlowBundleRecorder, tracking_params
from metaseg_monai.sample_data import generate_sample_data
from metaseg_monai.transforms import MetadataSpec

pytestmark = [IGNORE_DEPRECATED_PACKAGES, pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning")]  # fmt: skip


def test_tracking_params_text_of_each_kind():
    spec = MetadataSpec([{"name": "cell_line", "type": "categorical", "categories": ["HeLa", "MDCK"]}])
    params = tracking_params(
        {
            "conditioning": "sme",
            "seed": 0,
            "progress_bar": False,
            "device": torch.device("cpu"),
            "network_def": torch.nn.Conv2d(1, 1, 1),
            "metadata_spec": spec,
            "features": [8, 8],
            "early_stop_patience": None,
            "opaque": object(),
        }
    )
    assert params == {
        "conditioning": "sme",
        "seed": "0",
        "progress_bar": "False",
        "device": "cpu",
        "network_def": "Conv2d",
        "metadata_spec": json.dumps({"fields": ["cell_line"], "num_features": 2}),
        "features": "[8, 8]",
        "early_stop_patience": "None",
    }


def test_recorder_without_tracking_does_nothing(tmp_path):
    from ignite.engine import Engine

    engine = Engine(lambda e, b: None)
    MLFlowBundleRecorder({"seed": 0}, tmp_path).attach(engine)
    engine.run([0, 1], max_epochs=1)  # no MLFlowHandler on the engine: no run, no import of mlflow needed
    assert list(tmp_path.iterdir()) == []


def _train_tracked(bundle: str, tmp_path: Path) -> tuple[Path, object]:
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra: pip install -e '.[mlflow]'")
    if not hasattr(monai.utils, "path_to_sqlite_uri"):  # MONAI < 1.6 defaults to a file store mlflow 3.13+ refuses
        pytest.skip(f"--tracking mlflow needs MONAI >= 1.6 (its sqlite default), found {monai.__version__}")
    requires_regular_package()
    meta = json.loads((BUNDLES / bundle / "configs" / "metadata.json").read_text())
    options, overrides = SMALL_DATA[bundle]
    data = generate_sample_data(meta["sample_data"], tmp_path / "data", **options)
    out = tmp_path / "out"
    wf = bundle_workflow(
        bundle, "train.json", "train", tracking="mlflow", dataset_dir=str(data), output_dir=str(out),
        **{**ONE_EPOCH, **overrides},
    )  # fmt: skip
    wf.initialize()
    wf.run()
    wf.finalize()
    return out, mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{out / 'mlruns.db'}")


def _check_run(out: Path, client, tmp_path: Path) -> None:
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    assert len(runs) == 1, [r.info.run_name for r in runs]  # trainer and validator write into one run
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert {"train_loss", "val_mean_dice"} <= set(run.data.metrics)
    params = run.data.params
    assert params["epochs"] == "1" and params["seed"] == "0" and "conditioning" in params and "device" in params
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "models")}
    assert "models/model.pt" in artifacts
    local = Path(client.download_artifacts(run.info.run_id, "models/model.pt", str(tmp_path / "dl")))
    logged = torch.load(local, map_location="cpu", weights_only=True)
    written = torch.load(out / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert logged.keys() == written.keys() and all(torch.equal(logged[k], written[k]) for k in logged)


def test_tracking_mlflow_records_settings_metrics_and_model(tmp_path):
    out, client = _train_tracked("cell_lines_nuclei_segmentation", tmp_path)
    _check_run(out, client, tmp_path)
    params = client.search_runs([client.get_experiment_by_name("monai_experiment").experiment_id])[0].data.params
    assert json.loads(params["metadata_spec"])["fields"] == ["cell_line"]


@pytest.mark.slow
@pytest.mark.parametrize("bundle", [b for b in BUNDLE_NAMES if b != "cell_lines_nuclei_segmentation"])
def test_tracking_mlflow_every_bundle(bundle, tmp_path):
    out, client = _train_tracked(bundle, tmp_path)
    _check_run(out, client, tmp_path)
