"""The learner's side of a grading job: ``python -m course.worker SPEC`` inside the sandbox.

It runs the submission's code cells in an IPython shell, as a kernel would, and streams each
cell's outputs (capped) to the grader. Then it answers the grader's calls on the exercises
the notebook defined, one message at a time, over its stdin and stdout (``course.wire``).

Nothing here is trusted: the learner's code runs in this very process and may change any of
it. That is fine, because nothing here decides a point: the grader checks every answer in
its own process, and accepts only plain data from this one.
"""
from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import signal
import sys
import tracemalloc

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

from .figures import figure_summary, is_figure
from .wire import Decoder, Encoder, NotPlainData, WireError, receive, send

TRACEMALLOC = ("start", "stop", "get_traced_memory", "reset_peak", "is_tracing", "clear_traces")
REQUEST_LIMIT = 1 << 30  # what the grader sends is trusted; the cap only guards against garbage


class CellTimeout(BaseException):
    """Raised in a cell (or a call) that runs past its time; BaseException, so that a bare
    ``except Exception`` in the learner's code does not swallow it."""


class Outputs:
    """The outputs of one cell, in nbformat's form, within a byte budget."""

    def __init__(self, limit: int):
        self.items: list[dict] = []
        self.left = limit
        self.dropped = 0

    def add(self, output: dict, size: int) -> None:
        if size > self.left:
            self.dropped += size
            return
        self.left -= size
        self.items.append(output)

    def stream(self, name: str, text: str) -> None:
        last = self.items[-1] if self.items else None
        size = len(text.encode("utf-8", "replace"))
        if last and last["output_type"] == "stream" and last["name"] == name and size <= self.left:
            self.left -= size
            last["text"] += text
            return
        self.add({"output_type": "stream", "name": name, "text": text}, size)

    def finish(self) -> list[dict]:
        if self.dropped:
            self.stream("stderr", f"\n[{self.dropped:,} bytes of output dropped: over the limit]\n")
        return self.items


class CappedStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` during a cell: text goes to the cell's outputs, capped."""

    def __init__(self, name: str, sink):
        self.name, self.sink = name, sink

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        if self.sink is not None:
            self.sink.stream(self.name, text)
        return len(text)


class CapturingHook(DisplayHook):
    """A cell's last expression becomes an ``execute_result`` output, as in a kernel."""

    def start_displayhook(self):
        pass

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self.shell.record_display("execute_result", format_dict, md_dict)

    def finish_displayhook(self):
        pass


class CapturingPublisher(DisplayPublisher):
    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        self.shell.record_display("display_data", data, metadata)

    def clear_output(self, wait=False):
        pass


class WorkerShell(InteractiveShell):
    displayhook_class = CapturingHook
    display_pub_class = CapturingPublisher
    outputs: Outputs | None = None

    def enable_gui(self, gui=None):
        """``%matplotlib inline`` needs no event loop; the inline backend displays figures."""

    def record_display(self, kind: str, data: dict, metadata) -> None:
        if self.outputs is None:
            return
        data = {key: value for key, value in data.items() if isinstance(value, str)}
        output = {"output_type": kind, "data": data, "metadata": {}}
        if kind == "execute_result":
            output["execution_count"] = self.execution_count
        self.outputs.add(output, sum(len(v) for v in data.values()))

    def _showtraceback(self, etype, evalue, stb):
        if self.outputs is not None:
            text = "\n".join(stb)
            self.outputs.add({"output_type": "error", "ename": getattr(etype, "__name__", "Error"),
                              "evalue": str(evalue)[:2000], "traceback": stb[-20:]}, len(text))


class Worker:
    def __init__(self, spec: dict, channel_in, channel_out):
        self.spec = spec
        self.channel_in, self.channel_out = channel_in, channel_out
        self.shell = WorkerShell()
        # exit() and quit() end a kernel; here they must not end the job, nor fail (IPython
        # hides them from builtins while a cell runs, so an exported module that calls
        # exit() would no longer import).
        ignore = lambda *args: print("exit() is ignored while grading")  # noqa: E731
        self.shell.builtin_trap.auto_builtins.update(exit=ignore, quit=ignore)
        self.exercises = set(spec["exercises"])
        self.handles: dict[int, object] = {}
        self.handle_ids: dict[int, int] = {}
        self.timeout = spec["call_timeout"]
        self.memory = CallMemory()

    # ------------------------------------------------------------------ the notebook
    def run_cells(self) -> None:
        silence = CappedStream("stdout", None)
        for cell in self.spec["cells"]:
            if cell["index"] in self.spec.get("skip", []):
                continue
            send(self.channel_out, {"event": "start", "cell": cell["index"]})
            self.export()
            outputs = Outputs(self.spec["cell_output_limit"])
            self.shell.outputs = outputs
            sys.stdout, sys.stderr = CappedStream("stdout", outputs), CappedStream("stderr", outputs)
            sys.stdin = io.StringIO()
            try:
                with deadline(self.spec["cell_timeout"]):
                    self.shell.run_cell(cell["source"], store_history=True)
            except CellTimeout:
                outputs.add({"output_type": "error", "ename": "TimeoutError",
                             "evalue": f"the cell ran past {self.spec['cell_timeout']} s and was stopped",
                             "traceback": []}, 100)
            finally:
                sys.stdout = sys.stderr = silence
                self.shell.outputs = None
            send(self.channel_out, {"event": "done", "cell": cell["index"], "outputs": outputs.finish()})

    def export(self) -> None:
        """Put the learner's definitions into this chapter's modules of ``tinyquant``, as their
        export would (without running their cells again at import): a later section that
        imports an exercise from the package (``from tinyquant.observers import
        percentile_amax``) gets theirs, and so do the provided functions of those modules."""
        for module_name in self.spec.get("modules", []):
            try:
                module = importlib.import_module(module_name)
            except BaseException:  # a broken module: the cells that import it fail, as for the learner
                continue
            for name in self.exercises & set(vars(module)):
                if name in self.shell.user_ns:
                    setattr(module, name, self.shell.user_ns[name])

    def kinds(self) -> dict[str, str]:
        kinds = {}
        for name in sorted(self.exercises):
            if name not in self.shell.user_ns:
                kinds[name] = "missing"
            else:
                value = self.shell.user_ns[name]
                kinds[name] = "class" if isinstance(value, type) else (
                    "function" if callable(value) else "value")
        return kinds

    # ------------------------------------------------------------------ the calls
    def serve(self) -> None:
        self.export()
        send(self.channel_out, {"event": "ready", "kinds": self.kinds()})
        while True:
            try:
                request = receive(self.channel_in, REQUEST_LIMIT)
            except EOFError:
                return
            send(self.channel_out, self.answer(request))

    def answer(self, request: dict) -> dict:
        decoder = Decoder(self.resolve_class, self.resolve_special)
        if request.get("op") == "run":  # a cell of code, as if the learner had added it
            code = request.get("code")
            if not isinstance(code, str):
                return {"error": {"type": "WireError", "message": "run needs code"}}
            with deadline(self.timeout):
                success = self.shell.run_cell(code, store_history=False).success
            return {"ok": success}
        if request.get("op") == "trace":
            name = request.get("target", {}).get("name")
            if name not in TRACEMALLOC:
                return {"error": {"type": "WireError", "message": f"no tracemalloc.{name}"}}
            return {"ok": Encoder(lambda v: None, lambda c: None).encode(getattr(self.memory, name)())}
        try:
            op, target = request["op"], dict(request["target"])
            attr = target.pop("attr", None)
            owner = self.handles[target["handle"]] if "handle" in target else self.shell.user_ns[target["name"]]
            args = decoder.decode(request.get("args", {"$": "tuple", "items": []}))
            kwargs = decoder.decode(request.get("kwargs", {"$": "dict", "items": []}))
            value = decoder.decode(request.get("value"))
        except (KeyError, TypeError, AttributeError, WireError) as error:
            return {"error": {"type": "WireError", "message": f"bad request: {error!r}"[:2000]}}
        before = {n: self.fingerprint(obj, decoder) for n, obj in decoder.decoded.items()}
        try:
            with deadline(self.timeout):
                if op == "set":
                    setattr(owner, attr, value)
                    result = None
                else:
                    result = getattr(owner, attr) if attr else owner
                    if op == "call":
                        with self.memory.traced():
                            result = result(*args, **kwargs)
                        if is_figure(result):  # a plotting exercise: what it drew, as plain data
                            result = figure_summary(result)
            # An attribute that is a method is called by a later request, not sent.
            method = op == "get" and callable(result) and not isinstance(result, type) \
                and not self.is_exercise_instance(result)
            reply = {"ok": {"$": "method"} if method else self.encoder(decoder).encode(result)}
        except CellTimeout:
            reply = {"error": {"type": "TimeoutError", "message": f"no answer within {self.timeout} s"}}
        except NotPlainData as error:
            reply = {"error": {"type": "NotPlainData", "message": str(error)[:2000]}}
        except BaseException as error:  # the learner's exception, reported to the grader's check
            reply = {"error": {"type": type(error).__name__, "message": str(error)[:2000]}}
        changed = {}
        for n, obj in decoder.decoded.items():
            if self.fingerprint(obj, decoder) != before[n]:
                try:
                    changed[str(n)] = self.encoder(decoder, top=obj).encode(obj)
                except NotPlainData as error:
                    reply = {"error": {"type": "NotPlainData", "message": str(error)[:2000]}}
        if changed:
            reply["writeback"] = changed
        return reply

    def is_exercise_instance(self, value) -> bool:
        cls = type(value)
        return cls.__module__ == "__main__" and cls.__name__ in self.exercises \
            and self.shell.user_ns.get(cls.__name__) is cls

    def encoder(self, decoder: Decoder, top=None) -> Encoder:
        arguments = {id(obj): n for n, obj in decoder.decoded.items()}

        def by_reference(value):
            if value is not top and id(value) in arguments:
                return {"$": "arg", "n": arguments[id(value)]}
            if self.is_exercise_instance(value):
                if id(value) not in self.handle_ids:
                    self.handle_ids[id(value)] = len(self.handles)
                    self.handles[len(self.handles)] = value
                return {"$": "handle", "id": self.handle_ids[id(value)], "class": type(value).__name__}
            return None

        return Encoder(by_reference, self.class_path)

    def fingerprint(self, obj, decoder: Decoder) -> str:
        try:
            text = json.dumps(self.encoder(decoder, top=obj).encode(obj), sort_keys=True)
        except (NotPlainData, TypeError, ValueError):
            text = repr(type(obj))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    @staticmethod
    def class_path(cls) -> str | None:
        if cls.__module__ == "__main__" or cls.__module__.split(".")[0] == "tinyquant":
            return f"{cls.__module__}:{cls.__qualname__}"
        return None

    def resolve_class(self, path):
        if not isinstance(path, str) or ":" not in path:
            raise WireError(f"bad class path {path!r}")
        module, qualname = path.split(":", 1)
        owner = self.shell.user_ns if module == "__main__" else vars(importlib.import_module(module))
        cls = owner.get(qualname)
        if not isinstance(cls, type):
            raise WireError(f"no class {path}")
        return cls

    def resolve_special(self, node: dict):
        tag = node.get("$")
        if tag == "handle":
            return self.handles[node["id"]]
        if tag == "callable":
            name = node["name"]
            if ":" in name:
                module, qualname = name.split(":", 1)
                return getattr(importlib.import_module(module), qualname)
            return self.shell.user_ns[name]
        raise WireError(f"unknown node {tag!r}")


class CallMemory:
    """``tracemalloc`` as the grader's tests see it: it traces the learner's calls only.

    Decoding the arguments and encoding the answer allocate too; tracing runs just around
    each call, so a test's "peak extra memory" is what the learner's function allocated.
    """

    def __init__(self):
        self.tracing, self.current, self.peak = False, 0, 0

    def traced(self):
        memory = self

        class Window:
            def __enter__(self):
                if memory.tracing:
                    tracemalloc.start()

            def __exit__(self, *exc):
                if memory.tracing and tracemalloc.is_tracing():
                    current, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    memory.peak = max(memory.peak, memory.current + peak)
                    memory.current += current
                return False
        return Window()

    def start(self):
        self.tracing, self.current, self.peak = True, 0, 0

    def stop(self):
        self.tracing = False

    def is_tracing(self):
        return self.tracing

    def get_traced_memory(self):
        return self.current, self.peak

    def reset_peak(self):
        self.peak = self.current

    def clear_traces(self):
        self.current = self.peak = 0


class deadline:
    """Raise CellTimeout in the main thread after `seconds` (SIGALRM)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        def expire(signum, frame):
            raise CellTimeout()
        self.previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    # The channel keeps the original stdin/stdout; the file descriptors 0-2 themselves are
    # pointed away from it, so that a stray print from C code cannot garble a message.
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    worker = Worker(spec, channel_in, channel_out)
    worker.run_cells()
    worker.serve()


if __name__ == "__main__":
    main(sys.argv[1])
