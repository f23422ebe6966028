"""The repository's paths: its root, and paths as records and options spell them.

Every tool, the demo and the benchmarks find the checkout's recipes, presets and work dirs from :data:`REPO`, the
folder that holds this package (``dfd_razor_tools`` lives in the checkout, not in the ``dfd_razor`` wheel).
"""
import os
import os.path as osp

#: The repository's root: the folder that holds ``dfd_razor_tools``.
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The command-line tools (``tools/train.py``, ``tools/test.py``, ...).
TOOLS = osp.join(REPO, 'tools')


def repo_path(path: str) -> str:
    """An absolute path as the records and options spell it: relative to the repository when inside it (so that
    records stay valid in another checkout), else absolute.

    Args:
        path (str): A path, absolute or relative to the current directory.

    Returns:
        str: The path relative to :data:`REPO` when it is inside it, else the absolute path.
    """
    path = osp.abspath(path)
    rel = osp.relpath(path, REPO)
    return path if rel == '..' or rel.startswith('..' + os.sep) else rel


def absolute(path: str) -> str:
    """A path as :func:`repo_path` writes it, made absolute (relative ones are relative to the repository).

    Args:
        path (str): An absolute path, or one relative to :data:`REPO`.

    Returns:
        str: The absolute path.
    """
    return path if osp.isabs(path) else osp.join(REPO, path)
