"""The settings of one invocation: every option, from the command line, else the preset, else its default, merged
into one :class:`Settings` and validated once (:func:`merge`).

A preset (``benchmarks/presets/<name>.py``, or a user's own file) is Python whose module-level names are the
defaults of the command-line options of the same names (:data:`PRESET_KEYS`); paths in it are relative to the
repository, the command line's to the current directory (:meth:`Settings.path`).
"""
import os
import os.path as osp
import runpy
from dataclasses import dataclass, field, fields
from typing import Any, Dict, FrozenSet, List, Mapping, Optional

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.benchmark.pair import CONTROLS, Pair, Variant, find_pair
from dfd_razor_tools.benchmark.sweep import FACTORS, MAX_EXTEND
from dfd_razor_tools.paths import REPO, absolute
from dfd_razor_tools.schedule import recipe_schedule

SEEDS = (0, 1, 2, 3)  # the first picks the weights; the others are the fresh seeds of the headline
REFERENCE = 'dfd'
PRESETS = osp.join(REPO, 'benchmarks', 'presets')
#: Metrics that OpenMMLab reports as fractions (COCO, VOC: mmdet, mmyolo, mmpose): x100 to percent by default.
FRACTION_PREFIXES = ('coco/', 'pascal_voc/', 'PCK', 'AUC')

#: What a preset file may set (module-level names): the default of the command-line option of that name, where there
#: is one; a preset's own: ``teacher_recipe`` and ``teacher_work_dir`` (the teacher, trained there when missing),
#: ``teacher_threads`` (its training's OMP_NUM_THREADS: the same count gives the same weights on the same CPU),
#: ``data`` (bundled datasets: ``$DFD_DATA_ROOT`` of every run), ``description`` (a paragraph for the tables).
PRESET_KEYS = ('name', 'folder', 'pair', 'student', 'methods', 'variants', 'teacher', 'teacher_recipe',
               'teacher_work_dir', 'teacher_threads', 'metric', 'scale', 'extra_metrics', 'label', 'data', 'out_dir',
               'seeds', 'factors', 'max_extend', 'reference', 'cfg_options', 'description')


@dataclass
class Metric:
    """The headline metric: its key in the metrics file, the factor to percent, metrics reported beside it (key ->
    factor) and a label for the tables."""
    key: str
    scale: float = 1.0
    extra: Dict[str, float] = field(default_factory=dict)
    label: str = ''

    def __post_init__(self) -> None:
        self.label = self.label or self.key


@dataclass
class Settings:
    """Every option of ``tools/benchmark.py`` (its help says what each does), each as given, as the preset set it,
    or its default; ``preset_keys`` names those the preset set and the command line did not."""
    # the pair
    folder: str = ''
    preset: Optional[str] = None
    pair: Optional[str] = None
    student: Optional[str] = None
    methods: Optional[List[str]] = None
    variants: Dict[str, Variant] = field(default_factory=dict)
    reference: str = REFERENCE
    teacher: Optional[str] = None
    teacher_recipe: Optional[str] = None
    teacher_work_dir: Optional[str] = None
    teacher_threads: Optional[int] = None
    name: Optional[str] = None
    description: str = ''
    # data and metric
    metric: str = ''
    scale: float = 1.0
    extra_metrics: Dict[str, float] = field(default_factory=dict)
    label: str = ''
    cfg_options: List[str] = field(default_factory=list)
    data: List[str] = field(default_factory=list)
    data_root: Optional[str] = None
    # protocol
    schedule: Optional[int] = None
    picks_from: Optional[str] = None
    seeds: List[int] = field(default_factory=lambda: list(SEEDS))
    factors: List[float] = field(default_factory=lambda: list(FACTORS))
    max_extend: int = MAX_EXTEND
    # where the runs go
    executor: str = 'local'
    jobs: Optional[int] = None
    gpus_per_run: int = 1
    threads_per_run: Optional[int] = None
    checkpoint_every: Optional[int] = None
    partition: Optional[str] = None
    cpus_per_run: int = 4
    time_min: int = 120
    slurm_option: List[str] = field(default_factory=list)
    slurm_cluster: str = 'slurm'
    # output
    work_dir: Optional[str] = None
    out_dir: Optional[str] = None
    report_only: bool = False
    compare_schedules: Optional[List[int]] = None
    new_teacher: bool = False
    preset_keys: FrozenSet[str] = frozenset()

    def path(self, key: str) -> str:
        """The absolute path of the setting ``key``: a preset's is relative to the repository, the command line's
        to the current directory."""
        value = getattr(self, key)
        return absolute(value) if key in self.preset_keys else osp.abspath(value)

    def given(self, key: str) -> bool:
        """Whether the command line set ``key``."""
        return getattr(self, key) is not None and key not in self.preset_keys

    def headline(self) -> Metric:
        """The headline metric, with the metrics reported beside it."""
        return Metric(self.metric or 'metric', float(self.scale), dict(self.extra_metrics), self.label or '')


def load_preset(name_or_path: str) -> Dict[str, Any]:
    """A preset: ``benchmarks/presets/<name>.py`` or a path to such a file (Python, module-level names of
    :data:`PRESET_KEYS`; repository-relative paths in it are relative to the repository).

    Raises:
        BenchmarkError: No such preset, or a name it sets that the tool does not know.
    """
    path = name_or_path if name_or_path.endswith('.py') else osp.join(PRESETS, f'{name_or_path}.py')
    if not osp.isfile(path):
        known = sorted(f[:-3] for f in os.listdir(PRESETS) if f.endswith('.py') and not f.startswith('_'))
        raise BenchmarkError(f'--preset {name_or_path}: no file {path} (presets: {", ".join(known)})')
    values = {k: v for k, v in runpy.run_path(path).items() if not k.startswith('_') and not callable(v)
              and not isinstance(v, type(os))}
    unknown = sorted(set(values) - set(PRESET_KEYS))
    if unknown:
        raise BenchmarkError(f'{path}: unknown setting(s) {unknown} (a preset sets {", ".join(PRESET_KEYS)})')
    return values


def _scale(key: str) -> float:
    return 100.0 if key.startswith(FRACTION_PREFIXES) else 1.0


def merge(options: Mapping[str, Any]) -> Settings:
    """The settings of the command line's ``options`` (argparse's names; None: not given) over those of the preset
    they name (``options['preset']``), over the defaults.

    Raises:
        BenchmarkError: No pair folder, no metric, a ``--variant`` not NAME=METHOD, or a bad preset.
    """
    given = {k: v for k, v in options.items() if v is not None}
    preset = load_preset(given['preset']) if given.get('preset') else {}
    merged = dict(preset, **given)
    variants = {n: tuple(v) for n, v in preset.get('variants', {}).items()}
    for entry in merged.pop('variant', None) or []:
        if '=' not in entry[0]:
            raise BenchmarkError(f'--variant {" ".join(entry)}: the first word must be NAME=METHOD')
        name, method = entry[0].split('=', 1)
        variants[name] = (method, entry[1:])
    merged['variants'] = {n: Variant(method=v[0], options=list(v[1])) for n, v in variants.items()}
    if not merged.get('folder'):
        raise BenchmarkError('give the pair\'s folder (or --preset)')
    if not merged.get('metric'):
        raise BenchmarkError('give --metric, the headline metric\'s key in the metrics file tools/test.py writes '
                             '(coco/bbox_mAP, mIoU, coco/AP, ...)')
    merged.setdefault('scale', _scale(merged['metric']))
    extra = merged.get('extra_metrics') or {}
    merged['extra_metrics'] = {k: _scale(k) for k in extra} if isinstance(extra, list) else dict(extra)
    for key in ('methods', 'seeds', 'factors', 'cfg_options', 'data', 'slurm_option', 'compare_schedules'):
        if merged.get(key) is not None:
            merged[key] = list(merged[key])
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in merged.items() if k in known},
                    preset_keys=frozenset(set(preset) - set(given)))


def make_pair(settings: Settings) -> Pair:
    """The pair of the settings' folder, with the variants of the rows asked for (``settings.methods``; none given:
    every row).

    Raises:
        BenchmarkError: A pair that :func:`~dfd_razor_tools.benchmark.pair.find_pair` cannot find, a variant of a
            method without a recipe, or an ``inherit`` row where the recipes inherit nothing.
    """
    rows = settings.methods
    variants = {n: v for n, v in settings.variants.items() if not rows or n in rows}
    needed = None
    if rows:
        needed = [r for r in rows if r not in CONTROLS and r not in variants]
        needed += [v.method for v in variants.values() if v.method not in needed]
        if 'inherit' in rows and 'fitnet' not in needed:
            needed.append('fitnet')
    pair = find_pair(settings.path('folder'), settings.pair or '*', settings.student, needed, settings.name)
    if settings.schedule and not settings.given('name'):  # another schedule's records never overwrite the shipped's
        pair.name = f'{pair.name}_{settings.schedule}{recipe_schedule(pair.student).unit}'
    for name, variant in variants.items():
        if variant.method not in pair.methods:
            raise BenchmarkError(f'variant {name}: no {variant.method} recipe in {settings.folder}')
    pair.variants = variants
    if rows and 'inherit' in rows and not pair.inherit:
        raise BenchmarkError(f'--methods inherit: the FitNet recipe of {settings.folder} initialises nothing from the '
                             'teacher (model.inherit_from_teacher), so inherit would be the student alone')
    return pair
