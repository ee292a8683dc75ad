"""The repository keeps its promises: CI runs the README's test command, examples stay small."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_command(heading: str) -> str:
    """The first line of the code block that follows `heading` in the README."""
    text = (ROOT / "README.md").read_text()
    block = text.split(heading, 1)[1].split("```bash\n", 1)[1]
    return block.split("\n", 1)[0].strip()


def test_ci_runs_the_readme_test_command():
    command = readme_command("## Test")
    assert "pytest" in command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines


def test_readme_starts_with_spaces_front_matter():
    head = (ROOT / "README.md").read_text().split("---")[1]
    for key in ("sdk: gradio", "sdk_version: 6.31.0", 'python_version: "3.11"', "app_file: app.py", "license:",
                "short_description:"):
        assert key in head


def test_example_images_are_small_and_credited():
    examples = [p for p in (ROOT / "examples").iterdir() if p.suffix in {".jpg", ".png"}]
    assert examples
    credits = (ROOT / "examples" / "CREDITS.md").read_text()
    for path in examples:
        assert path.stat().st_size < 300_000, path
        assert path.name in credits, path


def api_table() -> dict[str, list[str]]:
    """The README's API table: endpoint -> [its parameters cell, its returns cell]."""
    rows = [line.split(" | ") for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `/")]
    return {cells[0].split("`")[1]: cells[1:] for cells in rows}


def test_the_readme_api_table_says_what_the_app_takes(client):
    """Every endpoint's parameters in the README, in the app's order, each slider as the app bounds it
    and defaults it (`name` low–high (default)); and the settings its results are made with."""
    import re

    from viz import blocks
    from viz import atlas

    table = api_table()
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert sorted(table) == sorted(endpoints)
    for endpoint, about in endpoints.items():
        parameters, returns = table[endpoint]
        named = [item.split("`")[1] for item in parameters.split("; ") if item.startswith("`")]
        assert named == [p["parameter_name"] for p in about["parameters"]], endpoint
        for p in about["parameters"]:
            if p["component"] == "Slider":
                low, high = re.search(r"between (\S+) and (\S+)", p["type"]["description"]).groups()
                stated = f"`{p['parameter_name']}` {float(low):g}–{float(high):g} ({p['parameter_default']:g})"
                assert stated in parameters, f"{endpoint}: README lacks {stated}"
    assert f"{blocks.PICTURES.steps} steps at {blocks.PICTURES.size} px" in table["/neuron_groups"][1]
    assert f"{blocks.CELL_PICTURES.steps} steps, {blocks.CELL_PICTURES.size} px a cell" in table["/activation_grid"][1]
    assert f"{atlas.PER_PAGE} channels a page" in table["/atlas"][0]
    assert f"the {blocks.ENTRIES.default} channels" in table["/dictionary"][1]


def python_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def test_no_function_in_viz_or_ui_takes_more_than_eight_parameters():
    """Wide signatures are where knobs get swapped by position: a run object or a form carries them."""
    import ast

    wide = []
    for path in python_files("viz", "ui"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                named = [a for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
                if len(named) + bool(args.vararg) + bool(args.kwarg) > 8:
                    wide.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert wide == []


def imports_of(path: Path) -> set[str]:
    """The modules of this repository that a file imports (absolute names: viz.model, ui.runs, ...)."""
    import ast

    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if (ROOT / (name.replace(".", "/") + ".py")).is_file()}


def test_imports_run_one_way_down():
    """No circle of imports; viz knows nothing of the page; viz/io stands below every analysis."""
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in python_files("viz", "ui") + [ROOT / "app.py"]}
    graph = {name: imports_of(path) - {name} for name, path in modules.items()}
    analyses = {"viz.activations", "viz.atlas", "viz.attribution", "viz.blocks", "viz.microscope", "viz.reconstruct",
                "viz.style", "viz.visualize"}
    for name, imported in graph.items():
        if name.startswith("viz."):
            assert not any(m.startswith("ui") or m == "app" for m in imported), name
        if name.startswith("viz.io."):
            assert not imported & analyses, name

    def visit(name, trail):
        assert name not in trail, " -> ".join(trail + [name])
        for other in graph.get(name, ()):
            visit(other, trail + [name])

    for name in graph:
        visit(name, [])
