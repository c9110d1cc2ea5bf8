"""Time and transient memory of ``QuantizedLinear.forward`` against NumPy's float32 Linear.

Rows, all measured in the same run on the same seeded layer (``in_features`` x
``out_features``, default 1024 x 1024) and the same float32 Gaussian input:

- ``float32``: NumPy's ``x @ W.T + b`` with the float32 weights (the baseline);
- ``int8``: ``tinyquant.nn.QuantizedLinear.forward`` (dynamic int8 activations, int8 per-channel
  weights, exact integer accumulation through ``tinyquant.int_matmul``, float32 output);
- ``torch dynamic int8``: ``torch.ao.nn.quantized.dynamic.Linear`` on the same weights, a
  reference row, only if PyTorch is installed (otherwise skipped with a note).

Time is the best of ``repeat`` runs (``time.perf_counter``), the layers run in turn so that a
change of load on the machine hits both alike. Peak is the most ``tracemalloc`` saw allocated
during one further call, above what was allocated before it: every temporary
of the forward pass *and its output*. It is reported as a fraction of the float32 weight and
bias bytes (``QuantizedLinear.weight_bytes_fp32()``), the memory the int8 layer saves; a
forward pass that expanded the int8 weights into a float32 copy would show a ratio >= 1.
NumPy reports its buffers to tracemalloc; BLAS's internal workspace is not seen.

Targets (chapter 07, at batch 64, 1024 x 1024): time ratio <= 1.5 (aim 1.0), peak ratio
<= 0.35. These are benchmark targets, never timed unit tests.

What to expect on the course's 2-core machines: a peak of 0.28 (one float32 block of 128 weight
rows, the float32 copy of the int8 activations and the int32 accumulator); a time ratio of about
5-8x at batch 1 (converting 1 MiB of int8 weights costs more than the float layer's matrix-vector
product), 2-3.5x at batch 8, and 1.5-2x at batch 64 and 512, moving with the load of the machine.
NumPy has no int8 matrix product: the int8 layer runs the float layer's float32 multiply-adds
(in blocks) *plus* the weight conversion and the input quantization, so it cannot reach 1.0 here;
an integer kernel (VNNI, ``sdot``, fbgemm in PyTorch's row) can.

A second table breaks the int8 forward pass down at batch 64 (``breakdown``).

Usage, from the repository root::

    python benchmarks/bench_linear.py              # batch sizes 1, 8, 64, 512
    python benchmarks/bench_linear.py 64 256       # batch sizes of your choice

From Python (the chapter 07 notebook passes its own class)::

    from bench_linear import run
    rows = run([1, 64], layer_class=QuantizedLinear)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from measure import best_times, peak_bytes

DEFAULT_BATCHES = (1, 8, 64, 512)


def _torch_dynamic(weight, bias):
    """A PyTorch dynamic int8 Linear on the same weights, or None (with a reason) without PyTorch."""
    try:
        import torch
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    except ImportError as error:
        return None, f"PyTorch is not installed ({error.name}): no reference row"
    float_layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        float_layer.weight.copy_(torch.from_numpy(weight))
        float_layer.bias.copy_(torch.from_numpy(bias))
    float_layer.qconfig = torch.ao.quantization.default_dynamic_qconfig
    layer = DynamicLinear.from_float(float_layer)

    def forward(x):
        with torch.no_grad():
            return layer(torch.from_numpy(x)).numpy()
    return forward, None


def _ms(seconds):
    return f"{1e3 * seconds:.3f} ms"


def run(batches=DEFAULT_BATCHES, in_features=1024, out_features=1024, layer_class=None, linear_class=None,
        repeat=20, file=None):
    """Benchmark the float32 and int8 layers at the given batch sizes; print a table.

    Parameters
    ----------
    batches : iterable of int
        Batch sizes (rows of the input).
    in_features, out_features : int
        The layer's size.
    layer_class, linear_class : type, optional
        ``QuantizedLinear`` and ``Linear`` classes to measure (default: ``tinyquant.nn``'s).
    repeat : int
        Timed runs per measurement; the best one counts.
    file : text stream, optional
        Where the table goes (default ``sys.stdout``).

    Returns
    -------
    list of dict
        One row per batch size: ``batch``, ``time_float``, ``time_int8``, ``time_ratio``,
        ``peak_float``, ``peak_int8`` (bytes), ``peak_ratio`` (int8 peak / float32 parameter
        bytes) and, with PyTorch, ``time_torch``.
    """
    if layer_class is None or linear_class is None:
        import tinyquant.nn
        layer_class = layer_class or tinyquant.nn.QuantizedLinear
        linear_class = linear_class or tinyquant.nn.Linear
    file = file or sys.stdout
    linear = linear_class(in_features, out_features, rng=0)
    weight, bias = linear.weight, linear.bias
    layer = layer_class.from_float(linear, keep_float=False)
    baseline = layer.weight_bytes_fp32()
    torch_forward, note = _torch_dynamic(weight, bias)

    def float_forward(x):
        return x @ weight.T + bias

    print(f"{in_features} x {out_features} layer: float32 weight and bias {baseline / 2**20:.2f} MiB, "
          f"int8 layer holds {layer.memory_bytes() / 2**20:.2f} MiB "
          f"({baseline / layer.memory_bytes():.2f}x smaller)", file=file)
    columns = ("batch", "float32", "int8", "time ratio", "float32 peak", "int8 peak", "peak ratio", "torch int8")
    widths = (6, 12, 12, 10, 12, 12, 10, 12)
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)), file=file)
    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        x = rng.standard_normal((int(batch), in_features), dtype=np.float32)
        functions = [float_forward, layer.forward] + ([torch_forward] if torch_forward else [])
        time_float, time_int8, *time_torch = best_times([lambda f=f: f(x) for f in functions], repeat=repeat)
        time_torch = time_torch[0] if time_torch else None
        peak_float, peak_int8 = peak_bytes(lambda: float_forward(x)), peak_bytes(lambda: layer.forward(x))
        row = dict(batch=int(batch), time_float=time_float, time_int8=time_int8,
                   time_ratio=time_int8 / time_float, peak_float=peak_float, peak_int8=peak_int8,
                   peak_ratio=peak_int8 / baseline, time_torch=time_torch)
        rows.append(row)
        cells = (str(batch), _ms(time_float), _ms(time_int8), f"{row['time_ratio']:.2f}x",
                 f"{peak_float / 2**10:.0f} KiB", f"{peak_int8 / 2**10:.0f} KiB", f"{row['peak_ratio']:.3f}",
                 _ms(time_torch) if time_torch else "-")
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths)), file=file, flush=True)
    if note:
        print(f"torch int8: {note}", file=file)
    return rows


def breakdown(batch=64, in_features=1024, out_features=1024, repeat=20, file=None):
    """Where the time of one int8 forward pass goes, next to the float32 layer; print a table.

    Each part is timed on its own, all in turn in the same run (best of `repeat`): the float32
    layer, the int8 forward pass, and three of its pieces: the exact integer product
    (``int_matmul``, which converts the int8 weights to float32 block by block), the quantization
    of the input, and a conversion of all the int8 weights to float32 at once. The parts do not
    add up exactly: alone, a piece runs with its data in cache; inside the forward pass it
    shares the caches with the others.

    Returns
    -------
    dict
        ``{part: seconds}``.
    """
    from tinyquant.matmul import int_matmul
    from tinyquant.nn import Linear, QuantizedLinear, quantize_activations

    file = file or sys.stdout
    linear = Linear(in_features, out_features, rng=0)
    layer = QuantizedLinear.from_float(linear)
    x = np.random.default_rng(1).standard_normal((batch, in_features), dtype=np.float32)
    x_q, _, _ = quantize_activations(x)
    parts = {"float32 layer, x @ W.T + b": lambda: x @ linear.weight.T + linear.bias,
             "int8 layer, forward": lambda: layer(x),
             "  int_matmul(x_q, W_q.T)": lambda: int_matmul(x_q, layer.weight_q.T),
             "  quantize_activations(x)": lambda: quantize_activations(x),
             "  W_q.astype(float32), all at once": lambda: layer.weight_q.astype(np.float32)}
    seconds = dict(zip(parts, best_times(list(parts.values()), repeat=repeat)))
    base = seconds["float32 layer, x @ W.T + b"]
    print(f"where the time goes, batch {batch}, {in_features} x {out_features}:", file=file)
    for part, value in seconds.items():
        print(f"  {part:36s} {_ms(value):>10s}  {value / base:5.2f}x", file=file)
    return seconds


if __name__ == "__main__":
    # Run from a checkout: make the repository's tinyquant importable without installing it.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run([int(arg) for arg in sys.argv[1:]] or DEFAULT_BATCHES)
    breakdown()
