"""The root of the project's errors: what a user got wrong, as opposed to a bug.

:class:`UserError` is the base of every mistake a user can make (a bad value, file, flag or
data); the CLI prints its message as one line and exits with status 2.  Anything else that
escapes is a bug: the CLI says so and writes its traceback to a file.  The classes also derive
from the built-in error a caller would expect (``ValueError``, ``FileNotFoundError``, ...), so
code that catches those keeps working.  It lives here, at the bottom of the import graph, so
that every package (the trainer included) can raise it.
"""
from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user gave; its message names the culprit in one line."""


class InputError(UserError, ValueError):
    """A bad value (a matrix, a flag, a parameter, a setting)."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named that does not exist."""


class OutOfDomainError(UserError, ValueError):
    """A spec outside the NAS-Bench-101 space (the original API's ``OutOfDomainError``).

    It subclasses ``ValueError`` so that bad input to ``ModelSpec`` is one kind of error for
    callers, while code written for the original API can still catch ``OutOfDomainError``.
    """
