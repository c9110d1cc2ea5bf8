"""The machinery of the tinyquant course: ``python -m course <verb>``.

One module per verb (export, release, check, grade, progress); ``notebooks`` holds what
they share: where the chapters live and how a notebook's cells are read.
"""
