"""Recipes, their READMEs, their metafiles and model-index.yml hold together.

Everything is compared with the LOADED configs (``Config.fromfile``, inheritance resolved), never with recipe text:
alpha/beta from the distill loss (:func:`distill_loss`), the teacher from ``model.teacher.cfg_path`` and
``model.teacher_ckpt``, the student by comparing ``model.architecture`` (``model`` for a plain student) and the
data/schedule keys with the named student config, the schedule from ``train_cfg``. The student config is a
model-zoo config, or a config of this repository where the recipes deliberately change the zoo's (the PSPNet
student: 512x512 crops, 40k iterations): README cells link it (``[name](../../configs/pairs/name.py)``),
metafiles give its path from the repository root (``configs/pairs/name.py``). README rows are the tables whose
header is :data:`COLUMNS` followed by one task's metric column (:data:`METRICS`); a row may link a recipe of
another folder (the ablation tables link their baseline), which is then held to that recipe's own metafile entry.

Every metafile ``Results`` entry has a ``Source`` saying where its number comes from (:func:`source_problems`):
``DFD paper, table N`` (``tables 1, 8, 9, 11, 12`` for a row of several), the ``### Table N`` README subsections
under which the recipe's row appears, in any folder (:func:`paper_tables`, from the READMEs alone); an upstream model
zoo, ``<Codebase> model zoo, configs/.../metafile.yml (<model>)``, named in the folder README's "Results published
upstream" section, whose installed metafile gives that model the same number; or ``measured: benchmarks/<path>``,
a file or folder of this repository.

The comparison functions (:func:`row_problems`, :func:`entry_problems`, :func:`source_problems`) return a list of
problems rather than asserting, so that ``test_*_catch_*`` can show that a deliberately wrong row or entry is caught.
"""
import argparse
import copy
import functools
import glob
import inspect
import math
import os
import os.path as osp
import re
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Tuple

import pytest
import yaml
from mmengine.config import Config, DictAction

from testing_helpers import discover

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
RECIPES_DIR = osp.join(ROOT, 'recipes')
# Folders of recipes that are not paper rows. They are exempt from the metafile/README requirements.
EXEMPT = {'cpu_demo': 'CPU demonstration pairs (tiny_coco RetinaNet and YOLOv6, pose_minicoco heatmap, CamVid PSPNet) '
                      'with teachers trained locally: no paper number, no zoo model; recipes/cpu_demo/README.md '
                      'documents them'}


@dataclass(frozen=True)
class Metric:
    """How the paper number of a task is given: the README's last column, the metafile's Results entry."""
    column: str  # README header of the paper number
    task: str  # metafile Results: Task (the codebase's own zoo metafiles' name for it)
    dataset: str  # metafile Results: Dataset
    name: str  # metafile Results: the key under Metrics


# Codebases (default scopes) whose recipes are held to this file, with the metric of their paper rows.
METRICS = {
    'mmdet': Metric('paper box AP', 'Object Detection', 'COCO', 'box AP'),
    'mmyolo': Metric('paper box AP', 'Object Detection', 'COCO', 'box AP'),
    'mmpose': Metric('paper AP', 'Body 2D Keypoint', 'COCO', 'AP'),  # COCO keypoint AP (OKS), x100
    'mmseg': Metric('paper mIoU', 'Semantic Segmentation', 'Cityscapes', 'mIoU'),
}
SCOPES = tuple(METRICS)
COLUMNS = ('config', 'method', 'teacher', 'student', 'schedule', 'alpha', 'beta')
HEADERS = {COLUMNS + (m.column,) for m in METRICS.values()}
HEADER = COLUMNS + (METRICS['mmdet'].column,)  # the detection tables' header
LINK = re.compile(r'\[([^\]]+)\]\(([^)]+)\)')
# The loss each method field of a recipe name must configure (prefix match: 'dfd-t1-hd-only' is DFD).
METHOD_LOSSES = {'dfd': 'DFDLoss', 'pkd': 'PKDLoss', 'mgd': 'MGDLoss', 'cwd': 'ChannelWiseDivergence', 'fgd': 'FGDLoss'}
# For methods other than DFD the alpha column (metafile: 'Loss Weight') gives the loss's own weight.
OWN_WEIGHT = {'PKDLoss': 'loss_weight', 'MGDLoss': 'alpha_mgd', 'ChannelWiseDivergence': 'loss_weight'}
# FGD's four weights: the README's alpha/beta columns give the first two (foreground, background), the metafile all
# four under these names.
FGD_WEIGHTS = ('alpha_fgd', 'beta_fgd', 'gamma_fgd', 'lambda_fgd')
# The paper's weights (section 4.1), for the DFD recipes of the main tables.
PAPER_WEIGHTS = {'one-stage': (2.8e-5, 1e-5), 'two-stage': (3.5e-7, 1e-7)}
# Keys a recipe takes unchanged from its student's zoo config: "same schedule and data pipeline".
STUDENT_KEYS = ('train_cfg', 'param_scheduler', 'optim_wrapper', 'auto_scale_lr', 'train_dataloader',
                'val_dataloader', 'test_dataloader', 'val_evaluator', 'test_evaluator')
CODEBASES = ('mmdet', 'mmyolo', 'mmseg', 'mmpose')


# ---- loading ------------------------------------------------------------------------------------------------
def recipes() -> List[str]:
    return [p for p in discover(RECIPES_DIR) if folder_of(p) not in EXEMPT and scope_of(p) in SCOPES]


def scope_of(path: str) -> str:
    return load(path).get('default_scope', 'mmdet')


def folder_of(path: str) -> str:
    return osp.relpath(path, RECIPES_DIR).split(osp.sep)[0]


def stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def _fromfile(path: str) -> Config:
    """``Config.fromfile`` with ``$DFD_DATA_ROOT`` unset: recipes and the zoo configs they restate must be compared
    with the same (default) data roots, whatever the caller's environment says."""
    saved = os.environ.pop('DFD_DATA_ROOT', None)
    try:
        return Config.fromfile(path)
    finally:
        if saved is not None:
            os.environ['DFD_DATA_ROOT'] = saved


@functools.lru_cache(maxsize=None)
def load(path: str) -> Config:
    return _fromfile(path)


def codebase_file(cfg_path: str) -> str:
    """``'mmdet::retinanet/x.py'`` -> the installed file."""
    scope, rel = cfg_path.split('::')
    pkg = __import__(scope)
    return osp.join(osp.dirname(pkg.__file__), '.mim', 'configs', rel)


@functools.lru_cache(maxsize=None)
def zoo_config(name: str) -> Optional[str]:
    """The ``codebase::folder/name.py`` path of a model-zoo config named ``name`` (None if not exactly one)."""
    found = []
    for scope in CODEBASES:
        base = codebase_file(f'{scope}::')
        found += [f'{scope}::' + osp.relpath(p, base) for p in glob.glob(osp.join(base, '**', name + '.py'),
                                                                          recursive=True)]
    return found[0] if len(found) == 1 else None


@functools.lru_cache(maxsize=None)
def zoo_weights() -> Dict[str, str]:
    """``codebase::folder/name.py`` -> checkpoint URL, from the installed codebases' metafiles.

    MMDetection and MMYOLO name them ``metafile.yml``, MMSegmentation ``metafile.yaml``, MMPose
    ``<collection>_<dataset>.yml``: every YAML file under the codebase's configs with a ``Models`` list is read.
    """
    weights = {}
    for scope in CODEBASES:
        base = codebase_file(f'{scope}::')
        for meta in sorted(glob.glob(osp.join(base, '**', '*.yml'), recursive=True) +
                           glob.glob(osp.join(base, '**', '*.yaml'), recursive=True)):
            with open(meta) as stream:
                doc = yaml.safe_load(stream) or {}
            for model in doc.get('Models') or [] if isinstance(doc, dict) else []:
                if model.get('Config') and model.get('Weights'):
                    weights[f'{scope}::' + model['Config'].split('configs/', 1)[-1]] = model['Weights']
    return weights


def loss_args(loss: Dict[str, Any]) -> Dict[str, Any]:
    """The loss's arguments: its defaults updated with the config's."""
    from mmrazor.registry import MODELS
    cls = MODELS.get(loss['type'])
    args = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}
    args.update({k: v for k, v in loss.items() if k != 'type'})
    return args


def loss_weights(loss: Dict[str, Any]) -> Tuple[Optional[float], Optional[float]]:
    """(alpha, beta) as the README and metafile give them: the weights the loss uses, None where unused."""
    args = loss_args(loss)
    if loss['type'] == 'FGDLoss':
        return args['alpha_fgd'], args['beta_fgd']
    if loss['type'] == 'DFDLoss':
        alpha = args['alpha'] if (not args['split'] or args['hd_constraint'] is not None) else None
        beta = args['beta'] if (args['split'] and args['ld_constraint'] is not None) else None
        return alpha, beta
    return args[OWN_WEIGHT[loss['type']]], None


@dataclass(frozen=True)
class Facts:
    """What a loaded recipe does."""
    path: str
    method: str  # first field of the file name
    loss: Optional[str]  # loss type, None for a plain student
    teacher: Optional[str]  # teacher cfg_path
    teacher_ckpt: Optional[str]
    alpha: Optional[float]
    beta: Optional[float]
    epochs: Optional[int]
    iters: Optional[int]
    scope: str  # default_scope: the codebase, which gives the task and its metric
    loss_args: Tuple[Tuple[str, Any], ...] = ()  # the loss's arguments, defaults included (sorted items)


def distill_loss(cfg: Config) -> Dict[str, Any]:
    """The distill loss of a recipe: ``levels.loss`` of our ``MultiLevelDistiller``, or, for MMRazor's plain
    ``ConfigurableDistiller`` (MMYOLO's own configs, which the ``cwd-mmyolo`` recipes inherit), the one loss its
    ``distill_losses`` repeat per level; losses that differ between levels are an error."""
    distiller = cfg.model.distiller
    if 'levels' in distiller:
        return distiller.levels.loss
    losses = list(distiller.distill_losses.values())
    if not losses or any(loss != losses[0] for loss in losses):
        raise ValueError(f'model.distiller.distill_losses are not one loss repeated per level: {losses}')
    return losses[0]


@functools.lru_cache(maxsize=None)
def facts(path: str) -> Facts:
    cfg = load(path)
    distill = 'teacher' in cfg.model
    loss = distill_loss(cfg) if distill else None
    alpha, beta = loss_weights(loss.to_dict()) if loss else (None, None)
    return Facts(path=path, method=stem(path).split('_')[0], loss=loss['type'] if loss else None,
                 teacher=cfg.model.teacher.get('cfg_path') if distill else None,
                 teacher_ckpt=cfg.model.get('teacher_ckpt'), alpha=alpha, beta=beta,
                 epochs=cfg.train_cfg.get('max_epochs'), iters=cfg.train_cfg.get('max_iters'),
                 scope=cfg.get('default_scope', 'mmdet'),
                 loss_args=tuple(sorted(loss_args(loss.to_dict()).items())) if loss else ())


def student_file(student_cfg_path: str) -> Tuple[Optional[str], List[str]]:
    """The file of a metafile's Student: ``codebase::folder/name.py`` (model zoo) or ``configs/.../name.py``.

    A config of this repository must be under ``configs/`` (a recipe is not its own student).
    """
    if '::' in student_cfg_path:
        file = codebase_file(student_cfg_path)
    elif osp.normpath(student_cfg_path).startswith('configs' + osp.sep) and student_cfg_path.endswith('.py'):
        file = osp.join(ROOT, student_cfg_path)
    else:
        return None, [f'student {student_cfg_path} is neither codebase::path.py nor configs/path.py']
    return (file, []) if osp.isfile(file) else (None, [f'student {student_cfg_path} does not exist'])


def student_problems(path: str, student_cfg_path: str) -> List[str]:
    """The recipe's student model, schedule and data are those of ``student_cfg_path`` (see :func:`student_file`)."""
    file, problems = student_file(student_cfg_path)
    if file is None:
        return problems
    cfg, zoo = load(path), _fromfile(file)
    model = cfg.model.architecture if 'teacher' in cfg.model else cfg.model
    problems = [] if _plain(model) == _plain(zoo.model) else [f'student model is not {student_cfg_path}\'s']
    problems += [f'{key} differs from {student_cfg_path}' for key in STUDENT_KEYS
                 if key in zoo and _plain(cfg.get(key)) != _plain(zoo[key])]
    return problems


def _plain(node: Any) -> Any:
    """Plain containers without ``_scope_``, which inheriting through ``mmdet::`` adds to every dict."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node


def schedule_problems(schedule: str, f: Facts) -> List[str]:
    """'1x'/'2x' (12 epochs per x, MMDetection's convention), '300e' (epochs) or '40k' (iterations)."""
    m = re.fullmatch(r'(\d+)(x|e|k)', schedule)
    if not m:
        return [f'schedule {schedule!r} is not <n>x, <n>e or <n>k']
    n, unit = int(m.group(1)), m.group(2)
    expected, got = ((12 * n, f.epochs) if unit == 'x' else (n, f.epochs) if unit == 'e' else (1000 * n, f.iters))
    return [] if expected == got else [f'schedule {schedule} means {expected} '
                                       f'{"iterations" if unit == "k" else "epochs"}, the recipe trains {got}']


def same_number(a: Optional[float], b: Optional[float]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9)


# ---- README rows ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    readme: str
    config: str  # absolute path of the linked recipe
    name: str  # link text
    method: str
    teacher: Optional[str]
    student: str
    schedule: str
    alpha: Optional[float]
    beta: Optional[float]
    metric: str  # header of the paper-number column
    paper: Optional[float]  # the paper number, None where not reported


def _cells(line: str) -> List[str]:
    return [c.strip() for c in line.strip().strip('|').split('|')]


def _value(cell: str) -> Optional[float]:
    return None if cell in ('-', 'not reported') else float(cell)


def parse_readme(path: str, text: Optional[str] = None) -> List[Row]:
    """Rows of every table in ``path`` whose header is one of :data:`HEADERS`."""
    lines = (open(path).read() if text is None else text).splitlines()
    rows, i = [], 0
    while i < len(lines):
        header = tuple(_cells(lines[i]))
        if lines[i].startswith('|') and header in HEADERS:
            i += 2  # header and separator
            while i < len(lines) and lines[i].startswith('|'):
                cells = _cells(lines[i])
                if len(cells) != len(header):
                    raise ValueError(f'{path}: row {lines[i]!r} has {len(cells)} cells, the header {len(header)}')
                link = LINK.fullmatch(cells[0])
                if not link:
                    raise ValueError(f'{path}: the config cell {cells[0]!r} is not a [name](file.py) link')
                rows.append(Row(readme=path, config=osp.normpath(osp.join(osp.dirname(path), link.group(2))),
                                name=link.group(1), method=cells[1], teacher=None if cells[2] == '-' else cells[2],
                                student=cells[3], schedule=cells[4], alpha=_value(cells[5]), beta=_value(cells[6]),
                                metric=header[-1], paper=_value(cells[7])))
                i += 1
        else:
            i += 1
    return rows


def readme_student(row: Row) -> Tuple[Optional[str], List[str]]:
    """A README student cell as a metafile would give it (:func:`student_file`), and what is wrong with the cell.

    A model-zoo config is named (``retinanet_r50_fpn_2x_coco``), a config of this repository linked
    (``[name](../../configs/pairs/name.py)``, relative to the README).
    """
    link = LINK.fullmatch(row.student)
    if link is None:
        found = zoo_config(row.student)
        return found, [] if found else [f'student {row.student} is not exactly one model-zoo config']
    target = osp.relpath(osp.normpath(osp.join(osp.dirname(row.readme), link.group(2))), ROOT)
    problems = [] if link.group(1) == stem(target) else [f'student link text {link.group(1)} is not the file '
                                                         f'name {stem(target)}']
    return target, problems


def row_problems(row: Row, f: Facts) -> List[str]:
    """Every way ``row`` disagrees with the loaded recipe ``f`` describes (empty when it agrees)."""
    problems = []
    if row.name != stem(row.config):
        problems.append(f'link text {row.name} is not the file name {stem(row.config)}')
    if row.method != f.method:
        problems.append(f'method {row.method} is not the recipe name\'s {f.method}')
    expected_loss = next((loss for m, loss in METHOD_LOSSES.items() if row.method.split('-')[0] == m), None)
    if expected_loss != f.loss:
        problems.append(f'method {row.method} should configure {expected_loss}, the recipe has {f.loss}')
    if row.teacher != (stem(f.teacher) if f.teacher else None):
        problems.append(f'teacher {row.teacher} is not the recipe\'s {f.teacher}')
    student, student_cell = readme_student(row)
    problems += student_cell
    if student is not None:
        problems += student_problems(f.path, student)
    problems += schedule_problems(row.schedule, f)
    for name, mine, theirs in (('alpha', row.alpha, f.alpha), ('beta', row.beta, f.beta)):
        if not same_number(mine, theirs):
            problems.append(f'{name} {mine} is not the recipe\'s {theirs}')
    return problems


# ---- metafiles ------------------------------------------------------------------------------------------------
def metafiles() -> List[str]:
    """The metafiles of the folders of :func:`recipes`."""
    folders = {folder_of(p) for p in recipes()}
    return sorted(p for p in glob.glob(osp.join(RECIPES_DIR, '*', 'metafile.yml')) if folder_of(p) in folders)


@functools.lru_cache(maxsize=None)
def entries() -> Dict[str, Dict[str, Any]]:
    """Absolute recipe path -> its metafile entry (with '_metafile'); duplicates raise."""
    found: Dict[str, Dict[str, Any]] = {}
    for meta in metafiles():
        for model in yaml.safe_load(open(meta))['Models']:
            path = osp.join(ROOT, model['Config'])
            if path in found:
                raise ValueError(f'{model["Config"]} is in {found[path]["_metafile"]} and {meta}')
            found[path] = dict(model, _metafile=meta)
    return found


def entry_paper(entry: Dict[str, Any], metric: Metric) -> Optional[float]:
    """The entry's paper number for ``metric`` (None where it has no Results)."""
    results = entry.get('Results') or []
    return results[0]['Metrics'].get(metric.name) if results else None


def paper_problems(row: Row, entry: Dict[str, Any], f: Facts) -> List[str]:
    """The row's paper-number column is the recipe's task metric, and its number that of the metafile entry."""
    metric, problems = METRICS[f.scope], []
    if row.metric != metric.column:
        problems.append(f'column {row.metric!r} is not the {f.scope} metric {metric.column!r}')
    if not same_number(row.paper, entry_paper(entry, metric)):
        problems.append(f'{metric.column} {row.paper} in {_rel(row.readme)}, {entry_paper(entry, metric)} in '
                        f'{entry["_metafile"]}')
    return problems


def entry_problems(entry: Dict[str, Any], f: Facts) -> List[str]:
    """Every way a metafile entry disagrees with the loaded recipe (empty when it agrees)."""
    md, problems = entry.get('Metadata', {}), []
    if entry['Name'] != stem(f.path):
        problems.append(f'Name {entry["Name"]} is not the file name {stem(f.path)}')
    if md.get('Teacher') != f.teacher:
        problems.append(f'Teacher {md.get("Teacher")} is not the recipe\'s {f.teacher}')
    if md.get('Teacher Checkpoint') != f.teacher_ckpt:
        problems.append(f'Teacher Checkpoint {md.get("Teacher Checkpoint")} is not the recipe\'s {f.teacher_ckpt}')
    if 'Student' not in md:
        problems.append('no Student')
    else:
        problems += student_problems(f.path, md['Student'])
    schedule = str(md.get('Schedule'))
    problems += schedule_problems(schedule, f)
    if 'Epochs' in md and md['Epochs'] != f.epochs:
        problems.append(f'Epochs {md["Epochs"]} is not the recipe\'s {f.epochs}')
    if 'Iterations' in md and md['Iterations'] != f.iters:
        problems.append(f'Iterations {md["Iterations"]} is not the recipe\'s {f.iters}')
    if f.loss == 'DFDLoss':
        weights = (('alpha', md.get('alpha'), f.alpha), ('beta', md.get('beta'), f.beta))
    elif f.loss == 'FGDLoss':
        weights = tuple((name, md.get(name), dict(f.loss_args)[name]) for name in FGD_WEIGHTS)
    else:
        weights = (('Loss Weight', md.get('Loss Weight'), f.alpha),)
    problems += [f'{name} {mine} is not the recipe\'s {theirs}' for name, mine, theirs in weights
                 if not same_number(mine, theirs)]
    metric = METRICS[f.scope]
    for result in entry.get('Results') or []:
        if (result.get('Task'), result.get('Dataset')) != (metric.task, metric.dataset) or \
                metric.name not in result.get('Metrics', {}):
            problems.append(f'Results entry {result} is not {metric.dataset} {metric.task} {metric.name}')
    return problems


# ---- where each number comes from ---------------------------------------------------------------------------
TABLE_HEADING = re.compile(r'Table (\d+)\b')  # a '### Table N: ...' (or 'Table 7 (pose): ...') subsection title
UPSTREAM_HEADING = 'Results published upstream'
UPSTREAM_SOURCE = re.compile(r'(?P<who>\S+) model zoo, (?P<file>configs/\S+\.ya?ml) \((?P<model>[^)]+)\)')
# The codebase whose installed metafile an upstream Source names.
UPSTREAM_CODEBASES = {'MMDetection': 'mmdet', 'MMYOLO': 'mmyolo', 'MMSegmentation': 'mmseg', 'MMPose': 'mmpose',
                      'MMRazor': 'mmrazor'}
# (recipe, table) where a README row stands under the table's heading but its number is not that table's.
NOT_THE_TABLES_NUMBER = {
    # recipes/ablations/README.md, "Choices the paper does not settle", table 1: "Table 1 prints 36.4 for the
    # baseline, tables 5, 11 and 12 print 36.5 for the same model (the zoo's value); both tables link the same
    # recipe, with 36.5" (recipes/retinanet/README.md: "table 1 prints 36.4 for the same model"). Its 36.5 is the
    # number of tables 5, 11 and 12.
    ('retinanet/student_retina-r50_1x_coco.py', 1),
}


def sections(text: str) -> List[Tuple[int, str, str]]:
    """(level, title, body) of each Markdown heading, the body running to the next heading of any level; lines in
    fenced code blocks (``# comment``) are not headings."""
    found: List[Tuple[int, str, List[str]]] = [(0, '', [])]
    fenced = False
    for line in text.splitlines():
        if line.startswith('```'):
            fenced = not fenced
        heading = None if fenced else re.match(r'(#+) (.*)', line)
        if heading:
            found.append((len(heading.group(1)), heading.group(2).strip(), []))
        else:
            found[-1][2].append(line)
    return [(level, title, '\n'.join(body)) for level, title, body in found]


def readme_tables(path: str, text: Optional[str] = None) -> Dict[str, set]:
    """Recipe (absolute path) -> the numbers N of the ``### Table N`` subsections of ``path`` whose rows link it."""
    tables: Dict[str, set] = {}
    for level, title, body in sections(open(path).read() if text is None else text):
        heading = TABLE_HEADING.match(title)
        if level == 3 and heading:
            for row in parse_readme(path, body):
                tables.setdefault(row.config, set()).add(int(heading.group(1)))
    return tables


@functools.lru_cache(maxsize=None)
def paper_tables() -> Dict[str, Tuple[int, ...]]:
    """Recipe -> the paper tables its number is from: the ``### Table N`` subsections of every recipe folder's README
    whose rows link it, less :data:`NOT_THE_TABLES_NUMBER`."""
    found: Dict[str, set] = {}
    for readme in sorted({r.readme for r in readme_rows()}):
        for config, tables in readme_tables(readme).items():
            found.setdefault(config, set()).update(tables)
    return {config: tuple(sorted(n for n in tables if (_rel(config), n) not in NOT_THE_TABLES_NUMBER))
            for config, tables in found.items()}


def paper_source(tables: Tuple[int, ...]) -> Optional[str]:
    """``DFD paper, table 2`` / ``DFD paper, tables 1, 8, 9, 11, 12`` (None for no table)."""
    if not tables:
        return None
    return f'DFD paper, table {tables[0]}' if len(tables) == 1 else \
        'DFD paper, tables ' + ', '.join(str(n) for n in sorted(tables))


def upstream_section(readme: str) -> Optional[str]:
    """The README's "Results published upstream" section, its subsections included (None if it has none)."""
    text, inside = [], None
    for level, title, body in sections(open(readme).read()):
        if inside is not None and level <= inside:
            break
        if inside is None and level == 2 and title == UPSTREAM_HEADING:
            inside = level
        if inside is not None:
            text.append(body)
    return '\n'.join(text) if inside is not None else None


def upstream_problems(source: str, number: Any, entry: Dict[str, Any], metric: Metric) -> List[str]:
    """An upstream Source: named in the folder README's upstream section; the installed codebase's metafile has the
    model, with the entry's number; a plain student's number is that of its own student config."""
    m = UPSTREAM_SOURCE.fullmatch(source)
    if m is None:
        return [f'Source {source!r} is neither "DFD paper, table(s) ...", "<Codebase> model zoo, '
                f'configs/.../metafile.yml (<model>)" nor "measured: benchmarks/..."']
    readme = osp.join(osp.dirname(entry['_metafile']), 'README.md')
    section = upstream_section(readme)
    if section is None:
        return [f'Source {source!r}: {_rel(readme)} has no "{UPSTREAM_HEADING}" section']
    plain = re.sub(r"'s\b", '', section.replace('`', ''))  # "MMYOLO's model zoo (`configs/...`)"
    problems = [f'Source {source!r}: {part!r} is not in the "{UPSTREAM_HEADING}" section of {_rel(readme)}'
                for part in (f'{m.group("who")} model zoo', m.group('file')) if part not in plain]
    scope = UPSTREAM_CODEBASES.get(m.group('who'))
    meta = codebase_file(f'{scope}::' + m.group('file').split('configs/', 1)[1]) if scope else None
    if meta is None or not osp.isfile(meta):
        return problems + [f'Source {source!r}: no installed {m.group("who")} metafile {m.group("file")}']
    models = {model['Name']: model for model in yaml.safe_load(open(meta)).get('Models') or []}
    model = models.get(m.group('model'))
    if model is None:
        return problems + [f'Source {source!r}: {m.group("file")} has no model {m.group("model")}']
    theirs = [r['Metrics'].get(metric.name) for r in model.get('Results') or []
              if (r.get('Task'), r.get('Dataset')) == (metric.task, metric.dataset)]
    if not any(same_number(number, t) for t in theirs):
        problems.append(f'Source {source!r}: {m.group("model")} has {metric.name} {theirs}, the entry {number}')
    student = entry.get('Metadata', {}).get('Student', '')
    if 'Teacher' not in entry.get('Metadata', {}) and '::' in student and \
            model.get('Config') != 'configs/' + student.split('::')[1]:
        problems.append(f'Source {source!r}: {m.group("model")} is {model.get("Config")}, not the student {student}')
    return problems


def source_problems(entry: Dict[str, Any], f: Facts) -> List[str]:
    """Every ``Results`` entry says where its number comes from, and the README (or the upstream metafile, or the
    benchmark folder) agrees (see the module docstring)."""
    path, metric, problems = osp.join(ROOT, entry['Config']), METRICS[f.scope], []
    for result in entry.get('Results') or []:
        source = result.get('Source')
        if not isinstance(source, str) or not source:
            problems.append(f'Results entry {result} has no Source')
        elif source.startswith('DFD paper'):
            expected = paper_source(paper_tables().get(path, ()))
            if source != expected:
                problems.append(f'Source {source!r}: the README rows of {_rel(path)} stand under '
                                f'{expected or "no ### Table N subsection"}')
        elif source.startswith('measured: '):
            target = osp.normpath(source[len('measured: '):])
            if not target.startswith('benchmarks' + osp.sep) or not osp.exists(osp.join(ROOT, target)):
                problems.append(f'Source {source!r}: {target} is not a file or folder under benchmarks/')
        else:
            problems += upstream_problems(source, result.get('Metrics', {}).get(metric.name), entry, metric)
    return problems


def readme_rows() -> List[Row]:
    return [row for folder in sorted({folder_of(p) for p in recipes()})
            if osp.isfile(osp.join(RECIPES_DIR, folder, 'README.md'))
            for row in parse_readme(osp.join(RECIPES_DIR, folder, 'README.md'))]


def distill_recipes() -> List[str]:
    return [p for p in recipes() if 'teacher' in load(p).model]


def _rel(path: str) -> str:
    return osp.relpath(path, RECIPES_DIR)


# ---- the tests --------------------------------------------------------------------------------------------------
def test_model_index_imports_every_metafile():
    from modelindex.load_model_index import load as load_index
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    imported = sorted(osp.join(ROOT, p) for p in index['Import'])
    every = sorted(glob.glob(osp.join(RECIPES_DIR, '*', 'metafile.yml')))  # all tasks, not only SCOPES
    assert imported == every, 'model-index.yml must import exactly the recipes/*/metafile.yml files'
    folders = sorted({folder_of(p) for p in recipes()})
    assert [folder_of(m) for m in metafiles()] == folders, 'every recipe folder needs a metafile.yml'
    for folder in folders:
        assert osp.isfile(osp.join(RECIPES_DIR, folder, 'README.md')), f'recipes/{folder} has no README.md'
    index = load_index(osp.join(ROOT, 'model-index.yml'))
    assert {m.name for m in index.models} >= {e['Name'] for e in entries().values()}
    # modelindex's own validation. It resolves README paths against the metafile's folder; OpenMMLab metafiles
    # (and ours) give them, like Config, relative to the repository root: those are checked here instead.
    errors = [(e['filepath'], e['type'], err) for e in index.collect_check_errors() for err in e['errors']
              if not err.startswith('Path to README file')]
    assert not errors, errors
    for meta in metafiles():
        for collection in yaml.safe_load(open(meta))['Collections']:
            assert osp.isfile(osp.join(ROOT, collection['README'])), f'{meta}: README {collection["README"]} missing'


def test_every_recipe_is_in_one_metafile():
    found = entries()
    missing = [_rel(p) for p in recipes() if p not in found]
    assert not missing, f'recipes in no metafile: {missing}'
    for path, entry in found.items():
        assert osp.isfile(path), f'{entry["_metafile"]}: {entry["Config"]} does not exist'
        assert osp.dirname(path) == osp.dirname(entry['_metafile']), f'{entry["Config"]} is in another folder\'s ' \
                                                                       f'metafile {entry["_metafile"]}'


@pytest.mark.parametrize('path', sorted(entries()), ids=_rel)
def test_metafile_entry_matches_recipe(path):
    assert entry_problems(entries()[path], facts(path)) == []


@pytest.mark.parametrize('row', readme_rows(), ids=lambda r: f'{_rel(r.readme)}:{r.name}')
def test_readme_row_matches_recipe_and_metafile(row):
    assert osp.isfile(row.config), f'{row.readme}: {row.config} does not exist'
    f = facts(row.config)
    assert row_problems(row, f) == []
    assert paper_problems(row, entries()[row.config], f) == []


def test_every_recipe_has_a_readme_row():
    listed = {(osp.dirname(r.readme), r.config) for r in readme_rows()}
    missing = [_rel(p) for p in recipes() if (osp.dirname(p), p) not in listed]
    assert not missing, f'recipes without a row in their folder\'s README: {missing}'


@pytest.mark.parametrize('path', [p for p in distill_recipes()], ids=_rel)
def test_teacher_is_the_zoo_checkpoint(path):
    """No shipped recipe trains from a random teacher: its checkpoint is the zoo model of its teacher config."""
    model = load(path).model
    assert not model.get('allow_random_teacher', False), f'{_rel(path)} allows a random teacher'
    assert model.teacher_ckpt == zoo_weights().get(model.teacher.cfg_path), \
        f'{_rel(path)}: teacher_ckpt is not the model-zoo weights of {model.teacher.cfg_path}'


@pytest.mark.parametrize('path', [p for p in distill_recipes()], ids=_rel)
def test_no_unused_connector(path):
    """Every connector feeds a loss input, and DFD's s_transformed is wired exactly when a constraint needs it.

    An unused connector keeps parameters that get no gradient (distributed training stops on them).
    """
    from dfd_razor.models.losses import DFDLoss
    distiller = load(path).model.distiller
    if 'levels' not in distiller:  # MMRazor's ConfigurableDistiller: the connectors the loss mappings name
        used = {arg.get('connector') for mapping in distiller.loss_forward_mappings.values()
                for arg in mapping.values()}
        unused = [k for k, v in (distiller.get('connectors') or {}).items() if v is not None and k not in used]
        assert not unused, f'{_rel(path)}: connectors {unused} feed no loss input'
        return
    levels = distiller.levels
    inputs = {k: v for k, v in levels.inputs.items() if v is not None}
    used = {v.get('connector') for v in inputs.values()}
    unused = [k for k, v in (levels.get('connectors') or {}).items() if v is not None and k not in used]
    assert not unused, f'{_rel(path)}: connectors {unused} feed no loss input'
    if levels.loss.type == 'DFDLoss':
        loss = DFDLoss(**{k: v for k, v in levels.loss.items() if k != 'type'})
        assert loss.needs_transformed == ('s_transformed' in inputs), \
            f'{_rel(path)}: s_transformed is wired: {"s_transformed" in inputs}, needed: {loss.needs_transformed}'


def _pair_key(path: str) -> Tuple[str, str]:
    return osp.dirname(path), stem(path).split('_', 1)[1]


def test_twins_differ_only_in_the_method():
    """DFD, PKD, MGD and CWD recipes of one pair: same teacher, student, schedule, data and inheriting strategy."""
    groups: Dict[Tuple[str, str], List[str]] = {}
    for path in distill_recipes():
        if facts(path).method in METHOD_LOSSES:  # the main methods, not the ablation variants
            groups.setdefault(_pair_key(path), []).append(path)
    assert groups
    for paths in groups.values():
        def rest(p):
            cfg = copy.deepcopy(load(p).to_dict())
            cfg.pop('method', None)
            cfg['model'].pop('distiller')
            return cfg
        first = rest(paths[0])
        for other in paths[1:]:
            assert rest(other) == first, f'{_rel(other)} differs from {_rel(paths[0])} beyond the method'


def test_dfd_recipes_use_the_paper_weights():
    """Section 4.1: alpha=2.8e-5, beta=1e-5 for one-stage, alpha=3.5e-7, beta=1e-7 for two-stage detectors."""
    checked = 0
    for path in distill_recipes():
        f = facts(path)
        if f.method != 'dfd' or load(path).get('default_scope', 'mmdet') != 'mmdet':
            continue
        kind = 'two-stage' if 'rpn_head' in load(path).model.architecture else 'one-stage'
        assert same_number(f.alpha, PAPER_WEIGHTS[kind][0]) and same_number(f.beta, PAPER_WEIGHTS[kind][1]), \
            f'{_rel(path)}: the paper\'s {kind} weights are {PAPER_WEIGHTS[kind]}, the recipe has {(f.alpha, f.beta)}'
        checked += 1
    assert checked


def _commands(readme: str) -> List[str]:
    blocks = re.findall(r'```bash\n(.*?)```', open(readme).read(), flags=re.S)
    return [c for b in blocks for c in b.replace('\\\n', ' ').splitlines() if c.strip()]


@pytest.mark.parametrize('readme', sorted({r.readme for r in readme_rows()}), ids=_rel)
def test_readme_commands_name_existing_files_and_keys(readme):
    """Every recipe a README command names exists; every --cfg-options key exists in the folder's recipes."""
    commands = _commands(readme)
    assert commands, f'{readme} has no commands'
    folder_recipes = [p for p in recipes() if osp.dirname(p) == osp.dirname(readme)]
    for command in commands:
        for recipe in re.findall(r'recipes/\S+\.py', command):
            assert osp.isfile(osp.join(ROOT, recipe)), f'{readme}: {recipe} does not exist'
        if '--cfg-options' in command:
            parser = argparse.ArgumentParser()
            parser.add_argument('--cfg-options', nargs='+', action=DictAction)  # as tools/train.py parses it
            options = parser.parse_args(['--cfg-options'] + command.split('--cfg-options', 1)[1].split()).cfg_options
            for path in folder_recipes:
                cfg = load(path)
                for key in options:
                    node = cfg
                    for part in key.split('.'):
                        assert part in node, f'{readme}: --cfg-options {key} is not a key of {_rel(path)}'
                        node = node[part]


# ---- the comparisons can fail --------------------------------------------------------------------------------
def _reference_row() -> Row:
    path = osp.join(RECIPES_DIR, 'retinanet', 'dfd_fpn_retina-x101_retina-r50_2x_coco.py')
    return next(r for r in readme_rows() if r.config == path and osp.dirname(r.readme) == osp.dirname(path))


def test_row_problems_catch_a_wrong_row():
    row = _reference_row()
    f = facts(row.config)
    assert row_problems(row, f) == []
    wrong = {
        'alpha': replace(row, alpha=3.5e-7),
        'beta': replace(row, beta=None),
        'teacher': replace(row, teacher='retinanet_x101-32x4d_fpn_1x_coco'),
        'student': replace(row, student='retinanet_r101_fpn_2x_coco'),
        'schedule': replace(row, schedule='1x'),
        'method': replace(row, method='pkd'),
    }
    for field, bad in wrong.items():
        problems = row_problems(bad, f)
        assert problems and any(field in p for p in problems), (field, problems)
    # the same row against a recipe with another schedule and student config: caught through the loaded config
    one_x = facts(osp.join(RECIPES_DIR, 'retinanet', 'dfd_fpn_retina-x101_retina-r50_1x_coco.py'))
    assert any('schedule' in p for p in row_problems(replace(row, name=stem(one_x.path)), one_x))


def test_entry_problems_catch_a_wrong_entry():
    path = osp.join(RECIPES_DIR, 'faster_rcnn', 'dfd_fpn_mask-x101_faster-r50_1x_coco.py')
    entry, f = entries()[path], facts(path)
    assert entry_problems(entry, f) == []
    md = entry['Metadata']
    wrong = {
        'alpha': dict(md, alpha=2.8e-5),
        'beta': dict(md, beta=1e-5),
        'Teacher Checkpoint': dict(md, **{'Teacher Checkpoint': zoo_weights()['mmdet::faster_rcnn/'
                                                                              'faster-rcnn_r101_fpn_2x_coco.py']}),
        'Teacher': dict(md, Teacher='mmdet::mask_rcnn/mask-rcnn_x101-32x4d_fpn_1x_coco.py'),
        'student model': dict(md, Student='mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'),
        'train_cfg': dict(md, Student='mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py'),  # same model, 2x
        'schedule': dict(md, Schedule='2x'),
    }
    for field, bad in wrong.items():
        problems = entry_problems(dict(entry, Metadata=bad), f)
        assert problems and any(field in p for p in problems), (field, problems)


def test_entry_problems_catch_a_wrong_fgd_weight():
    """FGD's metafile entries give its four weights; each is compared with the loaded recipe's loss."""
    path = osp.join(RECIPES_DIR, 'faster_rcnn', 'fgd_fpn_cascade-mask-x101-dcn_faster-r50_2x_coco.py')
    entry, f = entries()[path], facts(path)
    assert entry_problems(entry, f) == []
    for name in FGD_WEIGHTS:
        bad = dict(entry['Metadata'], **{name: entry['Metadata'][name] * 2})
        problems = entry_problems(dict(entry, Metadata=bad), f)
        assert problems and any(name in p for p in problems), (name, problems)
    row = _own_row(path)
    assert any('alpha' in p for p in row_problems(replace(row, alpha=0.001), f))


PSPNET = osp.join(RECIPES_DIR, 'pspnet', 'dfd_head_pspnet-r101_pspnet-r18_40k_cityscapes-512x512.py')
POSE = osp.join(RECIPES_DIR, 'pose', 'dfd_backbone_td-hm-r50_td-hm-mbv2_210e_coco-256x192.py')


def _own_row(path: str) -> Row:
    return next(r for r in readme_rows() if r.config == path and osp.dirname(r.readme) == osp.dirname(path))


def test_row_problems_catch_a_wrong_repository_student():
    """A student linked to a config of this repository is held to that config, as a zoo student to the zoo's."""
    row, f = _own_row(PSPNET), facts(PSPNET)
    assert row_problems(row, f) == [] and row.student.startswith('[')
    zoo = 'pspnet_r18-d8_4xb2-80k_cityscapes-512x1024'  # the model, but 512x1024 crops and 80k iterations
    wrong = {
        'train_cfg': replace(row, student=zoo),
        'train_dataloader': replace(row, student=zoo),
        'link text': replace(row, student='[pspnet-r18](../../configs/pairs/pspnet-r18_40k_cityscapes-512x512.py)'),
        'does not exist': replace(row, student='[x_y](../../configs/pairs/x_y.py)'),
        'neither': replace(row, student='[student_pspnet-r18_40k_cityscapes-512x512]'
                                        '(student_pspnet-r18_40k_cityscapes-512x512.py)'),  # a recipe, not configs/
        'student model': replace(row, student='[pspnet-r18_pspnet-r18half_800i_camvid]'
                                              '(../../configs/pairs/pspnet-r18_pspnet-r18half_800i_camvid.py)'),
    }
    for field, bad in wrong.items():
        problems = row_problems(bad, f)
        assert problems and any(field in p for p in problems), (field, problems)


YOLOV6 = osp.join(RECIPES_DIR, 'yolov6', 'dfd_neck_yolov6-s_yolov6-t_300e_coco.py')


@pytest.mark.parametrize('path', [PSPNET, POSE, YOLOV6], ids=_rel)
def test_paper_problems_catch_a_wrong_number_or_column(path):
    row, f = _own_row(path), facts(path)
    entry = entries()[path]
    assert paper_problems(row, entry, f) == [] and row.paper is not None
    metric = METRICS[f.scope]
    other = next(m.column for m in METRICS.values() if m.column != metric.column)
    for bad in (replace(row, paper=row.paper + 0.1), replace(row, paper=None)):
        assert any(metric.column in p and 'README' in p for p in paper_problems(bad, entry, f)), bad
    assert any('column' in p for p in paper_problems(replace(row, metric=other), entry, f))
    # the metafile side: another task's metric, another dataset, a wrong number
    result = entry['Results'][0]
    for bad_result in (dict(result, Metrics={'box AP' if metric.name != 'box AP' else 'mIoU': row.paper}),
                       dict(result, Dataset='ADE20K'), dict(result, Task='Image Classification')):
        assert any('Results entry' in p for p in entry_problems(dict(entry, Results=[bad_result]), f)), bad_result
    wrong_number = dict(entry, Results=[dict(result, Metrics={metric.name: row.paper - 1})])
    assert paper_problems(row, wrong_number, f)


def test_entry_problems_catch_a_wrong_segmentation_entry():
    entry, f = entries()[PSPNET], facts(PSPNET)
    assert entry_problems(entry, f) == []
    md = entry['Metadata']
    wrong = {
        'train_cfg': dict(md, Student='mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'),
        'student model': dict(md, Student='mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py'),
        'neither': dict(md, Student='recipes/pspnet/student_pspnet-r18_40k_cityscapes-512x512.py'),
        'does not exist': dict(md, Student='configs/pairs/pspnet-r18_80k_cityscapes-512x512.py'),
        'Iterations': dict(md, Iterations=80000),
        'schedule': dict(md, Schedule='80k'),
        'Teacher Checkpoint': dict(md, **{'Teacher Checkpoint': zoo_weights()[
            'mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py']}),  # the 80k-iteration R101's
    }
    for field, bad in wrong.items():
        problems = entry_problems(dict(entry, Metadata=bad), f)
        assert problems and any(field in p for p in problems), (field, problems)


def test_zoo_weights_read_every_codebase():
    """mmdet/mmyolo ``metafile.yml``, mmseg ``metafile.yaml``, mmpose ``<name>_<dataset>.yml``."""
    scopes = {k.split('::')[0] for k in zoo_weights()}
    assert scopes == set(CODEBASES), scopes
    assert zoo_weights()['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py'] \
        == load(POSE).model.teacher_ckpt
    assert zoo_weights()['mmseg::pspnet/pspnet_r101-d8_4xb2-40k_cityscapes-512x1024.py'] == \
        load(PSPNET).model.teacher_ckpt


def test_parse_readme_reads_links_dashes_and_missing_numbers(tmp_path):
    text = '\n'.join(['# t', '', '| ' + ' | '.join(HEADER) + ' |', '|' + ' --- |' * len(HEADER),
                      '| [a_b](../x/a_b.py) | student | - | s | 1x | - | - | 36.5 |',
                      '| [c_d](c_d.py) | cwd | t | s | 2x | 10 | - | not reported |', '', 'after'])
    rows = parse_readme(str(tmp_path / 'README.md'), text)
    assert [(osp.relpath(r.config, str(tmp_path)), r.teacher, r.alpha, r.beta, r.paper) for r in rows] == [
        (osp.join('..', 'x', 'a_b.py'), None, None, None, 36.5), ('c_d.py', 't', 10.0, None, None)]
    with pytest.raises(ValueError, match='link'):
        parse_readme('R', text.replace('[c_d](c_d.py)', 'c_d.py'))
    # a segmentation table: its metric column, a student linked to a config of this repository
    seg = text.replace('paper box AP', 'paper mIoU').replace('| s | 1x |', '| [n](../../configs/n.py) | 40k |')
    row = parse_readme(str(tmp_path / 'README.md'), seg)[0]
    assert (row.metric, row.student, row.paper) == ('paper mIoU', '[n](../../configs/n.py)', 36.5)
    assert readme_student(replace(row, readme=osp.join(RECIPES_DIR, 'pspnet', 'README.md')))[0] == 'configs/n.py'
    assert parse_readme('R', text.replace('paper box AP', 'paper top-1')) == []  # not a table of this file


# ---- where each number comes from ----------------------------------------------------------------------------
@pytest.mark.parametrize('path', sorted(p for p, e in entries().items() if e.get('Results')), ids=_rel)
def test_every_result_says_where_its_number_comes_from(path):
    assert source_problems(entries()[path], facts(path)) == []


def test_paper_tables_are_the_readme_subsections():
    """The sources the notes of recipes/retinanet/README.md and recipes/ablations/README.md spell out."""
    tables = {stem(p): n for p, n in paper_tables().items()}
    assert tables['dfd_fpn_retina-x101_retina-r50_1x_coco'] == (1, 8, 9, 11, 12)  # "Ours" of tables 1, 8, 9, 11, 12
    assert tables['pkd_fpn_retina-x101_retina-r50_1x_coco'] == tables['mgd_fpn_retina-x101_retina-r50_1x_coco'] \
        == (10,)
    assert tables['student_retina-r50_1x_coco'] == (5, 11, 12)  # table 1 prints 36.4
    assert tables['dfd_fpn_retina-x101_retina-r50_2x_coco'] == (2,)


RETINA_1X = osp.join(RECIPES_DIR, 'retinanet', 'dfd_fpn_retina-x101_retina-r50_1x_coco.py')
RTMDET_STUDENT = osp.join(RECIPES_DIR, 'rtmdet', 'student_rtmdet-l_300e_coco.py')


def _with_source(entry: Dict[str, Any], source: Optional[str]) -> Dict[str, Any]:
    result = {k: v for k, v in entry['Results'][0].items() if k != 'Source'}
    return dict(entry, Results=[result if source is None else dict(result, Source=source)])


def test_source_problems_catch_a_wrong_table():
    entry, f = entries()[RETINA_1X], facts(RETINA_1X)
    assert entry['Results'][0]['Source'] == 'DFD paper, tables 1, 8, 9, 11, 12'
    assert source_problems(entry, f) == []
    for wrong in ('DFD paper, tables 1, 8, 9, 11', 'DFD paper, tables 1, 8, 9, 10, 11, 12', 'DFD paper, table 2',
                  'DFD paper, tables 1, 8, 9, 11, 13', 'DFD paper, tables 12, 11, 9, 8, 1', 'DFD paper'):
        problems = source_problems(_with_source(entry, wrong), f)
        assert problems and all('tables 1, 8, 9, 11, 12' in p for p in problems), (wrong, problems)
    assert any('no Source' in p for p in source_problems(_with_source(entry, None), f))
    assert any('neither' in p for p in source_problems(_with_source(entry, 'the paper, table 1'), f))
    # the listed exception: the 1x student stands under table 1 too, which prints 36.4, not its 36.5
    student = osp.join(RECIPES_DIR, 'retinanet', 'student_retina-r50_1x_coco.py')
    assert source_problems(_with_source(entries()[student], 'DFD paper, tables 1, 5, 11, 12'), facts(student))
    # a paper source in a folder the paper has no table for
    rtmdet, rf = entries()[RTMDET_STUDENT], facts(RTMDET_STUDENT)
    assert any('no ### Table N' in p for p in source_problems(_with_source(rtmdet, 'DFD paper, table 3'), rf))


def test_source_problems_catch_a_wrong_upstream_or_measured_source():
    entry, f = entries()[RTMDET_STUDENT], facts(RTMDET_STUDENT)
    good = entry['Results'][0]['Source']
    assert good == 'MMYOLO model zoo, configs/rtmdet/metafile.yml (rtmdet_l_syncbn_fast_8xb32-300e_coco)'
    assert source_problems(entry, f) == []
    wrong = {
        # another model of the same metafile: another number, not the student config
        good.replace('rtmdet_l_', 'rtmdet_m_'): ('box AP', 'not the student'),
        good.replace('MMYOLO', 'MMDetection'): ('not in the',),  # README names MMYOLO's zoo
        good.replace('rtmdet/metafile', 'yolov8/metafile'): ('not in the', 'no model'),
        good.replace('rtmdet_l_', 'rtmdet_q_'): ('no model',),
    }
    for source, expected in wrong.items():
        problems = source_problems(_with_source(entry, source), f)
        assert all(any(e in p for p in problems) for e in expected), (source, problems)
    retina = entries()[RETINA_1X]
    assert any('has no "Results published upstream"' in p
               for p in source_problems(_with_source(retina, good), facts(RETINA_1X)))
    # measured numbers: a file or folder under benchmarks/
    assert source_problems(_with_source(entry, 'measured: benchmarks/README.md'), f) == []
    for bad in ('measured: benchmarks/no_such_study.md', 'measured: README.md', 'measured: benchmarks/../README.md'):
        assert any('not a file or folder under benchmarks' in p
                   for p in source_problems(_with_source(entry, bad), f)), bad


def test_readme_tables_read_only_table_subsections(tmp_path):
    def table(*names):
        return ['| ' + ' | '.join(HEADER) + ' |', '|' + ' --- |' * len(HEADER)] + \
            [f'| [{n}]({n}.py) | dfd | t | s | 1x | 1 | 1 | 40.0 |' for n in names] + ['']
    text = '\n'.join(['# t', '## Results in the paper', '### Table 3: a'] + table('a', 'b') +
                     ['### Table 7 (pose): b'] + table('a') +
                     ['### 1x twins (tables 1, 5)'] + table('c') +  # not a Table N subsection
                     ['## Train', '```bash', '### Table 9', '```'] + table('d'))  # a comment in a code block
    tables = readme_tables(str(tmp_path / 'README.md'), text)
    assert {stem(k): v for k, v in tables.items()} == {'a': {3, 7}, 'b': {3}}
    assert paper_source((3, 7)) == 'DFD paper, tables 3, 7' and paper_source((3,)) == 'DFD paper, table 3'
