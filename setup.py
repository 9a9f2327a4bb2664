"""The package list only; everything else is in pyproject.toml.

``bundles/`` is mapped to the package ``metaseg_monai.bundles`` there (so the bundles ship in the wheel), and
pyproject's ``packages.find`` cannot include a package mapped from another folder.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["metaseg_monai*"]), "metaseg_monai.bundles"])
