from metaseg_monai.inferers.metadata_inferer import MetadataInferer

__all__ = ["MetadataInferer"]
