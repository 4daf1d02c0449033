"""The ``tutela`` program: ``logs anonymize`` starts quickly, everything else loads the full app.

A log pipe may start ``tutela logs anonymize`` once per rotated file; loading the
whole command tree would cost several times what anonymizing a small file does.
Plain invocations of that command are read by ``anonymize_argv`` and run at
once; any other command, ``--help`` and anything the quick reading does not
understand go to the full command line, which behaves as it always did.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``tutela`` program."""
    argv = sys.argv[1:]
    if argv[:2] == ["logs", "anonymize"]:
        from tutela.cli.anonymize_argv import read

        args = read(argv[2:])
        if args is not None:
            from tutela.cli.anonymize_run import anonymize
            from tutela.errors import TutelaError

            try:
                code = anonymize(args, sys.stdin.buffer, sys.stdout.buffer)
            except TutelaError as exc:
                from tutela.cli.app import report

                code = report(exc)
            except KeyboardInterrupt:
                code = 130
            sys.exit(code)
    from tutela.cli.app import main as full

    full()
