"""Numbers quoted in the chapters' prose come from stored outputs that nbval checks.

Each row ties a sentence of a markdown cell to the output of a code cell: the sentence must
be in the notebook's prose, the pattern must match that cell's stored output, and the cell
must be compared by nbval (no ``NBVAL_IGNORE_OUTPUT`` or ``NBVAL_SKIP``), so that when an
output changes, the prose that quotes it fails here until it is changed too.
"""
import re

import pytest

from course.notebooks import read, source_notebook

# (chapter, text quoted in prose, id of the cell whose output it quotes, regex on that output)
CLAIMS = [
    ("01_why_quantize", "A 70B model takes 280 / 140 / 70 / 35 GB", "cell-026",
     r"fp32\s+280\.0 GB[\s\S]*fp16\s+140\.0 GB[\s\S]*int8\s+70\.0 GB[\s\S]*int4\s+35\.0 GB"),
    ("01_why_quantize", "(140 → 70 GB for the 70B model)", "cell-026", r"fp16\s+140\.0 GB[\s\S]*int8\s+70\.0 GB"),
    ("01_why_quantize", "From\n  FP32 it is 4× (280 → 70 GB)", "cell-026", r"int8\s+70\.0 GB\s+70\s+4\.0× smaller"),
    ("01_why_quantize", "adds 16 KB to 16.8 MB of int8 weights: 0.1 %", "cell-042",
     r"int8, per-channel scales\s+16,793,600\s+16\.8 MB\s+3\.996×\s+0\.098 %"),
    ("01_why_quantize", "a factor of 3.996 instead of 4", "cell-042", r"3\.996×"),
    ("01_why_quantize", "wraps around in int8 (the −112 above)", "cell-044", r"int8  @ int8 : -112 int8"),
    ("01_why_quantize", "FP16 makes 9,143 tokens/s instead of 143", "cell-048b",
     r"\n\s+1  memory\s+143 [\s\S]*\n\s+64  memory\s+9,143 "),
    ("01_why_quantize", "INT8 is still 2.00× faster", "cell-048b", r"\n\s+64  memory\s+9,143\s+memory\s+18,286\s+2\.00×"),
    ("01_why_quantize", "(75 sequences instead of 150)", "cell-048b",
     r"fp16: memory-bound up to a batch of 150 [\s\S]*int8: memory-bound up to a batch of 75 "),
    ("01_why_quantize", "from a batch of 256 on, both formats make 21,429", "cell-048b",
     r"\n\s*256  compute\s+21,429  compute\s+21,429"),
    ("02_symmetric", "(7.874 became 7.875)", "cell-016", r"scale 7\.874e-43 -> as float32 7\.875e-43"),
    ("02_symmetric", "a\nmillion float32 values (3.8 MiB) and allows less than 1 MiB", "cell-081",
     r"1,000,000 values \(3\.8 MiB\) quantized with < 1 MiB of extra memory"),
    ("03_asymmetric", "Asymmetric's step is 0.4 % finer", "cell-045a",
     r"symmetric:  step 0\.007874,[\s\S]*asymmetric: step 0\.007843"),
    ("03_asymmetric", "(MSE 1.7e-16, float32 rounding)", "cell-045a", r"MSE 1\.7e-16"),
    ("03_asymmetric", "(MSE 5.2e-06)", "cell-045a", r"MSE 5\.2e-06"),
    ("09_deploy", "= 6 + 2 = 8", "cell-016", r"^\[\[8\]\]\n\[\[264\]\]"),
    ("09_deploy", "0.5 → 0, 2.5 → 2,\n126.5 → 126", "cell-031",
     r"course\s+\[0, 2, 2, 0, -2, 126, 127, -127\]\nQuantizeLinear \[0, 2, 2, 0, -2, 126, 127, -128\]"),
    ("09_deploy", "Every code agrees on Gaussian data", "cell-031", r"100000 of 100000 codes identical"),
    ("09_deploy", "equal as float32 in three cases, one float32\nstep apart for the Gaussian tensor", "cell-034",
     r"Gaussian .* False .*\nReLU .* True .*\nall positive .* True .*\nlinspace.* True "),
    ("09_deploy", "One Gaussian value of 10 000 sits on a tie", "cell-034", r"Gaussian .* 1 of 10000 "),
    ("09_deploy", "38.5 and rounds to 39; in float32, with ONNX's scale, it is exactly 38.5 and rounds half to even,\n  to 38",
     "cell-034", r"x / scale = 38\.5000\d+ \(course, float64\) -> code 165, 38\.5 \(ONNX, float32\) -> code 164"),
    ("09_deploy", "the course rounds half to even, to 128; in float32", "cell-034",
     r"linspace\(-1, 1, 255\) .* 128\s+127\s+255 of 255\s+1\n"),
    ("09_deploy", "1.04 % becomes 0.84 %", "cell-053", r"Gaussian\s+1\.04 %\s+0\.84 %"),
    ("09_deploy", "every other row pays for\nthem (6.09 %); per token, only the spiking rows do (2.23 %)", "cell-053",
     r"spiking tokens\s+6\.09 %\s+2\.23 %"),
    ("09_deploy", "(8.70 % to 3.97 %), four times the Gaussian error", "cell-053", r"outlier channels\s+8\.70 %\s+3\.97 %"),
    ("09_deploy", "(8.70 % to 3.97 %, still four times the Gaussian error)", "cell-053",
     r"outlier channels\s+8\.70 %\s+3\.97 %"),
    ("09_deploy", "all 3600 logits of the test digits and all 1687552 of the", "cell-057m",
     r"3600 of 3600\s+360 of 360[\s\S]*1687552 of 1687552\s+16384 of 16384"),
    ("09_deploy", "The digits file is 3.88× smaller than its float32 export, the char LM's only 3.26×", "cell-057m",
     r"digits MLP\s+360\s+1,205,051\s+310,481\s+3\.88×[\s\S]*char LM\s+16,384\s+168,268\s+51,670\s+3\.26×"),
    ("09_deploy", "96.6 % of the bytes are the int8 weights", "cell-057o", r"int8 matrices\s+300,032 bytes\s+96\.6%"),
    ("09_deploy", "float32 (12.8 % of the file), and the graph's names and node descriptions take 4.6 %", "cell-057o",
     r"char LM[\s\S]*float32 matrices\s+6,592 bytes\s+12\.8%[\s\S]*nodes, names, types\s+2,361 bytes\s+4\.6%"),
    ("09_deploy", "the per-channel constants 2.8 % + 2.8 %", "cell-057o",
     r"char LM[\s\S]*int32 vectors\s+1,436 bytes\s+2\.8%\n\s+float32 vectors\s+1,436 bytes\s+2\.8%"),
    ("09_deploy", "(4.6 % against 0.7 %)", "cell-057o",
     r"nodes, names, types\s+2,156 bytes\s+0\.7%[\s\S]*nodes, names, types\s+2,361 bytes\s+4\.6%"),
    ("10_below_8_bits", "in Q4_0 it is 3.9 GB", "cell-006", r"Q4_0\s+18\s+4\.5\s+3\.9 GB"),
    ("10_below_8_bits", "$127 \\times \\mathrm{fp16}(1/127) = 0.99993896$", "cell-019", r"comes back as 0\.99993896"),
    ("10_below_8_bits", "more than halve the error (0.0127 to 0.0053)", "cell-021", r"Gaussian\s+0\.0127\s+0\.0053"),
    ("10_below_8_bits", "(0.4541: the step is set", "cell-021", r"outliers x100\s+0\.4541\s+0\.0098"),
    ("10_below_8_bits", "barely notices (0.0098)", "cell-021", r"outliers x100\s+0\.4541\s+0\.0098"),
    ("10_below_8_bits", "Q8_0 makes the file 3.16× smaller than F32", "cell-043", r"Q8_0\s+53,248 bytes\s+3\.16x smaller"),
    ("10_below_8_bits", "make it 4.81× (Q4_1) and 5.20× (Q4_0) smaller", "cell-043",
     r"Q4_0\s+32,320 bytes\s+5\.20x smaller[\s\S]*Q4_1\s+34,944 bytes\s+4\.81x smaller"),
    ("10_below_8_bits", "Q8_0 costs\nnothing measurable at 3.16× smaller", "cell-043", r"Q8_0 within 0\.1 % of FP32's perplexity: True"),
    ("10_below_8_bits", "Q4_1 less\nthan Q4_0", "cell-043", r"Q4_1 below Q4_0's perplexity: True"),
    ("10_below_8_bits", "Every block equal, in all three formats", "cell-031",
     r"Gaussian\s+2,048\s+2048 equal\s+2048 equal\s+2048 equal"),
    ("10_below_8_bits", "GPTQ is better than RTN in every setting", "cell-072",
     r"^(INT\d g\d+ *: GPTQ below RTN: True\n){4}$"),
    ("10_below_8_bits", "it is better than RTN at every width and group size tried", "cell-072",
     r"^(INT\d g\d+ *: GPTQ below RTN: True\n){4}$"),
    ("10_below_8_bits", "RTN and GPTQ both stay within two\ntest images of FP32 there", "cell-072c",
     r"INT4 and INT3, RTN and GPTQ within two test images of FP32: True"),
    ("10_below_8_bits", "at 2 bits GPTQ is clearly better", "cell-072c", r"INT2: GPTQ above RTN in groups of 32 and of 128: True"),
    ("10_below_8_bits", "Smoothing brings the outlier batch from 10.92 % to 1.61 % at α = 0.6, the best of the sweep", "cell-080",
     r"none\s+10\.92%[\s\S]*0\.6\s+1\.61%"),
    ("10_below_8_bits", "the Gaussian batch's 1.03 % without any smoothing", "cell-080", r"none\s+10\.92%\s+1\.03%"),
    ("10_below_8_bits", "(1.08 % at α = 0.6)", "cell-080", r"0\.6\s+1\.61%\s+1\.08%"),
    ("10_below_8_bits", "(4.76 % at α = 1)", "cell-080", r"1\.0\s+4\.76%"),
    ("10_below_8_bits", "07's outlier layer goes from 10.92 % to 1.61 % error in W8A8", "cell-080", r"0\.6\s+1\.61%"),
    ("10_below_8_bits", "At 2 bits, RTN loses several points of accuracy", "cell-085", r"RTN loses more than 3 points: True"),
    ("10_below_8_bits", "five epochs of QAT recover all of RTN's loss", "cell-085",
     r"QAT recovers at least half of it: True, all of it: True"),
    ("10_below_8_bits", "RTN, stays far below QAT at 2 bits", "cell-085",
     r"QAT above the float fine-tuned model quantized by RTN: True"),
    ("10_below_8_bits", "The last layer, 1.7 % of the weights, is by far the most fragile", "cell-104",
     r"the last layer \(4\), 1\.7% of the weights: True"),
    ("10_below_8_bits", "it loses at least\nhalf as much accuracy as the whole model at INT2", "cell-104",
     r"loses at least half of what the whole model at INT2 loses: True"),
    ("10_below_8_bits", "(2.11 -> 2.35) and wins accuracy back", "cell-104", r"\(2\.11 -> 2\.35 bits per weight\) gains accuracy: True"),
    ("10_below_8_bits", "With both in FP16 (3.82 bits per weight) the MLP is back within two test images of FP32", "cell-104",
     r"\(3\.82 bits per weight\): within two test images of FP32: True"),
    ("10_below_8_bits", "which holds 87.4 % of the weights", "cell-104", r"the middle one holds 87\.4%"),
    ("10_below_8_bits", "INT3 everywhere is as close, at 3.11 bits per weight", "cell-104",
     r"INT3 everywhere \(3\.11 bits per weight\): as close, with fewer bits: True"),
    ("10_below_8_bits", "Again the first and the last layer are the fragile ones", "cell-107",
     r"the first and the last layer are more sensitive than the middle one: True"),
    ("10_below_8_bits", "lie below the straight line between", "cell-107",
     r"most sensitive at INT4 \(3\.55 [^\n]*: True\n[^\n]*two most sensitive at INT4 \(3\.88 [^\n]*: True"),
    ("10_below_8_bits", "(the control) lies above it", "cell-107", r"\(control\) \(3\.70 bits per weight\): below the line [^\n]*: False"),
    ("10_below_8_bits", "doubles the bits (3.29 -> 6.53 per weight)\nfor a perplexity that Q4_0 beats at 4.73", "cell-107",
     r"\(3\.29 -> 6\.53 bits per weight\): above Q4_0's perplexity at 4\.73: True"),
    ("10_below_8_bits", "rank 4, with 2.8 % as many trainable numbers as QAT, gives back at least half", "cell-112",
     r"QLoRA recovers at least half of RTN's drop: True\nQLoRA trains 8,488 numbers, 2\.8% of the 300,032"),
    ("10_below_8_bits", "which trains 2.8 % as many numbers", "cell-112", r"2\.8% of the 300,032 that QAT trains"),
    ("10_below_8_bits", "QLoRA brings both bases far below RTN", "cell-115", r"^the float[^\n]*True\n(INT\d g\d+ +rank +\d+: QLoRA below RTN: True; [^\n]*\n){4}"),
    ("10_below_8_bits", "and rank 16 does better than rank 4", "cell-115",
     r"INT3 g128: rank 16 below rank 4: True\nINT2 g32: rank 16 below rank 4: True"),
    ("10_below_8_bits", "rank 16 comes within 5 % of\nFP32's perplexity", "cell-115", r"INT3 g128, rank 16: within 5 % of FP32's perplexity: True"),
    ("10_below_8_bits", "at INT3 in groups\nof 128 a perplexity within 5 % of FP32's", "cell-115", r"INT3 g128, rank 16: within 5 % of FP32's perplexity: True"),
    ("10_below_8_bits", "400 more steps make the float\nmodel better, but quantized afterwards it is worse than QLoRA in every setting", "cell-115",
     r"^the float model after 400 more steps is better than before: True\n(INT[^\n]*below the float model trained as long, then RTN: True[^\n]*\n){4}"),
    ("10_below_8_bits", "throws most of the gain away", "cell-115", r"^[^\n]*\n(INT[^\n]*loses most of the gain: True\n){4}"),
    ("10_below_8_bits", "rank 16 turns INT3 g128's 3.29 bits per weight\ninto 7.76", "cell-115",
     r"INT3 g128 with rank-16 adapters in float16: 3\.29 -> 7\.76 bits per weight"),
    ("10_below_8_bits", "each rank-4 setting is beaten by a GPTQ setting of section 7 with fewer bits", "cell-115",
     r"each rank-4 setting is beaten by a GPTQ setting with fewer bits per weight: True"),
    ("10_below_8_bits", "0.78 % for rank 16 on a $4096 \\times 4096$", "cell-117", r"4096 x 4096 layer of an LLM\s+INT4 g128\s+16\s+0\.78%"),
    ("10_below_8_bits", "24.4 times less than QAT for that layer", "cell-117", r"268\.4 MB\s+11\.0 MB\s+24\.4x"),
    ("10_below_8_bits", "24.4 times less\ntraining memory than QAT", "cell-117", r"268\.4 MB\s+11\.0 MB\s+24\.4x"),
    ("10_below_8_bits", "adapters are 27.93 % of its weights, only 3.3 times", "cell-117", r"char LM\s+INT3 g128\s+16\s+27\.93%\s+\S+ KB\s+\S+ KB\s+3\.3x"),
]


def stored_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", "") or str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


@pytest.mark.parametrize("chapter, quoted, cell_id, pattern", CLAIMS)
def test_a_number_in_prose_is_a_checked_output(chapter, quoted, cell_id, pattern):
    nb = read(source_notebook(chapter))
    prose = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert quoted in prose, f"{chapter}: the prose no longer says {quoted!r}"
    cell = next(cell for cell in nb.cells if cell.get("id") == cell_id)
    assert "NBVAL_IGNORE_OUTPUT" not in cell.source and "NBVAL_SKIP" not in cell.source, \
        f"{chapter} {cell_id}: nbval does not check this output, so prose must not quote it"
    assert re.search(pattern, stored_text(cell)), f"{chapter} {cell_id}: its output no longer shows {pattern!r}"
