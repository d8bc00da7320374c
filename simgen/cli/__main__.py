"""``python -m simgen.cli``: the same as the ``simgen`` command."""

from simgen.cli import run

run()
