"""Errors that are the user's input, not a bug: the tools (``dfd_razor_tools.launch.run_cli``) print them as one line.

A problem with the command line, a recipe, a checkpoint or a dataset is raised as :class:`RecipeError`, or as one
of the subclasses below where callers also expect the built-in type (``except ValueError``). Their messages name the
file or the config key. mmengine re-raises an error from inside ``build_from_cfg`` as ``type(e)(message)``, so the
class survives a model build; only a message prefix is added, which ``run_cli`` removes.
"""


class RecipeError(Exception):
    """A problem with the command line, the recipe or its inputs (files, data), reported as one line."""


class RecipeValueError(RecipeError, ValueError):
    """A :class:`RecipeError` that is also a ``ValueError`` (a checkpoint that does not fit, a bad value)."""


class RecipeFileNotFoundError(RecipeError, FileNotFoundError):
    """A :class:`RecipeError` that is also a ``FileNotFoundError``."""


class RecipeIndexError(RecipeError, IndexError):
    """A :class:`RecipeError` that is also an ``IndexError`` (an index beyond what a module outputs)."""


class RecipeKeyError(RecipeError, KeyError):
    """A :class:`RecipeError` that is also a ``KeyError`` (a config key that is missing or unknown).

    Its message reads as given: a plain ``KeyError`` shows its argument's ``repr``, quotes included.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''
