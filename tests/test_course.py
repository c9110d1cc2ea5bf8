"""The generated views (release/, tinyquant/) match source/, and nothing leaks."""
from course import check
from course.notebooks import chapters, read, release_notebook, source_notebook


def test_every_chapter_has_a_release():
    assert chapters() and all(release_notebook(c).exists() for c in chapters())


def test_release_and_package_are_in_sync_and_leak_nothing():
    assert check.problems() == []


def test_solution_text_would_be_caught():
    nb = read(source_notebook(chapters()[-1]))
    secret = sorted(check.secret_lines(nb))
    assert secret, "a chapter without solution code cannot be graded"
