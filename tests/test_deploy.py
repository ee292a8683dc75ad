"""The one-command Space deployment, against a recording stand-in for the Hub (no network here)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class RecordingHub:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))


def load_deploy():
    spec = importlib.util.spec_from_file_location("deploy_space", ROOT / "scripts" / "deploy_space.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deploy_creates_a_gradio_space_and_uploads_the_app_only():
    deploy = load_deploy()
    hub = RecordingHub()
    url = deploy.deploy("someone/vgg16-viz", api=hub)
    assert url == "https://huggingface.co/spaces/someone/vgg16-viz"
    (create, name, options), (upload, _, upload_options) = hub.calls
    assert create == "create_repo" and options["repo_type"] == "space" and options["space_sdk"] == "gradio"
    assert upload == "upload_folder" and Path(upload_options["folder_path"]) == ROOT
    left_out = upload_options["ignore_patterns"]
    assert "tests/*" in left_out and ".venv/*" in left_out and "**/__pycache__/*" in left_out
    assert not any(p.startswith(("app", "ui", "viz", "examples", "README", "requirements.txt")) for p in left_out)
