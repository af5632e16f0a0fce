"""The ``classify`` command (and ``python -m classify``).

Interrupt handling is installed before anything else is imported, so that SIGINT or SIGTERM
during the (slow) imports of numpy and scikit-learn ends the command as cleanly as at any
later moment: see ``classify.interrupts``.
"""

from classify import interrupts

interrupts.install()
interrupts.checkpoint("start")


def run() -> None:
    from classify.cli import run as run_cli

    interrupts.checkpoint("after-imports")
    run_cli()


if __name__ == "__main__":
    run()
