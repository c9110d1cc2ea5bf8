"""The repository's set-up files agree with each other."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def requirement(text: str) -> tuple[str, str]:
    name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", text.strip()).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(map(requirement, project["dependencies"] + project["optional-dependencies"]["course"]))
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = dict(requirement(dep) for dep in conda["dependencies"] if isinstance(dep, str))
    assert listed.pop("python") == "=3.11"
    listed.pop("pip")
    assert listed == wanted
    assert conda["channels"] == ["conda-forge"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -e" in ci and re.search(r"^make test$", ci, re.M)
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_postbuild_installs_the_repo_and_hides_instructor_tools():
    post = (ROOT / "postBuild").read_text()
    assert "pip install" in post and " -e ." in post
    for tool in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                 "nbgrader.server_extensions.formgrader"):
        assert re.search(rf"disable .*{re.escape(tool)}", post), tool


def test_binder_and_colab_links_come_from_the_clones_github_remote():
    from course.links import github_repository, links

    assert github_repository("git@github.com:ada/tinyquant.git") == ("ada", "tinyquant")
    assert github_repository("https://github.com/ada/tiny-quant\n") == ("ada", "tiny-quant")
    assert github_repository("https://gitlab.com/ada/tinyquant") is None
    text = "\n".join(links("ada", "tinyquant", branch="main"))
    binder = re.search(r"https://mybinder\.org/v2/gh/ada/tinyquant/main\?urlpath=lab/tree/(\S+)", text).group(1)
    assert binder == "workspace/01_why_quantize/01_why_quantize.ipynb"  # made by postBuild from release/
    assert (ROOT / "release" / binder.split("/", 1)[1]).exists() and "course workspace" in (ROOT / "postBuild").read_text()
    assert "colab.research.google.com/github/ada/tinyquant/blob/main/release/01_why_quantize/" in text
    assert 'pip install -q -e "tinyquant[course]"' in text  # the visible tests import hypothesis
    readme = (ROOT / "README.md").read_text()
    assert "make links" in readme and "mybinder.org/v2/gh/tinyquant" not in readme
