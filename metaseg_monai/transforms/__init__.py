"""Transforms for metadata-conditioned segmentation."""

from .metadata import CategoricalField, ContinuousField, EncodeMetadatad, MetadataSpec, sample_id_of

__all__ = ["CategoricalField", "ContinuousField", "EncodeMetadatad", "MetadataSpec", "sample_id_of"]
