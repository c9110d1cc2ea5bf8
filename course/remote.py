"""The grader's side of the wall: a learner's process, and stand-ins for its exercises.

``Learner`` starts ``course.worker`` in the sandbox, collects the outputs of the notebook's
cells, then sends calls. In the grader's namespace each exercise name is a stand-in:

- ``RemoteFunction``: calling it sends the arguments (plain data) and returns the answer,
  decoded as plain data; the learner's exception comes back as the same built-in exception
  (``ValueError``, ``TypeError``...), so ``check.raises`` works as in a notebook;
- ``RemoteClass``: calling it makes an instance in the learner's process and returns a
  ``Handle``; ``isinstance(handle, RemoteClass)`` works; class attributes and class methods
  (``QuantizedLinear.from_float``) are reached the same way;
- ``Handle``: attribute reads, writes and method calls go to the learner's object.

Arrays and objects given as arguments are updated in place when the learner's function
changed them, and an argument returned comes back as the grader's own object (``course.wire``).
"""
from __future__ import annotations

import builtins
import importlib
import queue
import threading
import time
import types

import numpy as np

from . import sandbox
from .wire import (PYTHON_TYPES, Decoder, Encoder, NotPlainData, WallError, WireError, apply_writeback,
                   receive, send)

# Exceptions a learner's function may raise that come back as themselves.
BUILTIN_ERRORS = {name: getattr(builtins, name) for name in dir(builtins)
                  if isinstance(getattr(builtins, name), type)
                  and issubclass(getattr(builtins, name), Exception)}
BUILTIN_ERRORS["AxisError"] = np.exceptions.AxisError


class RemoteFailure(WallError):
    """The learner's process did not answer: it died, timed out or sent something invalid."""


class LearnerError(Exception):
    """An exception of a type the grader does not know (the learner's own class, say)."""


class Learner:
    """One sandboxed learner process: its notebook's outputs, then calls to its exercises.

    Parameters
    ----------
    start : callable() -> subprocess.Popen
        Starts the worker (in the sandbox) with pipes on stdin and stdout.
    namespace : dict
        The grader's namespace for the chapter, where provided classes are found by name.
    exercises : set of str
        The names the learner's notebook must define.
    call_timeout : float
        Seconds a call may take before the process is stopped.
    reply_limit : int
        Largest answer accepted, in bytes.
    """

    def __init__(self, start, namespace: dict, exercises: set[str], call_timeout: float,
                 reply_limit: int = 256 << 20):
        self.start_process = start
        self.namespace = namespace
        self.exercises = exercises
        self.call_timeout = call_timeout
        self.reply_limit = reply_limit
        self.process = None
        self.generation = 0
        self.kinds: dict[str, str] = {}
        self.handles: dict[int, Handle] = {}
        self.last_failure: tuple[str, str] | None = None  # (what was called, exception type)

    # ------------------------------------------------------------------ process
    def launch(self) -> None:
        """Start the process, which runs the notebook. From the main thread: the sandbox dies
        with the thread that started it (``--die-with-parent``)."""
        self.stop()
        self.generation += 1
        self.handles = {}
        self.process = self.start_process()
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(self.process, self.messages), daemon=True).start()

    def wait_ready(self, on_event, deadline: float) -> str:
        """Follow the notebook's run; `on_event(message)` sees each cell's events.

        Returns "ready", or why not: "died" (with the cell it was in), "timeout", "garbled".
        """
        while True:
            message = self._next(deadline - time.monotonic())
            if message is None:
                self.stop()
                return "timeout"
            if isinstance(message, BaseException):
                self.stop()
                return "died" if isinstance(message, EOFError) else "garbled"
            if message.get("event") == "ready":
                kinds = message.get("kinds")
                if not isinstance(kinds, dict):
                    self.stop()
                    return "garbled"
                self.kinds = {name: kinds.get(name, "missing") for name in self.exercises}
                return "ready"
            on_event(message)

    def _read(self, process, messages) -> None:
        try:
            while True:
                messages.put(receive(process.stdout, self.reply_limit))
        except BaseException as error:  # EOF, a message too large, not JSON
            messages.put(error)

    def _next(self, timeout: float):
        try:
            return self.messages.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
        self.process = None

    # ------------------------------------------------------------------ calls
    def request(self, op: str, target: dict, what: str, args=(), kwargs=None, value=None):
        if not self.alive():
            raise RemoteFailure(f"{what}: the learner's process is not running")
        encoder = Encoder(self.by_reference, self.class_path)
        message = {"op": op, "target": target, "args": encoder.encode(tuple(args)),
                   "kwargs": encoder.encode(dict(kwargs or {})), "value": encoder.encode(value)}
        try:
            send(self.process.stdin, message)
        except (BrokenPipeError, OSError):
            self.stop()
            raise RemoteFailure(f"{what}: the learner's process has gone") from None
        reply = self._next(self.call_timeout + 5)
        if reply is None or isinstance(reply, BaseException):
            self.stop()
            why = f"no answer within {self.call_timeout} s" if reply is None else "its process died"
            self.last_failure = (what, "timeout" if reply is None else "died")
            raise RemoteFailure(f"{what}: {why}")
        decoder = Decoder(self.resolve_class, self.resolve_special, known=dict(enumerate(encoder.objects)))
        try:
            writeback = reply.get("writeback", {})
            for n, node in (writeback.items() if isinstance(writeback, dict) else ()):
                if not n.isdigit() or int(n) >= len(encoder.objects):
                    raise WireError(f"write-back to unknown argument {n!r}")
                apply_writeback(encoder.objects[int(n)], decoder.decode(node))
            if "error" not in reply:
                if op == "get" and reply.get("ok") == {"$": "method"}:
                    return RemoteMethod(self, target, what)
                return decoder.decode(reply.get("ok"))
        except (WireError, RecursionError, ValueError, TypeError) as error:
            self.last_failure = (what, "invalid answer")
            raise RemoteFailure(f"{what}: not plain data ({error})") from None
        raise self.learner_exception(what, reply["error"])

    def run_cell(self, code: str) -> bool:
        """Run `code` in the learner's namespace, as a cell they added; True if it raised nothing.

        Not used in grading: the tests of the hidden tests use it to swap in a variant of an
        exercise (a plausible mistake) without starting the learner's notebook again.
        """
        send(self.process.stdin, {"op": "run", "code": code})
        reply = self._next(self.call_timeout + 5)
        return isinstance(reply, dict) and reply.get("ok") is True

    def learner_exception(self, what: str, error) -> BaseException:
        kind = error.get("type") if isinstance(error, dict) else None
        message = error.get("message", "") if isinstance(error, dict) else ""
        message = message if isinstance(message, str) else ""
        kind = kind if isinstance(kind, str) else "?"
        self.last_failure = (what, kind)
        if kind in ("NotPlainData", "WireError", "TimeoutError"):
            return RemoteFailure(f"{what}: {message}")
        cls = BUILTIN_ERRORS.get(kind)
        if cls is None:
            return LearnerError(f"{what} raised {kind}: {message}")
        try:
            return cls(message)
        except Exception:
            return LearnerError(f"{what} raised {kind}: {message}")

    # ------------------------------------------------------------------ encoding rules
    def by_reference(self, value):
        if isinstance(value, Handle):
            if value._learner is not self or value._generation != self.generation:
                raise RemoteFailure(f"{value!r} belongs to a learner process that was restarted")
            return {"$": "handle", "id": value._id}
        if isinstance(value, (RemoteFunction, RemoteClass)):
            return {"$": "callable", "name": value._name}
        if isinstance(value, type) and (issubclass(value, np.generic) or value in PYTHON_TYPES.values()):
            return None  # the wire sends these types by name
        if isinstance(value, (types.FunctionType, type, types.BuiltinFunctionType)) \
                and not getattr(value, "__name__", "").startswith("<"):
            module = getattr(value, "__module__", "") or ""
            if module.split(".")[0] == "tinyquant":
                return {"$": "callable", "name": f"{module}:{value.__qualname__}"}
            if module == "__main__" and self.namespace.get(value.__name__) is value:
                return {"$": "callable", "name": value.__name__}
            raise NotPlainData(f"{value!r} cannot be sent to the learner's process")
        return None

    def class_path(self, cls) -> str | None:
        module = cls.__module__ or ""
        if module.split(".")[0] == "tinyquant":
            return f"{module}:{cls.__qualname__}"
        if module == "__main__" and self.namespace.get(cls.__qualname__) is cls \
                and cls.__qualname__ not in self.exercises:
            return f"__main__:{cls.__qualname__}"
        return None

    def resolve_class(self, path):
        if not isinstance(path, str) or path.count(":") != 1:
            raise WireError(f"bad class path {path!r}")
        module, qualname = path.split(":")
        if module == "__main__":
            cls = self.namespace.get(qualname) if qualname not in self.exercises else None
        elif module.split(".")[0] == "tinyquant" and module.replace(".", "").replace("_", "").isalnum():
            try:
                cls = getattr(importlib.import_module(module), qualname, None)
            except ImportError:
                cls = None
        else:
            cls = None
        if not isinstance(cls, type) or isinstance(cls, RemoteClass):
            raise WireError(f"objects of {path} may not come from the learner's process")
        return cls

    def resolve_special(self, node: dict):
        if node.get("$") == "handle" and type(node.get("id")) is int and isinstance(node.get("class"), str):
            if node["class"] not in self.exercises:
                raise WireError(f"a handle to a {node['class']}, which is not an exercise")
            if node["id"] not in self.handles:
                self.handles[node["id"]] = Handle(self, node["id"], node["class"])
            return self.handles[node["id"]]
        raise WireError(f"unexpected node {node.get('$')!r}")

    # ------------------------------------------------------------------ stand-ins
    def stand_in(self, name: str):
        """What the grader's namespace holds for exercise `name`."""
        kind = self.kinds.get(name, "missing")
        if kind == "function":
            return RemoteFunction(self, name)
        if kind == "class":
            return RemoteClass(self, name)
        if kind == "value":
            return self.request("get", {"name": name}, name)
        return Missing(name)


class RemoteTracemalloc:
    """``tracemalloc`` of the learner's process, for tests that measure a function's memory.

    The measurement is taken where the function runs, so a learner who tampers with their
    own ``tracemalloc`` can change it: memory checks are the one thing the grader cannot
    observe from outside (values and exceptions it always checks itself).
    """

    def __init__(self, learner: Learner):
        self._learner = learner

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda: self._learner.request("trace", {"name": name}, f"tracemalloc.{name}")


class RemoteFunction:
    def __init__(self, learner: Learner, name: str):
        self._learner, self._name = learner, name

    def __call__(self, *args, **kwargs):
        return self._learner.request("call", {"name": self._name}, self._name, args, kwargs)

    def __repr__(self):
        return f"<your {self._name}>"


class RemoteMethod:
    def __init__(self, learner: Learner, target: dict, what: str):
        self._learner, self._target, self._what = learner, target, what

    def __call__(self, *args, **kwargs):
        return self._learner.request("call", self._target, self._what, args, kwargs)

    def __repr__(self):
        return f"<your {self._what}>"


class RemoteClass(RemoteFunction):
    """An exercise class; ``isinstance`` works on its handles."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._learner.request("get", {"name": self._name, "attr": attr}, f"{self._name}.{attr}")

    def __instancecheck__(self, instance):
        return isinstance(instance, Handle) and instance._class == self._name

    def __repr__(self):
        return f"<your class {self._name}>"


class Handle:
    """An instance of an exercise class, living in the learner's process.

    ``vars(handle)`` asks for the object's attributes (as plain data), like ``vars`` of a
    local object.
    """

    @property
    def __dict__(self):
        return self._learner.request("get", {"handle": self._id, "attr": "__dict__"}, f"vars({self._class})")

    __slots__ = ("_learner", "_id", "_class", "_generation")

    def __init__(self, learner: Learner, id_: int, class_name: str):
        object.__setattr__(self, "_learner", learner)
        object.__setattr__(self, "_id", id_)
        object.__setattr__(self, "_class", class_name)
        object.__setattr__(self, "_generation", learner.generation)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._learner.request("get", {"handle": self._id, "attr": attr}, f"{self._class}.{attr}")

    def __setattr__(self, attr, value):
        self._learner.request("set", {"handle": self._id, "attr": attr}, f"{self._class}.{attr}",
                              value=value)

    def __call__(self, *args, **kwargs):
        return self._learner.request("call", {"handle": self._id}, f"{self._class}.__call__", args, kwargs)

    def __repr__(self):
        return f"<your {self._class} #{self._id}>"


class Missing:
    """An exercise the learner's notebook does not define (deleted, renamed, never run)."""

    def __init__(self, name: str):
        self._name = name

    def __call__(self, *args, **kwargs):
        raise NameError(f"your notebook does not define {self._name}")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise NameError(f"your notebook does not define {self._name}")

    def __instancecheck__(self, instance):
        return False

    def __repr__(self):
        return f"<{self._name}: not defined>"


def start_worker(job, lib, spec_name: str, limits: sandbox.Limits, isolated: bool):
    """A ``start`` for ``Learner``: the worker in the sandbox, reading its spec from the job."""
    def start():
        return sandbox.popen(job, lib, ["python", "-m", "course.worker", f"{sandbox.INSIDE_JOB}/{spec_name}"],
                             limits, isolated)
    return start
