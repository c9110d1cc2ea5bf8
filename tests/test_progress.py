"""`python -m course progress` counts visible tests that pass, on the sample submissions."""
from course.notebooks import AUTOGRADER, chapters
from course.progress import visible_tests

SAMPLES = AUTOGRADER / "samples"


def test_perfect_passes_every_visible_test_and_blank_none():
    chapter = chapters()[0]
    passing, total = visible_tests(SAMPLES / "perfect" / chapter / f"{chapter}.ipynb")
    assert total > 0 and passing == total
    passing, total = visible_tests(SAMPLES / "blank" / chapter / f"{chapter}.ipynb")
    assert total > 0 and passing == 0
