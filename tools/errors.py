"""Errors a user can act on. The CLI turns an :class:`InputError` into exit code 2 and its message
(one sentence naming the file or column and the problem), never a traceback."""


class InputError(ValueError):
    """Bad input or usage: the user's file, column, option or background knowledge is unusable.

    Exposed as ``causalpilot.InputError``; a ``ValueError``, so generic handlers catch it too."""


class AnalysisError(Exception):
    """An analysis step could not produce a result for a reason worth telling the user."""
