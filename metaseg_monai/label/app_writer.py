"""``metaseg label app`` and ``metaseg label serve``: a MONAI Label app folder that serves shipped bundles, and the
real MONAI Label server started on it. Nothing here imports MONAI Label: the server runs in its own process, from
the venv that has the ``label`` extra (see the README)."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from metaseg_monai.bundle import init_bundle, resolve_bundle
from metaseg_monai.utils.atomic import writes_dataset

__all__ = ["SERVER_ENV", "parse_bundle_names", "serve", "server_command", "write_app"]

logger = logging.getLogger(__name__)

MAIN_PY = '''"""MONAI Label app written by `metaseg label app`: it serves the bundle folders in model/.

Start it with `metaseg label serve --app_dir THIS_FOLDER --studies DIR --port P`, or with MONAI Label's own
`monailabel start_server --app THIS_FOLDER --studies DIR --port P` (see metaseg_monai.label).
"""

from metaseg_monai.label.label_app import MetasegLabelApp  # noqa: F401  (MONAI Label finds the app class here)
'''

#: the server's settings: inference only (the app defines no training, strategies or scoring), nothing fetched
SERVER_ENV = {
    "MONAI_LABEL_TASKS_TRAIN": "false",
    "MONAI_LABEL_TASKS_STRATEGY": "false",
    "MONAI_LABEL_TASKS_SCORING": "false",
    "MONAI_LABEL_TASKS_BATCH_INFER": "false",
    "MONAI_LABEL_AUTO_UPDATE_SCORING": "false",
    "MONAI_LABEL_TRACKING_ENABLED": "false",
}


def parse_bundle_names(bundles: str | Sequence[str]) -> list[str]:
    """``"a,b"`` or ``("a", "b")`` (as fire gives ``--bundles a,b``) as a list of names; at least one."""
    items = bundles.split(",") if isinstance(bundles, str) else [str(b) for b in bundles]
    names = [n.strip() for n in items if n.strip()]
    if not names:
        raise ValueError("--bundles: give at least one bundle name (metaseg bundle list shows them).")
    return names


@writes_dataset("app_dir")
def write_app(app_dir: str | Path, bundles: Sequence[str | Path]) -> Path:
    """Write a MONAI Label app into ``app_dir`` (new or empty) that serves ``bundles``; returns ``app_dir``.

    Layout: ``main.py`` (the app class, :class:`~metaseg_monai.label.label_app.MetasegLabelApp`) and
    ``model/<bundle>/`` (a self-contained copy of each bundle with its weights). Written into a staging folder and
    renamed into place: a failure leaves nothing behind.

    Raises:
        FileNotFoundError: a bundle is not found, or has no trained weights (``models/model.pt``).
        FileExistsError: ``app_dir`` exists and is not empty.
    """
    app = Path(app_dir)
    sources = [resolve_bundle(b) for b in bundles]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"--bundles names a bundle twice: {names}.")
    for source in sources:
        if not (source / "models" / "model.pt").is_file():
            raise FileNotFoundError(f"bundle '{source}' has no trained weights (models/model.pt) to serve.")
    for source in sources:
        init_bundle(source, app / "model" / source.name)
    (app / "main.py").write_text(MAIN_PY)
    return app


def server_command(app_dir: str | Path, studies: str | Path, port: int, host: str, bundles: Sequence[str]) -> list:
    """The ``monailabel start_server`` command line, run with this interpreter."""
    return [
        sys.executable,
        "-m",
        "monailabel.main",
        "start_server",
        "--app",
        str(app_dir),
        "--studies",
        str(studies),
        "--host",
        host,
        "--port",
        str(int(port)),
        "--conf",
        "models",
        ",".join(bundles),
    ]


def serve(
    studies: str | Path,
    bundles: str | Sequence[str],
    port: int = 8000,
    host: str = "127.0.0.1",
    app_dir: str | Path | None = None,
) -> int:
    """Start MONAI Label's server on ``host:port`` serving ``bundles`` over the images in ``studies``; returns its
    exit code when it stops.

    ``app_dir``: an app written by :func:`write_app` to serve (it is used as it is); None writes one into a
    temporary folder, removed when the server stops.

    Raises:
        ModuleNotFoundError: MONAI Label is not installed in this interpreter's environment.
        FileNotFoundError: ``studies`` is not a folder, or ``app_dir`` holds no app.
    """
    if importlib.util.find_spec("monailabel") is None:
        raise ModuleNotFoundError(
            "MONAI Label is not installed here: install the label extra into its own venv (README, 'Serving with "
            "MONAI Label'): pip install torch==2.14.1 torchvision==0.29.1 'metaseg-monai[label]'"
        )
    studies = Path(studies)
    if not studies.is_dir():
        raise FileNotFoundError(f"--studies '{studies}' is not a folder of images.")
    names = parse_bundle_names(bundles)
    env = {**os.environ, **SERVER_ENV}
    if app_dir is not None:
        app = Path(app_dir)
        if not (app / "main.py").is_file():
            raise FileNotFoundError(f"'{app}' holds no MONAI Label app (main.py); write one with: metaseg label app")
        return subprocess.call(server_command(app.resolve(), studies.resolve(), port, host, names), env=env)
    with tempfile.TemporaryDirectory(prefix="metaseg-label-") as tmp:
        app = write_app(Path(tmp) / "app", names)
        logger.info("serving %s from the app written in %s", names, app)
        return subprocess.call(server_command(app, studies.resolve(), port, host, names), env=env)
