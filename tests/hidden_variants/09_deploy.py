"""Chapter 09_deploy: WRONG and RIGHT variants of its exercises, as tests/test_hidden_tests.py reads them."""

_SHIFT = '(q.astype(np.int16) + 128).astype(np.uint8)'
_UINT8_BRANCH = ('    if q.dtype == np.uint8:\n'
                 '        return q, check_int(zero_point, 0, 255, name="zero_point")\n')
_INT8_ZERO_POINT = 'zero_point = check_int(zero_point, -128, 127, name="zero_point")'
_NONE_TO_NUMPY = ('    if backend is None and not eight_bit:\n'
                  '        backend = "numpy"\n')
_CALL = 'return matmul_integer(a_u8, a_zero_point, b, b_zero_point)'
_WEIGHTS = 'b, b_zero_point = to_uint8(b_q) if weights_form() == "uint8" else (b_q, 0)'

_RANGE = ("low = np.minimum(x.min(axis=1), 0).astype(np.float64)  # each row's range, widened to include 0\n"
          '    high = np.maximum(x.max(axis=1), 0).astype(np.float64)')
_SCALES = 'scales = np.where(high > low, np.maximum((high - low) / 255, FLOAT32_TINY), 1.0)'
_CODES = 'q = np.rint(x / scales[:, None].astype(x.dtype)) + zero_points[:, None]'
_PER_TOKEN_BODY = (f'    {_RANGE}\n    {_SCALES}\n'
                   '    zero_points = np.clip(ACTIVATION_QMIN + np.rint(-low / scales), ACTIVATION_QMIN, ACTIVATION_QMAX)\n'
                   f'    {_CODES}\n'
                   '    np.clip(q, ACTIVATION_QMIN, ACTIVATION_QMAX, out=q)\n'
                   '    return q.astype(np.int8), scales, zero_points.astype(np.int32)\n')
_TENSOR_RESCALE = 'y = acc.astype(np.float32)\n            y *= np.float32(x_scale) * self.weight_scales'
_OFFSET = 'offset = bias_q if self.weight_row_sums is None else bias_q - x_zero_point * self.weight_row_sums'
_TOKEN_CORRECTION = 'acc -= zero_points[:, None] * self.weight_row_sums'
_EXPORT_OFFSET = ('offset = layer.bias_q if layer.weight_row_sums is None else \\\n'
                  '        layer.bias_q - layer.input_zero_point * layer.weight_row_sums')

WRONG = {
    'to_uint8': [
        ('astype(np.uint8) without adding 128 (negative codes wrap around)', _SHIFT, 'q.astype(np.uint8)'),
        ('a uint8 view of the int8 bytes (the same wrap-around)', _SHIFT, 'q.view(np.uint8)'),
        ('q + 128 on the int8 array (OverflowError)', _SHIFT, '(q + 128).astype(np.uint8)'),
        ('magnitudes: np.abs loses the sign', _SHIFT, 'np.abs(q.astype(np.int16)).astype(np.uint8)'),
        ('the zero point not shifted', ', zero_point + 128', ', zero_point'),
        ('the zero point shifted down', ', zero_point + 128', ', zero_point - 128'),
        ('a NumPy integer as zero point', ', zero_point + 128', ', np.uint8(zero_point + 128)'),
        ('uint8 codes shifted too (no uint8 branch)', _UINT8_BRANCH, ''),
        ('the int8 zero point not range-checked', _INT8_ZERO_POINT, 'zero_point = check_int(zero_point, name="zero_point")'),
        ('the int8 zero point checked against the uint8 range', _INT8_ZERO_POINT,
         'zero_point = check_int(zero_point, 0, 255, name="zero_point")'),
        ('the uint8 zero point not checked', 'return q, check_int(zero_point, 0, 255, name="zero_point")',
         'return q, zero_point'),
    ],
    'int_matmul': [
        ('a_q moved to uint8 but the kernel given zero point 0', _CALL,
         'return matmul_integer(a_u8, 0, b, b_zero_point)'),
        ('b_q always moved to uint8, its zero point left at 0', _WEIGHTS, 'b, b_zero_point = to_uint8(b_q)[0], 0'),
        ('no overflow guard before the kernel', '    check_no_overflow(a_q, b_q)\n', ''),
        ('a guard with the int8 bound 128 * 128 for every dtype', 'check_no_overflow(a_q, b_q)',
         'if a_q.shape[1] * 128 * 128 > 2 ** 31 - 1:\n        raise ValueError("could overflow int32")'),
        ('backend=None sends int16 operands to ONNX Runtime', _NONE_TO_NUMPY, ''),
        ('the backend name not checked', '    backend = check_backend(backend)\n',
         '    backend = "onnxruntime" if backend is None else backend\n'),
        ('operands that are not 8-bit not refused by ONNX Runtime',
         '    if not eight_bit:\n        raise ValueError(', '    if False:\n        raise ValueError('),
        ('NumPy backend as a plain int64 product (no int32, no guard)', 'return numpy_int_matmul(a_q, b_q)',
         'return a_q.astype(np.int64) @ b_q.astype(np.int64)'),
        ('NumPy backend with an int32 @ (wraps around silently)', 'return numpy_int_matmul(a_q, b_q)',
         'return a_q.astype(np.int32) @ b_q.astype(np.int32)'),
    ],
    'quantize_activations_per_token': [
        ('one range per column (axis=0)', _RANGE,
         'low = np.minimum(x.min(axis=0), 0).astype(np.float64)\n    high = np.maximum(x.max(axis=0), 0).astype(np.float64)'),
        ('one range for the whole tensor', _RANGE,
         'low = np.full(x.shape[0], min(x.min(), 0), dtype=np.float64)\n'
         '    high = np.full(x.shape[0], max(x.max(), 0), dtype=np.float64)'),
        ('the range not widened to include 0', _RANGE,
         'low = x.min(axis=1).astype(np.float64)\n    high = x.max(axis=1).astype(np.float64)'),
        ('no zero guard for all-zero rows', _SCALES, 'scales = np.maximum((high - low) / 255, FLOAT32_TINY)'),
        ('no floor for tiny ranges', _SCALES, 'scales = np.where(high > low, (high - low) / 255, 1.0)'),
        ('the uint8 zero point', 'ACTIVATION_QMIN + np.rint(-low / scales)', 'np.rint(-low / scales)'),
        ('rounding after adding the zero point', _CODES,
         'q = np.rint(x / scales[:, None].astype(x.dtype) + zero_points[:, None])'),
        ('truncation instead of rounding', _CODES, 'q = np.trunc(x / scales[:, None].astype(x.dtype)) + zero_points[:, None]'),
        ('the division in float64 for float32 input', _CODES, 'q = np.rint(x / scales[:, None]) + zero_points[:, None]'),
        ('float32 scales', 'return q.astype(np.int8), scales, zero_points.astype(np.int32)',
         'return q.astype(np.int8), scales.astype(np.float32), zero_points.astype(np.int32)'),
        ('int64 zero points', 'return q.astype(np.int8), scales, zero_points.astype(np.int32)',
         'return q.astype(np.int8), scales, zero_points.astype(np.int64)'),
    ],
    'QuantizedLinear': [
        ('per tensor: the zero-point correction with the wrong sign', _OFFSET,
         'offset = bias_q if self.weight_row_sums is None else bias_q + x_zero_point * self.weight_row_sums'),
        ('per tensor: the rescale in float64', _TENSOR_RESCALE,
         'y = (acc * (x_scale * self.weight_scales.astype(np.float64))).astype(np.float32)'),
        ('per tensor: two multiplications', _TENSOR_RESCALE,
         'y = acc.astype(np.float32)\n            y *= np.float32(x_scale)\n            y *= self.weight_scales'),
        ('per tensor: static parameters ignored', 'quantize_activations(rows, self.input_scale, self.input_zero_point)',
         'quantize_activations(rows)'),
        ('per tensor: a frozen layer corrected again (no frozen case)', _OFFSET,
         'offset = bias_q - x_zero_point * self.weight_row_sums'),
        ('per token: the correction added', _TOKEN_CORRECTION, 'acc += zero_points[:, None] * self.weight_row_sums'),
        ('per token: one mean scale for every row', 'y *= scales[:, None].astype(np.float32) * self.weight_scales',
         'y *= np.float32(scales.mean()) * self.weight_scales'),
        ('per token: the bias forgotten', '            y += self.bias\n', ''),
        ('per token: no accumulator check', '            check_accumulator(x_q, zero_points)\n', ''),
        ('per token quantized per tensor', 'if self.activations == "token":', 'if False:'),
    ],
    'add_quantized_linear': [
        ('QuantizeLinear given the int8 zero point (negative: OverflowError)', 'np.uint8(layer.input_zero_point + 128)',
         'np.uint8(layer.input_zero_point)'),
        ('QuantizeLinear given the int8 zero point, as int8', 'np.uint8(layer.input_zero_point + 128)',
         'np.int8(layer.input_zero_point)'),
        ("MatMulInteger given 0 as the codes' zero point", 'np.uint8(128))', 'np.uint8(0))'),
        ('the weights not transposed', 'to_uint8(layer.weight_q.T) if graph.weights == "uint8" else (layer.weight_q.T, 0)',
         'to_uint8(layer.weight_q) if graph.weights == "uint8" else (layer.weight_q, 0)'),
        ('graph.weights ignored (always int8)', 'to_uint8(layer.weight_q.T) if graph.weights == "uint8" else (layer.weight_q.T, 0)',
         '(layer.weight_q.T, 0)'),
        ('uint8 weights given zero point 0', 'np.array(weight_zero_point, dtype=weight.dtype)', 'np.array(0, dtype=weight.dtype)'),
        ('the zero-point correction left out', _EXPORT_OFFSET, 'offset = layer.bias_q'),
        ('the zero-point correction added', _EXPORT_OFFSET,
         'offset = layer.bias_q if layer.weight_row_sums is None else \\\n        layer.bias_q + layer.input_zero_point * layer.weight_row_sums'),
        ('a frozen layer corrected again', _EXPORT_OFFSET,
         'offset = layer.bias_q - layer.input_zero_point * layer.weight_row_sums'),
        ('the rescale by input_scale alone', 'multiplier = np.float32(layer.input_scale) * layer.weight_scales',
         'multiplier = np.full(layer.out_features, np.float32(layer.input_scale))'),
        ('the multiplier in float64', 'multiplier = np.float32(layer.input_scale) * layer.weight_scales',
         'multiplier = layer.input_scale * layer.weight_scales.astype(np.float64)'),
        ('the scale as a Python float (float64)', 'np.float32(layer.input_scale))', 'layer.input_scale)'),
        ('the offset left in int64', 'offset.astype(np.int32)', 'offset.astype(np.int64)'),
        ('constants named without the layer prefix', 'graph.constant(f"{name}.input_scale"',
         'graph.constant("input_scale"'),
        ('outputs named without the layer prefix', 'f"{name}.output")', '"output")'),
    ],
}

RIGHT = {
    'to_uint8': [
        ('xor of the sign bit on a uint8 view', _SHIFT, 'q.view(np.uint8) ^ np.uint8(0x80)'),
        ('np.add with an int16 dtype', _SHIFT, 'np.add(q, 128, dtype=np.int16).astype(np.uint8)'),
        ('128 subtracted: the same bytes modulo 256', _SHIFT, '(q.astype(np.int16) - 128).astype(np.uint8)'),
        ('a copy of uint8 input', 'return q, check_int(zero_point, 0, 255, name="zero_point")',
         'return q.copy(), check_int(zero_point, 0, 255, name="zero_point")'),
        ('the range checked by hand', _INT8_ZERO_POINT,
         'if isinstance(zero_point, bool) or not isinstance(zero_point, (int, np.integer)):\n'
         '        raise TypeError(f"zero_point must be an integer, got {zero_point!r}")\n'
         '    if not -128 <= zero_point <= 127:\n'
         '        raise ValueError(f"zero_point must be in [-128, 127], got {zero_point}")\n'
         '    zero_point = int(zero_point)'),
    ],
    'int_matmul': [
        ('None resolved with available_backends()', _NONE_TO_NUMPY,
         '    if backend is None:\n        backend = available_backends()[0] if eight_bit else "numpy"\n'),
        ('the weights form as an if statement', _WEIGHTS,
         'if weights_form() == "uint8":\n        b, b_zero_point = to_uint8(b_q)\n'
         '    else:\n        b, b_zero_point = b_q, 0'),
        ('the activation shift written out', 'a_u8, a_zero_point = to_uint8(a_q)',
         'a_u8, a_zero_point = (a_q, 0) if a_q.dtype == np.uint8 else ((a_q.astype(np.int16) + 128).astype(np.uint8), 128)'),
        ('contiguous copies for the kernel', _CALL,
         'return matmul_integer(np.ascontiguousarray(a_u8), a_zero_point, np.ascontiguousarray(b), b_zero_point)'),
    ],
    'quantize_activations_per_token': [
        ('a loop over rows with chapter 07\'s quantize_activations', _PER_TOKEN_BODY,
         '    rows = [quantize_activations(row) for row in x]\n'
         '    q = np.stack([row[0] for row in rows])\n'
         '    return q, np.array([row[1] for row in rows]), np.array([row[2] for row in rows], dtype=np.int32)\n'),
        ('np.round for the zero points', 'np.rint(-low / scales)', 'np.round(-low / scales)'),
    ],
    'QuantizedLinear': [
        ('the offset in int64', _OFFSET,
         'offset = bias_q if self.weight_row_sums is None else '
         '(bias_q.astype(np.int64) - x_zero_point * self.weight_row_sums.astype(np.int64))'),
        ('the per-token correction with np.outer', _TOKEN_CORRECTION,
         'acc -= np.outer(zero_points, self.weight_row_sums).astype(np.int32)'),
        ('the bias with np.add(out=)', 'y += self.bias', 'np.add(y, self.bias, out=y)'),
    ],
    'add_quantized_linear': [
        ('the offset computed in int64, then cast', _EXPORT_OFFSET,
         'offset = layer.bias_q.astype(np.int64) if layer.weight_row_sums is None else \\\n'
         '        layer.bias_q.astype(np.int64) - layer.input_zero_point * layer.weight_row_sums.astype(np.int64)'),
        ('the uint8 weights shifted by hand', 'to_uint8(layer.weight_q.T) if graph.weights == "uint8" else (layer.weight_q.T, 0)',
         '((layer.weight_q.T.astype(np.int16) + 128).astype(np.uint8), 128) if graph.weights == "uint8" '
         'else (layer.weight_q.T, 0)'),
        ('contiguous weights', 'graph.constant(f"{name}.weight_q", weight)',
         'graph.constant(f"{name}.weight_q", np.ascontiguousarray(weight))'),
        ('the multiplier with np.multiply', 'multiplier = np.float32(layer.input_scale) * layer.weight_scales',
         'multiplier = np.multiply(np.float32(layer.input_scale), layer.weight_scales, dtype=np.float32)'),
    ],
}
