"""`python -m streams.cli`: how `timeline up`, the tests and the benchmark start workers and the scheduler."""

from streams.cli.entry import main

if __name__ == "__main__":
    main()
