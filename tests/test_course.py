"""The generated views (release/, tinyquant/) match source/, and nothing leaks."""
from nbformat.v4 import new_code_cell, new_output

from course import check
from course.preprocessors import HIDDEN_NOTE, hide_hidden_tests
from course.notebooks import chapters, read, release_notebook, source_notebook


def test_every_chapter_has_a_release():
    assert chapters() and all(release_notebook(c).exists() for c in chapters())


def test_release_and_package_are_in_sync_and_leak_nothing():
    assert check.problems() == []


def test_solution_text_would_be_caught():
    nb = read(source_notebook(chapters()[-1]))
    secret = sorted(check.secret_lines(nb))
    assert secret, "a chapter without solution code cannot be graded"


def test_feedback_masks_hidden_tests_and_their_failures():
    cell = new_code_cell("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS",
                         outputs=[new_output("error", ename="AssertionError", evalue="",
                                             traceback=["assert f(2) == 4"])])
    assert hide_hidden_tests(cell)
    assert cell.source == "assert f(1) == 1\n" + HIDDEN_NOTE
    assert "f(2)" not in str(cell.outputs)
    assert "A hidden test failed (AssertionError)." in cell.outputs[0].text


def test_feedback_leaves_visible_tests_alone():
    cell = new_code_cell("assert f(1) == 1", outputs=[new_output("stream", name="stdout", text="ok\n")])
    assert not hide_hidden_tests(cell)
    assert cell.outputs[0].text == "ok\n"
