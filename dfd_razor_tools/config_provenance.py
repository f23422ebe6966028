"""Where each value of a recipe's resolved config comes from: the engine of tools/print_config.py.

A recipe's values sit several ``_base_`` levels down (recipe -> configs/pairs -> configs/algorithms, mmdet's
bases; configs/methods). :class:`ResolvedConfig` reads a recipe as tools/train.py hands it to the Runner
(:func:`dfd_razor_tools.launch.load_config`: mmengine's ``Config.fromfile``, ``--cfg-options`` merged, ``work_dir``
set), optionally with ``model.distiller.levels`` expanded into the per-level ``connectors``, ``distill_losses`` and
``loss_forward_mappings`` that ``MultiLevelDistiller`` writes when it is built, and finds for every leaf the file
it comes from: the last file of the ``_base_`` chain whose config changes that value (a file that repeats an
inherited value, or passes it on through ``_base_.X``, leaves it to the file it came from), :data:`COMMAND_LINE`
for ``--cfg-options``; an expanded per-level value has the file of the ``levels`` entry it was written from.

mmengine's public config API is ``Config.fromfile`` (a file resolved with its bases) and ``Config.to_dict``;
the ``_base_`` chain itself (which files a config names, where a ``pkg::`` base lives, the ``_scope_`` a
``pkg::`` base adds) has no public API: :func:`base_files`, :func:`resolve_base` and :func:`with_scope` say, next
to the code, what they stand in for.
"""
import ast
import contextlib
import os
import os.path as osp
import re
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import mmengine
from mmengine.config import Config, ConfigDict

import dfd_razor  # noqa: F401  (dfd_razor:: prefix, registered connectors and losses for the expansion)
from dfd_razor import config_prefix
from dfd_razor.config_prefix import CONFIG_PREFIX, shared_configs_dir
from dfd_razor.errors import RecipeError
from dfd_razor.models.distillers.multi_level_distiller import (STUDENT_CHANNEL_ARGS, TEACHER_CHANNEL_ARGS,
                                                               MultiLevelDistiller)

from .launch import load_config

#: A config key as a path (``('model', 'distiller', 'levels', 'loss', 'alpha')``); list items are str(index).
Key = Tuple[str, ...]
COMMAND_LINE = 'command line'
#: Keys load_config sets for the Runner (not in any file).
LOAD_CONFIG = 'dfd_razor_tools.launch.load_config'
_LEVELS: Key = ('model', 'distiller', 'levels')


# ---- the _base_ chain and where each value comes from -----------------------------------------------------
def flatten(node: Any, prefix: Key = ()) -> Dict[Key, Any]:
    """Leaf key -> value of a config tree. Dicts are walked, and lists or tuples that hold a dict (pipelines,
    hooks); any other list is one value (``indices=[0, 1, 2]``), as is an empty dict."""
    if isinstance(node, dict) and node:
        out: Dict[Key, Any] = {}
        for k, v in node.items():
            out.update(flatten(v, prefix + (str(k),)))
        return out
    if isinstance(node, (list, tuple)) and any(isinstance(v, dict) for v in node):
        out = {}
        for i, v in enumerate(node):
            out.update(flatten(v, prefix + (str(i),)))
        return out
    return {prefix: node}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _plain(node: Any) -> Any:
    """A config tree as plain dicts and lists (ConfigDict, lazy values built)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_plain(v) for v in node)
    return node


def base_accesses(filename: str) -> List[Key]:
    """The keys a config reads from its bases: ``_base_.model.backbone`` -> ``('model', 'backbone')`` and
    ``('model',)``; ``_base_['x']`` and ``{{_base_.x}}`` too."""
    if not filename.endswith('.py'):
        return []
    with open(filename, encoding='utf-8') as f:
        source = f.read()
    found = {tuple(m.split('.')) for m in re.findall(r'\{\{\s*_base_\.([\w.]+)\s*\}\}', source)}
    for node in ast.walk(ast.parse(source)):
        path: List[str] = []
        while True:
            if isinstance(node, ast.Attribute):
                path.append(node.attr)
                node = node.value
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                path.append(str(node.slice.value))
                node = node.value
            else:
                break
        if path and isinstance(node, ast.Name) and node.id == '_base_':
            found.add(tuple(reversed(path)))
    return sorted(found, key=lambda k: (-len(k), k))


def base_files(filename: str) -> List[str]:
    """The ``_base_`` entries of a config file, as written (``'../pairs/x.py'``, ``'mmdet::_base_/...'``).

    mmengine has no public API for this (its ``Config._get_base_files`` is private): like it, this reads the
    ``_base_ = ...`` assignment of a ``.py`` file without running the file, and the ``_base_`` key of a
    ``.json``/``.yml`` one (``mmengine.load``).
    """
    if filename.endswith('.py'):
        with open(filename, encoding='utf-8') as f:
            body = ast.parse(f.read(), filename).body
        assign = next((node for node in body if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                       and node.targets[0].id == '_base_'), None)
        bases = ast.literal_eval(assign.value) if assign is not None else []
    else:
        bases = mmengine.load(filename).get('_base_', [])
    return list(bases) if isinstance(bases, (list, tuple)) else [bases]


def resolve_base(base: str, filename: str) -> Tuple[str, Optional[str]]:
    """(file, scope) of one ``_base_`` entry of ``filename``: the scope is the package of a ``pkg::`` base
    (``'mmdet'``), else None.

    A relative base is beside ``filename`` and a ``dfd_razor::`` one is :func:`dfd_razor.config_prefix.resolve`'s
    file, as ``Config.fromfile`` reads them. For ``pkg::path`` mmengine has no public API: ``mmengine.hub.get_config``
    finds only the configs a package's metafiles list, not its ``_base_`` files, so this calls the private
    ``Config._get_cfg_path`` that ``Config.fromfile`` itself uses (the metafiles first, then ``.mim/configs``).
    """
    if base.startswith(CONFIG_PREFIX):
        return config_prefix.resolve(base, filename), None
    if '::' not in base:
        return osp.join(osp.dirname(filename), base), None
    return Config._get_cfg_path(base, filename)  # private: no public resolver of a pkg:: base (see above)


def with_scope(node: Any, scope: str, has_scope: bool = True) -> Any:
    """``node`` with ``_scope_`` set on each outermost dict that has a ``type`` (a nested one inherits it), as
    ``Config.fromfile`` marks what a ``pkg::`` base contributes; a dict that has a ``_scope_`` keeps it.

    mmengine does this in its private ``Config._dict_to_config_dict``, with no public equivalent; this is the
    same rule on plain dicts and lists.
    """
    if isinstance(node, dict):
        node = dict(node)
        if has_scope and 'type' in node:
            has_scope = False
            if node.get('_scope_') is None:
                node['_scope_'] = scope
        return {k: with_scope(v, scope, has_scope) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(with_scope(v, scope, has_scope) for v in node)
    return node


class SourceTracker:
    """Walks a config's ``_base_`` chain as mmengine reads it and finds, per leaf key, the file its value is from.

    For each file (bases first, in ``_base_`` order) the file's resolved config (``Config.fromfile``) is compared
    with its merged bases: a leaf whose value is unchanged at the same key keeps the base's source; a changed or
    new one is looked up under the keys the file reads from its bases (``model = _base_.fpn_teacher``,
    ``dict(distiller=_base_.method)``: same value under the read key plus the same remaining path), and failing
    that is the file's own.
    """

    def __init__(self) -> None:
        self._files: Dict[str, Tuple[Dict[Key, Any], Dict[Key, str]]] = {}
        #: every file read, in the order its values apply (post-order of the _base_ tree)
        self.chain: List[str] = []

    def sources(self, filename: str, scope: Optional[str] = None) -> Tuple[Dict[Key, Any], Dict[Key, str]]:
        """(leaf key -> value, leaf key -> source file) of ``filename`` resolved with its bases."""
        filename = osp.abspath(filename)
        cache_key = f'{scope}::{filename}'
        if cache_key in self._files:
            return self._files[cache_key]
        merged: Dict[Key, Any] = {}
        merged_sources: Dict[Key, str] = {}
        for base in base_files(filename):
            base_path, base_scope = resolve_base(base, filename)
            values, sources = self.sources(base_path, base_scope)
            merged.update(values)
            merged_sources.update(sources)
        resolved = _plain(Config.fromfile(filename, import_custom_modules=False).to_dict())
        if scope is not None:  # mmengine adds _scope_ to the dicts of a pkg:: base
            resolved = with_scope(resolved, scope)
        values = flatten(resolved)
        reads = base_accesses(filename)
        sources = {}
        for key, value in values.items():
            if key in merged and _same(merged[key], value):
                sources[key] = merged_sources[key]
            else:
                sources[key] = self._moved_from(key, value, reads, merged, merged_sources) or filename
        self._files[cache_key] = (values, sources)
        if filename not in self.chain:
            self.chain.append(filename)
        return values, sources

    @staticmethod
    def _moved_from(key: Key, value: Any, reads: Sequence[Key], merged: Dict[Key, Any],
                    merged_sources: Dict[Key, str]) -> Optional[str]:
        """The source of the base value this one was taken from through ``_base_.X`` (longest common path)."""
        for split in range(1, len(key)):
            rest = key[split:]
            for read in reads:
                base_key = read + rest
                if base_key in merged and _same(merged[base_key], value):
                    return merged_sources[base_key]
        return None


def _under(key: Key, prefix: Key) -> bool:
    return key[:len(prefix)] == prefix


def _option_key(option: str) -> Key:
    return tuple(option.split('.'))


# ---- the per-level expansion ---------------------------------------------------------------------------------
def expand_levels(distiller: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """``model.distiller`` with ``levels`` replaced by what ``MultiLevelDistiller`` writes from it when built.

    Returns:
        The distiller dict (``levels`` removed; ``connectors``, ``distill_losses`` and ``loss_forward_mappings``
        with the per-level entries) and loss name -> level tag (``'loss_dfd_fpn0' -> 'fpn0'``).

    Raises:
        RecipeError: ``levels`` does not expand (an unknown key, a channel count missing, an unregistered type).
    """
    kwargs = {k: v for k, v in distiller.items() if k != 'levels'}
    try:
        # dfd_razor's own expansion (the one the distiller runs when built), not an mmengine API
        return MultiLevelDistiller._expand_levels(_plain(distiller['levels']), kwargs)
    except RecipeError:  # already one line naming the key
        raise
    except (KeyError, ValueError, TypeError) as e:
        raise RecipeError(f'model.distiller.levels does not expand: {e}') from e


def _expanded_sources(levels: Dict[str, Any], tags: Dict[str, str], sources: Dict[Key, str],
                      expanded: Dict[Key, Any]) -> Dict[Key, str]:
    """Source of each leaf ``levels`` writes: the ``levels`` entry it is written from (the names follow
    ``MultiLevelDistiller``: connector ``{key}_{tag}``, loss ``{loss_name}_{tag}``)."""

    def source(*rest: str) -> str:
        key = _LEVELS + rest
        hits = [s for k, s in sources.items() if _under(k, key)]
        return hits[-1] if hits else f'{".".join(key)} (expanded)'

    def channel_source(arg: str) -> Optional[str]:
        if arg in STUDENT_CHANNEL_ARGS:
            return source('student_channels')
        if arg in TEACHER_CHANNEL_ARGS:
            return source('teacher_channels')
        return None

    out: Dict[Key, str] = {}
    distiller: Key = ('model', 'distiller')
    templates = [k for k, v in (levels.get('connectors') or {}).items() if v is not None]
    for loss_key, tag in tags.items():
        blocks = [(('connectors', f'{t}_{tag}'), ('connectors', t)) for t in templates]
        blocks += [(('distill_losses', loss_key), ('loss',))]
        for written, template in blocks:
            for key in [k for k in expanded if _under(k, distiller + written)]:
                rest = key[len(distiller + written):]
                if _LEVELS + template + rest in sources:
                    out[key] = sources[_LEVELS + template + rest]
                else:
                    out[key] = channel_source(rest[0]) or source(*template)
        for key in [k for k in expanded if _under(k, distiller + ('loss_forward_mappings', loss_key))]:
            arg, rest = key[4], key[5:]
            if _LEVELS + ('inputs', arg) + rest in sources:
                out[key] = sources[_LEVELS + ('inputs', arg) + rest]
            else:
                out[key] = source('indices') if rest == ('data_idx',) else source('inputs', arg)
    return out


@contextlib.contextmanager
def _package_bases_resolved_once() -> Iterator[None]:
    """Resolve each ``pkg::path`` base once while the block runs.

    mmengine resolves an ``mmdet::``-style base by reading every metafile of the package (about 0.4 s for mmdet),
    and the chain walk reads each file with its bases again; the result depends only on the base path.
    mmengine has no public hook into ``Config.fromfile``'s base resolution: this wraps the private
    ``Config._get_cfg_path`` for the block, as :func:`dfd_razor.config_prefix.install` wraps it for good (the
    wrapper keeps that one's ``dfd_razor::`` marker).
    """
    upstream = Config._get_cfg_path
    cache: Dict[str, Tuple[str, Optional[str]]] = {}

    def _get_cfg_path(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
        if '::' not in cfg_path:
            return upstream(cfg_path, filename)
        if cfg_path not in cache:
            cache[cfg_path] = upstream(cfg_path, filename)
        return cache[cfg_path]

    _get_cfg_path._dfd_razor = getattr(upstream, '_dfd_razor', False)  # type: ignore[attr-defined]
    Config._get_cfg_path = staticmethod(_get_cfg_path)
    try:
        yield
    finally:
        Config._get_cfg_path = staticmethod(upstream)


# ---- what the tool prints --------------------------------------------------------------------------------------
class ResolvedConfig:
    """A recipe read as tools/train.py reads it, with the source of every value.

    Args:
        path: The recipe.
        cfg_options: ``--cfg-options`` (dotted key -> value), merged as the tools merge them.
        expand: Replace ``model.distiller.levels`` by its per-level entries.
        work_dir: ``--work-dir`` (default: the recipe's, else ``work_dirs/<recipe name>``, as the tools choose).
    """

    def __init__(self, path: str, cfg_options: Optional[Dict[str, Any]] = None, expand: bool = True,
                 work_dir: Optional[str] = None) -> None:
        cfg_options = dict(cfg_options or {})
        try:
            with _package_bases_resolved_once():
                self.cfg = load_config(path, cfg_options, work_dir, 'none')
                tracker = SourceTracker()
                _, sources = tracker.sources(path)
        except RecipeError:
            raise
        except Exception as e:  # a recipe that does not read: one line naming it (--debug: the traceback)
            raise RecipeError(f'{path}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r}') from e
        self.chain: List[str] = tracker.chain
        self.level_tags: Dict[str, str] = {}
        values = flatten(_plain(self.cfg.to_dict()))
        for key in values:
            if any(_under(key, _option_key(option)) for option in cfg_options):
                sources[key] = COMMAND_LINE
            elif key not in sources:
                sources[key] = LOAD_CONFIG
        distiller = self.cfg.get('model', {}).get('distiller')
        if expand and isinstance(distiller, dict) and distiller.get('levels') is not None:
            levels = _plain(distiller['levels'])
            expanded, self.level_tags = expand_levels(_plain(distiller))
            self.cfg.model.distiller = ConfigDict(expanded)
            values = flatten(_plain(self.cfg.to_dict()))
            sources.update(_expanded_sources(levels, self.level_tags, sources, values))
        #: leaf key -> value of the printed config
        self.values: Dict[Key, Any] = values
        #: leaf key -> source file (absolute), COMMAND_LINE or LOAD_CONFIG, for every leaf of the printed config
        self.sources: Dict[Key, str] = {k: sources[k] for k in values}

    def source(self, key: str) -> str:
        """The source of one leaf, by dotted key (``'model.distiller.distill_losses.loss_dfd_fpn0.alpha'``)."""
        return self.sources[_option_key(key)]

    def value(self, key: str) -> Any:
        return self.values[_option_key(key)]

    def distill_keys(self) -> List[Key]:
        """``model``'s leaves except those inside ``model.architecture`` (its ``type`` is kept)."""
        arch: Key = ('model', 'architecture')
        return [k for k in self.values if _under(k, ('model',)) and (not _under(k, arch) or k == arch + ('type',))]

    def source_lines(self, keys: Sequence[Key]) -> Iterator[str]:
        for key in keys:
            yield f'{".".join(key)} = {self.values[key]!r}  # {display_path(self.sources[key])}'

    def report(self, sources: str = 'distill') -> str:
        """The text the tool prints; ``sources``: 'distill', 'all' or 'none'."""
        lines = [f'# {display_path(self.cfg.filename)}: the _base_ chain, in the order its values apply']
        lines += [f'#   {display_path(f)}' for f in self.chain]
        if self.level_tags:
            tags = list(self.level_tags.values())
            lines.append(f'# model.distiller.levels expanded as MultiLevelDistiller does when built: {len(tags)} '
                         f'level(s) {", ".join(tags)}')
        lines += ['', self.cfg.pretty_text.rstrip()]
        if sources != 'none':
            keys = list(self.values) if sources == 'all' else self.distill_keys()
            lines += ['', f'# where each value comes from ({"all keys" if sources == "all" else "distillation keys"}): '
                      'the last file in the chain that changes it; command line: --cfg-options']
            lines += list(self.source_lines(keys)) or ['# (no model keys)']
        return '\n'.join(lines)


def display_path(path: str) -> str:
    """``path`` as ``pkg::rel`` inside a package's ``.mim/configs``, else relative to the current folder if under
    it, else as ``dfd_razor::rel`` in the shared configs, else as is (also COMMAND_LINE and LOAD_CONFIG)."""
    if not osp.isabs(path):
        return path
    parts = path.split(os.sep)
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == '.mim' and parts[i + 1] == 'configs':
            return f'{parts[i - 1]}::{"/".join(parts[i + 2:])}'
    here = os.getcwd()
    if osp.commonpath([here, path]) == here:
        return osp.relpath(path, here)
    shared = shared_configs_dir()
    if osp.commonpath([shared, path]) == shared:
        return CONFIG_PREFIX + osp.relpath(path, shared).replace(os.sep, '/')
    return path
