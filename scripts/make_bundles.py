"""Write every bundle's shared files from one recipe: ``recipe/template/`` plus ``recipe/bundles/<name>.json``.

Usage: ``python scripts/make_bundles.py`` (rewrite the generated files) or ``python scripts/make_bundles.py --check``
(exit 1, listing the files, when a bundle has drifted from its recipe; the tests run this).

The template holds what all bundles share: ``configs/{train,evaluate,inference,multi_gpu_train}.json``,
``configs/logging.conf`` and ``LICENSE``. A bundle's recipe holds only what differs, as MONAI config ids, the way
an override file or the command line gives them::

    {
        "all": {"metadata_fields": [...]},                  # train.json and inference.json (the standalone configs)
        "train.json": {"epochs": 100, "train#datalist": "$..."},
        "inference.json": {"cell_line": null, "metadata": {"cell_line": "@cell_line"}, "_remove_": ["split"]}
    }

``#`` reaches into nested sections, a ``+`` prefix extends a list or dict (MONAI's ``merge_kv``), ``_remove_`` drops
ids. ``"_extends_": ["film_paper"]`` first applies the sections of ``recipe/partials/film_paper.json``, what several
bundles of one paper share (its training scheme), then the bundle's own (its ids win, its ``_remove_`` adds). A
top-level id the template lacks is placed before ``metadata_fields``, beside the bundle's other settings.
Written JSON is indented by 4 with keys unsorted (the zoo's pre-commit format). ``metadata.json``, ``docs/`` and a
bundle's own extra configs (``configs/two_heads.json``) are written by hand and not touched here.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from monai.bundle.utils import merge_kv

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "recipe" / "template"
RECIPES = REPO / "recipe" / "bundles"
PARTIALS = REPO / "recipe" / "partials"
BUNDLES = REPO / "bundles"
TEMPLATE_CONFIGS = ("train.json", "evaluate.json", "inference.json", "multi_gpu_train.json")
COPIED = ("configs/logging.conf", "LICENSE")
ANCHOR = "metadata_fields"  # new top-level ids are placed before it
SECTIONS = ("all", *TEMPLATE_CONFIGS)
SHARED_BY = ("train.json", "inference.json")  # what "all" applies to: the two configs that stand alone


def _place_new_keys(merged: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    new = [k for k in merged if k not in template]
    if not new or ANCHOR not in merged:
        return merged
    ordered: dict[str, Any] = {}
    for key in template:
        if key == ANCHOR:
            ordered.update({k: merged[k] for k in new})
        if key in merged:
            ordered[key] = merged[key]
    return ordered


def _locate(config: dict[str, Any], id_: str, where: str) -> tuple[Any, str | int]:
    """The container and key of ``id_`` in ``config``. A top-level key may itself hold ``#`` (an override file's
    ``"validate#handlers"``), so the longest such key that starts the id is taken first; an id whose head the
    config lacks becomes a new top-level ``#`` key (what an override file such as ``evaluate.json`` holds)."""
    parts = id_.split("#")
    for n in range(len(parts), 0, -1):
        head = "#".join(parts[:n])
        if head in config or n == 1:
            container: Any = config
            keys: list[str | int] = [head, *parts[n:]]
            break
    is_override_file = any("#" in k for k in config)
    if len(keys) > 1 and keys[0] not in config and is_override_file:
        return config, id_  # a new "a#b" id at the top, as an override file states it (MONAI resolves it on read)
    for key in keys[:-1]:
        try:
            container = container[int(key)] if isinstance(container, list) else container[key]
        except (KeyError, IndexError, ValueError) as err:
            raise KeyError(f"{where}: '{id_}' does not exist in the template ({key!r} not found).") from err
    last = keys[-1]
    return container, int(last) if isinstance(container, list) else last


def render_config(template: dict[str, Any], overrides: dict[str, Any], where: str) -> dict[str, Any]:
    """The template config with a recipe's ``overrides`` applied (see the module docstring)."""
    config = copy.deepcopy(template)
    for id_ in overrides.get("_remove_", []):
        container, key = _locate(config, id_, where)
        if key not in container:
            raise KeyError(f"{where}: _remove_ names '{id_}', which the template does not have.")
        del container[key]
    for id_, value in overrides.items():
        if id_ == "_remove_":
            continue
        container, key = _locate(config, id_.lstrip("+"), where)
        if id_.startswith("+"):
            merge_kv(container, f"+{key}", copy.deepcopy(value))
        else:
            container[key] = copy.deepcopy(value)
    return _place_new_keys(config, template)


def _read_sections(path: Path) -> dict[str, Any]:
    recipe = json.loads(path.read_text(encoding="utf-8"))
    unknown = sorted(set(recipe) - {*SECTIONS, "_extends_"})
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}; expected {list(SECTIONS)} and '_extends_'.")
    return recipe


def read_recipe(name: str) -> dict[str, Any]:
    """A bundle's recipe with the partials it extends applied first (each section: partials' ids, then its own)."""
    path = RECIPES / f"{name}.json"
    own = _read_sections(path)
    merged: dict[str, Any] = {}
    for partial in [*own.pop("_extends_", []), None]:
        if partial is not None and not (PARTIALS / f"{partial}.json").is_file():
            raise ValueError(f"{path}: extends '{partial}', but {PARTIALS / f'{partial}.json'} does not exist.")
        sections = own if partial is None else _read_sections(PARTIALS / f"{partial}.json")
        for section, ids in sections.items():
            target = merged.setdefault(section, {})
            removed = [*target.get("_remove_", []), *ids.get("_remove_", [])]
            target.update({k: v for k, v in ids.items() if k != "_remove_"})
            if removed:
                target["_remove_"] = removed
    return merged


def render_bundle(name: str) -> dict[str, str]:
    """Every generated file of bundle ``name``: relative path -> text."""
    recipe = read_recipe(name)
    files: dict[str, str] = {}
    for config in TEMPLATE_CONFIGS:
        template = json.loads((TEMPLATE / "configs" / config).read_text(encoding="utf-8"))
        shared = recipe.get("all", {}) if config in SHARED_BY else {}
        section = recipe.get(config, {})
        overrides = {**shared, **section, "_remove_": [*shared.get("_remove_", []), *section.get("_remove_", [])]}
        rendered = render_config(template, overrides, f"recipe/bundles/{name}.json [{config}]")
        files[f"configs/{config}"] = json.dumps(rendered, indent=4) + "\n"
    for rel in COPIED:
        files[rel] = (TEMPLATE / rel).read_text(encoding="utf-8")
    return files


def bundle_names() -> list[str]:
    return sorted(p.stem for p in RECIPES.glob("*.json"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file differs")
    args = parser.parse_args(argv)
    drifted = [
        f"{p.relative_to(REPO)} (no recipe/bundles/{p.name}.json)"
        for p in sorted(BUNDLES.iterdir())
        if (p / "configs" / "train.json").is_file() and p.name not in bundle_names()
    ]
    for name in bundle_names():
        for rel, text in render_bundle(name).items():
            path = BUNDLES / name / rel
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current == text:
                continue
            if args.check:
                drifted.append(str(path.relative_to(REPO)))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(REPO)}")
    if drifted:
        print(
            "these bundle files differ from what recipe/ generates (edit recipe/template or "
            "recipe/bundles/<name>.json, then run python scripts/make_bundles.py):\n  " + "\n  ".join(drifted),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
