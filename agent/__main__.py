"""`python -m agent` is the same as the `causalpilot` console script."""

from agent.cli import main

if __name__ == "__main__":
    main()
