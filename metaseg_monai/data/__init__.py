"""Readers for the papers' public dataset layouts, their image and NIfTI I/O, and 3D volumes as 2D slice samples."""

from metaseg_monai.data.bids import bids_inference_datalist, load_bids_multicontrast, load_bids_tumor_type
from metaseg_monai.data.bids_slices import SAGITTAL_AXIS, tumor_type_slice_datalist
from metaseg_monai.data.ctc import consecutive_frame_pairs, load_ctc_sequence
from metaseg_monai.data.decathlon import decathlon_labels, load_decathlon
from metaseg_monai.data.dsb import LoadDSBInstanceLabeld, dsb_instance_label, load_dsb2018
from metaseg_monai.data.image_io import check_readable
from metaseg_monai.data.kits import KITS19_LABELS, KITS21_LABELS, load_kits19, load_kits21
from metaseg_monai.data.kits_slices import kits21_slice_datalist, kits21_volume_datalist, slice_id
from metaseg_monai.data.multilabel import multilabel_datalist, task_label_keys
from metaseg_monai.data.multiorgan import (
    AXIAL_AXIS,
    ORGAN_SOURCES,
    ORGANS,
    OrientedNiftiReader,
    group_balanced_weights,
    load_multiorgan,
    multiorgan_inference_datalist,
    multiorgan_slice_datalist,
)
from metaseg_monai.data.slices import (
    VolumeSliceDataset,
    iter_volume_slices,
    slices_containing,
    stack_slices,
    take_slices,
    volume_slices_datalist,
)
from metaseg_monai.data.splits import SPLIT_NAMES, rank_cases, select_split, split_cases
from metaseg_monai.data.table import command_line_metadata, input_suffix, load_inference_datalist, load_table_dataset
from metaseg_monai.data.video import load_video_frames
from metaseg_monai.data.video_nuclei import (
    load_video_nuclei,
    video_nuclei_evaluation_datalist,
    video_nuclei_frames,
    video_nuclei_pairs,
    video_nuclei_stills,
)

__all__ = [
    "AXIAL_AXIS",
    "KITS19_LABELS",
    "KITS21_LABELS",
    "ORGANS",
    "ORGAN_SOURCES",
    "SAGITTAL_AXIS",
    "SPLIT_NAMES",
    "LoadDSBInstanceLabeld",
    "OrientedNiftiReader",
    "VolumeSliceDataset",
    "bids_inference_datalist",
    "check_readable",
    "command_line_metadata",
    "consecutive_frame_pairs",
    "decathlon_labels",
    "dsb_instance_label",
    "group_balanced_weights",
    "input_suffix",
    "iter_volume_slices",
    "kits21_slice_datalist",
    "kits21_volume_datalist",
    "load_bids_multicontrast",
    "load_bids_tumor_type",
    "load_ctc_sequence",
    "load_decathlon",
    "load_dsb2018",
    "load_inference_datalist",
    "load_kits19",
    "load_kits21",
    "load_multiorgan",
    "load_table_dataset",
    "load_video_frames",
    "load_video_nuclei",
    "multilabel_datalist",
    "multiorgan_inference_datalist",
    "multiorgan_slice_datalist",
    "rank_cases",
    "select_split",
    "slice_id",
    "slices_containing",
    "split_cases",
    "stack_slices",
    "take_slices",
    "task_label_keys",
    "tumor_type_slice_datalist",
    "video_nuclei_evaluation_datalist",
    "video_nuclei_frames",
    "video_nuclei_pairs",
    "video_nuclei_stills",
    "volume_slices_datalist",
]
