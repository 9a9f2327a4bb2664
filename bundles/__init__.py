"""The metaseg-monai bundles, one folder each in the MONAI Model Zoo layout.

This file makes the folder the resource package ``metaseg_monai.bundles`` so that the bundles ship in the wheel;
:mod:`metaseg_monai.bundle` finds, lists, copies and exports them.
"""
