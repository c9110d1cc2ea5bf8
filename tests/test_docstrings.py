"""The Examples of every docstring in tinyquant run, and print what they say.

numpydoc Examples are documentation a learner copies: a stale one (a renamed attribute, a name the
module does not import, NumPy printing differently) fails here, module by module.
"""
import doctest
import importlib
import pkgutil

import pytest

import tinyquant
from tinyquant.kernels import onnx_modules

MODULES = sorted(info.name for info in pkgutil.walk_packages(tinyquant.__path__, "tinyquant."))
NEEDS_ONNX = {"tinyquant.kernels", "tinyquant.deploy"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name in NEEDS_ONNX and onnx_modules() is None:
        pytest.skip("onnxruntime and onnx not installed")
    module = importlib.import_module(name)
    failures, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert failures == 0, f"{name}: {failures} of {attempted} docstring examples failed (doctest output above)"
