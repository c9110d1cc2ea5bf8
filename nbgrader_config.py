"""nbgrader configuration for the tinyquant course (run nbgrader from the repo root)."""
from course.preprocessors import NameTheStubs, SandboxedGrading
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, ClearSolutions, GetGrades, SaveAutoGrades

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

# Release: each stub names its exercise and function (course/preprocessors.py), before checksums.
_release = list(GenerateAssignment.class_traits()["preprocessors"].default())
_release.insert(_release.index(ClearSolutions) + 1, NameTheStubs)
c.GenerateAssignment.preprocessors = _release

# Autograding never runs a learner's code in nbgrader's kernel: SandboxedGrading runs it in a
# sandbox and decides every point in the grader's own process (course/job.py), restoring
# locked, test and deleted cells itself. nbgrader records the scores, as with its Execute.
c.Autograde.sanitize_preprocessors = []
c.Autograde.autograde_preprocessors = [SandboxedGrading, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
# Seconds per cell and per call of a learner's code: a looping cell stops here and scores what
# the rest of the notebook earns.
c.SandboxedGrading.timeout = 60

# Feedback: the graded notebook as the job made it (hidden tests are not in it), with scores.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor]
