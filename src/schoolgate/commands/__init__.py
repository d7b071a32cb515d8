"""Subcommands of `schoolgate`: each module here exposes `register(subparsers)`."""
