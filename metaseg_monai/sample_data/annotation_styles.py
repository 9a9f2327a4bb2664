"""Write a copy of a table dataset whose masks of one split are redrawn in several annotation styles.

The rows of ``split`` (default ``train``) are shuffled by ``seed`` and dealt in turn to the styles ``accurate`` (mask
copied), then one style per entry of ``tolerances`` (mask redrawn with
:func:`~metaseg_monai.transforms.polygon.polygonize_mask` at that tolerance): equal shares, differing by at most one.
Other splits stay ``accurate``. Layout written::

    dst/metadata.csv                        the source columns + annotation_style
    dst/<image path>                        images copied, at their source paths
    dst/<label path>                        accurate masks copied, at their source paths
    dst/styled/<style>/<label path>         redrawn masks (same format and dtype as the source mask)
"""

from __future__ import annotations

import math
import numbers
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from metaseg_monai.data.image_io import read_image, write_image
from metaseg_monai.data.table import REQUIRED_COLUMNS, SPLITS, load_table_dataset
from metaseg_monai.transforms.polygon import polygonize_mask
from metaseg_monai.utils.atomic import atomic_path, writes_dataset
from metaseg_monai.utils.files import write_delimited

__all__ = ["ACCURATE", "ANNOTATION_TOLERANCES", "write_styled_copy"]

ACCURATE = "accurate"
# the paper's tolerances (pixels); the authors' code used 5 and 15
ANNOTATION_TOLERANCES: Mapping[str, float] = MappingProxyType({"fine": 2.0, "coarse": 3.5})


def _relative(path: str, root: Path, where: str) -> str:
    rel = os.path.relpath(path, os.path.abspath(root))
    if rel.startswith(".."):
        raise ValueError(f"{where}: '{path}' lies outside the dataset folder '{root}'; a styled copy needs it inside.")
    return Path(rel).as_posix()


def _copy(source: str, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


@writes_dataset("dst_root")
def write_styled_copy(
    src_root: str | os.PathLike,
    dst_root: str | os.PathLike,
    tolerances: Mapping[str, float] = ANNOTATION_TOLERANCES,
    seed: int = 0,
    split: str = "train",
) -> Path:
    """Copy the table dataset ``src_root`` into the new or empty ``dst_root`` with restyled ``split`` masks.

    Args:
        src_root: a table dataset (``metadata.csv``), read with :func:`load_table_dataset`; never written to.
        dst_root: the output folder; must be new or empty and not inside ``src_root``.
        tolerances: style name -> polygon tolerance in pixels; ``accurate`` is always the first style.
        seed: the shuffle of the ``split`` rows before they are dealt to the styles.
        split: the split to restyle.

    Returns:
        ``dst_root`` as a ``Path``.

    Raises:
        ValueError: bad tolerances or split, ``dst_root`` inside ``src_root``, a source table that already has an
        ``annotation_style`` column, a path outside ``src_root``, a mask that is not a binary 2D mask.
        FileExistsError: ``dst_root`` is not empty. Errors from :func:`load_table_dataset` for a bad source.
    """
    src, dst = Path(src_root), Path(dst_root)
    for name, tol in tolerances.items():
        if not name or name == ACCURATE or not (isinstance(tol, numbers.Real) and math.isfinite(tol) and tol >= 0):
            raise ValueError(
                f"tolerances: expected style names other than {ACCURATE!r} -> pixels >= 0, found {dict(tolerances)}."
            )
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} to restyle; expected one of {SPLITS}.")
    if dst.resolve() == src.resolve() or src.resolve() in dst.resolve().parents:
        raise ValueError(f"output folder '{dst}' is inside the source dataset '{src}'; choose a folder outside it.")
    items = load_table_dataset(src)
    columns = [c for c in items[0] if c not in (*REQUIRED_COLUMNS, "row")]
    if "annotation_style" in columns:
        raise ValueError(f"'{src / 'metadata.csv'}' already has an 'annotation_style' column; restyle the original.")
    root = Path(dst)

    styles = (ACCURATE, *tolerances)
    chosen = [i for i, item in enumerate(items) if item["split"] == split]
    order = np.random.default_rng(seed).permutation(len(chosen))
    style_of = {chosen[j]: styles[n % len(styles)] for n, j in enumerate(order)}
    written, rows = set(), []
    for i, item in enumerate(items):
        where = f"table '{src / 'metadata.csv'}' row {item['row']}"
        image, label = (_relative(item[key], src, f"{where}, column '{key}'") for key in ("image", "label"))
        style = style_of.get(i, ACCURATE)
        out_label = label if style == ACCURATE else f"styled/{style}/{label}"
        # an image (or mask) shared by several rows is written once
        if image not in written:
            _copy(item["image"], root / image)
        if out_label not in written and style == ACCURATE:
            _copy(item["label"], root / out_label)
        elif out_label not in written:
            mask = read_image(item["label"], f"{where}, column 'label'")
            try:
                write_image(root / out_label, polygonize_mask(mask, tolerances[style]))
            except ValueError as err:
                raise ValueError(f"{where}, mask '{item['label']}': {err}") from err
        written.update((image, out_label))
        rows.append([image, out_label, item["split"], *(item[c] for c in columns), style])
    # written last: an interrupted copy has no table, so the reader refuses it
    write_delimited(root / "metadata.csv", ["image", "label", "split", *columns, "annotation_style"], rows)
    return root
