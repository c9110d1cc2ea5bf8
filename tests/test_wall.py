"""The wall between the grader and a learner's process: the plain-data codec and the sandbox."""
import functools
import io
import json
import os
import subprocess
import types

import numpy as np
import pytest

from course import sandbox
from course.notebooks import ROOT
from course.wire import (Decoder, Encoder, NotPlainData, WallError, WireError, apply_writeback,
                         receive, send)


def by_value(cls):
    return f"{cls.__module__}:{cls.__qualname__}" if cls.__module__.startswith("tinyquant") else None


def resolve(path):
    import importlib
    module, name = path.split(":")
    if not module.startswith("tinyquant"):
        raise WireError(f"no {path}")
    return getattr(importlib.import_module(module), name)


def round_trip(value):
    node = json.loads(json.dumps(Encoder(lambda v: None, by_value).encode(value)))
    return Decoder(resolve, lambda node: None).decode(node)


@pytest.mark.parametrize("value", [
    None, True, 3, -2 ** 70, 1.5, float("inf"), "text", complex(1, -2), (1, [2.0, {"a": (3,)}]),
    {(1, 2): "tuple key", 3: None}, np.float32(0.1), np.int8(-128), np.array(7),
    np.arange(12, dtype=np.uint16).reshape(3, 4), np.ones((2, 0)), np.array([True, False]),
    np.dtype("U3"), np.float64, int, types.SimpleNamespace(layers=[1, 2]),
])
def test_plain_data_comes_back_equal_and_of_the_same_type(value):
    back = round_trip(value)
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and np.array_equal(back, value)
    elif isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value


def test_objects_of_the_course_travel_by_value_and_keep_shared_parts_shared():
    from tinyquant.models import mlp
    model = mlp([4, 3, 2], rng=0)
    model.layers.append(model.layers[1])  # the same ReLU twice
    back = round_trip(model)
    assert type(back) is type(model) and back is not model
    assert back.layers[1] is back.layers[3]
    x = np.ones((2, 4), dtype=np.float32)
    assert np.array_equal(back(x[:, :4])[:, :2], model(x)[:, :2])


def test_a_generator_and_a_partial_travel_too():
    rng = np.random.default_rng(3)
    rng.random(5)
    assert round_trip(rng).random() == rng.random()
    callables = {"sorted": sorted}
    encoder = Encoder(lambda v: {"$": "callable", "name": v.__name__} if v is sorted else None, by_value)
    node = json.loads(json.dumps(encoder.encode(functools.partial(sorted, reverse=True))))
    back = Decoder(resolve, lambda node: callables[node["name"]]).decode(node)
    assert back([1, 3, 2]) == [3, 2, 1]


@pytest.mark.parametrize("value", [lambda: 1, open, object(), np.array([object()]), io.StringIO(),
                                   np.zeros(2, dtype=[("a", "i4")])])
def test_anything_else_does_not_cross(value):
    with pytest.raises(NotPlainData):
        Encoder(lambda v: None, by_value).encode(value)


def test_the_wall_errors_are_never_what_a_check_expects_from_the_learner():
    assert issubclass(NotPlainData, WallError) and issubclass(WireError, WallError)
    assert not issubclass(WallError, (TypeError, ValueError))


@pytest.mark.parametrize("node", [
    {"$": "ndarray", "dtype": "|O", "shape": [1], "data": ""},
    {"$": "ndarray", "dtype": "<f8", "shape": [3], "data": "AAAA"},
    {"$": "ndarray", "dtype": "<f8", "shape": [-1], "data": ""},
    {"$": "object", "class": "os:system", "state": {"$": "dict", "items": []}},
    {"$": "object", "class": "builtins:object", "state": {"$": "dict", "items": []}},
    {"$": "ref", "n": 5}, {"$": "arg", "n": 0}, {"$": "type", "name": "eval"}, ["untagged"],
    {"$": "dict", "items": [[{"$": "list", "items": []}, 1]]},
])
def test_what_a_learner_sends_is_checked(node):
    with pytest.raises(WireError):
        Decoder(resolve, lambda node: (_ for _ in ()).throw(WireError("?"))).decode(node)


def test_a_message_over_the_limit_is_refused_unread():
    stream = io.BytesIO()
    send(stream, {"x": "y" * 1000})
    stream.seek(0)
    with pytest.raises(WireError):
        receive(stream, 100)


def test_writeback_changes_the_graders_own_objects_in_place():
    out, items, names = np.zeros(3), [1, 2], {"a": 1}
    apply_writeback(out, np.array([1.0, 2.0, 3.0]))
    apply_writeback(items, [3])
    apply_writeback(names, {"b": 2})
    assert out.tolist() == [1, 2, 3] and items == [3] and names == {"b": 2}
    with pytest.raises(WireError):
        apply_writeback(out, np.zeros(4))


# ---------------------------------------------------------------------------------- sandbox
def run_inside(tmp_path, code: str) -> subprocess.CompletedProcess:
    tmp_path.chmod(0o755)
    job = tmp_path / "job"
    job.mkdir()
    sandbox.prepare_folder(job)
    return subprocess.run([*sandbox.wrap(job, None, sandbox.Limits()), "python", "-c", code],
                          capture_output=True, text=True, preexec_fn=sandbox.Limits().apply, timeout=60)


@pytest.fixture(scope="module")
def isolated():
    ok, why = sandbox.status()
    if not ok:
        pytest.fail(f"no sandbox here ({why}); `make test` installs it")


def test_the_sandbox_sees_no_repository_and_writes_only_its_folder(isolated, tmp_path):
    done = run_inside(tmp_path, f"""
import os, pathlib
print(os.path.exists({str(ROOT / 'source')!r}), os.path.exists({str(ROOT / 'autograder')!r}))
for target in ("/usr/x", "/etc/x", {str(ROOT / 'x')!r}):
    try:
        open(target, "w")
        print("wrote", target)
    except OSError:
        pass
pathlib.Path("/job/mine").write_text("ok")
print(os.getuid(), os.getpid())
""")
    lines = done.stdout.split("\n")
    assert lines[0] == "False False" and "wrote" not in done.stdout, done.stdout + done.stderr
    uid, pid = map(int, lines[1].split())
    assert pid < 10  # its own pid namespace
    if os.geteuid() == 0:
        assert uid == sandbox.grading_user().pw_uid
    assert (tmp_path / "job" / "mine").read_text() == "ok"


def test_the_sandbox_has_no_network_and_limits(isolated, tmp_path):
    done = run_inside(tmp_path, """
import resource, socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    print("network")
except OSError:
    print("no network")
print(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0])
try:
    bytearray(6 << 30)
except MemoryError:
    print("memory limited")
""")
    assert done.stdout.split("\n")[:3] == ["no network", f"{4 << 30} {64 << 20}", "memory limited"], done.stderr
