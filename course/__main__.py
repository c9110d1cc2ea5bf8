"""``python -m course <verb>``: one verb per module of this package."""
import argparse
import sys

from . import check, export, grade, links, progress, release, workspace


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    verbs = top.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("export", help="export #| export cells of notebooks into tinyquant/")
    p.add_argument("notebooks", nargs="*",
                   help="notebooks to export (default: every source notebook)")
    p.add_argument("--force", action="store_true",
                   help="export a learner's notebook even if some exercises fail their visible tests")
    p.set_defaults(run=export.main)

    p = verbs.add_parser("release", help="regenerate release/ with nbgrader, and tinyquant/")
    p.add_argument("chapters", nargs="*", help="chapters (default: all)")
    p.set_defaults(run=release.main)

    p = verbs.add_parser("check", help="release/ and tinyquant/ in sync with source/, no leaks")
    p.set_defaults(run=check.main)

    p = verbs.add_parser("grade", help="autograde autograder/submitted (sandboxed), export CSV, feedback")
    p.add_argument("--timeout", type=int, default=None, help="seconds per cell and per call (default: 60)")
    p.add_argument("--workers", type=int, default=None, help="jobs at once (default: the machine's cores)")
    p.set_defaults(run=grade.main)

    p = verbs.add_parser("progress", help="a learner's progress: exported, visible tests pass")
    p.add_argument("--root", default=None,
                   help="folder of the learner's notebooks (default: workspace/ if it exists, else release/)")
    p.set_defaults(run=progress.main)

    p = verbs.add_parser("links", help="Binder and Colab links of this clone's GitHub repository")
    p.set_defaults(run=links.main)

    p = verbs.add_parser("workspace", help="copy new chapters of release/ into the learner's workspace/")
    p.set_defaults(run=workspace.main)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
