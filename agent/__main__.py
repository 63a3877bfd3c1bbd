"""``python -m causalpilot.agent`` (and ``python -m agent`` from the repository root) is the same as the
``causalpilot`` console script."""

from causalpilot.agent.cli import main

if __name__ == "__main__":
    main()
