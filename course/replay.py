"""The grader's own run of a chapter's source notebook, with the learner's exercises stood in.

Provided code and the demonstrations the tests depend on run as written (the reference
code); each test cell, visible and hidden, runs with the exercise names bound to stand-ins
for the learner's functions and classes (``course.remote``). A test cell passes if it
raises nothing. Nothing here runs the learner's code: it only ever receives plain data.
"""
from __future__ import annotations

import ast
import io
import signal
import sys
import tracemalloc
from dataclasses import dataclass

from IPython.core.interactiveshell import InteractiveShell

from . import checks
from .notebooks import is_test_cell, nbgrader_meta
from .remote import Learner, RemoteFailure, RemoteTracemalloc


def defined_names(code: str) -> list[str]:
    """Top-level functions, classes and variables a cell defines (IPython magics skipped)."""
    tree = parse_cell(code)
    if tree is None:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def parse_cell(code: str):
    lines = [line for line in code.split("\n") if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def names_used(code: str) -> set[str]:
    """Every name a cell reads (an over-estimate: also names it defined itself first)."""
    tree = parse_cell(code)
    return set() if tree is None else {node.id for node in ast.walk(tree)
                                       if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def names_bound(code: str) -> set[str]:
    """Every name a cell binds anywhere at its top level: assignments, imports, defs, loops."""
    tree = parse_cell(code)
    if tree is None:
        return set()
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return bound


def cells_the_tests_need(source) -> set[int]:
    """Indices of the demonstration cells whose names a later test cell needs (transitively).

    The grader skips the others (plots, timings, benchmarks): they cannot change a verdict
    unless they mutate an object a test reads, which the chapters' demonstrations do not (the
    perfect sample scoring every point in every chapter checks it).
    """
    needed, keep = set(), set()
    for index in reversed(range(len(source.cells))):
        cell = source.cells[index]
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        if is_test_cell(cell) or meta.get("solution") or names_bound(cell.source) & needed:
            keep.add(index)
            needed |= names_used(cell.source)
    return keep


def exercise_names(source) -> set[str]:
    """What the learner writes: public, non-constant names their answer cells define.

    Private helpers (``_sawtooth_integral``) and constants (``FLOAT32_TINY``) stay the
    grader's: the tests use them as references.
    """
    return {name for cell in source.cells
            if cell.cell_type == "code" and nbgrader_meta(cell).get("solution")
            for name in defined_names(cell.source)
            if not name.startswith("_") and not name.isupper()}


@dataclass
class Verdict:
    """A test cell's result: what it printed, the exception that stopped it, and, if the
    learner's code raised one during the cell, (what was called, the exception's type)."""
    passed: bool
    printed: str
    error: BaseException | None
    failure: tuple[str, str] | None = None


class GraderShell(InteractiveShell):
    """The grader's own shell for the source notebook: no GUI, figures never drawn."""

    def enable_gui(self, gui=None):
        pass

    def enable_matplotlib(self, gui=None):
        import matplotlib
        matplotlib.use("Agg")
        return "agg", None


class TestTimeout(BaseException):
    pass


class MeasureInLearner(ast.NodeTransformer):
    """``import tracemalloc`` in the grader's shell means the learner's process's tracemalloc
    (the memory of a call is spent there), in test cells; the real one elsewhere."""

    def visit_Import(self, node):
        if [alias.name for alias in node.names] != ["tracemalloc"]:
            return node
        target = ast.Name(id=node.names[0].asname or "tracemalloc", ctx=ast.Store())
        return ast.copy_location(ast.Assign(targets=[target], value=ast.Name(id=TRACEMALLOC, ctx=ast.Load())), node)


TRACEMALLOC = "__tracemalloc__"


class Replay:
    """The source notebook, run here; test cells against the learner's stand-ins."""

    def __init__(self, source, learner_factory, test_timeout: float):
        self.source = source
        self.test_timeout = test_timeout
        self.shell = GraderShell()
        self.shell.showtraceback = self.record_error
        self.shell.ast_transformers.append(MeasureInLearner())
        self.error: BaseException | None = None
        self.exercises = exercise_names(source)
        self.reference: dict[str, object] = {}
        self.stand_ins: dict[str, object] = {}
        self.stand_ins_of: int | None = None
        self.tracemalloc_names = [TRACEMALLOC]
        self.shell.user_ns[TRACEMALLOC] = tracemalloc
        self.learner_factory = learner_factory
        self.learner: Learner | None = None

    def record_error(self, *args, **kwargs):
        self.error = sys.exc_info()[1]

    def run(self, code: str) -> BaseException | None:
        self.error = None
        out, stdout, stderr = io.StringIO(), sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        try:
            result = self.shell.run_cell(code, store_history=False, silent=False)
            if result.error_before_exec is not None and self.error is None:
                self.error = result.error_before_exec
        finally:
            sys.stdout, sys.stderr = stdout, stderr
            import matplotlib.pyplot as plt
            plt.close("all")
        self.printed = out.getvalue()
        return self.error

    def stand_in_mode(self, learner: Learner | None) -> None:
        """Bind the exercise names to the learner's stand-ins (or back to the reference), and
        every name of the ``tracemalloc`` module to the learner's process's tracemalloc."""
        ns = self.shell.user_ns
        if learner is None:
            ns.update(self.reference)
            ns.update({name: tracemalloc for name in self.tracemalloc_names})
            return
        if self.stand_ins_of != learner.generation:  # a new (or restarted) learner process
            self.stand_ins = {name: learner.stand_in(name) for name in self.exercises}
            self.stand_ins_of = learner.generation
        remote = RemoteTracemalloc(learner)
        self.tracemalloc_names = [name for name, value in ns.items() if value is tracemalloc] + [TRACEMALLOC]
        ns.update(self.stand_ins)
        ns.update({name: remote for name in self.tracemalloc_names})

    def verdicts(self) -> dict[str, Verdict]:
        """The verdict of each test cell, by grade id."""
        results, needed = {}, cells_the_tests_need(self.source)
        checks.reset()  # the exercises' results of this notebook only
        for index, cell in enumerate(self.source.cells):
            if index not in needed or "skip-execution" in cell.metadata.get("tags", []):
                continue
            meta = nbgrader_meta(cell)
            if meta.get("solution"):
                self.run(cell.source)
                self.reference.update({name: self.shell.user_ns[name] for name in defined_names(cell.source)
                                       if name in self.exercises and name in self.shell.user_ns})
            elif is_test_cell(cell):
                results[meta["grade_id"]] = self.test(cell.source)
            else:
                self.run(cell.source)
        return results

    def test(self, code: str):
        learner = self.learner_factory()
        if learner is None:
            return Verdict(False, "", RemoteFailure("your notebook could not be run"))
        learner.last_failure = None
        self.printed = ""

        def expire(signum, frame):
            raise TestTimeout()
        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, self.test_timeout)
        try:
            self.stand_in_mode(learner)
            error = self.run(code)
        except (TestTimeout, RemoteFailure) as failure:  # while the stand-ins were being made
            self.error = error = failure
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            self.stand_in_mode(None)
        if isinstance(error, TestTimeout):
            error = TimeoutError(f"the test cell ran past {self.test_timeout} s")
        failure = learner.last_failure if error is not None else None
        return Verdict(error is None, self.printed, error, failure)
