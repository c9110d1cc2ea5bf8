"""Shared Hypothesis strategies and numerical constants for the tinyquant tests.

Decisions recorded here, so that every property test reads them the same way:

* Shapes run from 0-d (a NumPy scalar array, ``shape == ()``) to 3-d, each side 1..8.
  The public API accepts "anything ``np.asarray`` accepts", and a 0-d array is such a
  thing, so the shape contract (``q.shape == x.shape``) must hold for it too. Empty
  arrays are excluded: they are bad input and have their own tests in ``test_edge.py``.
* Elements are finite. float32 arrays span the whole float32 range, subnormals
  included. float64 arrays are limited to ``|x| <= float32 max``: dequantized values
  are float32 by convention (DESIGN.md), so a float64 value beyond the float32 range
  cannot come back finite and the round-trip property has nothing to say about it.
* ``num_bits`` for the NumPy API runs over 2..16 (an integer dtype must hold q);
  ``bits`` for ``tinyquant.pure`` over 2..32 (seed 002).
"""
from __future__ import annotations

import math
import sys

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = float(np.finfo(np.float32).tiny)  # smallest normal float32, the scale floor
#: unit roundoff of float32 (half its machine epsilon), the relative error of one
#: correctly rounded float32 operation
U32 = 2.0 ** -24

FLOAT_DTYPES = (np.float32, np.float64)

num_bits = st.integers(min_value=2, max_value=16)
pure_bits = st.integers(min_value=2, max_value=32)

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=8)
shapes_1d = hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=64)


def qmax(bits: int) -> int:
    """Largest magnitude of a symmetric int-``bits`` code: ``2**(bits-1) - 1``."""
    return 2 ** (bits - 1) - 1


def int_dtype(bits: int) -> type:
    """The smallest signed integer dtype holding symmetric int-``bits`` codes."""
    return np.int8 if bits <= 8 else np.int16


def elements(dtype, max_abs: float | None = None) -> st.SearchStrategy[float]:
    """Finite elements of ``dtype``; float64 ones limited to the float32 range."""
    width = 32 if np.dtype(dtype) == np.float32 else 64
    bound = F32_MAX if max_abs is None else min(max_abs, F32_MAX)
    if width == 32:  # Hypothesis wants bounds that are exact float32 values
        b32 = np.float32(bound)
        bound = float(b32 if float(b32) <= bound else np.nextafter(b32, np.float32(0)))
    return st.floats(min_value=-bound, max_value=bound, width=width,
                     allow_nan=False, allow_infinity=False)


@st.composite
def finite_arrays(draw, dtype=None, shape=None, max_abs: float | None = None):
    """A non-empty finite float32 or float64 array of a random shape (0-d to 3-d)."""
    dtype = draw(st.sampled_from(FLOAT_DTYPES)) if dtype is None else dtype
    shape = draw(shapes) if shape is None else shape
    return draw(hnp.arrays(dtype, shape, elements=elements(dtype, max_abs)))


def float_lists(min_size: int = 1, max_size: int = 64, max_abs: float = F32_MAX):
    """Non-empty lists of finite Python floats, the input of ``tinyquant.pure``."""
    return st.lists(st.floats(min_value=-max_abs, max_value=max_abs,
                              allow_nan=False, allow_infinity=False),
                    min_size=min_size, max_size=max_size)


def roundtrip_slack(amax: float) -> float:
    """Floating-point slack on top of the exact bound ``|x - dequantize(q)| <= scale/2``.

    With exact arithmetic the bound is ``scale/2``. In floating point, for
    ``|x| <= amax`` and ``|q| <= qmax`` (so ``|q*scale| <= amax`` up to rounding):

    * ``x / scale`` may be computed in float32 (NumPy keeps float32 with a Python float
      scale), after the scale itself was rounded to float32: relative error <= 2u on a
      quotient of magnitude <= qmax, i.e. <= 2u*qmax steps = 2u*amax in x units;
    * ``q * scale`` rounded to float32 (and a float32-rounded scale): <= 2u*amax.

    That is 4u*amax, u = 2**-24; we allow 8u*amax (= amax * 2**-21) so that second-order
    terms never matter. Still ~1e-7 relative to amax, far below any step for b <= 16
    (scale/2 >= amax/65534 ~ 1.5e-5*amax), so a wrong rounding rule still fails.
    """
    return 8 * U32 * amax


def check_metric_invariants(m: dict, n: int, largest: float = 0.0) -> None:
    """Relations every correct error-metrics dict satisfies, whatever the data.

    For errors e_1..e_n: mae <= max_error; mean(e^2) lies between max_error^2 / n and
    max_error^2; mae^2 <= mse (Jensen); max_error == 0 gives mse 0, snr_db = +inf and
    relative_error 0.0; nothing is NaN. Where the squares leave the normal float64 range
    (max_error < 1e-150) mse may legitimately underflow, so the lower bounds are only
    checked above that; an overflowing mse may be inf (inf satisfies the bounds). With
    mse > 0, snr_db = +inf is tolerated: mean(x^2)/mse can overflow float64 for
    |x| >~ 1e154 although its logarithm is finite. The 1e-9 relative slack covers
    float64 summation order.
    """
    keys = ("mse", "mae", "max_error", "relative_error", "snr_db")
    for key in keys:
        assert not math.isnan(m[key]), (key, m)
    mse, mae, mx = m["mse"], m["mae"], m["max_error"]
    assert 0.0 <= mae <= mx * (1 + 1e-9), m
    # Compared as square roots, so that the bounds themselves cannot overflow.
    rms = math.sqrt(mse)
    if math.isinf(mse):  # only where the true mse, at most max_error**2, is beyond float64
        assert mx * (1 + 1e-9) >= math.sqrt(sys.float_info.max), m
    else:
        assert 0.0 <= rms <= mx * (1 + 1e-9), m
    # Errors over 2**1000 times below the largest value may count as zero: float64 cannot
    # hold that ratio squared (the documented limit of quantization_error).
    if mx > 1e-150 and mx > largest * 2.0 ** -1000:
        assert rms >= mx / math.sqrt(n) * (1 - 1e-9), m
        assert mae <= rms * (1 + 1e-9), m
    if mx == 0.0:  # a perfect reconstruction (mse alone may underflow to 0 without one)
        assert mse == 0.0 and m["snr_db"] == math.inf, m
        assert m["relative_error"] == 0.0, m
