"""``python -m causalpilot`` is the same as the ``causalpilot`` console script."""

from causalpilot.agent.cli import main

if __name__ == "__main__":
    main()
