"""Generic helpers with no knowledge of the package: atomic writes, JSON/CSV files, natural sort, mask conversion."""

from metaseg_monai.utils.atomic import atomic_path, writes_dataset
from metaseg_monai.utils.checks import is_int_at_least
from metaseg_monai.utils.files import read_delimited, read_json, write_delimited, write_json
from metaseg_monai.utils.sorting import natural_key
from metaseg_monai.utils.type_conversion import as_bool_array

__all__ = [
    "as_bool_array",
    "atomic_path",
    "is_int_at_least",
    "natural_key",
    "read_delimited",
    "read_json",
    "write_delimited",
    "write_json",
    "writes_dataset",
]
