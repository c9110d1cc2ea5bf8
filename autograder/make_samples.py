"""Regenerate the committed sample submissions: ``python autograder/make_samples.py``.

For every chapter, made from its release notebook (as a learner receives it):

- ``perfect``: every solution cell filled in from ``source/`` (model answers included);
- ``blank``: the release notebook untouched;
- ``mistakes``: perfect, with the typical mistakes of ``MISTAKES`` written into some solutions;
- ``cheater``: the mistakes, plus every test cell gutted, test cells deleted and one
  solution cell duplicated: grading must restore the tests and score it as ``mistakes``;
- ``looper``: perfect, except that one exercise never returns: grading must stop it at the
  timeout and still score everything else.

And, in ``attacks/``, submissions of chapter 02 that try to fool or abuse the grader
(``ATTACKS``), each with the score it must get.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.notebooks import (SOLUTION_DELIMITERS, chapters, is_test_cell,  # noqa: E402
                              nbgrader_meta, read, release_notebook, source_notebook)

import nbformat  # noqa: E402

SAMPLES = Path(__file__).resolve().parent / "samples"
ATTACK_SAMPLES = Path(__file__).resolve().parent / "attacks"

# chapter → {grade_id of a solution cell: (correct code, plausible wrong code)}
MISTAKES: dict[str, dict[str, tuple[str, str]]] = {
    "01_why_quantize": {
        # INT4 counted as a whole byte
        "bytes_per_element": ('"int4": 4', '"int4": 8'),
        # binary units (GiB) where the course and the seeds use decimal GB
        "format_bytes": ("value / 1000, larger_unit", "value / 1024, larger_unit"),
    },
    "02_symmetric": {
        # 2**(b-1) levels: the divide-by-128 mistake
        "symmetric_quant_params": ("amax / (2 ** (num_bits - 1) - 1)", "amax / 2 ** (num_bits - 1)"),
        # floor instead of round half to even
        "quantize_int8": ("np.rint(x / scale)", "np.floor(x / scale)"),
        # 20·log10 of a power ratio
        "quantization_error": ("10 * math.log10(signal_power / mse)", "20 * math.log10(signal_power / mse)"),
    },
    "03_asymmetric": {
        # the number of levels instead of the number of gaps
        "asymmetric_quant_params": ("(2 ** num_bits - 1)", "2 ** num_bits"),
        # round(x / s + z): differs from round(x / s) + z at ties when z is odd
        "quantize_asymmetric": ("np.rint(x / scale) + zero_point", "np.rint(x / scale + zero_point)"),
        # dequantizing with +z
        "dequantize_asymmetric_pure": ("(q - zero_point) * scale", "(q + zero_point) * scale"),
    },
    "04_per_channel": {
        # floor instead of round half to even
        "quantize_per_channel": ("np.rint(", "np.floor("),
        # dequantizes along axis 0 whatever the axis
        "dequantize_per_channel": ("shape[axis] = -1", "shape[0] = -1"),
        # columns left as rows for axis=1
        "quantize_per_channel_pure": ("    if axis == 1:  # back from a list of columns to a list of rows\n"
                                      "        quantized = [list(row) for row in zip(*quantized)]\n", ""),
    },
    "05_calibration": {
        # momentum applied the wrong way round
        "MovingAverageObserver": ("self.min_val += self.momentum * (batch_min - self.min_val)",
                                  "self.min_val += (1 - self.momentum) * (batch_min - self.min_val)"),
        # percentile of x instead of |x|
        "percentile_amax": ("np.percentile(np.abs(x), percentile)", "np.percentile(x, percentile)"),
        # threshold on raw values instead of deviations from the mean
        "detect_outliers": ("return np.abs(x - mean) > threshold * std", "return np.abs(x) > threshold * std"),
    },
    "06_integer_matmul": {
        # truncation instead of rounding
        "requantize": ("rounded = (product + (1 << (right - 1))) >> right", "rounded = product >> right"),
        # zero-point correction with the wrong sign
        "quantized_matmul": ("acc -= a_zp * b_q.sum", "acc += a_zp * b_q.sum"),
        # one float32 product over the whole depth: inexact beyond K = 1024
        "int_matmul": ("chunk, dtype = exact_chunk_size(a_max, b_max), np.float32", "chunk, dtype = depth, np.float32"),
    },
    "07_quantized_linear": {
        # bias in the weight scale only, not the accumulator's s_x * s_w
        "quantize_bias": ("bias / (input_scale * weight_scales)", "bias / weight_scales"),
        # zero-point correction with the wrong sign
        "integer_linear": ("bias_q - x_zero_point * weight_row_sums", "bias_q + x_zero_point * weight_row_sums"),
        # keeps the FP32 weights after quantizing
        "QuantizedLinear": ("        if not keep_float:\n            self.weight = None  # the 4 bytes per weight that quantization saves\n", ""),
    },
    "08_real_model": {
        # exp of the summed instead of the mean negative log-likelihood
        "perplexity": ("np.exp(np.mean(log_normalizer - picked))", "np.exp(np.sum(log_normalizer - picked))"),
        # the quantized model shares (and so replaces) the float model's list of layers
        "quantize_model": ("layers = list(model.layers)  # a new list: the float model keeps its own", "layers = model.layers"),
        # the size ratio upside down
        "compare_model_quality": ('base["bytes"] / row["bytes"]', 'row["bytes"] / base["bytes"]'),
    },
    "09_deploy": {
        # (one mistake only: int_matmul runs on to_uint8, so a wrong to_uint8 fails both exercises)
        # the kernel given zero point 0 after the shift: every entry gains 128 * colsum(b)
        "int_matmul": ("matmul_integer(a_u8, a_zero_point, b, b_zero_point)", "matmul_integer(a_u8, 0, b, b_zero_point)"),
    },
    "10_below_8_bits": {
        # the scale of chapter 02's divide-by-128 mistake
        "quantize_q8_0": ("d = np.abs(blocks).max(axis=1, keepdims=True) / 127",
                          "d = np.abs(blocks).max(axis=1, keepdims=True) / 128"),
        # chapter 08's nibble order (neighbours in a byte) instead of j | j + 16
        "quantize_q4_0": ("codes[:, :16] | (codes[:, 16:] << 4)", "codes[:, 0::2] | (codes[:, 1::2] << 4)"),
        # GPTQ without its error feedback: round to nearest with extra steps
        "gptq_quantize_layer": ("        W[:, j:] -= np.outer(error, U[j, j:])\n", ""),
    },
}
# chapter → grade_id of the solution cell that loops forever in the ``looper`` sample
LOOPING: dict[str, str] = {"01_why_quantize": "array_memory_report",
                            "02_symmetric": "quantize_symmetric_chunked",
                            "03_asymmetric": "dequantize_asymmetric_pure",
                            "04_per_channel": "quantize_per_channel_pure",
                            "05_calibration": "MovingAverageObserver",
                            "06_integer_matmul": "quantized_matmul_pure",
                            "07_quantized_linear": "quantize_bias",
                            "08_real_model": "calibration_data",
                            "09_deploy": "int_matmul",
                            "10_below_8_bits": "quantize_q4_0"}


def by_grade_id(nb) -> dict[str, int]:
    return {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id")}


def without_delimiters(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in SOLUTION_DELIMITERS)


def perfect(chapter: str):
    nb, solved = read(release_notebook(chapter)), read(source_notebook(chapter))
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in solved.cells if nbgrader_meta(c).get("solution")}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = without_delimiters(answers[meta["grade_id"]])
    return nb


def with_mistakes(chapter: str):
    nb = perfect(chapter)
    index = by_grade_id(nb)
    for grade_id, (right, wrong) in MISTAKES[chapter].items():
        cell = nb.cells[index[grade_id]]
        assert right in cell.source, f"{chapter}/{grade_id}: {right!r} not in its solution"
        cell.source = cell.source.replace(right, wrong)
    return nb


def cheating(chapter: str):
    nb = with_mistakes(chapter)
    tests = [i for i, cell in enumerate(nb.cells) if is_test_cell(cell)]
    for i in tests:
        nb.cells[i].source = "pass  # tests? what tests?"
    # Deleted: the last test, and the first one whose nbgrader neighbour above is neither
    # graded nor a solution (where nbgrader 0.9's own restoring fails).
    graded = [i for i, cell in enumerate(nb.cells) if nbgrader_meta(cell)]
    after_locked = [i for before, i in zip(graded, graded[1:]) if i in tests
                    and not (nbgrader_meta(nb.cells[before]).get("grade")
                             or nbgrader_meta(nb.cells[before]).get("solution"))]
    for i in sorted({tests[-1], *after_locked[:1]}, reverse=True):
        del nb.cells[i]
    solution = next(i for i, cell in enumerate(nb.cells) if nbgrader_meta(cell).get("solution")
                    and cell.cell_type == "code")
    twin = copy.deepcopy(nb.cells[solution])
    twin["id"] = twin["id"] + "-copy"
    nb.cells.insert(solution + 1, twin)
    return nb


def looping(chapter: str):
    nb = perfect(chapter)
    cell = nb.cells[by_grade_id(nb)[LOOPING[chapter]]]
    # The cell itself never ends before defining anything: one timeout, not one per call. The
    # loop goes after the leading comments (the `#| export` directive), before any code.
    lines = cell.source.split("\n")
    code = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    cell.source = "\n".join([*lines[:code], "while True:", "    pass", *lines[code:]])
    return nb


# ----------------------------------------------------------------------------- attacks
# Submissions of chapter 02 that try to fool or abuse the grader (issue 13's table). Each is
# (base sample, where its code goes, the code, the score it must get). "first": a new cell
# before the first code cell; "last": a new cell at the end; "each answer": appended to every
# answer cell; "last answer": appended to the last answer cell. The destructive ones aim at
# paths the test makes (/tmp/tinyquant-victim-*), never at the repository.
ATTACK_CHAPTER = "02_symmetric"
ATTACKS: dict[str, tuple[str, str, str, str]] = {
    "ast-transformer": ("blank", "first", """\
import ast

class _SwallowEverything(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return node

get_ipython().ast_transformers.append(_SwallowEverything())""", "blank"),
    "input-transformer": ("blank", "first", """\
def _no_asserts(lines):
    return ["pass\\n"] if any("assert" in line for line in lines) else lines

get_ipython().input_transformers_cleanup.append(_no_asserts)""", "blank"),
    "patched-comparisons": ("mistakes", "first", """\
import math
import numpy
import numpy.testing

numpy.array_equal = numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.shape(a), dtype=bool)
math.isclose = lambda *args, **kwargs: True
for _name in dir(numpy.testing):
    if _name.startswith("assert_"):
        setattr(numpy.testing, _name, lambda *args, **kwargs: None)""", "mistakes"),
    "always-equal-array": ("blank", "last", """\
import numpy as np

class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    def tolist(self):
        return self
    def __array_function__(self, func, types, args, kwargs):
        return True

_anything = np.zeros(4).view(AlwaysEqual)
for _name in ("symmetric_quant_params", "quantize_int8", "dequantize_int8", "quantize_symmetric",
              "quantization_error", "quantize_symmetric_pure", "dequantize_symmetric_pure",
              "quantization_error_pure", "quantize_symmetric_chunked"):
    globals()[_name] = lambda *args, **kwargs: _anything""", "blank"),
    "fake-hypothesis": ("blank", "first", """\
import sys
from pathlib import Path

Path("hypothesis.py").write_text("def given(*a, **k):\\n    return lambda f: (lambda *x, **y: None)\\n"
                                 "settings = strategies = given\\n")
sys.modules.pop("hypothesis", None)
sys.path.insert(0, ".")""", "blank"),
    "reference-import": ("blank", "each answer", "from tinyquant import *\nfrom tinyquant.pure import *", "blank"),
    "exit": ("perfect", "last answer", "exit()", "perfect"),
    "os-exit": ("perfect", "last", "import os\nos._exit(3)", "perfect"),
    "foreign-cell": ("perfect", "foreign", "", "perfect"),
    "spy": ("perfect", "first", """\
import glob
from pathlib import Path

import tinyquant

def _spy(info):
    print("SPY", info.raw_cell[:2000])

get_ipython().events.register("pre_run_cell", _spy)
print("package root:", Path(tinyquant.__file__).parents[1], sorted(p.name for p in Path(tinyquant.__file__).parents[1].iterdir()))
for top in ("/work", "/root", "/home", "/opt", "/job", "/tmp", "/srv", "/mnt"):
    for pattern in ("/**/source/**/*.ipynb", "/**/gradebook.db", "/**/02_symmetric.ipynb"):
        print(top + pattern, glob.glob(top + pattern, recursive=True)[:5])""", "perfect"),
    "tamper-package": ("perfect", "first", """\
import tinyquant.validate

try:
    with open(tinyquant.validate.__file__, "a") as module:
        module.write("\\nraise SystemExit('sabotaged')\\n")
except OSError as error:
    print("could not write:", error)""", "perfect"),
    "vandal": ("blank", "first", """\
import glob
import shutil

for victim in glob.glob("/tmp/tinyquant-victim-*"):
    shutil.rmtree(victim, ignore_errors=True)
for top in ("/work", "/root", "/home", "/opt", "/tmp", "/srv", "/mnt"):
    for victim in glob.glob(top + "/**/submitted", recursive=True):
        shutil.rmtree(victim, ignore_errors=True)""", "blank"),
    "lingerer": ("perfect", "first", """\
import subprocess

for _ in range(20):
    subprocess.Popen(["sleep", "600"], start_new_session=True)
print("x" * 200_000_000)""", "perfect"),
    "script": ("perfect", "first", """\
from IPython.display import HTML, Javascript, display

display(HTML("<script>document.title = 'pwned'</script><b>bold</b>"))
display(Javascript("alert('pwned')"))""", "perfect"),
}


def attack(name: str):
    base, where, code, _ = ATTACKS[name]
    nb = {"perfect": perfect, "mistakes": with_mistakes, "blank": lambda c: read(release_notebook(c))}[base](ATTACK_CHAPTER)
    answers = [i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    if where == "first":
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first, nbformat.v4.new_code_cell(code, id=f"attack-{name}"))
    elif where == "last":
        nb.cells.append(nbformat.v4.new_code_cell(code, id=f"attack-{name}"))
    elif where == "each answer":
        for i in answers:
            nb.cells[i].source += "\n" + code
    elif where == "last answer":
        nb.cells[answers[-1]].source += "\n" + code
    elif where == "foreign":  # a graded cell copied from chapter 03's release, metadata and all
        foreign = copy.deepcopy(next(c for c in read(release_notebook("03_asymmetric")).cells if is_test_cell(c)))
        foreign["id"] = "foreign-cell"
        nb.cells.insert(answers[0] + 1, foreign)
    return nb


def samples() -> dict[Path, nbformat.NotebookNode]:
    made = {}
    for chapter in chapters():
        kinds = {"perfect": perfect, "blank": lambda c: read(release_notebook(c))}
        if chapter in MISTAKES:
            kinds |= {"mistakes": with_mistakes, "cheater": cheating}
        if chapter in LOOPING:
            kinds["looper"] = looping
        for student, make in kinds.items():
            made[SAMPLES / student / chapter / f"{chapter}.ipynb"] = make(chapter)
    for name in ATTACKS:
        made[ATTACK_SAMPLES / name / ATTACK_CHAPTER / f"{ATTACK_CHAPTER}.ipynb"] = attack(name)
    return made


def main() -> None:
    for path, nb in samples().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        print(f"wrote {path.relative_to(SAMPLES.parent.parent)}")


if __name__ == "__main__":
    main()
