"""Subcommands of the ``stylenet`` command line (one module each, see :mod:`stylenet.cli`)."""
