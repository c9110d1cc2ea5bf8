"""Chapter 01_why_quantize: WRONG and RIGHT variants of its exercises, as tests/test_hidden_tests.py reads them."""

WRONG = {
    'bytes_per_element': [
        ('INT4 counted as a whole byte',
         '"int4": 4',
         '"int4": 8'),
        ('bits instead of bytes',
         'return float(np.dtype(name).itemsize)',
         'return float(np.dtype(name).itemsize * 8)'),
        ('integer division of bits',
         'bits_outside_numpy[name] / 8',
         'bits_outside_numpy[name] // 8'),
    ],
    'model_size_bytes': [
        ('GB instead of bytes',
         'float(num_params) * bytes_per_element(dtype)',
         'float(num_params) * bytes_per_element(dtype) / 1e9'),
        ('GiB instead of bytes',
         'float(num_params) * bytes_per_element(dtype)',
         'float(num_params) * bytes_per_element(dtype) / 2**30'),
        ('truncated to whole bytes',
         'float(num_params) * bytes_per_element(dtype)',
         'float(int(num_params * bytes_per_element(dtype)))'),
    ],
    'format_bytes': [
        ('binary units',
         'value / 1000, larger_unit',
         'value / 1024, larger_unit'),
        ('two decimals',
         'f"{value:.1f} {unit}"',
         'f"{value:.2f} {unit}"'),
    ],
    'model_size_table': [
        ('inverted ratio',
         '"compression": fp32_bytes / size',
         '"compression": size / fp32_bytes'),
        ('GiB column',
         '"GB": size / 1e9',
         '"GB": size / 2**30'),
    ],
    'array_memory_report': [
        ('elements instead of bytes',
         'int(array.nbytes)',
         'int(array.size)'),
    ],
    'generation_speed_bound': [
        ('tokens/s not multiplied by batch_size',
         '"tokens_per_s": float(batch_size / step_s)',
         '"tokens_per_s": float(1 / step_s)'),
        ('the weights read once per sequence (memory time × batch_size)',
         'memory_s = model_size_bytes(num_params, dtype) / bandwidth',
         'memory_s = model_size_bytes(num_params, dtype) * batch_size / bandwidth'),
        ('1 FLOP per parameter instead of 2',
         'compute_s = 2 * float(num_params) * batch_size / peak_flops',
         'compute_s = float(num_params) * batch_size / peak_flops'),
        ('batch_size left out of the compute time',
         'compute_s = 2 * float(num_params) * batch_size / peak_flops',
         'compute_s = 2 * float(num_params) / peak_flops'),
        ('min instead of max: the faster bound',
         'step_s = max(memory_s, compute_s)',
         'step_s = min(memory_s, compute_s)'),
        ('the two times added instead of overlapped',
         'step_s = max(memory_s, compute_s)',
         'step_s = memory_s + compute_s'),
        ('bytes counted in bits (×8)',
         'memory_s = model_size_bytes(num_params, dtype) / bandwidth',
         'memory_s = 8 * model_size_bytes(num_params, dtype) / bandwidth'),
        ('weights in GB instead of bytes',
         'memory_s = model_size_bytes(num_params, dtype) / bandwidth',
         'memory_s = model_size_bytes(num_params, dtype) / 1e9 / bandwidth'),
        ('the dtype ignored: one byte per weight',
         'memory_s = model_size_bytes(num_params, dtype) / bandwidth',
         'memory_s = float(num_params) / bandwidth'),
        ('bound label inverted',
         '"bound": "memory" if memory_s >= compute_s else "compute"',
         '"bound": "compute" if memory_s >= compute_s else "memory"'),
        ('a tie counted as compute-bound',
         '"bound": "memory" if memory_s >= compute_s else "compute"',
         '"bound": "memory" if memory_s > compute_s else "compute"'),
        ('batch_size=0 accepted',
         'if batch_size < 1:',
         'if batch_size < 0:'),
        ('batch_size=True accepted (a bool is an int)',
         'if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, Integral):',
         'if not isinstance(batch_size, Integral):'),
        ('a float batch_size accepted',
         'if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, Integral):',
         'if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, Real):'),
        ('bandwidth 0 not rejected (ZeroDivisionError instead of ValueError)',
         'if not math.isfinite(value) or value <= 0:',
         'if not math.isfinite(value) or value < 0:'),
        ('inf and nan bandwidth accepted',
         'if not math.isfinite(value) or value <= 0:',
         'if value <= 0:'),
        ('bandwidth and peak_flops not validated at all',
         '    for name, value in (("bandwidth", bandwidth), ("peak_flops", peak_flops)):\n'
         '        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):\n'
         '            raise TypeError(f"{name} must be a number, got {type(value).__name__}")\n'
         '        if not math.isfinite(value) or value <= 0:\n'
         '            raise ValueError(f"{name} must be positive and finite, got {value}")\n',
         ''),
        ('the error messages do not name the argument',
         'raise ValueError(f"{name} must be positive and finite, got {value}")',
         'raise ValueError(f"must be positive and finite, got {value}")'),
    ],
}

RIGHT = {
    'model_size_table': [
        ('a list comprehension',
         '    table = []\n    for dtype in dtypes:\n        size = model_size_bytes(num_params, dtype)\n        table.append({"dtype": dtype, "bytes": size, "GB": size / 1e9,\n                      "compression": fp32_bytes / size})\n    return table',
         '    sizes = [model_size_bytes(num_params, dtype) for dtype in dtypes]\n    return [{"dtype": d, "bytes": s, "GB": s / 1e9, "compression": fp32_bytes / s}\n            for d, s in zip(dtypes, sizes)]'),
    ],
    'array_memory_report': [
        ('size × itemsize',
         'int(array.nbytes)',
         'int(array.size * array.itemsize)'),
    ],
    'generation_speed_bound': [
        ('tokens/s as the smaller of the two rates',
         '"tokens_per_s": float(batch_size / step_s)',
         '"tokens_per_s": float(min(batch_size / memory_s, batch_size / compute_s))'),
        ('bytes from bytes_per_element, compute time in another order',
         'memory_s = model_size_bytes(num_params, dtype) / bandwidth\n'
         '    compute_s = 2 * float(num_params) * batch_size / peak_flops',
         'memory_s = num_params * bytes_per_element(dtype) / bandwidth\n'
         '    compute_s = batch_size * num_params * 2 / peak_flops'),
        ('bound written the other way round',
         '"bound": "memory" if memory_s >= compute_s else "compute"',
         '"bound": "compute" if compute_s > memory_s else "memory"'),
        ('a plain int check and a separate check per argument',
         '    for name, value in (("bandwidth", bandwidth), ("peak_flops", peak_flops)):\n'
         '        if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):\n'
         '            raise TypeError(f"{name} must be a number, got {type(value).__name__}")\n'
         '        if not math.isfinite(value) or value <= 0:\n'
         '            raise ValueError(f"{name} must be positive and finite, got {value}")\n'
         '    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, Integral):',
         '    if isinstance(bandwidth, (bool, np.bool_)) or not isinstance(bandwidth, (int, float)):\n'
         '        raise TypeError("bandwidth must be a number")\n'
         '    if not 0 < bandwidth < math.inf:\n'
         '        raise ValueError(f"bandwidth must be positive and finite, got {bandwidth}")\n'
         '    if isinstance(peak_flops, (bool, np.bool_)) or not isinstance(peak_flops, (int, float)):\n'
         '        raise TypeError("peak_flops must be a number")\n'
         '    if not 0 < peak_flops < math.inf:\n'
         '        raise ValueError(f"peak_flops must be positive and finite, got {peak_flops}")\n'
         '    if isinstance(batch_size, bool) or not isinstance(batch_size, int):'),
    ],
}
