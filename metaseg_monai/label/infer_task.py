"""A MONAI Label inference task for a bundle whose network takes metadata as a second input.

MONAI Label's ``BasicInferTask.run_inferer`` calls ``inferer(inputs, network)``: no second input reaches the network.
This task asks ``BundleInferTask.inferer(data)`` for the bundle's own inferer once per request and binds that
request's encoded metadata (``data["metadata"]``, written by the bundle's ``EncodeMetadatad`` from the request's
params) to it. Everything else is MONAI Label's bundle task: the bundle's ``preprocessing``, ``network_def``,
weights and ``postprocessing``, less the steps that name the bundle's own output files (``SaveImaged``,
``RouteByTaskd``), and MONAI Label's restore to the input image's geometry.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from fastapi import HTTPException
from monai.inferers import Inferer
from monai.transforms import (
    CopyItemsd,
    DeleteItemsd,
    EnsureChannelFirstd,
    LoadImaged,
    SaveImaged,
    SqueezeDimd,
    Transposed,
)
from monailabel.tasks.infer.bundle import BundleInferTask
from monailabel.transform.pre import LoadImageTensord

from metaseg_monai.label.request_metadata import MetadataRequestError, check_request_metadata, describe_fields
from metaseg_monai.transforms import MetadataSpec, RouteByTaskd

__all__ = ["MetadataBoundInferer", "MetadataBundleInferTask"]

logger = logging.getLogger(__name__)

#: HTTP status of a request whose metadata is missing or invalid
METADATA_ERROR_STATUS = 422


class MetadataBoundInferer(Inferer):
    """``inferer(inputs, network)`` as MONAI Label calls it, running ``bundle_inferer(inputs, network, metadata)``.

    Args:
        bundle_inferer: the bundle's inferer (a :class:`~metaseg_monai.inferers.MetadataInferer`).
        metadata: the request's encoded metadata, shape ``(1, M)``; moved to the inputs' device.
    """

    def __init__(self, bundle_inferer: Inferer, metadata: torch.Tensor) -> None:
        super().__init__()
        self.bundle_inferer = bundle_inferer
        self.metadata = metadata

    def __call__(self, inputs: torch.Tensor, network: Any, *args: Any, **kwargs: Any) -> Any:
        return self.bundle_inferer(inputs, network, self.metadata.to(inputs.device), *args, **kwargs)


class MetadataBundleInferTask(BundleInferTask):
    """Serve one metaseg-monai bundle folder; each request must give the bundle's metadata fields in its params.

    Two optional parts of a bundle's ``inference.json`` are read here. A ``preprocessing`` without ``LoadImaged``
    (the video bundle's, whose datalist holds frames already read) gets MONAI Label's loader and
    ``EnsureChannelFirstd`` in front; a 2D image is then transposed to the row-major (H, W) in which such a bundle
    reads its frames (MONAI's loader gives (W, H)), and the mask transposed back. ``label_output_key`` names the
    data key of the mask to return when it is not ``metadata.json``'s output (``pred``): the video bundle returns
    its labelled objects, ``pred_objects``.

    ``info()`` adds ``metadata``: each field's name, type and categories or valid range. Each categorical field is
    also put into the task's ``config`` as its list of categories, which 3D Slicer's MONAI Label module shows as a
    choice (its first entry preselected; the client sends what the user picked). A request is checked as it arrives,
    before that config is merged into it, so a request without the field is refused all the same.

    Args:
        path: the bundle folder (``configs/``, ``models/model.pt``).
        conf: the app's ``--conf`` settings, as MONAI Label passes them.
        kwargs: passed to ``BundleInferTask``.

    Raises:
        FileNotFoundError: the folder has no ``configs/inference.json`` or no ``models/model.pt`` (MONAI Label's own
            task would only log this and serve nothing).
    """

    def __init__(self, path: str, conf: dict[str, str], **kwargs: Any) -> None:
        kwargs.setdefault("post_filter", [SaveImaged, RouteByTaskd])
        super().__init__(path, conf, **kwargs)
        if not self.is_valid():
            raise FileNotFoundError(
                f"'{path}' cannot be served: it needs configs/inference.json and trained weights in models/model.pt."
            )
        # a served bundle reads no dataset: requests bring the images (the SaveImaged steps it drops refer to it)
        self.bundle_config["datalist"] = []
        self.name = self.bundle_path.rstrip("/").rsplit("/", 1)[-1]
        self.label_output_key = self.bundle_config.get_parsed_content("label_output_key", default=self.key_pred)
        steps = self.bundle_config.get_parsed_content("preprocessing").transforms
        self._reads_arrays = not any(isinstance(t, LoadImaged) for t in steps)
        self.metadata_spec = MetadataSpec(self.bundle_config.get_parsed_content("metadata_fields", default=[]))
        for field in self.metadata_spec.fields:
            categories = getattr(field, "categories", None)
            if categories is not None:
                self._config[field.name] = list(categories)

    def info(self) -> dict[str, Any]:
        info = super().info()
        info["metadata"] = describe_fields(self.metadata_spec)
        return info

    def __call__(self, request: dict[str, Any], callbacks: Any = None) -> Any:
        try:
            check_request_metadata(self.metadata_spec, request, self.name)
        except MetadataRequestError as e:
            logger.warning("refused: %s", e)
            raise HTTPException(status_code=METADATA_ERROR_STATUS, detail=str(e)) from e
        return super().__call__(request, callbacks)

    def pre_transforms(self, data: dict[str, Any] | None = None) -> list:
        pre = list(super().pre_transforms(data))
        if self._reads_arrays:
            loader = LoadImageTensord(keys=self.key_image, load_image_d=LoadImaged(self.key_image, image_only=False))
            load = [loader, EnsureChannelFirstd(self.key_image)]
            if self.dimension == 2:  # the bundle's own reader gives (H, W); MONAI's loader (W, H)
                load.append(Transposed(self.key_image, indices=(0, 2, 1)))
            pre = [*load, *pre]
        return pre

    def post_transforms(self, data: dict[str, Any] | None = None) -> list:
        post = list(super().post_transforms(data))
        before_restore = []
        if self.label_output_key != self.key_pred:  # MONAI Label writes key_pred: put the chosen mask there
            before_restore += [DeleteItemsd(self.key_pred), CopyItemsd(self.label_output_key, names=self.key_pred)]
        if self._reads_arrays and self.dimension == 2:
            before_restore.append(Transposed(self.key_pred, indices=(0, 2, 1)))
        at = len(post) - 1 if self.add_post_restore else len(post)  # Restored is MONAI Label's last step
        post[at:at] = before_restore
        if data is not None and getattr(data.get(self.key_image), "ndim", 0) == 3:
            # MONAI Label's Restored drops the channel of 3D labels only; its 2D writer needs (H, W) too
            post.append(SqueezeDimd(keys=self.key_pred, dim=0))
        return post

    def inferer(self, data: dict[str, Any] | None = None) -> Inferer:
        bundle_inferer = super().inferer(data)
        if self.metadata_spec.num_features == 0:
            return bundle_inferer
        metadata = torch.as_tensor(data["metadata"], dtype=torch.float32).reshape(1, -1)
        return MetadataBoundInferer(bundle_inferer, metadata)
