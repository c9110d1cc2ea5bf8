"""Time and memory of chapter 09's ``QuantizedLinear`` on its backends, against NumPy's float32 layer.

Rows, per layer size (in = out) and batch size, all measured in the same run, interleaved
(``measure.best_times``) so that a change of load hits every row alike:

- ``float32``: NumPy's ``x @ W.T + b`` (the baseline, ratio 1.00);
- ``chapter 07``: ``tinyquant.nn.QuantizedLinear`` (int8 through chapter 06's exact NumPy product);
- ``numpy, tensor``: ``tinyquant.deploy.QuantizedLinear(backend="numpy")``, the same arithmetic;
- ``onnxruntime, tensor`` and ``onnxruntime, token``: the integer product on ONNX Runtime's
  ``MatMulInteger`` (weights a constant of the layer's session), per-tensor or per-token
  activations, everything else in NumPy;
- ``onnxruntime, static``: the same with static activation parameters (calibrated on other
  inputs, frozen), as chapter 08's ``quantize_model`` makes its layers;
- ``onnx graph, static``: that static layer as one ONNX graph (``OnnxModel``): its quantization,
  product, offset and rescale all in ONNX Runtime, no NumPy in between;
- ``torch dynamic int8``: ``torch.ao.nn.quantized.dynamic.Linear`` (fbgemm) on the same weights,
  only when PyTorch is installed.

Every library runs on all cores. ``peak`` is the most ``tracemalloc`` saw allocated during one
forward pass, as a fraction of the float32 weight bytes (NumPy's buffers; ONNX Runtime's own
allocations are not seen by tracemalloc). The outputs of the ONNX Runtime rows are checked
bit-identical to the NumPy rows (the same layer on ``backend="numpy"``) before anything is timed.

What to expect on a 2-core AVX-512 VNNI machine (two runs), as ratios to float32: at batch 64,
1024 x 1024, ONNX Runtime per tensor 0.56-0.59x, static 0.48-0.50x, one graph 0.38-0.39x, per
token 0.74-0.78x, the NumPy path 2.0x; at batch 1, 4096 x 4096, ONNX Runtime 0.46-0.49x, one graph
0.42-0.43x; at batch 1, 1024 x 1024 (float32 weights in cache, 0.1 ms) ONNX Runtime 2.6-2.8x.
With PyTorch 2.13 installed (the script sets OMP_WAIT_POLICY=PASSIVE: PyTorch's idle OpenMP
threads would otherwise spin and slow every other row), its dynamic int8 layer took 0.61-0.77x
at batch 64, 1024 x 1024, and 0.87-0.88x at batch 1, 4096 x 4096. Chapter 09's tables (sections 7 and 8) have every row.

Usage, from the repository root::

    python benchmarks/bench_deploy.py
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

# PyTorch's idle OpenMP threads sleep instead of spinning on the cores the other rows need.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_linear import _torch_dynamic  # noqa: E402
from measure import best_times, peak_bytes  # noqa: E402

import tinyquant.nn  # noqa: E402
from tinyquant import format_table  # noqa: E402
from tinyquant.deploy import OnnxModel, QuantizedLinear  # noqa: E402
from tinyquant.models import Sequential  # noqa: E402
from tinyquant.kernels import onnx_modules  # noqa: E402

BATCHES = (1, 8, 64, 512)
SIZES = (1024, 4096)


def run(batches=BATCHES, sizes=SIZES, repeat=20, seed=0):
    """Rows of the table: one dict per layer size, batch size and layer."""
    rows = []
    for size in sizes:
        linear = tinyquant.nn.Linear(size, size, rng=seed)
        weight, bias = linear.weight, linear.bias
        layers = {"chapter 07": tinyquant.nn.QuantizedLinear.from_float(linear, keep_float=True),
                  "numpy, tensor": QuantizedLinear.from_float(linear, keep_float=True, backend="numpy")}
        static = None
        if onnx_modules() is not None:
            calibration = np.random.default_rng(seed + 2).standard_normal((64, size)).astype(np.float32)
            static = QuantizedLinear.from_float(linear, backend="onnxruntime").calibrate([calibration]).freeze()
            layers["onnxruntime, static"] = static
            layers["onnx graph, static"] = OnnxModel(Sequential([static]))
            layers["numpy, static"] = QuantizedLinear.from_float(linear, backend="numpy").calibrate([calibration]).freeze()
            layers["onnxruntime, tensor"] = QuantizedLinear.from_float(linear, keep_float=True, backend="onnxruntime")
            layers["onnxruntime, token"] = QuantizedLinear.from_float(linear, keep_float=True, backend="onnxruntime",
                                                                      activations="token")
            layers["numpy, token"] = QuantizedLinear.from_float(linear, keep_float=True, backend="numpy",
                                                                activations="token")
        torch_forward, _ = _torch_dynamic(weight, bias)
        forwards = {"float32": lambda x: x @ weight.T + bias, **layers}
        if torch_forward is not None:
            forwards["torch dynamic int8"] = torch_forward
        rng = np.random.default_rng(seed + 1)
        for batch in batches:
            x = rng.standard_normal((batch, size)).astype(np.float32)
            for granularity in ("tensor", "token", "static"):
                if f"onnxruntime, {granularity}" in layers:
                    assert np.array_equal(layers[f"onnxruntime, {granularity}"](x), layers[f"numpy, {granularity}"](x))
            if static is not None:
                assert np.array_equal(layers["onnx graph, static"](x), layers["numpy, static"](x))
            timed = {name: forward for name, forward in forwards.items() if name not in ("numpy, token", "numpy, static")}
            seconds = dict(zip(timed, best_times([lambda f=f: f(x) for f in timed.values()], repeat)))
            for name, value in seconds.items():
                row = {"layer": f"{size} x {size}", "batch": batch, "how": name, "ms": round(1000 * value, 3),
                       "vs float32": f"{value / seconds['float32']:.2f}x", "peak": None}
                if name.startswith("numpy") or name == "chapter 07":
                    row["peak"] = f"{peak_bytes(lambda f=forwards[name]: f(x)) / (4 * weight.size):.3f}"
                rows.append(row)
    return rows


if __name__ == "__main__":
    print(format_table(run()))
