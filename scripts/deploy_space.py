"""Deploy the app to a Hugging Face Space in one command.

Run: HF_TOKEN=hf_... python scripts/deploy_space.py YOUR_NAME/what-does-vgg16-see [--private]

Creates the Space with the Gradio SDK if it does not exist, then uploads this folder without the
tests, benchmarks, CI files and caches. The Space reads README.md's front matter (SDK version,
Python 3.11) and installs requirements.txt; the ImageNet weights download on first start.
"""

import argparse
import os
from pathlib import Path

from huggingface_hub import HfApi

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = ["tests/*", "benchmarks/*", "scripts/*", ".ci/*", ".venv/*", ".git/*", "**/__pycache__/*", "*.pyc",
            ".pytest_cache/*", ".gradio/*", "client-output/*", "requirements-test.txt", "pytest.ini"]


def deploy(repo_id: str, private: bool = False, api: HfApi | None = None) -> str:
    """Create (if needed) and upload the Space; returns its address."""
    api = api or HfApi(token=os.environ.get("HF_TOKEN"))
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    api.upload_folder(folder_path=str(ROOT), repo_id=repo_id, repo_type="space", ignore_patterns=LEFT_OUT,
                      commit_message="Deploy the CNN visualization demo")
    return f"https://huggingface.co/spaces/{repo_id}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo_id", help="owner/name of the Space")
    parser.add_argument("--private", action="store_true")
    args = parser.parse_args()
    print(deploy(args.repo_id, args.private))


if __name__ == "__main__":
    main()
