"""Write a copy of a table dataset whose train masks are redrawn as polygons (accurate / fine / coarse thirds).

Usage: ``python scripts/make_annotation_styles.py SRC DST --fine 2 --coarse 3.5 --seed 0 [--split train]``
(the paper used tolerances 2 and 3.5 pixels; its authors' code used 5 and 15).
"""

from __future__ import annotations

import argparse

from metaseg_monai.sample_data import write_styled_copy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="the source table dataset folder (with metadata.csv); never written to")
    parser.add_argument("dst", help="the output folder (new or empty)")
    parser.add_argument("--fine", type=float, default=2.0, help="polygon tolerance of the 'fine' style, pixels")
    parser.add_argument("--coarse", type=float, default=3.5, help="polygon tolerance of the 'coarse' style, pixels")
    parser.add_argument("--seed", type=int, default=0, help="shuffle of the rows dealt to the styles")
    parser.add_argument("--split", default="train", help="the split to restyle (others stay accurate)")
    args = parser.parse_args(argv)
    root = write_styled_copy(args.src, args.dst, {"fine": args.fine, "coarse": args.coarse}, args.seed, args.split)
    print(f"wrote {root / 'metadata.csv'}")


if __name__ == "__main__":
    main()
