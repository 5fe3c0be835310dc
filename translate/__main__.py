"""`python -m translate` is the `translate` command."""

from translate.cli import main

if __name__ == "__main__":
    main()
