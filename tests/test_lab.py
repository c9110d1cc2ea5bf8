"""`make lab` and `make instructor` really serve the course (headless: HTTP, no browser).

The learner's server (``course.workspace``'s configuration, their own copy of ``release/``)
serves chapter 01 without nbgrader's instructor tools; the instructor's serves the whole
repository with the Formgrader.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from course import workspace
from course.notebooks import RELEASE

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tinyquant-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, runtime: Path, **env):
    port = free_port()
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
            f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}"]
    if os.getuid() == 0:
        args.append("--allow-root")
    server = subprocess.Popen(args, env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), **env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=5)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{url}{'&' if '?' in url else '?'}token={TOKEN}", timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_the_learners_lab_serves_their_copy_without_instructor_tools(tmp_path):
    copy = tmp_path / "workspace"
    shutil.copytree(RELEASE, copy)
    workspace.write_learner_config()
    with jupyterlab(copy, tmp_path / "runtime", JUPYTER_CONFIG_DIR=str(workspace.LEARNER_CONFIG)) as url:
        status, body = get(f"{url}/api/contents/01_why_quantize/01_why_quantize.ipynb")
        assert status == 200
        cells = json.loads(body)["content"]["cells"]
        assert any(re.search("why quantize", "".join(c["source"]), re.I) for c in cells)
        assert get(f"{url}/formgrader")[0] == 404
        status, page = get(f"{url}/lab")
        config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                      page, re.S).group(1))
        assert set(workspace.INSTRUCTOR_LAB_EXTENSIONS) <= set(config["disabledExtensions"]), config["disabledExtensions"]


def test_the_instructors_lab_has_the_formgrader(tmp_path):
    with jupyterlab(ROOT, tmp_path / "runtime") as url:
        assert get(f"{url}/api/contents/source/01_why_quantize/01_why_quantize.ipynb")[0] == 200
        status, page = get(f"{url}/formgrader")
        assert status == 200 and "formgrader" in page.lower()


def test_the_workspace_copies_new_chapters_and_keeps_the_learners_work(tmp_path, monkeypatch):
    monkeypatch.setattr(workspace, "WORKSPACE", tmp_path / "workspace")
    assert workspace.copy_new_chapters() == sorted(p.name for p in RELEASE.iterdir() if p.is_dir())
    mine = tmp_path / "workspace" / "02_symmetric" / "02_symmetric.ipynb"
    mine.write_text("my work")
    shutil.rmtree(tmp_path / "workspace" / "03_asymmetric")  # as if chapter 03 were released later
    assert workspace.copy_new_chapters() == ["03_asymmetric"]
    assert mine.read_text() == "my work"
