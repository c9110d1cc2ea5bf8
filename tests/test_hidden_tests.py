"""The hidden tests fail plausible wrong answers and pass correct answers in other styles.

Each source notebook runs once in an in-process IPython shell. Then, for each variant, the
exercise's solution cell is re-run with one edit (``old`` → ``new`` in its code) and the
exercise's hidden-test cell is run against it; the original cell is restored afterwards.
Functions that call the edited one see the edit too, as they would in a submission.
"""
from contextlib import chdir

import pytest
from IPython.core.interactiveshell import InteractiveShell

from course.notebooks import HIDDEN_TEST_DELIMITERS, nbgrader_meta, read, source_notebook

# chapter → exercise (solution grade id) → [(what the learner did, old, new)]
WRONG = {
    "01_why_quantize": {
        "bytes_per_element": [
            ("INT4 counted as a whole byte", '"int4": 4', '"int4": 8'),
            ("bits instead of bytes", "return float(np.dtype(name).itemsize)",
             "return float(np.dtype(name).itemsize * 8)"),
            ("integer division of bits", "bits_outside_numpy[name] / 8", "bits_outside_numpy[name] // 8"),
        ],
        "model_size_bytes": [
            ("GB instead of bytes", "float(num_params) * bytes_per_element(dtype)",
             "float(num_params) * bytes_per_element(dtype) / 1e9"),
            ("GiB instead of bytes", "float(num_params) * bytes_per_element(dtype)",
             "float(num_params) * bytes_per_element(dtype) / 2**30"),
            ("truncated to whole bytes", "float(num_params) * bytes_per_element(dtype)",
             "float(int(num_params * bytes_per_element(dtype)))"),
        ],
        "format_bytes": [
            ("binary units", "value / 1000, larger_unit", "value / 1024, larger_unit"),
            ("two decimals", 'f"{value:.1f} {unit}"', 'f"{value:.2f} {unit}"'),
        ],
        "model_size_table": [
            ("inverted ratio", '"compression": fp32_bytes / size', '"compression": size / fp32_bytes'),
            ("GiB column", '"GB": size / 1e9', '"GB": size / 2**30'),
        ],
        "array_memory_report": [
            ("elements instead of bytes", "int(array.nbytes)", "int(array.size)"),
        ],
    },
    "02_symmetric": {
        "symmetric_quant_params": [
            ("divides by 2**(b-1)", "amax / (2 ** (num_bits - 1) - 1)", "amax / 2 ** (num_bits - 1)"),
            ("divides by 2**b", "amax / (2 ** (num_bits - 1) - 1)", "amax / 2 ** num_bits"),
            ("ignores num_bits", "amax / (2 ** (num_bits - 1) - 1)", "amax / 127"),
            ("no zero guard", "    if amax == 0.0:\n        return 1.0\n", ""),
            ("no floor on tiny scales", "max(amax / (2 ** (num_bits - 1) - 1), FLOAT32_TINY)",
             "amax / (2 ** (num_bits - 1) - 1)"),
            ("max(x) instead of max|x|", "np.max(np.abs(x))", "np.max(x)"),
        ],
        "quantize_int8": [
            ("no clamp", "np.clip(np.rint(x / scale), -127, 127)", "np.rint(x / scale)"),
            ("clamps to -128", "np.clip(np.rint(x / scale), -127, 127)", "np.clip(np.rint(x / scale), -128, 127)"),
            ("floor", "np.rint(x / scale)", "np.floor(x / scale)"),
            ("truncation", "np.rint(x / scale)", "np.trunc(x / scale)"),
            ("rounds half away from zero", "np.rint(x / scale)",
             "np.sign(x / scale) * np.floor(np.abs(x / scale) + 0.5)"),
            ("multiplies by the scale", "np.rint(x / scale)", "np.rint(x * scale)"),
            ("float result", ".astype(np.int8)", ""),
        ],
        "dequantize_int8": [
            ("divides by the scale", "* scale)", "/ scale)"),
            ("adds the zero point", "- zero_point)", "+ zero_point)"),
            ("float64 result", ".astype(np.float32)", ""),
        ],
        "quantize_symmetric": [
            ("ignores num_bits in the range", "qmax = 2 ** (num_bits - 1) - 1", "qmax = 127"),
            ("always int8", "quantized_dtype(num_bits)", "np.int8"),
            ("floor", "np.rint(x / scale)", "np.floor(x / scale)"),
        ],
        "quantization_error": [
            ("20·log10 of a power ratio", "10 * math.log10(signal_power / mse)",
             "20 * math.log10(signal_power / mse)"),
            ("std instead of variance", "float(np.var(original))", "float(np.std(original))"),
            ("SNR from the variance", "float(np.mean(original ** 2))", "float(np.var(original))"),
        ],
        "quantize_symmetric_pure": [
            ("divides by 2**(b-1)", "max(amax / qmax, ", "max(amax / 2 ** (bits - 1), "),
            ("truncation", "round(value / scale)", "int(value / scale)"),
            ("floor", "round(value / scale)", "math.floor(value / scale)"),
            ("no zero guard", " if amax > 0 else 1.0", " if amax > 0 else 0.0"),
        ],
        "dequantize_symmetric_pure": [
            ("divides by the scale", "q * scale", "q / scale"),
            ("rounds the result", "q * scale", "round(q * scale)"),
        ],
        "quantization_error_pure": [
            ("20·log10 of a power ratio", "10 * math.log10(signal_power / mse)",
             "20 * math.log10(signal_power / mse)"),
            ("sample variance (n - 1)", "variance = math.fsum((x - mean) ** 2 for x in original) / n",
             "variance = math.fsum((x - mean) ** 2 for x in original) / (n - 1)"),
        ],
        "quantize_symmetric_chunked": [
            ("floor", "np.rint(work, out=work)", "np.floor(work, out=work)"),
            ("drops the last element of each chunk", "flat_out[start:stop] = work",
             "flat_out[start:stop - 1] = work[:-1]"),
            ("multiplies by the scale", "np.divide(flat_x[start:stop], scale, out=work)",
             "np.multiply(flat_x[start:stop], scale, out=work)"),
        ],
    },
}

# chapter → exercise → [(another correct style, old, new)]
RIGHT = {
    "01_why_quantize": {
        "model_size_table": [
            ("a list comprehension", """    table = []
    for dtype in dtypes:
        size = model_size_bytes(num_params, dtype)
        table.append({"dtype": dtype, "bytes": size, "GB": size / 1e9,
                      "compression": fp32_bytes / size})
    return table""", """    sizes = [model_size_bytes(num_params, dtype) for dtype in dtypes]
    return [{"dtype": d, "bytes": s, "GB": s / 1e9, "compression": fp32_bytes / s}
            for d, s in zip(dtypes, sizes)]"""),
        ],
        "array_memory_report": [
            ("size × itemsize", "int(array.nbytes)", "int(array.size * array.itemsize)"),
        ],
    },
    "02_symmetric": {
        "symmetric_quant_params": [
            ("a Python loop over values", "amax = float(np.max(np.abs(x)))",
             "amax = 0.0\n    for value in np.ravel(x).tolist():\n        amax = max(amax, abs(value))"),
        ],
        "quantize_int8": [
            ("np.round", "np.rint(x / scale)", "np.round(x / scale)"),
            ("np.minimum / np.maximum", "np.clip(np.rint(x / scale), -127, 127)",
             "np.maximum(np.minimum(np.rint(x / scale), 127), -127)"),
            ("a Python loop with round()",
             "return np.clip(np.rint(x / scale), -127, 127).astype(np.int8)",
             "return np.array([max(-127, min(127, round(v / scale))) for v in np.ravel(x).tolist()],"
             " dtype=np.int8).reshape(np.shape(x))"),
        ],
        "quantize_symmetric": [
            ("np.round", "np.rint(x / scale)", "np.round(x / scale)"),
        ],
        "quantization_error": [
            ("20·log10 of an RMS ratio", "10 * math.log10(signal_power / mse)",
             "20 * math.log10(math.sqrt(signal_power) / math.sqrt(mse))"),
        ],
        "quantize_symmetric_pure": [
            ("an explicit loop", "quantized = [max(-qmax, min(qmax, round(value / scale))) for value in tensor]",
             "quantized = []\n    for value in tensor:\n        quantized.append(max(-qmax, min(qmax, round(value / scale))))"),
        ],
        "quantize_symmetric_chunked": [
            ("np.round into the buffer", "np.rint(work, out=work)", "np.round(work, out=work)"),
        ],
    },
}


class Shell(InteractiveShell):
    def enable_gui(self, gui=None):
        """`%matplotlib inline` asks for no GUI event loop; the plain shell lacks this hook."""


class NotebookSession:
    """A source notebook run once in-process, whose exercises can be swapped and re-tested."""

    def __init__(self, chapter: str):
        self.path = source_notebook(chapter)
        self.nb = read(self.path)
        self.shell = Shell()
        for cell in self.nb.cells:
            if cell.cell_type == "code" and "skip-execution" not in cell.metadata.get("tags", []):
                assert self.run(cell.source), f"{chapter}: a cell fails as written:\n{cell.source[:300]}"

    def run(self, code: str) -> bool:
        with chdir(self.path.parent):
            return self.shell.run_cell(code, silent=True).success

    def cell(self, grade_id: str) -> int:
        return next(i for i, c in enumerate(self.nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)

    def hidden_tests_pass(self, exercise: str, old: str, new: str) -> bool:
        index = self.cell(exercise)
        solution = self.nb.cells[index].source
        assert old in solution, f"{exercise}: {old!r} is not in its solution"
        hidden = next(c.source for c in self.nb.cells[index + 1:]
                      if HIDDEN_TEST_DELIMITERS[0] in c.source)
        try:
            return self.run(solution.replace(old, new)) and self.run(hidden)
        finally:
            assert self.run(solution)


@pytest.fixture(scope="module", params=sorted(WRONG))
def session(request):
    return NotebookSession(request.param)


def variants(table, chapter):
    return [(exercise, *variant) for exercise, rows in table[chapter].items() for variant in rows]


def test_hidden_tests_pass_the_reference(session):
    chapter = session.path.parent.name
    for exercise in WRONG[chapter]:
        assert session.hidden_tests_pass(exercise, "", ""), exercise


def test_hidden_tests_fail_every_plausible_wrong_answer(session):
    chapter = session.path.parent.name
    passed = [f"{exercise}: {what}" for exercise, what, old, new in variants(WRONG, chapter)
              if session.hidden_tests_pass(exercise, old, new)]
    assert not passed, f"hidden tests accept wrong answers: {passed}"


def test_hidden_tests_accept_correct_answers_in_other_styles(session):
    chapter = session.path.parent.name
    failed = [f"{exercise}: {what}" for exercise, what, old, new in variants(RIGHT, chapter)
              if not session.hidden_tests_pass(exercise, old, new)]
    assert not failed, f"hidden tests reject correct answers: {failed}"
