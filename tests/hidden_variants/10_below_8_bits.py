"""Chapter 10_below_8_bits: WRONG and RIGHT variants of its exercises, as tests/test_hidden_tests.py reads them."""

_ROUND = 'return np.copysign(whole + np.floor(2 * (magnitude - whole)), x)'
_Q8_SCALE = 'd = np.abs(blocks).max(axis=1, keepdims=True) / 127'
_Q8_CODES = 'codes = round_half_away_from_zero(blocks * reciprocal(d)).astype(np.int8)'
_Q8_BYTES = 'return to_bytes([float16_bytes(d, "scale"), codes.view(np.uint8)], shape)'
_Q4_SCALE = 'd = np.take_along_axis(blocks, largest, axis=1) / -8'
_Q4_CODES = 'np.minimum(np.trunc(blocks * reciprocal(d) + np.float32(8.5)), 15)'
_Q4_PACK = 'codes[:, :16] | (codes[:, 16:] << 4)'

WRONG = {
    'round_half_away_from_zero': [
        ('np.rint: ties to even', _ROUND, 'return np.rint(x)'),
        ('np.round: ties to even', _ROUND, 'return np.round(x)'),
        ('floor(x + 0.5): negative ties toward zero', _ROUND, 'return np.floor(x + 0.5)'),
        ('sign * floor(|x| + 0.5): wrong just below one half', _ROUND, 'return np.copysign(np.floor(magnitude + 0.5), x)'),
        ('trunc(x + copysign(0.5, x)): wrong just below one half', _ROUND, 'return np.trunc(x + np.copysign(0.5, x))'),
        ('ties toward zero', _ROUND, 'return np.copysign(np.ceil(magnitude - 0.5), x)'),
        ('truncation', _ROUND, 'return np.trunc(x)'),
        ('a float64 result for float32 input', _ROUND,
         'return np.copysign(whole + np.floor(2 * (magnitude - whole)), x).astype(np.float64)'),
    ],
    'quantize_q8_0': [
        ('divided by 128', _Q8_SCALE, 'd = np.abs(blocks).max(axis=1, keepdims=True) / 128'),
        ('np.rint: ties to even', _Q8_CODES, 'codes = np.rint(blocks * reciprocal(d)).astype(np.int8)'),
        ('x / d instead of x * (1 / d)', _Q8_CODES,
         'codes = round_half_away_from_zero(blocks / np.where(d == 0, 1, d)).astype(np.int8)'),
        ('codes from the float16 scale', _Q8_CODES,
         'codes = round_half_away_from_zero(blocks * reciprocal(d.astype(np.float16).astype(np.float32))).astype(np.int8)'),
        ('the scale stored as float32', _Q8_BYTES, 'return to_bytes([d.astype(np.float32).view(np.uint8), codes.view(np.uint8)], shape)'),
        ('the codes before the scale', _Q8_BYTES, 'return to_bytes([codes.view(np.uint8), float16_bytes(d, "scale")], shape)'),
        ('max(x) instead of max|x|', _Q8_SCALE, 'd = blocks.max(axis=1, keepdims=True) / 127'),
    ],
    'quantize_q4_0': [
        ('the unsigned maximum / 8', _Q4_SCALE, 'd = np.abs(blocks).max(axis=1, keepdims=True) / 8'),
        ('the signed maximum / 8', _Q4_SCALE, 'd = np.take_along_axis(blocks, largest, axis=1) / 8'),
        ('the signed maximum / -7', _Q4_SCALE, 'd = np.take_along_axis(blocks, largest, axis=1) / -7'),
        ('max(x) or min(x) by comparison, not the first of equal magnitudes', _Q4_SCALE,
         'high, low = blocks.max(axis=1, keepdims=True), blocks.min(axis=1, keepdims=True)\n'
         '    d = np.where(high >= -low, high, low) / -8'),
        ('neighbours in a byte', _Q4_PACK, 'codes[:, 0::2] | (codes[:, 1::2] << 4)'),
        ('high and low nibbles swapped', _Q4_PACK, '(codes[:, :16] << 4) | codes[:, 16:]'),
        ('no clamp at 15', _Q4_CODES, 'np.trunc(blocks * reciprocal(d) + np.float32(8.5))'),
        ('no zero guard', 'blocks * reciprocal(d)', 'blocks * (1 / d)'),
        ('np.rint for the codes', _Q4_CODES, 'np.minimum(np.rint(blocks * reciprocal(d)) + 8, 15)'),
        ('codes from the float16 scale', 'blocks * reciprocal(d)',
         'blocks * reciprocal(d.astype(np.float16).astype(np.float32))'),
    ],
}

RIGHT = {
    'round_half_away_from_zero': [
        ('the fraction compared with 0.5', _ROUND, 'return np.copysign(whole + (magnitude - whole >= 0.5), x)'),
        ('np.modf and np.sign', _ROUND, 'fraction, whole = np.modf(magnitude)\n    return np.sign(x) * (whole + (fraction >= 0.5))'),
        ('a loop over the values', '    magnitude = np.abs(x)\n',
         '    out = np.empty_like(x)\n'
         '    for index, value in np.ndenumerate(x):\n'
         '        whole = np.floor(abs(value))\n'
         '        out[index] = np.copysign(whole + (abs(value) - whole >= 0.5), value)\n'
         '    return out\n'
         '    magnitude = np.abs(x)\n'),
    ],
    'quantize_q8_0': [
        ('np.max with a float32 127', _Q8_SCALE, 'd = np.max(np.abs(blocks), axis=1)[:, None] / np.float32(127)'),
        ('the reciprocal by hand', 'reciprocal(d)', 'np.where(d == 0, 0, 1 / np.where(d == 0, 1, d))'),
        ('a loop over blocks', _Q8_SCALE,
         'rows = []\n'
         '    for block in blocks:\n'
         '        d = np.abs(block).max() / np.float32(127)\n'
         '        inverse = np.float32(1) / d if d else np.float32(0)\n'
         '        codes = round_half_away_from_zero(block * inverse).astype(np.int8)\n'
         '        rows.append(np.concatenate([float16_bytes(np.array([[d]]), "scale")[0], codes.view(np.uint8)]))\n'
         '    return np.stack(rows).reshape(*shape[:-1], -1)\n'
         '    ' + _Q8_SCALE),
    ],
    'quantize_q4_0': [
        ('np.floor instead of np.trunc', 'np.trunc(', 'np.floor('),
        ('np.clip to [0, 15]', _Q4_CODES, 'np.clip(np.trunc(blocks * reciprocal(d) + np.float32(8.5)), 0, 15)'),
        ('the nibbles packed with arithmetic', _Q4_PACK, '(codes[:, :16] + codes[:, 16:] * 16).astype(np.uint8)'),
        ('the signed maximum with argmax per row', 'largest = np.abs(blocks).argmax(axis=1)[:, None]',
         'largest = np.array([[int(np.argmax(np.abs(row)))] for row in blocks])'),
    ],
}

_FQ_AMAX = 'amax = np.abs(group).max(axis=1, keepdims=True)'
_GPTQ_UPDATE = 'W[:, j:] -= np.outer(error, U[j, j:])'
_GPTQ_ERROR = 'error = (W[:, j] - Q[:, j]) / U[j, j]'
_GPTQ_SCALES = 'if j in starts:\n            amax = np.abs(W[:, j:starts[j]]).max(axis=1)'
_SMOOTH = 'return np.maximum(activation_amax, 1e-5) ** alpha / np.maximum(weight_amax, 1e-5) ** (1 - alpha)'

WRONG.update({
    'fake_quantize': [
        ('divided by 2**(b-1)', 'qmax = 2 ** (num_bits - 1) - 1', 'qmax = 2 ** (num_bits - 1)'),
        ('floor instead of rint', 'np.rint(group / scales)', 'np.floor(group / scales)'),
        ('one scale for the whole matrix', _FQ_AMAX, 'amax = np.abs(weight).max()'),
        ('one scale per input column (axis 0)', _FQ_AMAX, 'amax = np.abs(group).max(axis=0, keepdims=True)'),
        ('no zero guard', 'np.where(amax == 0, np.float32(1), np.maximum(amax / np.float32(qmax), np.float32(FLOAT32_TINY)))',
         'amax / np.float32(qmax)'),
        ('a float64 result', '    return out', '    return out.astype(np.float64)'),
    ],
    'gptq_quantize_layer': [
        ('no error feedback (RTN)', '        ' + _GPTQ_UPDATE + '\n', ''),
        ('the error added instead of subtracted', _GPTQ_UPDATE, 'W[:, j:] += np.outer(error, U[j, j:])'),
        ('the error not divided by U[j, j]', _GPTQ_ERROR, 'error = W[:, j] - Q[:, j]'),
        ('scales from the original weights (static groups)', 'amax = np.abs(W[:, j:starts[j]]).max(axis=1)',
         'amax = np.abs(weight[:, j:starts[j]]).max(axis=1)'),
        ('only the next column updated', _GPTQ_UPDATE, 'W[:, j + 1:j + 2] -= np.outer(error, U[j, j + 1:j + 2])'),
        ('floor instead of rint', 'np.rint(W[:, j] / scales)', 'np.floor(W[:, j] / scales)'),
        ('no clip to the grid', 'np.clip(np.rint(W[:, j] / scales), -qmax, qmax)', 'np.rint(W[:, j] / scales)'),
    ],
    'smooth_scales': [
        ('the weight maxima over axis 1', '.max(axis=0)', '.max(axis=1)'),
        ('the exponents swapped', _SMOOTH,
         'return np.maximum(weight_amax, 1e-5) ** alpha / np.maximum(activation_amax, 1e-5) ** (1 - alpha)'),
        ('no floor', _SMOOTH, 'return activation_amax ** alpha / weight_amax ** (1 - alpha)'),
        ('alpha for the weights too', '** (1 - alpha)', '** alpha'),
    ],
})

RIGHT.update({
    'fake_quantize': [
        ('np.round', 'np.rint(', 'np.round('),
        ('the maxima row by row', _FQ_AMAX, 'amax = np.array([[np.abs(row).max()] for row in group], dtype=np.float32)'),
    ],
    'gptq_quantize_layer': [
        ('the update from column j + 1 on', _GPTQ_UPDATE, 'W[:, j + 1:] -= np.outer(error, U[j, j + 1:])'),
        ('broadcasting instead of np.outer', 'np.outer(error, U[j, j:])', 'error[:, None] * U[j, j:]'),
        ('group starts by modulo', _GPTQ_SCALES,
         'if j % (group_size or W.shape[1]) == 0:\n            amax = np.abs(W[:, j:j + (group_size or W.shape[1])]).max(axis=1)'),
    ],
    'smooth_scales': [
        ('np.fmax for the floors', 'np.maximum(', 'np.fmax('),
    ],
})
