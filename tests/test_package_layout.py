"""The package's layers: no module imports a subpackage that sits above its own (checked on the source, by ast)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "metaseg_monai"

# bottom to top; a module may import its own subpackage and those of lower layers, never one of its own layer or above.
# Top-level modules (cli, shape_switch_check) and subpackages not listed here sit above all of these.
LAYERS = (
    ("utils",),
    ("data", "networks"),
    ("transforms", "inferers", "optimizers"),
    ("metrics", "visualize"),
    ("handlers",),
    ("sample_data",),
    ("bundle",),
    ("comparison",),
)
LAYER_OF = {name: level for level, names in enumerate(LAYERS) for name in names}


def _subpackage(module: str) -> str | None:
    """``metaseg_monai.data.kits`` -> ``data``; None for a module outside the package or the package itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "metaseg_monai" and len(parts) > 1 else None


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (also inside functions), relative imports resolved."""
    here = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    package = package.removesuffix(".__init__")
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _layered_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] in LAYER_OF)


def test_every_layer_exists():
    assert [name for name in LAYER_OF if not (PACKAGE / name / "__init__.py").is_file()] == []


@pytest.mark.parametrize("path", _layered_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_back_up(path):
    own = path.relative_to(PACKAGE).parts[0]
    upward = sorted(
        module
        for module in _imported_modules(path)
        if (target := _subpackage(module)) is not None
        and target != own
        and (target not in LAYER_OF or LAYER_OF[target] >= LAYER_OF[own])
    )
    assert upward == [], f"metaseg_monai.{own} (layer {LAYER_OF[own]}) imports from its own layer or above"


def test_utils_imports_nothing_of_the_package():
    for path in sorted((PACKAGE / "utils").rglob("*.py")):
        others = {m for m in _imported_modules(path) if _subpackage(m) not in (None, "utils")}
        assert others == set(), path


def test_importing_data_loads_no_higher_subpackage():
    code = "import sys, metaseg_monai.data; print(' '.join(m for m in sys.modules if m.startswith('metaseg_monai')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "metaseg_monai.data" in loaded
    assert "metaseg_monai.transforms" not in loaded
    assert sorted({_subpackage(m) for m in loaded} - {None, "data", "utils"}) == []
