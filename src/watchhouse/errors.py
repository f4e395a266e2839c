"""Errors meant for the person at the terminal: one line, what to do."""


class UserError(Exception):
    """A problem the user can fix; printed as one line without a traceback."""
