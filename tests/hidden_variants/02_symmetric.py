"""Chapter 02_symmetric: WRONG and RIGHT variants of its exercises, as tests/test_hidden_tests.py reads them."""

# Pass 1 of the model answer of quantize_symmetric_chunked, which two of its variants rewrite.
_PASS_1_LOOP = (
    '    for start in range(0, n, chunk_size):\n'
    '        chunk = flat_x[start:start + chunk_size]\n'
    '        low, high = float(chunk.min()), float(chunk.max())\n'
    '        if not (math.isfinite(low) and math.isfinite(high)):\n'
    '            raise ValueError(f"x must be finite, got NaN or inf among elements {start} to "\n'
    '                             f"{start + chunk.size - 1}")\n'
    '        amax = max(amax, high, -low)\n')

WRONG = {
    'symmetric_quant_params': [
        ('divides by 2**(b-1)',
         'amax / (2 ** (num_bits - 1) - 1)',
         'amax / 2 ** (num_bits - 1)'),
        ('divides by 2**b',
         'amax / (2 ** (num_bits - 1) - 1)',
         'amax / 2 ** num_bits'),
        ('ignores num_bits',
         'amax / (2 ** (num_bits - 1) - 1)',
         'amax / 127'),
        ('no zero guard',
         '    if amax == 0.0:\n        return 1.0\n',
         ''),
        ('no floor on tiny scales',
         'max(amax / (2 ** (num_bits - 1) - 1), FLOAT32_TINY)',
         'amax / (2 ** (num_bits - 1) - 1)'),
        ('max(x) instead of max|x|',
         'np.max(np.abs(x))',
         'np.max(x)'),
    ],
    'quantize_int8': [
        ('no clamp',
         'np.clip(np.rint(x / scale), -127, 127)',
         'np.rint(x / scale)'),
        ('clamps to -128',
         'np.clip(np.rint(x / scale), -127, 127)',
         'np.clip(np.rint(x / scale), -128, 127)'),
        ('floor',
         'np.rint(x / scale)',
         'np.floor(x / scale)'),
        ('truncation',
         'np.rint(x / scale)',
         'np.trunc(x / scale)'),
        ('rounds half away from zero',
         'np.rint(x / scale)',
         'np.sign(x / scale) * np.floor(np.abs(x / scale) + 0.5)'),
        ('multiplies by the scale',
         'np.rint(x / scale)',
         'np.rint(x * scale)'),
        ('float result',
         '.astype(np.int8)',
         ''),
    ],
    'dequantize_int8': [
        ('divides by the scale',
         '* scale)',
         '/ scale)'),
        ('adds the zero point',
         '- zero_point)',
         '+ zero_point)'),
        ('float64 result',
         '.astype(np.float32)',
         ''),
    ],
    'quantize_symmetric': [
        ('ignores num_bits in the range',
         'qmax = 2 ** (num_bits - 1) - 1',
         'qmax = 127'),
        ('always int8',
         'quantized_dtype(num_bits)',
         'np.int8'),
        ('floor',
         'np.rint(x / scale)',
         'np.floor(x / scale)'),
    ],
    'quantization_error': [
        ('20·log10 of a power ratio',
         '10 * math.log10(signal_power / mse)',
         '20 * math.log10(signal_power / mse)'),
        ('std instead of variance',
         'float(np.var(original))',
         'float(np.std(original))'),
        ('SNR from the variance',
         'float(np.mean(original ** 2))',
         'float(np.var(original))'),
    ],
    'quantize_symmetric_pure': [
        ('divides by 2**(b-1)',
         'max(amax / qmax, ',
         'max(amax / 2 ** (bits - 1), '),
        ('truncation',
         'round(value / scale)',
         'int(value / scale)'),
        ('floor',
         'round(value / scale)',
         'math.floor(value / scale)'),
        ('no zero guard',
         ' if amax > 0 else 1.0',
         ' if amax > 0 else 0.0'),
    ],
    'dequantize_symmetric_pure': [
        ('divides by the scale',
         'q * scale',
         'q / scale'),
        ('rounds the result',
         'q * scale',
         'round(q * scale)'),
    ],
    'quantization_error_pure': [
        ('20·log10 of a power ratio',
         '10 * math.log10(signal_power / mse)',
         '20 * math.log10(signal_power / mse)'),
        ('sample variance (n - 1)',
         'variance = math.fsum((x - mean) ** 2 for x in original) / n',
         'variance = math.fsum((x - mean) ** 2 for x in original) / (n - 1)'),
    ],
    'quantize_symmetric_chunked': [
        ('floor',
         'np.rint(work, out=work)',
         'np.floor(work, out=work)'),
        ('drops the last element of each chunk',
         'flat_out[start:stop] = work',
         'flat_out[start:stop - 1] = work[:-1]'),
        ('multiplies by the scale',
         'np.divide(work, scale, out=work)',
         'np.multiply(work, scale, out=work)'),
        ('max(x) only, not max|x|: a negative-dominated tensor gets the wrong scale',
         'amax = max(amax, high, -low)',
         'amax = max(amax, high)'),
        ('keeps only the chunk\'s max|x| (no running value): the last chunk\'s scale',
         'amax = max(amax, high, -low)',
         'amax = max(high, -low)'),
        ('resets amax at the start of every chunk',
         '    amax = 0.0\n    for start in range(0, n, chunk_size):\n        chunk = flat_x[start:start + chunk_size]\n',
         '    for start in range(0, n, chunk_size):\n        amax = 0.0\n        chunk = flat_x[start:start + chunk_size]\n'),
        ('no finiteness check: max() skips NaN',
         '        if not (math.isfinite(low) and math.isfinite(high)):\n'
         '            raise ValueError(f"x must be finite, got NaN or inf among elements {start} to "\n'
         '                             f"{start + chunk.size - 1}")\n',
         ''),
        ('checks amax after the loop instead of each chunk (NaN is already lost)',
         '        if not (math.isfinite(low) and math.isfinite(high)):\n'
         '            raise ValueError(f"x must be finite, got NaN or inf among elements {start} to "\n'
         '                             f"{start + chunk.size - 1}")\n'
         '        amax = max(amax, high, -low)\n',
         '        amax = max(amax, high, -low)\n'
         '    if not math.isfinite(amax):\n'
         '        raise ValueError("x must be finite")\n'),
        ('np.abs(x) of the whole tensor for max|x|',
         '    amax = 0.0\n',
         '    amax = float(np.abs(flat_x).max())\n'),
        ('the scale from the whole tensor: symmetric_quant_params(x) makes np.abs(x)',
         'scale = symmetric_quant_params([amax], num_bits)',
         'scale = symmetric_quant_params(flat_x, num_bits)'),
        ('np.abs(chunk) in the input dtype: int8 -128 stays -128',
         'amax = max(amax, high, -low)',
         'amax = max(amax, float(np.abs(chunk).max()))'),
        ('-chunk.min() in the input dtype: -(-128) is -128 in int8',
         'low, high = float(chunk.min()), float(chunk.max())',
         'low, high = chunk.min(), chunk.max()'),
        ('the scale by hand, amax / qmax: no zero guard, no floor',
         'scale = symmetric_quant_params([amax], num_bits)',
         'scale = amax / (2 ** (num_bits - 1) - 1)'),
        ('pass 1 skips the last, shorter chunk',
         'for start in range(0, n, chunk_size):\n        chunk = ',
         'for start in range(0, n // chunk_size * chunk_size, chunk_size):\n        chunk = '),
        ('pass 2 skips the last, shorter chunk',
         'for start in range(0, n, chunk_size):\n        stop = ',
         'for start in range(0, n - chunk_size + 1, chunk_size):\n        stop = '),
        ('a buffer the size of the whole tensor',
         'np.empty(min(chunk_size, n), ',
         'np.empty(n, '),
        ('a float64 buffer for float32 input: the copy into it makes the division float64',
         'dtype=compute_dtype(x.dtype)',
         'dtype=np.float64'),
        ('divides the chunk itself into the buffer: float16 input is divided in float16',
         'work[...] = flat_x[start:stop]  # in Level 2\'s precision: NumPy computes in its inputs\' dtype\n'
         '        np.divide(work, scale, out=work)',
         'np.divide(flat_x[start:stop], scale, out=work)'),
        ('a buffer of the input dtype (integers cannot hold quotients, float16 rounds them)',
         'dtype=compute_dtype(x.dtype)',
         'dtype=x.dtype'),
        ('writes into flat_x: the buffer is a view of the input',
         'work = buffer[:stop - start]',
         'work = flat_x[start:stop]'),
        ('out.flatten() is a copy: out is never written',
         'out.reshape(-1)',
         'out.flatten()'),
    ],
}

RIGHT = {
    'symmetric_quant_params': [
        ('a Python loop over values',
         'amax = float(np.max(np.abs(x)))',
         'amax = 0.0\n    for value in np.ravel(x).tolist():\n        amax = max(amax, abs(value))'),
    ],
    'quantize_int8': [
        ('np.round',
         'np.rint(x / scale)',
         'np.round(x / scale)'),
        ('np.minimum / np.maximum',
         'np.clip(np.rint(x / scale), -127, 127)',
         'np.maximum(np.minimum(np.rint(x / scale), 127), -127)'),
        ('a Python loop with round()',
         'return np.clip(np.rint(x / scale), -127, 127).astype(np.int8)',
         'return np.array([max(-127, min(127, round(v / scale))) for v in np.ravel(x).tolist()], dtype=np.int8).reshape(np.shape(x))'),
    ],
    'quantize_symmetric': [
        ('np.round',
         'np.rint(x / scale)',
         'np.round(x / scale)'),
    ],
    'quantization_error': [
        ('20·log10 of an RMS ratio',
         '10 * math.log10(signal_power / mse)',
         '20 * math.log10(math.sqrt(signal_power) / math.sqrt(mse))'),
    ],
    'quantize_symmetric_pure': [
        ('an explicit loop',
         'quantized = [max(-qmax, min(qmax, round(value / scale))) for value in tensor]',
         'quantized = []\n    for value in tensor:\n        quantized.append(max(-qmax, min(qmax, round(value / scale))))'),
    ],
    'quantize_symmetric_chunked': [
        ('np.round into the buffer',
         'np.rint(work, out=work)',
         'np.round(work, out=work)'),
        ('pass 1 through the buffer: np.abs with out=, the buffer allocated before pass 1',
         '    amax = 0.0\n' +
         _PASS_1_LOOP +
         '    scale = symmetric_quant_params([amax], num_bits)  # the scale depends on x only through max|x|\n'
         '\n'
         '    # Pass 2: quantize chunk by chunk through one buffer, in Level 2\'s precision.\n'
         '    qmax = 2 ** (num_bits - 1) - 1  # Q, the largest level\n'
         '    buffer = np.empty(min(chunk_size, n), dtype=compute_dtype(x.dtype))\n',
         '    buffer = np.empty(min(chunk_size, n), dtype=compute_dtype(x.dtype))\n'
         '    amax = 0.0\n'
         '    for start in range(0, n, chunk_size):\n'
         '        chunk = flat_x[start:start + chunk_size]\n'
         '        work = buffer[:chunk.size]\n'
         '        work[...] = chunk\n'
         '        np.abs(work, out=work)\n'
         '        top = float(work.max())\n'
         '        if not math.isfinite(top):\n'
         '            raise ValueError(f"x must be finite, got NaN or inf among elements {start} to {start + chunk.size - 1}")\n'
         '        amax = max(amax, top)\n'
         '    scale = symmetric_quant_params([amax], num_bits)\n'
         '    qmax = 2 ** (num_bits - 1) - 1\n'),
        ('while loops over (start, stop) in both passes',
         _PASS_1_LOOP,
         '    start = 0\n'
         '    while start < n:\n'
         '        stop = min(start + chunk_size, n)\n'
         '        low, high = float(flat_x[start:stop].min()), float(flat_x[start:stop].max())\n'
         '        if math.isnan(low) or math.isnan(high) or math.isinf(low) or math.isinf(high):\n'
         '            raise ValueError(f"x must be finite, got NaN or inf among elements {start} to {stop - 1}")\n'
         '        amax = max(amax, abs(low), abs(high))\n'
         '        start = stop\n'),
        ('while loop in pass 2',
         '    for start in range(0, n, chunk_size):\n'
         '        stop = min(start + chunk_size, n)\n'
         '        work = buffer[:stop - start]\n'
         '        work[...] = flat_x[start:stop]  # in Level 2\'s precision: NumPy computes in its inputs\' dtype\n'
         '        np.divide(work, scale, out=work)\n'
         '        np.rint(work, out=work)\n'
         '        np.clip(work, -qmax, qmax, out=work)\n'
         '        flat_out[start:stop] = work\n',
         '    start = 0\n'
         '    while start < n:\n'
         '        stop = min(start + chunk_size, n)\n'
         '        work = buffer[:stop - start]\n'
         '        np.copyto(work, flat_x[start:stop])\n'
         '        np.clip(np.rint(np.divide(work, scale, out=work), out=work), -qmax, qmax, out=work)\n'
         '        flat_out[start:stop] = work\n'
         '        start = stop\n'),
        ('np.abs of each chunk as float64: one chunk-sized temporary at a time, still O(chunk_size)',
         'amax = max(amax, high, -low)',
         'amax = max(amax, float(np.abs(chunk.astype(np.float64)).max()))'),
        ('the chunk divided into the buffer with dtype= the buffer\'s dtype instead of a copy first',
         'work[...] = flat_x[start:stop]  # in Level 2\'s precision: NumPy computes in its inputs\' dtype\n'
         '        np.divide(work, scale, out=work)',
         'np.divide(flat_x[start:stop], scale, out=work, dtype=work.dtype)'),
    ],
}
