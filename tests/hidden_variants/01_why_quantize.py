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
}
