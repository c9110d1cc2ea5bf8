"""Plain data across the sandbox wall: what the grader and a learner's process may exchange.

The grader never unpickles anything from a learner's process: what comes back is JSON with
tagged nodes, decoded here into a closed set of types (``None``, ``bool``, ``int``, ``float``,
``str``, ``list``, ``tuple``, ``dict``, ``numpy.ndarray`` of a numeric or bool dtype, NumPy
scalars of those dtypes), plus three things the grader controls:

- **objects by value**: an instance of a class of ``tinyquant`` or of the chapter's provided
  code travels as its class's path and its ``__dict__``; the receiving side rebuilds it with
  its *own* class of that path (``resolve_class``), never with code from the sender;
- **handles**: an instance of an exercise class (``MinMaxObserver``, ``QuantizedLinear``...)
  stays in the learner's process; the grader holds a numbered handle to it;
- **references** to objects that came in as arguments of the same call (``{"$": "arg"}``), so
  that a function returning or keeping its argument keeps identity (``q is out``), and to an
  object met earlier in the same value (``{"$": "ref"}``).

Every node that can be mutated (arrays, lists, dicts, objects) carries a number, ``n``: the
learner's side reports the nodes a call changed (``writeback``) and the grader applies the
change to its own objects, as if the call had run in its process.
"""
from __future__ import annotations

import base64
import functools
import json
import struct
import types

import numpy as np

# Kinds of NumPy dtypes that are plain data: bool, signed and unsigned integers, floats, complex.
PLAIN_KINDS = "biufc"
# Types that may travel as themselves (``model_size_bytes(n, float)``, ``dtype=np.float32``).
PYTHON_TYPES = {"bool": bool, "int": int, "float": float, "complex": complex, "str": str}
HEADER = struct.Struct(">Q")


class WallError(Exception):
    """Something went wrong crossing the wall. Deliberately neither a TypeError nor a
    ValueError: a check expecting the learner's function to raise one of those must never
    be satisfied by the wall itself."""


class WireError(WallError):
    """What was received is not plain data of the agreed form."""


class NotPlainData(WallError):
    """A value that cannot cross the wall (a lambda, a file, an object of an unknown class)."""


# ---------------------------------------------------------------------------------- framing
def send(stream, message: dict) -> int:
    """Write one length-prefixed JSON message; returns its size in bytes."""
    payload = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()
    return len(payload)


def read_exactly(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(stream, limit: int) -> dict:
    """Read one message of at most `limit` bytes (a larger one is refused unread)."""
    (size,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    if size > limit:
        raise WireError(f"a message of {size:,} bytes is over the limit of {limit:,}")
    try:
        message = json.loads(read_exactly(stream, size))
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, an int of 5000 digits
        raise WireError(f"not a JSON message: {error}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message


# ---------------------------------------------------------------------------------- arrays
def encode_array(array: np.ndarray) -> dict:
    if array.dtype.kind not in PLAIN_KINDS or array.dtype.fields is not None:
        raise NotPlainData(f"an array of dtype {array.dtype} is not plain data")
    return {"$": "ndarray", "dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes(order="C")).decode("ascii")}


def decode_dtype(text) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise WireError(f"bad dtype {text!r}")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise WireError(f"bad dtype {text!r}") from None
    if dtype.kind not in PLAIN_KINDS or dtype.fields is not None or dtype.hasobject:
        raise WireError(f"dtype {dtype} is not plain data")
    return dtype


def decode_array(node: dict) -> np.ndarray:
    dtype = decode_dtype(node.get("dtype"))
    shape = node.get("shape")
    if not (isinstance(shape, list) and len(shape) <= 32
            and all(type(n) is int and n >= 0 for n in shape)):
        raise WireError(f"bad shape {shape!r}")
    data = base64.b64decode(node.get("data", ""), validate=True)
    if len(data) != int(np.prod(shape, dtype=object)) * dtype.itemsize:
        raise WireError("array data does not match its shape and dtype")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


# ---------------------------------------------------------------------------------- encoding
class Encoder:
    """Turns values into tagged JSON nodes.

    Parameters
    ----------
    by_reference : callable(obj) -> dict or None
        Gives the node for an object that must not be copied (a handle, a callable sent by
        name, a reference to an argument), or None to encode the object by value.
    class_path : callable(cls) -> str or None
        The path of a class whose instances may travel by value, or None if they may not.
    """

    def __init__(self, by_reference, class_path):
        self.by_reference = by_reference
        self.class_path = class_path
        self.numbered: dict[int, int] = {}  # id(obj) -> n, for the nodes of this encoding
        self.objects: list = []             # n -> obj (kept alive, so ids stay unique)

    def number(self, value) -> int:
        self.numbered[id(value)] = len(self.objects)
        self.objects.append(value)
        return len(self.objects) - 1

    def encode(self, value, depth: int = 0):
        if depth > 64:
            raise NotPlainData("a value nested more than 64 levels deep")
        if value is None or type(value) in (bool, int, float, str):
            return value  # JSON holds ints of any size, and NaN and inf as Python writes them
        special = self.by_reference(value)
        if special is not None:
            return special
        if id(value) in self.numbered:  # the same object twice in one value: one node
            return {"$": "ref", "n": self.numbered[id(value)]}
        if isinstance(value, np.dtype):
            if value.fields is not None:
                raise NotPlainData(f"a structured dtype {value} is not plain data")
            return {"$": "dtype", "name": value.str}
        if isinstance(value, type) and (issubclass(value, np.generic) or value in PYTHON_TYPES.values()):
            return {"$": "type", "name": value.__name__}
        if type(value) is np.random.Generator:
            state = value.bit_generator.state
            if state.get("bit_generator") != "PCG64":
                raise NotPlainData(f"a {state.get('bit_generator')} generator is not plain data")
            return {"$": "generator", "n": self.number(value), "state": self.encode(state, depth + 1)}
        if type(value) is complex:
            return {"$": "complex", "real": value.real, "imag": value.imag}
        if isinstance(value, np.generic):
            if value.dtype.kind not in PLAIN_KINDS:
                raise NotPlainData(f"a NumPy scalar of dtype {value.dtype} is not plain data")
            return {"$": "scalar", "dtype": value.dtype.str,
                    "data": base64.b64encode(value.tobytes()).decode("ascii")}
        if type(value) is np.ndarray:
            return {**encode_array(value), "n": self.number(value)}
        if type(value) is tuple:
            return {"$": "tuple", "items": [self.encode(v, depth + 1) for v in value]}
        if type(value) is list:
            n = self.number(value)
            return {"$": "list", "n": n, "items": [self.encode(v, depth + 1) for v in value]}
        if type(value) is dict:
            n = self.number(value)
            return {"$": "dict", "n": n, "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                                   for k, v in value.items()]}
        if type(value) is types.SimpleNamespace:
            n = self.number(value)
            return {"$": "namespace", "n": n, "state": self.encode(vars(value), depth + 1)}
        if type(value) is functools.partial:
            return {"$": "partial", "func": self.encode(value.func, depth + 1),
                    "args": self.encode(value.args, depth + 1),
                    "kwargs": self.encode(value.keywords, depth + 1)}
        if isinstance(value, types.GeneratorType) or type(value).__name__.endswith("iterator"):
            return {"$": "iter", "items": [self.encode(v, depth + 1) for v in value]}
        path = self.class_path(type(value))
        if path is None or not hasattr(value, "__dict__"):
            raise NotPlainData(f"a {type(value).__module__}.{type(value).__qualname__} "
                               "is not plain data")
        n = self.number(value)
        return {"$": "object", "n": n, "class": path, "state": self.encode(dict(vars(value)), depth + 1)}


# ---------------------------------------------------------------------------------- decoding
class Decoder:
    """Turns tagged JSON nodes back into values.

    Parameters
    ----------
    resolve_class : callable(path) -> class
        This side's own class for a by-value object's path; raises WireError if not allowed.
    resolve_special : callable(node) -> value
        Handles, callables by name: whatever ``by_reference`` of the other side produced.
    known : dict[int, object], optional
        The objects of an earlier encoding on this side, by number, for ``ref`` nodes that
        point back to them (the grader's arguments of the call being answered).
    """

    def __init__(self, resolve_class, resolve_special, known=None):
        self.resolve_class = resolve_class
        self.resolve_special = resolve_special
        self.known = dict(known or {})
        self.decoded: dict[int, object] = {}  # n -> the object built for that node

    def keep(self, node, value):
        n = node.get("n")
        if type(n) is int:
            self.decoded[n] = value
        return value

    def decode(self, node, depth: int = 0):
        if depth > 64:
            raise WireError("a value nested more than 64 levels deep")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            raise WireError("an untagged list")
        if type(node) is not dict:
            raise WireError(f"unexpected node {type(node).__name__}")
        tag = node.get("$")
        if tag == "dtype":  # any simple dtype, a string or object one too: it is only a name
            name = node.get("name")
            try:
                dtype = np.dtype(name) if isinstance(name, str) and len(name) <= 16 else None
            except TypeError:
                dtype = None
            if dtype is None or dtype.fields is not None:
                raise WireError(f"bad dtype {name!r}")
            return dtype
        if tag == "type":
            name = node.get("name")
            cls = PYTHON_TYPES.get(name) or getattr(np, name, None) if isinstance(name, str) else None
            if not (isinstance(cls, type) and (cls in PYTHON_TYPES.values() or issubclass(cls, np.generic))):
                raise WireError(f"bad type {name!r}")
            return cls
        if tag == "generator":
            generator = np.random.Generator(np.random.PCG64())
            try:
                generator.bit_generator.state = self.state(node, depth)
            except (TypeError, ValueError, KeyError):
                raise WireError("bad generator state") from None
            return self.keep(node, generator)
        if tag == "complex":
            real, imag = node.get("real"), node.get("imag")
            if type(real) not in (int, float) or type(imag) not in (int, float):
                raise WireError("bad complex number")
            return complex(real, imag)
        if tag == "scalar":
            dtype = decode_dtype(node.get("dtype"))
            data = base64.b64decode(node.get("data", ""), validate=True)
            if len(data) != dtype.itemsize:
                raise WireError("bad scalar")
            return np.frombuffer(data, dtype=dtype)[0]
        if tag == "ndarray":
            return self.keep(node, decode_array(node))
        if tag == "tuple":
            return tuple(self.decode(v, depth + 1) for v in self.items(node))
        if tag == "list":
            result = self.keep(node, [])
            result.extend(self.decode(v, depth + 1) for v in self.items(node))
            return result
        if tag == "dict":
            result = self.keep(node, {})
            for pair in self.items(node):
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("bad dict item")
                key = self.decode(pair[0], depth + 1)
                try:
                    result[key] = self.decode(pair[1], depth + 1)
                except TypeError:
                    raise WireError(f"unhashable dict key {type(key).__name__}") from None
            return result
        if tag == "namespace":
            result = self.keep(node, types.SimpleNamespace())
            result.__dict__.update(self.state(node, depth))
            return result
        if tag == "object":
            cls = self.resolve_class(node.get("class"))
            result = self.keep(node, cls.__new__(cls))
            result.__dict__.update(self.state(node, depth))
            return result
        if tag == "ref":  # the same object earlier in this value
            if node.get("n") not in self.decoded:
                raise WireError(f"a reference to unknown node {node.get('n')!r}")
            return self.decoded[node["n"]]
        if tag == "arg":  # an object of the call's arguments, on this side
            if node.get("n") not in self.known:
                raise WireError(f"a reference to unknown argument {node.get('n')!r}")
            return self.known[node["n"]]
        if tag == "iter":
            return iter([self.decode(v, depth + 1) for v in self.items(node)])
        if tag == "partial":
            func = self.decode(node.get("func"), depth + 1)
            args, kwargs = self.decode(node.get("args"), depth + 1), self.decode(node.get("kwargs"), depth + 1)
            if not (callable(func) and type(args) is tuple and type(kwargs) is dict):
                raise WireError("bad partial")
            return functools.partial(func, *args, **kwargs)
        return self.resolve_special(node)

    @staticmethod
    def items(node) -> list:
        items = node.get("items")
        if type(items) is not list:
            raise WireError("missing items")
        return items

    def state(self, node, depth) -> dict:
        state = self.decode(node.get("state"), depth + 1)
        if type(state) is not dict or not all(type(k) is str for k in state):
            raise WireError("an object's state must be a dict with str keys")
        return state


def apply_writeback(target, value) -> None:
    """Make the grader's `target` hold `value`, in place (what the learner's call did to it)."""
    if isinstance(target, np.ndarray):
        if not (isinstance(value, np.ndarray) and value.shape == target.shape):
            raise WireError("an array argument changed its shape")
        np.copyto(target, value, casting="unsafe")
    elif type(target) is list and type(value) is list:
        target[:] = value
    elif type(target) is dict and type(value) is dict:
        target.clear()
        target.update(value)
    elif type(target) is np.random.Generator and type(value) is np.random.Generator:
        target.bit_generator.state = value.bit_generator.state
    elif hasattr(target, "__dict__") and type(value) is type(target):
        target.__dict__.clear()
        target.__dict__.update(vars(value))
    else:
        raise WireError(f"cannot write a {type(value).__name__} back into a {type(target).__name__}")
