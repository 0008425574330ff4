"""The packages stand in layers: each imports only those below it, so no two import each other."""

import ast
from pathlib import Path

import platesvc

# Lowest first. The modules at the top of platesvc (config, errors, spreadsheets, messages, labels) sit under all.
LAYERS = ["ops", "store", "registry", "reference", "intake", "scan", "maps", "search", "printing", "staff", "cli",
          "web"]
SHARED = {"config", "errors", "spreadsheets", "messages", "labels"}
ROOT = Path(platesvc.__file__).parent


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "platesvc":
            parts = node.module.split(".")
            yield from ([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            yield from (alias.name.split(".")[1] for alias in node.names if alias.name.startswith("platesvc."))


def test_every_package_is_in_a_layer():
    packages = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    assert packages == set(LAYERS)


def test_each_package_imports_only_the_layers_below_it():
    upward = []
    for layer, package in enumerate(LAYERS):
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _imports(path):
                if name == "create_app" and package == "cli":
                    continue  # the command line makes the app it runs in
                if name in SHARED or name == package:
                    continue
                if name not in LAYERS or LAYERS.index(name) > layer:
                    upward.append(f"{path.relative_to(ROOT)} imports platesvc.{name}")
    assert not upward, upward


def test_the_shared_modules_import_no_package():
    for name in SHARED:
        assert not [imported for imported in _imports(ROOT / f"{name}.py") if imported in LAYERS], name
