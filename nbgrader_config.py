"""nbgrader configuration for the tinyquant course (run nbgrader from the repo root)."""
from course.preprocessors import DropDuplicateGradeIds, HideHiddenTests, RestoreMissingCells
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, GetGrades, OverwriteKernelspec

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "tinyquant"
c.CourseDirectory.root = __file__.rsplit("/", 1)[0]
# Layout of DESIGN.md: source/ and release/ at the root, everything of grading under autograder/.
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = "sqlite:///" + c.CourseDirectory.root + "/autograder/gradebook.db"
# Only notebooks are course material; helper files stay out of release/ and submissions.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis"]

# A looping submission stops here and scores 0 for the cells that did not finish.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# A cell that stays busy after the interrupt (e.g. inside a C extension) must not lose the whole
# submission: nbgrader's default raises and drops it; we let grading go on with what it has.
c.Execute.raise_on_iopub_timeout = False

# Deleted or edited test and locked cells are restored from the gradebook before grading.
c.OverwriteCells.add_missing_cells = True
# Neither a learner's copy of a graded cell (nbgrader #1083) nor a deleted cell next to a
# deleted or locked one may crash grading: see course/preprocessors.py.
c.Autograde.sanitize_preprocessors = [ClearOutput, DropDuplicateGradeIds, OverwriteKernelspec,
                                      RestoreMissingCells, CheckCellMetadata]

# Feedback must not reveal hidden tests (nbgrader #917, #1363): mask them and their tracebacks.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
