"""Chapter 10's block formats and GGUF files, against the ``gguf`` package (llama.cpp's Python code).

* ``quantize_q8_0/q4_0/q4_1`` return the bytes of ``gguf.quants.quantize`` and the dequantizers
  the floats of ``gguf.quants.dequantize``, on random tensors of every magnitude float16 scales can
  hold, on ties and on all-zero and signed-zero blocks (hypothesis), and bad input raises;
* ``round_half_away_from_zero`` equals gguf's ``np_roundf`` (C's ``roundf``), next to every tie;
* a model written with ``write_gguf`` and read back with ``read_gguf`` computes exactly what its
  weights, put through the same format in memory, compute;
* without ``gguf`` installed, every module of tinyquant still imports, and the GGUF functions say
  how to install it.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blocked_imports import run_without
from tinyquant.formats import (BLOCK_BYTES, FORMATS, bits_per_weight, dequantize_q4_0, dequantize_q8_0,
                               quantize_q4_0, quantize_q8_0, round_half_away_from_zero)
from tinyquant.gguf_file import WEIGHT_TYPES, read_gguf, with_weights_through, write_gguf
from tinyquant.models import ReLU, Sequential, char_lm
from tinyquant.nn import QuantizedLinear

gguf = pytest.importorskip("gguf")
from gguf.quants import dequantize, np_roundf, quantize  # noqa: E402

TYPES = {name: getattr(gguf.GGMLQuantizationType, name) for name in FORMATS}


@st.composite
def blocks(draw):
    """float32 tensors ``(rows, 32 k)``: Gaussian times a per-row magnitude, with zeros and ties mixed in."""
    rows, width = draw(st.integers(1, 6)), 32 * draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    magnitude = 10.0 ** rng.uniform(-7, 3.5, (rows, 1))
    kind = draw(st.sampled_from(["gaussian", "integers", "half-integers", "sparse", "one-sided"]))
    x = {"gaussian": rng.standard_normal((rows, width)) * magnitude,
         "integers": rng.integers(-8, 9, (rows, width)).astype(np.float64),
         "half-integers": rng.integers(-127, 127, (rows, width)) + 0.5,
         "sparse": rng.standard_normal((rows, width)) * magnitude * (rng.random((rows, width)) < 0.15),
         "one-sided": rng.random((rows, width)) * magnitude + magnitude}[kind]
    return x.astype(np.float32)


@settings(max_examples=300, deadline=None)
@given(x=blocks(), name=st.sampled_from(sorted(FORMATS)))
def test_bytes_and_values_equal_gguf(x, name):
    quantize_ours, dequantize_ours = FORMATS[name]
    ours, theirs = quantize_ours(x), quantize(x, TYPES[name])
    assert ours.dtype == np.uint8 and ours.shape == theirs.shape == (x.shape[0], x.shape[1] // 32 * BLOCK_BYTES[name])
    assert np.array_equal(ours, theirs)
    decoded = dequantize_ours(ours)
    assert decoded.dtype == np.float32 and decoded.shape == x.shape
    assert np.array_equal(decoded, dequantize(theirs, TYPES[name]))


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("x", [np.zeros((2, 32)), -np.zeros((1, 64)), np.tile([0.0, -0.0], (3, 16)),
                               np.linspace(-1, 3, 32), np.linspace(-3, 1, 32), np.full(32, 7.5),
                               np.tile([2.0, -2.0], 16), np.random.default_rng(0).standard_normal((2, 3, 64)),
                               np.random.default_rng(1).standard_normal((4, 32)).astype(np.float16)],
                         ids=["zeros", "negative zeros", "signed zeros", "ramp up", "ramp down", "constant",
                              "equal magnitudes", "3-D float64", "float16"])
def test_edge_blocks_equal_gguf(name, x):
    assert np.array_equal(FORMATS[name][0](x), quantize(np.asarray(x, dtype=np.float32), TYPES[name]))


def test_an_all_positive_zero_q4_0_block_stores_a_negative_zero_scale():
    assert quantize_q4_0(np.zeros(32)).tolist()[:3] == [0x00, 0x80, 0x88]


def test_bits_per_weight():
    assert [bits_per_weight(name) for name in ("Q8_0", "Q4_0", "Q4_1")] == [8.5, 4.5, 5.0]
    with pytest.raises(ValueError, match="name"):
        bits_per_weight("Q5_K")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rounding_equals_c_roundf_next_to_every_tie(dtype):
    rng = np.random.default_rng(2)
    ties = (rng.integers(-10 ** 6, 10 ** 6, 2000) + 0.5).astype(dtype)
    values = np.concatenate([ties, np.nextafter(ties, 0), np.nextafter(ties, 2 * ties),
                             (rng.standard_normal(2000) * 10.0 ** rng.integers(-5, 20, 2000)).astype(dtype)])
    got = round_half_away_from_zero(values)
    assert got.dtype == dtype and np.array_equal(got, np_roundf(values))


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("bad, error, match", [
    (np.ones(31), ValueError, "multiple of 32"),
    (np.ones((2, 48)), ValueError, "multiple of 32"),
    (np.float32(1.0), ValueError, "multiple of 32"),
    (np.arange(32), TypeError, "floating-point"),
    (np.ones(32, dtype=bool), TypeError, "floating-point"),
    (["a"] * 32, TypeError, "real numbers"),
    (np.array([np.nan] + [1.0] * 31), ValueError, "finite"),
    (np.array([1.0] * 31 + [-np.inf]), ValueError, "finite"),
    (np.full(32, 1e39), ValueError, "finite"),  # beyond float32
    (np.full(32, 1e7), ValueError, "float16"),
])
def test_bad_input_raises(name, bad, error, match):
    with pytest.raises(error, match=match):
        FORMATS[name][0](bad)


@pytest.mark.parametrize("name, limit", [("Q8_0", 65520 * 127), ("Q4_0", 65520 * 8), ("Q4_1", 65520)])
def test_the_float16_limit_is_where_gguf_writes_inf(name, limit):
    """Just below the limit both write a finite scale; at it gguf writes inf, and this course raises."""
    below = np.full(32, np.nextafter(np.float32(limit), 0), dtype=np.float32)
    assert np.array_equal(FORMATS[name][0](below), quantize(below, TYPES[name]))
    at = np.full(32, np.float32(limit))
    with np.errstate(over="ignore"):
        assert not np.isfinite(dequantize(quantize(at, TYPES[name]), TYPES[name])).all()
    with pytest.raises(ValueError, match="float16"):
        FORMATS[name][0](at)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_bad_blocks_raise(name):
    dequantize_ours, size = FORMATS[name][1], BLOCK_BYTES[name]
    with pytest.raises(TypeError, match="uint8"):
        dequantize_ours(np.zeros(size, dtype=np.int8))
    with pytest.raises(ValueError, match=f"multiple of {size}"):
        dequantize_ours(np.zeros(size + 1, dtype=np.uint8))
    with pytest.raises(TypeError):
        dequantize_ours(np.zeros(size))
    inf_scale = np.zeros(size, dtype=np.uint8)
    inf_scale[:2] = np.array([np.inf], dtype="<f2").view(np.uint8)
    with pytest.raises(ValueError, match="non-finite"):
        dequantize_ours(inf_scale)


def test_q8_0_keeps_an_outlier_to_its_block():
    x = np.random.default_rng(3).standard_normal((1, 4096)).astype(np.float32)
    x[0, 100] = 100.0
    error = np.abs(dequantize_q8_0(quantize_q8_0(x)) - x)
    assert error[0, 96:128].max() > 5 * error[0, 128:].max()


@pytest.fixture(scope="module")
def lm():
    return char_lm(40, context=5, embedding_dim=16, hidden=64, rng=0)  # first layer: 80 inputs, not whole blocks


@pytest.mark.parametrize("weights", WEIGHT_TYPES)
def test_a_file_read_back_computes_what_the_weights_in_memory_compute(lm, tmp_path, weights):
    path = tmp_path / "lm.gguf"
    size = write_gguf(lm, path, weights=weights)
    assert size == path.stat().st_size
    model, tensors = read_gguf(path)
    assert [type(layer) for layer in model.layers] == [type(layer) for layer in lm.layers]
    ids = np.random.default_rng(4).integers(0, 40, (3, 7, 5))
    assert np.array_equal(model(ids), with_weights_through(lm, weights)(ids))
    assert tensors["layers.1.weight"][0] == weights and tensors["layers.1.bias"][0] == "F32"
    reader = gguf.GGUFReader(path)
    assert reader.fields["general.architecture"].contents() == "tinyquant"


def test_q4_0_weights_decode_as_gguf_decodes_them(lm, tmp_path):
    write_gguf(lm, tmp_path / "lm.gguf", weights="Q4_0")
    tensor = next(t for t in gguf.GGUFReader(tmp_path / "lm.gguf").tensors if t.name == "layers.3.weight")
    assert np.array_equal(dequantize(np.asarray(tensor.data), gguf.GGMLQuantizationType.Q4_0),
                          dequantize_q4_0(quantize_q4_0(lm.layers[3].weight)))


def test_file_sizes_shrink_with_the_format(lm, tmp_path):
    sizes = {weights: write_gguf(lm, tmp_path / f"{weights}.gguf", weights=weights) for weights in WEIGHT_TYPES}
    assert sizes["F32"] > sizes["F16"] > sizes["Q8_0"] > sizes["Q4_1"] > sizes["Q4_0"]


def test_bad_files_and_models_raise(lm, tmp_path):
    with pytest.raises(ValueError, match="weights"):
        write_gguf(lm, tmp_path / "x.gguf", weights="Q4_K")
    with pytest.raises(TypeError, match="Sequential"):
        write_gguf(lm.layers, tmp_path / "x.gguf")
    quantized = Sequential([QuantizedLinear(32, 4, rng=0), ReLU()])
    with pytest.raises(TypeError, match=r"layers\[0\] is a QuantizedLinear"):
        write_gguf(quantized, tmp_path / "x.gguf")
    with pytest.raises(TypeError, match="path"):
        write_gguf(lm, 3)
    writer = gguf.GGUFWriter(tmp_path / "other.gguf", "llama")
    writer.add_tensor("t", np.ones(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ValueError, match="not a GGUF file written by tinyquant"):
        read_gguf(tmp_path / "other.gguf")


WITHOUT_GGUF = """
import importlib, pkgutil, sys
import numpy as np
import tinyquant
from tinyquant.formats import dequantize_q4_0, quantize_q4_0
from tinyquant.gguf_file import write_gguf
for module in pkgutil.walk_packages(tinyquant.__path__, "tinyquant."):
    importlib.import_module(module.name)
assert "gguf" not in sys.modules
assert dequantize_q4_0(quantize_q4_0(np.zeros(32))).tolist() == [0.0] * 32
try:
    write_gguf(tinyquant.mlp([32, 2], rng=0), "never.gguf")
except ModuleNotFoundError as error:
    print(error)
"""


def test_everything_else_works_without_gguf():
    run = run_without(("gguf",), WITHOUT_GGUF)
    assert run.returncode == 0, run.stderr
    assert "pip install gguf" in run.stdout, run.stdout
