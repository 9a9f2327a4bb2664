"""Metadata conditioning for an existing MONAI network, without copying its code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from monai.networks.layers import SkipConnection
from monai.networks.nets import BasicUNet, DynUNet, FlexibleUNet, SegResNet, SwinUNETR, UNet

from metaseg_monai.networks.blocks.channel_modulation import checked_metadata
from metaseg_monai.networks.blocks.conditioning import check_conditioning, conditioning_block
from metaseg_monai.networks.blocks.film import FiLMGenerator

__all__ = ["MetadataConditioned", "default_stages"]


def _unet_stages(network: UNet) -> list[str]:
    """MONAI's UNet nests ``Sequential(down, SkipConnection(inner), up)``; walk it to the bottom layer."""
    downs, ups = [], []
    path, node = "model", network.model
    while True:
        downs.append(f"{path}.0")
        ups.append(f"{path}.2")
        path, inner = f"{path}.1.submodule", node[1].submodule
        if isinstance(inner, nn.Sequential) and len(inner) == 3 and isinstance(inner[1], SkipConnection):
            node = inner
            continue
        break
    # the outermost up layer produces the logits: it is the head, not a decoder stage
    return [*downs, path, *ups[:0:-1]]


def _indexed(prefix: str, modules: nn.ModuleList) -> list[str]:
    return [f"{prefix}.{i}" for i in range(len(modules))]


def default_stages(network: nn.Module) -> list[str]:
    """The module names :class:`MetadataConditioned` modulates when ``stages`` is left out.

    Encoder stages, the bottleneck and decoder stages, never the output head:

    - ``BasicUNet``: ``conv_0``, ``down_1`` .. ``down_4`` (the last is the bottleneck), ``upcat_4`` .. ``upcat_1``.
    - ``UNet``: every down layer, the bottom layer and every up layer but the outermost (which gives the logits).
    - ``SegResNet``: ``down_layers.*`` (the last is the bottleneck) and ``up_layers.*``.
    - ``DynUNet``: ``input_block``, ``downsamples.*``, ``bottleneck``, ``upsamples.*``.
    - ``FlexibleUNet``: ``encoder`` (its list of feature maps, one block per map) and ``decoder.blocks.*``.
    - ``SwinUNETR``: ``encoder1`` .. ``encoder4``, ``encoder10`` (the bottleneck), ``decoder5`` .. ``decoder1``.

    Raises:
        ValueError: for any other family; name its stages with ``stages``.
    """
    if isinstance(network, BasicUNet):
        return ["conv_0", "down_1", "down_2", "down_3", "down_4", "upcat_4", "upcat_3", "upcat_2", "upcat_1"]
    if isinstance(network, UNet):
        return _unet_stages(network)
    if isinstance(network, SegResNet):
        return _indexed("down_layers", network.down_layers) + _indexed("up_layers", network.up_layers)
    if isinstance(network, DynUNet):
        downsamples, upsamples = _indexed("downsamples", network.downsamples), _indexed("upsamples", network.upsamples)
        return ["input_block", *downsamples, "bottleneck", *upsamples]
    if isinstance(network, FlexibleUNet):
        return ["encoder", *_indexed("decoder.blocks", network.decoder.blocks)]
    if isinstance(network, SwinUNETR):
        return ["encoder1", "encoder2", "encoder3", "encoder4", "encoder10"] + [f"decoder{i}" for i in range(5, 0, -1)]
    raise ValueError(
        f"no default stages for {type(network).__name__}; pass stages=[module names] "
        "(the families with a default: BasicUNet, UNet, SegResNet, DynUNet, FlexibleUNet, SwinUNETR)."
    )


def _first_convolution(network: nn.Module) -> nn.Module:
    for module in network.modules():
        if isinstance(module, nn.Conv2d | nn.Conv3d):
            return module
    raise ValueError(
        f"found no Conv2d/Conv3d in {type(network).__name__}; pass spatial_dims and in_channels explicitly."
    )


class _StageHook:
    """A forward hook that modulates one stage's output; a plain object so that the wrapper pickles and copies."""

    def __init__(self, owner: MetadataConditioned, stage: str):
        self.owner, self.stage = owner, stage

    def __call__(self, module: nn.Module, args: Any, output: Any) -> Any:
        return self.owner._modulate(self.stage, output, args)


class MetadataConditioned(nn.Module):
    """Wraps a MONAI network so that the metadata modulates the feature maps after chosen stages.

    Each chosen stage's output ``(B, C, *spatial)`` passes through a block before the network reads it on:
    :class:`~metaseg_monai.networks.blocks.MetadataSEBlock` for ``"se"``/``"me"``/``"sme"`` (the metadata-SE paper,
    ``block_modulation`` ``"scale"`` as its text or ``"scale_shift"`` as its code), or a
    :class:`~metaseg_monai.networks.blocks.FiLMLayer` reading one :class:`~metaseg_monai.networks.blocks.FiLMGenerator`
    computed once per forward pass (ivadomed's FiLM). ``"none"`` adds nothing; ``"none"`` and ``"se"`` ignore the
    metadata, as in :class:`~metaseg_monai.networks.nets.MetaUNet`. A stage whose output is a list or tuple of
    feature maps (FlexibleUNet's encoder) gets one block per map.

    The wrapped network is left as it is: its code runs unchanged, its parameters keep their names under
    ``network.`` (so that weights of the plain network load into ``wrapper.network``), and the blocks attach as
    forward hooks. The blocks' widths are read from one probe forward pass of a zero image at construction. In
    inference (no gradient recorded) a block writes into the stage's output instead of allocating a new map; an
    output that shares memory with the stage's input or with another of its maps is copied first.

    Args:
        network: a network instance, ``forward(x) -> logits``.
        metadata_dim: width M of the metadata vector; 0 is allowed for ``"none"`` and ``"se"``.
        conditioning: one of ``"none"``, ``"se"``, ``"me"``, ``"sme"``, ``"film"``.
        stages: names of the modules to modulate (as in ``network.named_modules()``); by default
            :func:`default_stages` of the network's family.
        spatial_dims, in_channels: of the network's input; by default read from its first convolution.
        probe_size: spatial size of the probe image, 64 by default: a multiple of every supported family's total
            downsampling at its default depth, and large enough that SwinUNETR's bottleneck keeps more than one
            pixel for its instance norm. Give a larger one for deeper networks.
        block_reduction, block_modulation, hidden_includes_metadata: passed to ``MetadataSEBlock``.
        film_hidden_features, film_trunk_act: the FiLM generator trunk (see ``MetaUNet``). The trunk's activation
            is ReLU here, not ivadomed's sigmoid (``MetaUNet``'s default, as the paper): two stacked sigmoids squash
            the differences between metadata vectors, and a wrapped BasicUNet with the sigmoid trunk did not learn
            the shape switch in 40 epochs (F1 0.667, the metadata-free level; 0.995 with ReLU). Gamma and beta keep
            their sigmoid.

    Input ``x``: (B, in_channels, *spatial), as the network takes it; ``metadata``: (B, M) float, required for
    ``"me"``, ``"sme"`` and ``"film"``. Output: the network's.

    Export: ``torch.export`` and ``torch.jit.trace`` (the blocks run inside forward hooks, which
    ``torch.jit.script`` cannot compile).

    Raises:
        ValueError: for an unknown stage name, a stage whose output is not a feature map, or metadata of the wrong
            shape, with NaN/inf, or missing when needed (checked once per forward pass).
    """

    def __init__(
        self,
        network: nn.Module,
        metadata_dim: int = 0,
        conditioning: str = "sme",
        stages: Sequence[str] | None = None,
        spatial_dims: int | None = None,
        in_channels: int | None = None,
        probe_size: int = 64,
        block_reduction: int = 4,
        block_modulation: str = "scale",
        hidden_includes_metadata: bool = False,
        film_hidden_features: Sequence[int] = (64, 16),
        film_trunk_act: tuple | str = "relu",
    ) -> None:
        super().__init__()
        if not isinstance(network, nn.Module):
            raise ValueError(f"network must be a torch.nn.Module instance, got {type(network).__name__}.")
        check_conditioning(conditioning, metadata_dim)
        self.network = network
        self.metadata_dim = int(metadata_dim)
        self.conditioning = conditioning
        self.requires_metadata = conditioning in ("me", "sme", "film")
        stage_names = list(default_stages(network) if stages is None else stages)
        modules = dict(network.named_modules())
        unknown = [name for name in stage_names if name not in modules or name == ""]
        if unknown:
            raise ValueError(
                f"stages {unknown} are not modules of {type(network).__name__}; "
                f"its top-level modules are {[name for name, _ in network.named_children()]}."
            )
        if len(set(stage_names)) != len(stage_names):
            raise ValueError(f"stages name a module twice: {stage_names}.")
        wrapped = [n for n in stage_names if any(isinstance(h, _StageHook) for h in modules[n]._forward_hooks.values())]
        if wrapped:
            raise ValueError(
                f"stages {wrapped} of this {type(network).__name__} are modulated by another MetadataConditioned "
                "already; wrap a fresh network instance (copy.deepcopy of the plain one)."
            )
        self.stages = tuple(stage_names)

        if spatial_dims is None or in_channels is None:
            first = _first_convolution(network)
            spatial_dims = spatial_dims or (2 if isinstance(first, nn.Conv2d) else 3)
            in_channels = in_channels or first.in_channels
        self.spatial_dims, self.in_channels = int(spatial_dims), int(in_channels)

        self.generator = (
            FiLMGenerator(metadata_dim, film_hidden_features, film_trunk_act) if conditioning == "film" else None
        )
        self.blocks = nn.ModuleDict()
        self._block_keys: dict[str, list[str]] = {}
        self._hooks: list[Any] = []
        self._context: torch.Tensor | None = None
        if conditioning == "none" or not self.stages:
            return

        def block(channels: int) -> nn.Module:
            return conditioning_block(
                conditioning,
                self.spatial_dims,
                channels,
                metadata_dim,
                self.generator.out_features if self.generator is not None else 0,
                block_reduction,
                block_modulation,
                hidden_includes_metadata,
            )

        for stage, channels in self._probe_channels(probe_size).items():
            # ModuleDict keys may not contain dots
            keys = [stage.replace(".", "__") + (f"__{i}" if len(channels) > 1 else "") for i in range(len(channels))]
            for key, width in zip(keys, channels, strict=True):
                self.blocks[key] = block(width)
            self._block_keys[stage] = keys
        for stage in self.stages:
            self._hooks.append(modules[stage].register_forward_hook(_StageHook(self, stage)))

    def _probe_channels(self, size: int) -> dict[str, list[int]]:
        """Run the network once on a zero image of side ``size`` and read each stage's output widths."""
        found: dict[str, list[int]] = {}
        modules = dict(self.network.named_modules())

        def record(stage: str):
            def hook(module: nn.Module, args: Any, output: Any) -> None:
                maps = list(output) if isinstance(output, list | tuple) else [output]
                if not maps or not all(isinstance(m, torch.Tensor) and m.dim() == self.spatial_dims + 2 for m in maps):
                    raise ValueError(
                        f"stage {stage!r} ({type(module).__name__}) must output a feature map (B, C, *spatial) or a "
                        f"list of them, found {type(output).__name__}."
                    )
                found[stage] = [int(m.shape[1]) for m in maps]

            return hook

        handles = [modules[stage].register_forward_hook(record(stage)) for stage in self.stages]
        training = self.network.training
        try:
            param = next(self.network.parameters(), None)
            probe = torch.zeros(
                1,
                self.in_channels,
                *([size] * self.spatial_dims),
                device=param.device if param is not None else None,
                dtype=param.dtype if param is not None else None,
            )
            self.network.eval()
            with torch.no_grad():
                self.network(probe)
        finally:
            self.network.train(training)
            for handle in handles:
                handle.remove()
        missing = [stage for stage in self.stages if stage not in found]
        if missing:
            raise ValueError(f"stages {missing} did not run in a forward pass of {type(self.network).__name__}.")
        return {stage: found[stage] for stage in self.stages}

    def _modulate(self, stage: str, output: Any, inputs: Any) -> Any:
        context = self._context
        if context is None:
            # the network was called directly, not through this wrapper: nothing to modulate with
            raise RuntimeError(f"{type(self).__name__}: call the wrapper, forward(x, metadata), not its network.")
        keys = self._block_keys[stage]
        maps = [output] if isinstance(output, torch.Tensor) else list(output)
        if not torch.is_grad_enabled() and not torch.compiler.is_compiling():
            # the blocks overwrite their input in inference: copy a map that is also the stage's input or another map
            seen = {t.untyped_storage().data_ptr() for t in inputs if isinstance(t, torch.Tensor)}
            for i, m in enumerate(maps):
                pointer = m.untyped_storage().data_ptr()
                if pointer in seen:
                    maps[i] = m.clone()
                seen.add(pointer)
        modulated = [self.blocks[key](m, context) for key, m in zip(keys, maps, strict=True)]
        return modulated[0] if isinstance(output, torch.Tensor) else type(output)(modulated)

    def forward(self, x: torch.Tensor, metadata: torch.Tensor | None = None) -> Any:
        owner = f"MetadataConditioned(conditioning='{self.conditioning}')"
        context = checked_metadata(x, metadata, owner, self.metadata_dim, self.requires_metadata)
        if self.generator is not None:  # film, which requires the metadata: the context is never empty here
            context = self.generator(context)
        if not self._block_keys:
            return self.network(x)
        self._context = context
        try:
            return self.network(x)
        finally:
            self._context = None
