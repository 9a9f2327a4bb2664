"""A short metadata-switch training on generated data: the smallest end-to-end use of the package.

It trains :class:`~metaseg_monai.networks.MetaUNet`, or a MONAI network wrapped by
:class:`~metaseg_monai.networks.MetadataConditioned`, with MONAI's ``SupervisedTrainer`` and
``PrepareBatchExtraInput("metadata")`` on :func:`~metaseg_monai.sample_data.make_shape_switch_samples`, where the
metadata alone says which shapes to segment, and evaluates pixel F1 with ``SupervisedEvaluator``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

# ignite.contrib.handlers has ProgressBar in 0.4.11 (pinned by monai 1.5.2, the label extra) and in 0.5.x
from ignite.contrib.handlers import ProgressBar
from monai.data import CacheDataset, DataLoader
from monai.engines import PrepareBatchExtraInput, SupervisedEvaluator, SupervisedTrainer
from monai.handlers import ConfusionMatrix, LrScheduleHandler, from_engine
from monai.losses import DiceCELoss
from monai.transforms import Activationsd, AsDiscreted, Compose, EnsureTyped, RandFlipd, RandRotate90d
from monai.utils import set_determinism

from metaseg_monai.inferers import MetadataInferer
from metaseg_monai.metrics import f1_dice_from_counts
from metaseg_monai.networks import CONDITIONINGS, MONAI_FAMILIES, MetadataConditioned, MetaUNet, monai_network
from metaseg_monai.optimizers import paper_cyclic_lr
from metaseg_monai.sample_data.shape_switch import SHAPE_SWITCH_FIELDS, make_shape_switch_samples
from metaseg_monai.transforms import EncodeMetadatad

__all__ = ["train_shape_switch"]


def _f1(confusion: np.ndarray) -> float:
    """Pixel F1 from MONAI's summed ``[tp, fp, tn, fn]``."""
    tp, fp, _, fn = (float(v) for v in confusion)
    return f1_dice_from_counts(tp, fp, fn)


def train_shape_switch(
    conditioning: str = "sme",
    metadata_mode: str = "true",
    epochs: int = 40,
    num_train_images: int = 48,
    num_val_images: int = 16,
    image_size: int = 48,
    features: Sequence[int] = (8, 16, 32, 64),
    batch_size: int = 16,
    learning_rate: tuple[float, float] = (2e-3, 8e-3),
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
    network: str = "metaunet",
) -> dict:
    """Train and evaluate one variant on the shape-switch task.

    The learning rate follows the metadata-SE paper's schedule (Adam, triangular ``CyclicLR`` stepped every
    iteration, max = 4 x base) with the range raised tenfold for so short a run.

    ``network`` is ``"metaunet"`` or one of :data:`~metaseg_monai.networks.MONAI_FAMILIES`, built by
    :func:`~metaseg_monai.networks.monai_network` at ``features`` and wrapped by ``MetadataConditioned``
    (``flexibleunet`` and ``swinunetr`` downsample 32-fold: give them an ``image_size`` that is a multiple of 32).

    Returns:
        ``{"conditioning", "metadata_mode", "network", "f1" (pooled over validation pixels), "f1_per_target" (dict),
        "f1_per_image" (list, validation order), "final_loss"}``.
    """
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}.")
    if network not in ("metaunet", *MONAI_FAMILIES):
        raise ValueError(f"network must be 'metaunet' or one of {MONAI_FAMILIES}, got {network!r}.")
    set_determinism(seed)
    dev = torch.device(device)
    # plain tensors (track_meta=False): MetaTensor dispatch would dominate the step time of so small a network
    encode = EncodeMetadatad(SHAPE_SWITCH_FIELDS, mode=metadata_mode)
    transform = Compose([encode, EnsureTyped(keys=["image", "label"], track_meta=False)])
    augment = Compose(
        [
            *transform.transforms,  # flat, so that CacheDataset caches up to the first random transform
            RandFlipd(keys=["image", "label"], prob=0.5, spatial_axis=0),
            RandRotate90d(keys=["image", "label"], prob=0.5),
        ]
    )
    augment.set_random_state(seed)
    train_samples = make_shape_switch_samples(num_train_images, image_size, seed=seed)
    val_samples = make_shape_switch_samples(num_val_images, image_size, seed=seed + 10_000)
    train_loader = DataLoader(CacheDataset(train_samples, augment, progress=False), batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(CacheDataset(val_samples, transform, progress=False), batch_size=batch_size)

    width = encode.spec.num_features
    if network == "metaunet":
        net = MetaUNet(2, 1, 1, metadata_dim=width, conditioning=conditioning, features=features)
    else:
        net = MetadataConditioned(monai_network(network, 2, 1, 1, features), width, conditioning)
    net = net.to(dev)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate[0])
    # two full cycles over so short a run (the paper: 8 over 100 epochs)
    scheduler = paper_cyclic_lr(optimizer, len(train_loader), epochs, *learning_rate, cycles=2)
    prepare_batch = PrepareBatchExtraInput("metadata")
    evaluator = SupervisedEvaluator(
        device=dev,
        val_data_loader=val_loader,
        network=net,
        prepare_batch=prepare_batch,
        inferer=MetadataInferer(),
        postprocessing=Compose([Activationsd(keys="pred", sigmoid=True), AsDiscreted(keys="pred", threshold=0.5)]),
        key_val_metric={
            "val_f1": ConfusionMatrix(
                metric_name="f1 score", output_transform=from_engine(["pred", "label"]), save_details=True
            )
        },
    )
    handlers = [LrScheduleHandler(scheduler, epoch_level=False)]
    if progress:
        handlers.append(ProgressBar())
    trainer = SupervisedTrainer(
        device=dev,
        max_epochs=epochs,
        train_data_loader=train_loader,
        network=net,
        optimizer=optimizer,
        loss_function=DiceCELoss(sigmoid=True),
        prepare_batch=prepare_batch,
        inferer=MetadataInferer(),
        train_handlers=handlers,
    )
    trainer.run()
    evaluator.run()

    # per-image [tp, fp, tn, fn] of the single foreground channel, in validation order
    details = evaluator.state.metric_details["val_f1"].reshape(len(val_samples), -1, 4)[:, 0].cpu().numpy()
    per_image = [_f1(c) for c in details]
    targets = [s["target_shape"] for s in val_samples]
    per_target = {t: _f1(details[[i for i, v in enumerate(targets) if v == t]].sum(0)) for t in sorted(set(targets))}
    result = {
        "conditioning": conditioning,
        "metadata_mode": metadata_mode,
        "network": network,
        "f1": _f1(details.sum(0)),
        "f1_per_target": per_target,
        "f1_per_image": per_image,
        "final_loss": float(trainer.state.output[0]["loss"]) if trainer.state.output else float("nan"),
    }
    return result
