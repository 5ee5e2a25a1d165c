"""`timeline`: the command line for scripts and people, one module per command group.

The top floor: nothing else imports it. `entry.py` assembles the root group
(the console script `timeline` and `python -m streams.cli`).
"""
