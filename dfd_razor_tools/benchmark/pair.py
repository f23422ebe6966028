"""A pair: the recipes of one folder, a student recipe (``student_*.py``) and one recipe per method
(``<method>_*.py``, the repository's naming), shipped or the user's own; its rows (the controls, the methods, the
variants) and the recipe each row trains."""
import fnmatch
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.paths import absolute, repo_path

#: The rows without a weight: the student recipe alone, and the FitNet recipe at weight 0 (``inherit``).
CONTROLS = ('student', 'inherit')


@dataclass
class Variant:
    """A row that runs ``method``'s recipe with fixed extra ``options`` (e.g. DFD without its transform); it is
    swept like a method and run at its picked weight only."""
    method: str
    options: List[str]


@dataclass
class Pair:
    """The recipes of one pair (paths as :func:`repo_path` writes them).

    Attributes:
        name: Names the tables (``<name>.md``) and the records folder.
        student: The student recipe (the ``student`` control).
        methods: Method -> its recipe.
        variants: Variant row -> :class:`Variant`.
        inherit: The recipe of the ``inherit`` control (the FitNet recipe, at weight 0), or None when the recipes
            do not initialise the student from the teacher (or no FitNet recipe is there).
    """
    name: str
    student: str
    methods: Dict[str, str]
    variants: Dict[str, Variant] = field(default_factory=dict)
    inherit: Optional[str] = None

    def rows(self) -> List[str]:
        """Every row: the controls, the methods, the variants."""
        return ['student'] + (['inherit'] if self.inherit else []) + list(self.methods) + list(self.variants)

    def recipe(self, row: str) -> str:
        """The recipe a row trains."""
        if row == 'student':
            return self.student
        if row == 'inherit':
            if not self.inherit:
                raise BenchmarkError(f'{self.name}: no inherit row (no FitNet recipe, or nothing inherited)')
            return self.inherit
        if row in self.variants:
            return self.methods[self.variants[row].method]
        if row not in self.methods:
            raise BenchmarkError(f'{self.name}: no recipe for {row!r} (methods: {", ".join(self.methods)})')
        return self.methods[row]


def find_pair(folder: str, pattern: str = '*', student: Optional[str] = None,
              methods: Optional[Sequence[str]] = None, name: Optional[str] = None) -> Pair:
    """The pair of the recipes in ``folder``: ``student_*.py`` and ``<method>_*.py``.

    Args:
        folder (str): The folder (absolute, or relative to the current directory).
        pattern (str): A glob the method recipes' file names must match (``*_bccd.py``), for a folder that holds
            several pairs.
        student (str, optional): The student recipe, when the folder holds several (a file name in ``folder``
            or a path).
        methods (Sequence[str], optional): Only these methods (default: every ``<method>_*.py`` that matches).
        name (str, optional): The pair's name (default: the folder's name).

    Raises:
        BenchmarkError: The folder does not exist, holds no or several student recipes, several recipes of one
            method, or none of a method asked for.
    """
    folder = osp.abspath(folder)
    if not osp.isdir(folder):
        raise BenchmarkError(f'pair folder {folder} does not exist')
    files = sorted(f for f in os.listdir(folder) if f.endswith('.py') and not f.startswith('_'))
    found: Dict[str, List[str]] = {}
    students = [f for f in files if f.startswith('student_')]
    for f in files:
        prefix = f.split('_', 1)[0]
        if prefix in ('student', 'teacher') or '_' not in f or not fnmatch.fnmatch(f, pattern):
            continue
        found.setdefault(prefix, []).append(f)
    if student is None:
        if len(students) != 1:
            raise BenchmarkError(f'{folder}: ' + ('no student_*.py recipe' if not students else
                                                 f'several student recipes ({", ".join(students)}): choose one '
                                                 'with --student'))
        student = osp.join(folder, students[0])
    elif not osp.isabs(student) and osp.isfile(osp.join(folder, student)):
        student = osp.join(folder, student)
    if not osp.isfile(student):
        raise BenchmarkError(f'student recipe {student} does not exist')
    if methods is not None:
        missing = [m for m in methods if m not in found]
        if missing:
            raise BenchmarkError(f'{folder}: no {" or ".join(f"{m}_*.py" for m in missing)} recipe matching '
                                 f'{pattern!r} (found: {", ".join(sorted(found)) or "none"})')
        found = {m: found[m] for m in methods}
    several = {m: fs for m, fs in found.items() if len(fs) > 1}
    if several:
        m, fs = next(iter(several.items()))
        raise BenchmarkError(f'{folder}: several {m} recipes ({", ".join(fs)}): choose the pair with --pair '
                             'PATTERN (a glob of the file names)')
    if not found and methods is None:  # methods == []: the controls only were asked for (the student alone)
        raise BenchmarkError(f'{folder}: no method recipe (<method>_*.py) matching {pattern!r}')
    order = list(found) if methods is not None else sorted(found)  # the order asked for, else by name
    chosen = {m: repo_path(osp.join(folder, found[m][0])) for m in order}
    return Pair(name=name or osp.basename(folder), student=repo_path(student), methods=chosen,
                inherit=inherit_recipe(chosen))


def inherit_recipe(methods: Mapping[str, str]) -> Optional[str]:
    """The ``inherit`` control's recipe: the FitNet recipe, when it initialises the student from the teacher
    (``model.inherit_from_teacher``); else None (the control would be the student alone)."""
    if 'fitnet' not in methods:
        return None
    from mmengine.config import Config
    inherited = Config.fromfile(absolute(methods['fitnet'])).model.get('inherit_from_teacher')
    return methods['fitnet'] if inherited else None
