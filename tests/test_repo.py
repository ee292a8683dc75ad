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
