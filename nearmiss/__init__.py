"""nearmiss shared core: the report model and its canonical encoding, signing, config,
PKI helpers, proof verification and the CLI.

Rule: nothing in this package imports ``node`` or ``authority`` except ``nearmiss.cli``,
which composes their subcommands.
"""

__version__ = "0.1.0"
