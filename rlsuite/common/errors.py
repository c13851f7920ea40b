"""One exception type for bad user input, shown by the CLI as one line."""


class UsageError(ValueError):
    """Bad input from the user: a wrong argument, file, config key or name.

    The message says what is wrong and where, in one line. The CLI prints it
    without a traceback. It subclasses ``ValueError`` so library callers can
    catch it the usual way.
    """
