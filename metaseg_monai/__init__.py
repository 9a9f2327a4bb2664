"""metaseg-monai: metadata-conditioned segmentation for MONAI."""

__version__ = "0.1.0"
