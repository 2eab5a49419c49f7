"""Problems the user can fix, as opposed to bugs.

Every exception a user can act on (an unreadable input, a wrong layout, an unknown method, a
bad option value, a missing checkpoint, a device that is not there) derives from
:class:`UserFacingError`; its message says what is wrong and how to fix it. The command-line
entry points catch this family only, print the message and exit with status 2. Any other
exception is a bug and surfaces with its traceback, so a ``TypeError`` deep in a constructor is
never mistaken for a misspelt option.

The subclasses keep a builtin base (``ValueError``, ``FileNotFoundError``, ...) so code that
caught those before still does.

Example
-------
>>> try:
...     raise UsageError("--n must be positive, got -1")
... except UserFacingError as err:
...     print(err)
--n must be positive, got -1
>>> issubclass(ConfigurationError, ValueError)
True
"""


class UserFacingError(Exception):
    """A problem with what the user gave or asked for; the message says how to fix it."""


class UsageError(UserFacingError, ValueError):
    """A command-line option or value that cannot be used (including a device that is absent)."""


class ConfigurationError(UserFacingError, ValueError):
    """A method, explainer or condition configured in a way that cannot run."""


class InputError(UserFacingError, ValueError):
    """Input data (a file, a folder, a manifest, a results CSV) that cannot be used."""
