"""``tinyquant.pure`` is standard-library only: it must import and work with NumPy absent.

A fresh interpreter blocks NumPy (``sys.modules['numpy'] = None`` makes every
``import numpy`` raise ImportError), imports ``tinyquant.pure`` and runs seed 002's
example; the parent process checks the printed results.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys
sys.modules['numpy'] = None
try:
    import numpy
except ImportError:
    pass
else:
    raise SystemExit('numpy was not blocked')
import tinyquant.pure as tqp
tensor = [1.0, -0.5, 0.3, -1.0, 0.0, 0.7]
q, scale = tqp.quantize_symmetric(tensor)
deq = tqp.dequantize_symmetric(q, scale)
err = tqp.quantization_error(tensor, q, scale)
q4, scale4 = tqp.quantize_symmetric([7.0, -3.5, 1.0], bits=4)
print(json.dumps({
    "q": q, "q_types": sorted({type(v).__name__ for v in q}),
    "scale": scale, "scale_type": type(scale).__name__,
    "deq": deq, "err": err, "q4": q4, "scale4": scale4,
    "numpy_modules": sorted(m for m in sys.modules
                            if (m == 'numpy' or m.startswith('numpy.'))
                            and sys.modules[m] is not None),
}))
"""


@pytest.fixture(scope="module")
def child_result():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_pure_imports_and_runs_without_numpy(child_result):
    assert child_result["numpy_modules"] == []
    assert child_result["q"] == [127, -64, 38, -127, 0, 89]
    assert child_result["q_types"] == ["int"]
    assert child_result["scale_type"] == "float"
    assert child_result["scale"] == pytest.approx(1 / 127, rel=1e-12)


def test_pure_dequantize_and_metrics_without_numpy(child_result):
    scale = child_result["scale"]
    assert child_result["deq"] == pytest.approx([v * scale for v in child_result["q"]],
                                                rel=1e-15, abs=0)
    assert child_result["deq"] == pytest.approx([1.0, -0.504, 0.299, -1.0, 0.0, 0.701],
                                                abs=5e-4)
    err = child_result["err"]
    assert {"mse", "mae", "max_error", "relative_error", "snr_db"} <= set(err)
    # the largest error is the tie -0.5 -> -64/127: exactly half a step, 1/254
    assert err["max_error"] == pytest.approx(0.5 / 127, rel=1e-9)
    assert 0 < err["mse"] <= (0.5 / 127) ** 2
    # the same value test_basic.py derives by hand with math.fsum
    assert err["snr_db"] == pytest.approx(52.2803, abs=1e-4)


def test_pure_bits_without_numpy(child_result):
    assert child_result["q4"] == [7, -4, 1]
    assert child_result["scale4"] == 1.0
