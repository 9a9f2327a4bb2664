"""The arms of a comparison: ``CONDITIONING[:MODE]`` (``sme``, ``sme:dummy``) or a bundle's config overlay, optionally
with one setting of its own (``single_class:organ=liver``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from metaseg_monai.bundle.settings import TRAIN_MODES

__all__ = ["Variant", "parse_variants"]


@dataclass(frozen=True)
class Variant:
    """One arm: a network conditioning and metadata mode, or a config overlay of the bundle.

    Attributes:
        name: as given on the command line (``"sme"``, ``"sme:dummy"``, ``"two_heads"``); names result rows.
        conditioning: ``none``/``se``/``me``/``sme``/``film``; ``None`` for an overlay (it sets its own network).
        metadata_mode: ``true`` or ``dummy`` (all-zero metadata), for training and evaluation alike.
        overlay: a bundle config file layered after ``train.json`` (e.g. ``configs/two_heads.json``), or ``None``.
        overlay_overrides: config overrides of an overlay arm (``single_class:organ=liver`` -> ``{"organ": "liver"}``).
    """

    name: str
    conditioning: str | None = None
    metadata_mode: str = "true"
    overlay: Path | None = None
    overlay_overrides: tuple[tuple[str, str], ...] = ()

    @property
    def slug(self) -> str:
        """The name as a file-name part (``sme:dummy`` -> ``sme-dummy``), for run folders and figures."""
        return self.name.replace(":", "-").replace("=", "-")

    @property
    def reads_metadata(self) -> bool:
        """Whether the network sees real metadata (so that swapping it should change the output)."""
        return self.overlay is None and self.metadata_mode == "true" and self.conditioning in ("me", "sme", "film")

    def overrides(self) -> dict[str, str]:
        """Bundle overrides of this arm (an overlay sets its network itself)."""
        if self.overlay is not None:
            return dict(self.overlay_overrides)
        return {"conditioning": str(self.conditioning), "metadata_mode": self.metadata_mode}


def parse_variants(variants: str | Sequence[str], bundle_dir: str | Path | None = None) -> list[Variant]:
    """Parse ``"none,sme,sme:dummy,two_heads"`` (or fire's tuple of it) into :class:`Variant` objects.

    An item is ``CONDITIONING[:MODE]`` with CONDITIONING in :data:`~metaseg_monai.networks.CONDITIONINGS` and MODE
    ``true`` (default) or ``dummy``; or, with ``bundle_dir``, the name of a config overlay ``configs/<name>.json`` of
    that bundle, optionally with one config id set for it, ``OVERLAY:ID=VALUE`` (``single_class:organ=liver``: the
    single-class U-Net of the liver). Names must be unique.

    Raises:
        ValueError: an unknown item (the message lists what is accepted), a duplicate, or an empty list.
    """
    from metaseg_monai.networks import CONDITIONINGS

    items = variants.split(",") if isinstance(variants, str) else list(variants)
    configs = Path(bundle_dir) / "configs" if bundle_dir is not None else None
    parsed: list[Variant] = []
    for item in (str(v).strip() for v in items):
        conditioning, _, mode = item.partition(":")
        setting = tuple(p.strip() for p in mode.split("=", 1)) if "=" in mode else None
        overlay = configs / f"{conditioning}.json" if configs is not None and conditioning.isidentifier() else None
        is_overlay = overlay is not None and overlay.is_file() and (not mode or setting is not None)
        if conditioning in CONDITIONINGS and (mode or "true") in TRAIN_MODES:
            parsed.append(Variant(item, conditioning, mode or "true"))
        elif is_overlay and conditioning not in ("train", "evaluate", "inference", "metadata"):
            extra = ((setting[0], setting[1]),) if setting is not None and setting[0].isidentifier() else ()
            if setting is not None and not extra:
                raise ValueError(f"variant {item!r}: expected OVERLAY:ID=VALUE with ID a config id.")
            parsed.append(Variant(item, overlay=overlay, overlay_overrides=extra))
        else:
            where = f" or a config overlay in '{configs}' (OVERLAY[:ID=VALUE])" if configs is not None else ""
            raise ValueError(
                f"variant {item!r}: expected CONDITIONING[:MODE] with CONDITIONING in {CONDITIONINGS} and MODE in "
                f"{TRAIN_MODES}{where}."
            )
    names = [v.name for v in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"variants must be unique; repeated: {duplicates}.")
    if not parsed:
        raise ValueError("no variants given.")
    return parsed
