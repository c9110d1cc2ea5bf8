"""``python -m course links``: Binder and Colab links for the GitHub repository of this clone.

The links are made from ``git remote get-url origin``, so they are right for whichever
repository the course was cloned from or pushed to (a fork, a move): nothing to edit by hand.
"""
from __future__ import annotations

import re
import subprocess

from .notebooks import ROOT, chapters

GITHUB = re.compile(r"github\.com[:/](?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$")


def github_repository(url: str) -> tuple[str, str] | None:
    """(owner, repository) of a GitHub remote URL (https or ssh), else None."""
    match = GITHUB.search(url.strip())
    return (match["owner"], match["repo"]) if match else None


def links(owner: str, repo: str, branch: str = "main") -> list[str]:
    first = chapters()[0]
    lines = [
        "Binder (JupyterLab with everything installed; the session is temporary, download your notebooks):",
        f"  https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?urlpath=lab/tree/workspace/{first}/{first}.ipynb",
        "Colab: open a chapter from GitHub, e.g.",
        f"  https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/release/{first}/{first}.ipynb",
        "  then run this in a first cell, so that `import tinyquant` and the tests work:",
        f"  !git clone -q https://github.com/{owner}/{repo}.git && pip install -q -e \"{repo}[course]\"",
        f"  %cd {repo}/release/{first}",
        "  Colab edits a copy in your Google Drive (File > Save a copy in Drive), not a file of the clone: mount",
        "  Drive (Files pane) and export that copy, e.g.",
        f"  %run -m course export \"/content/drive/MyDrive/Colab Notebooks/Copy of {first}.ipynb\"",
    ]
    return lines


def main(args) -> int:
    remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True)
    found = github_repository(remote.stdout) if remote.returncode == 0 else None
    if found is None:
        print("This clone has no GitHub remote named origin (git remote get-url origin): push the course to "
              "GitHub, then run this again for its Binder and Colab links.")
        return 1
    branch = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print("\n".join(links(*found, branch=branch.stdout.strip() or "main")))
    return 0
