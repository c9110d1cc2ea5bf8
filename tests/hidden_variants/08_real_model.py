"""Chapter 08_real_model: WRONG and RIGHT variants of its exercises, as tests/test_hidden_tests.py reads them."""

_QUANTIZE_LOOP = (
    "    layers = list(model.layers)  # a new list: the float model keeps its own\n"
    "    for index in inputs:\n"
    "        layers[index] = QuantizedLinear.from_float(model.layers[index]).calibrate(inputs[index], observer=observer())\n")

_QUANTIZE_SOLUTION = (
    "    inputs = {index: [] for index, layer in enumerate(model.layers) if isinstance(layer, Linear)}\n"
    "    for batch in tqdm(batches, desc=\"calibrating\", unit=\"batch\", disable=not progress):\n"
    "        x = batch\n"
    "        for index, layer in enumerate(model.layers):\n"
    "            if index in inputs:\n"
    "                inputs[index].append(x)\n"
    "            x = layer(x)\n" + _QUANTIZE_LOOP)

_MEMORY_SOLUTION = (
    "    total = 0\n"
    "    for layer in layers:\n"
    "        for value in vars(layer).values():\n"
    "            if isinstance(value, np.ndarray):\n"
    "                total += value.nbytes\n"
    "    return int(total)")

_GROUPWISE_SOLUTION = (
    "    qmax = 2 ** (num_bits - 1) - 1\n"
    "    groups = weight.reshape(out_features, in_features // group_size, group_size)\n"
    "    amax = np.abs(groups).max(axis=-1)\n"
    "    scales = np.where(amax == 0, np.float32(1.0), np.maximum(amax / np.float32(qmax), np.float32(FLOAT32_TINY)))\n"
    "    scales = scales.astype(np.float32)\n"
    "    q = np.clip(np.rint(groups / scales[..., None]), -qmax, qmax).astype(np.int8)\n"
    "    return q.reshape(out_features, in_features), scales")

_COMPARE_SOLUTION = (
    "    results = {}\n"
    "    for name, model in models.items():\n"
    "        began = time.perf_counter()\n"
    "        logits = model(inputs)\n"
    "        seconds = time.perf_counter() - began\n"
    "        results[name] = {\"accuracy\": accuracy(logits, targets), \"perplexity\": perplexity(logits, targets),\n"
    "                         \"bytes\": model_memory_bytes(model), \"seconds\": seconds}\n"
    "    base = results[\"FP32\"]\n"
    "    for row in results.values():\n"
    "        row[\"accuracy_drop_pp\"] = 100.0 * (base[\"accuracy\"] - row[\"accuracy\"])\n"
    "        row[\"perplexity_increase_pct\"] = 100.0 * (row[\"perplexity\"] / base[\"perplexity\"] - 1.0)\n"
    "        row[\"size_reduction\"] = base[\"bytes\"] / row[\"bytes\"]\n"
    "        row[\"speedup\"] = base[\"seconds\"] / row[\"seconds\"]\n"
    "    return results")

WRONG = {
    'accuracy': [
        ('argmax over axis 0 (the examples)',
         'logits.argmax(axis=-1)',
         'logits.argmax(axis=0)'),
        ('argmax over axis 1 (right for 2-D logits only)',
         'logits.argmax(axis=-1)',
         'logits.argmax(axis=1)'),
        ('argmax of the flattened logits',
         'logits.argmax(axis=-1)',
         'logits.argmax()'),
        ('argmin',
         'logits.argmax(axis=-1)',
         'logits.argmin(axis=-1)'),
        ('a percentage instead of a fraction',
         'float(np.mean(predictions == targets))',
         'float(100 * np.mean(predictions == targets))'),
        ('a count instead of a fraction',
         'float(np.mean(predictions == targets))',
         'float(np.sum(predictions == targets))'),
    ],
    'perplexity': [
        ('exp of the summed negative log-likelihood',
         'np.exp(np.mean(log_normalizer - picked))',
         'np.exp(np.sum(log_normalizer - picked))'),
        ('the mean NLL in bits, exponentiated with e',
         'np.exp(np.mean(log_normalizer - picked))',
         'np.exp(np.mean(log_normalizer - picked) / np.log(2))'),
        ('2 to the power of the mean NLL in nats',
         'np.exp(np.mean(log_normalizer - picked))',
         '2.0 ** np.mean(log_normalizer - picked)'),
        ('log2 in the log-sum-exp',
         'np.log(np.exp(logits - peak).sum(axis=-1))',
         'np.log2(np.exp(logits - peak).sum(axis=-1))'),
        ('no max subtraction (overflows)',
         'peak = logits.max(axis=-1, keepdims=True)',
         'peak = np.zeros_like(logits[..., :1])'),
        ('the mean NLL without exp (cross-entropy, not perplexity)',
         'np.exp(np.mean(log_normalizer - picked))',
         'np.mean(log_normalizer - picked)'),
        ('mean of per-sequence perplexities',
         'float(np.exp(np.mean(log_normalizer - picked)))',
         'float(np.mean(np.exp(np.mean(log_normalizer - picked, axis=-1))))'),
        ('inverse of the mean probability',
         'float(np.exp(np.mean(log_normalizer - picked)))',
         'float(1.0 / np.mean(np.exp(picked - log_normalizer)))'),
        ('forgets the normalizer (logits taken as log-probabilities)',
         'np.mean(log_normalizer - picked)',
         'np.mean(-picked)'),
    ],
    'model_memory_bytes': [
        ('4 bytes per element whatever the dtype',
         'total += value.nbytes',
         'total += 4 * value.size'),
        ('only float Linear layers',
         '    for layer in layers:\n',
         '    for layer in [layer for layer in layers if isinstance(layer, Linear)]:\n'),
        ('only the weight and bias attributes',
         'for value in vars(layer).values():',
         'for value in (getattr(layer, "weight", None), getattr(layer, "bias", None)):'),
        ('the FP32 size of quantized layers',
         _MEMORY_SOLUTION,
         '    return int(sum(layer.weight_bytes_fp32() if isinstance(layer, QuantizedLinear)\n'
         '                   else sum(v.nbytes for v in vars(layer).values() if isinstance(v, np.ndarray))\n'
         '                   for layer in layers))'),
        ('also counts the arrays of the model object',
         '    return int(total)',
         '    return int(total + sum(v.nbytes for v in vars(model).values() if isinstance(v, np.ndarray)))'),
        ('counts elements, not bytes',
         'total += value.nbytes',
         'total += value.size'),
    ],
    'calibration_data': [
        ('calibrates on the test split',
         'x_train[start',
         'x_test[start'),
        ('a single batch of 64 images',
         'calibration_data = [x_train[start:start + 64] for start in range(0, 8 * 64, 64)]',
         'calibration_data = [x_train[:64], x_train[64:96]]'),
        ('half training, half test images',
         'calibration_data = [x_train[start:start + 64] for start in range(0, 8 * 64, 64)]',
         'calibration_data = [x_train[:256], x_test[:256]]'),
        ('the whole data set, test split included',
         'calibration_data = [x_train[start:start + 64] for start in range(0, 8 * 64, 64)]',
         'calibration_data = list(np.concatenate([x_test, x_train]).reshape(-1, 1, 64)[:600].reshape(-1, 100, 64))'),
    ],
    'quantize_model': [
        ('quantizes the float model in place (shares its list)',
         'layers = list(model.layers)  # a new list: the float model keeps its own',
         'layers = model.layers'),
        ('forgets the last Linear',
         '    for index in inputs:\n',
         '    for index in list(inputs)[:-1]:\n'),
        ('forgets the first Linear',
         '    for index in inputs:\n',
         '    for index in list(inputs)[1:]:\n'),
        ('one observer shared by all layers',
         _QUANTIZE_LOOP,
         '    layers = list(model.layers)\n'
         '    shared = observer()\n'
         '    for index in inputs:\n'
         '        layers[index] = QuantizedLinear.from_float(model.layers[index]).calibrate(inputs[index], observer=shared)\n'),
        ('ignores the observer argument',
         'observer=observer())',
         'observer=None)'),
        ('keeps the FP32 weights',
         'QuantizedLinear.from_float(model.layers[index])',
         'QuantizedLinear.from_float(model.layers[index], keep_float=True)'),
        ('no calibration: dynamic activations',
         '.calibrate(inputs[index], observer=observer())',
         ''),
        ('observes the model input for every layer (no forward pass)',
         '            x = layer(x)\n',
         ''),
        ('forward pass skips the ReLUs',
         '            x = layer(x)\n',
         '            x = layer(x) if isinstance(layer, Linear) else x\n'),
        ('calibrates on the first batch only',
         'for batch in tqdm(batches,',
         'for batch in tqdm(batches[:1],'),
        ('observes each layer\'s output instead of its input',
         '            if index in inputs:\n                inputs[index].append(x)\n            x = layer(x)\n',
         '            x = layer(x)\n            if index in inputs:\n                inputs[index].append(x)\n'),
        ('uint8 zero point used as int8',
         _QUANTIZE_LOOP,
         '    layers = list(model.layers)\n'
         '    for index in inputs:\n'
         '        obs = observer()\n'
         '        for x in inputs[index]:\n'
         '            obs.observe(x)\n'
         '        scale, zero_point = obs.quant_params(num_bits=8, symmetric=False)\n'
         '        layers[index] = QuantizedLinear.from_float(model.layers[index]).set_activation_params(scale, min(int(zero_point), 127))\n'),
    ],
    'quantize_groupwise': [
        ('strided groups (reshape to (out, G, in/G))',
         'groups = weight.reshape(out_features, in_features // group_size, group_size)',
         'groups = weight.reshape(out_features, group_size, in_features // group_size).transpose(0, 2, 1)'),
        ('one scale per row: ignores group_size',
         'amax = np.abs(groups).max(axis=-1)',
         'amax = np.broadcast_to(np.abs(groups).max(axis=(1, 2))[:, None], groups.shape[:2])'),
        ('divides by 2**(b-1)',
         'amax / np.float32(qmax)',
         'amax / np.float32(qmax + 1)'),
        ('ignores num_bits (always 4 bits)',
         'qmax = 2 ** (num_bits - 1) - 1',
         'qmax = 7'),
        ('floor instead of round',
         'np.rint(',
         'np.floor('),
        ('max(w) instead of max|w|',
         'amax = np.abs(groups).max(axis=-1)',
         'amax = groups.max(axis=-1)'),
        ('no guard for all-zero groups',
         'np.where(amax == 0, np.float32(1.0), np.maximum(amax / np.float32(qmax), np.float32(FLOAT32_TINY)))',
         'np.maximum(amax / np.float32(qmax), np.float32(FLOAT32_TINY))'),
        ('no floor for tiny groups',
         'np.maximum(amax / np.float32(qmax), np.float32(FLOAT32_TINY))',
         'amax / np.float32(qmax)'),
        ('int64 codes',
         '.astype(np.int8)',
         '.astype(np.int64)'),
    ],
    'compare_model_quality': [
        ('evaluates the FP32 model under every name',
         'logits = model(inputs)',
         'logits = model_fp32(inputs)'),
        ('size reduction inverted (bytes / FP32 bytes)',
         'base["bytes"] / row["bytes"]',
         'row["bytes"] / base["bytes"]'),
        ('accuracy drop with the wrong sign',
         '100.0 * (base["accuracy"] - row["accuracy"])',
         '100.0 * (row["accuracy"] - base["accuracy"])'),
        ('accuracy drop as a fraction, not percentage points',
         '100.0 * (base["accuracy"] - row["accuracy"])',
         'base["accuracy"] - row["accuracy"]'),
        ('perplexity increase as an absolute difference',
         '100.0 * (row["perplexity"] / base["perplexity"] - 1.0)',
         'row["perplexity"] - base["perplexity"]'),
        ('perplexity increase relative to the new model',
         '100.0 * (row["perplexity"] / base["perplexity"] - 1.0)',
         '100.0 * (1.0 - base["perplexity"] / row["perplexity"])'),
        ('ignores the other models',
         '    for name, model in models.items():\n',
         '    for name, model in list(models.items())[:2]:\n'),
        ('the FP32 model\'s bytes for every model',
         'model_memory_bytes(model)',
         'model_memory_bytes(model_fp32)'),
    ],
}

RIGHT = {
    'accuracy': [
        ('np.argmax with axis=ndim-1 and count_nonzero',
         '    predictions = logits.argmax(axis=-1)\n    return float(np.mean(predictions == targets))',
         '    hits = np.count_nonzero(np.argmax(logits, axis=logits.ndim - 1) == targets)\n'
         '    return hits / targets.size'),
        ('a loop over the flattened positions',
         '    predictions = logits.argmax(axis=-1)\n    return float(np.mean(predictions == targets))',
         '    rows = logits.reshape(-1, logits.shape[-1])\n'
         '    hits = 0\n'
         '    for row, target in zip(rows, targets.reshape(-1)):\n'
         '        hits += int(np.argmax(row) == target)\n'
         '    return hits / len(rows)'),
    ],
    'perplexity': [
        ('a log-softmax, then math.exp',
         '    peak = logits.max(axis=-1, keepdims=True)\n'
         '    log_normalizer = peak[..., 0] + np.log(np.exp(logits - peak).sum(axis=-1))\n'
         '    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]\n'
         '    return float(np.exp(np.mean(log_normalizer - picked)))',
         '    z = logits - logits.max(axis=-1, keepdims=True)\n'
         '    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))\n'
         '    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1)\n'
         '    return math.exp(nll.mean())'),
        ('bits and a power of 2',
         'float(np.exp(np.mean(log_normalizer - picked)))',
         'float(2.0 ** (np.mean(log_normalizer - picked) / np.log(2)))'),
        ('flattened rows and fancy indexing',
         '    picked = np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]\n',
         '    flat = logits.reshape(-1, logits.shape[-1])\n'
         '    picked = flat[np.arange(len(flat)), targets.reshape(-1)].reshape(targets.shape)\n'),
    ],
    'model_memory_bytes': [
        ('one generator expression over __dict__',
         _MEMORY_SOLUTION,
         '    return sum(v.nbytes for layer in layers for v in layer.__dict__.values() if isinstance(v, np.ndarray))'),
    ],
    'calibration_data': [
        ('512 random training rows in 8 batches',
         'calibration_data = [x_train[start:start + 64] for start in range(0, 8 * 64, 64)]',
         'chosen = np.random.default_rng(0).choice(len(x_train), size=512, replace=False)\n'
         'calibration_data = list(x_train[chosen].reshape(8, 64, 64))'),
        ('np.array_split into 4 batches',
         'calibration_data = [x_train[start:start + 64] for start in range(0, 8 * 64, 64)]',
         'calibration_data = np.array_split(x_train[:300], 4)'),
    ],
    'quantize_model': [
        ('observers fed as the batches go, then set_activation_params',
         _QUANTIZE_SOLUTION,
         '    observers = {index: observer() for index, layer in enumerate(model.layers) if isinstance(layer, Linear)}\n'
         '    for batch in tqdm(batches, disable=not progress):\n'
         '        x = batch\n'
         '        for index, layer in enumerate(model.layers):\n'
         '            if index in observers:\n'
         '                observers[index].observe(x)\n'
         '            x = layer(x)\n'
         '    layers = []\n'
         '    for index, layer in enumerate(model.layers):\n'
         '        if index in observers:\n'
         '            scale, zero_point = observers[index].quant_params(num_bits=8, symmetric=False)\n'
         '            layer = QuantizedLinear.from_float(layer).set_activation_params(scale, int(zero_point) - 128)\n'
         '        layers.append(layer)\n'),
        ('a deep copy of the other layers',
         'layers = list(model.layers)  # a new list: the float model keeps its own',
         'layers = copy.deepcopy(model.layers)'),
    ],
    'quantize_groupwise': [
        ('a loop over the groups',
         _GROUPWISE_SOLUTION,
         '    qmax = 2 ** (num_bits - 1) - 1\n'
         '    q = np.zeros(weight.shape, dtype=np.int8)\n'
         '    scales = np.zeros((out_features, in_features // group_size), dtype=np.float32)\n'
         '    for g in range(in_features // group_size):\n'
         '        block = weight[:, g * group_size:(g + 1) * group_size]\n'
         '        amax = np.abs(block).max(axis=1)\n'
         '        s = np.where(amax == 0, 1.0, np.maximum(amax / qmax, FLOAT32_TINY)).astype(np.float32)\n'
         '        scales[:, g] = s\n'
         '        q[:, g * group_size:(g + 1) * group_size] = np.clip(np.rint(block / s[:, None]), -qmax, qmax)\n'
         '    return q, scales'),
        ("chapter 04's quantize_per_channel on the groups as rows",
         _GROUPWISE_SOLUTION,
         '    from tinyquant.per_channel import quantize_per_channel\n'
         '    q, scales = quantize_per_channel(weight.reshape(-1, group_size), axis=0, num_bits=num_bits)\n'
         '    return q.reshape(out_features, in_features).astype(np.int8), scales.astype(np.float32).reshape(out_features, -1)'),
    ],
    'compare_model_quality': [
        ('one loop, FP32 first, relative numbers as it goes',
         _COMPARE_SOLUTION,
         '    results = {}\n'
         '    for name, model in models.items():\n'
         '        t0 = time.perf_counter()\n'
         '        logits = model(inputs)\n'
         '        row = {"accuracy": accuracy(logits, targets), "perplexity": perplexity(logits, targets),\n'
         '               "bytes": model_memory_bytes(model), "seconds": time.perf_counter() - t0}\n'
         '        base = results.get("FP32", row)\n'
         '        row.update(accuracy_drop_pp=100 * (base["accuracy"] - row["accuracy"]),\n'
         '                   perplexity_increase_pct=100 * (row["perplexity"] - base["perplexity"]) / base["perplexity"],\n'
         '                   size_reduction=base["bytes"] / row["bytes"], speedup=base["seconds"] / row["seconds"])\n'
         '        results[name] = row\n'
         '    return results'),
    ],
}
