"""A task head's class count against its dataset's, before anything is built.

Upstream trains a 19-class segmentation head on 11-class labels, or an 80-class detector on 3-class boxes, without a
word. The tools (train, test, the doctor) call :func:`check_num_classes` first: a difference is one line naming the
head's config keys, the dataset's key, both counts and the override that fixes it.
"""
import importlib
from typing import Any, Iterator, List, Optional, Tuple

from mmengine.config import Config

from dfd_razor.errors import RecipeError

#: subtrees whose ``num_classes`` is not the task's class count (an RPN is class-agnostic: one class)
NOT_TASK_HEADS = ('backbone', 'neck', 'rpn_head', 'data_preprocessor', 'init_cfg')


def head_class_counts(node: Any, key: str) -> List[Tuple[str, int]]:
    """(config key, value) of every ``num_classes`` of a model config's heads (and of the assigners MMYOLO gives
    them), outside :data:`NOT_TASK_HEADS`."""
    found: List[Tuple[str, int]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in NOT_TASK_HEADS:
                continue
            if k == 'num_classes' and isinstance(v, int) and not isinstance(v, bool) and v > 0:
                found.append((f'{key}.{k}', v))
            else:
                found += head_class_counts(v, f'{key}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            found += head_class_counts(v, f'{key}.{i}')
    return found


def set_head_class_counts(node: Any, key: str, count: int) -> List[str]:
    """Set every ``num_classes`` of :func:`head_class_counts` to ``count`` in place; the keys changed, with their old
    values (``'model.architecture.bbox_head.num_classes 80 -> 3'``)."""
    changed = []
    for where, old in head_class_counts(node, key):
        if old == count:
            continue
        parent = node
        for part in where[len(key) + 1:].split('.')[:-1]:
            parent = parent[int(part)] if isinstance(parent, (list, tuple)) else parent[part]
        parent['num_classes'] = count
        changed.append(f'{where} {old} -> {count}')
    return changed


def walk_datasets(node: Any, key: str) -> Iterator[Tuple[str, Any]]:
    """(config key, dict) of every dataset config at and below a dataloader's ``dataset``: wrappers
    (``RepeatDataset``, ``ConcatDataset``, ``ClassBalancedDataset``: those with a ``dataset``/``datasets`` entry)
    before the datasets they wrap."""
    if not isinstance(node, dict):
        return
    yield key, node
    for k in ('dataset', 'datasets'):
        if k in node:
            child = node[k]
            if isinstance(child, (list, tuple)):
                for i, c in enumerate(child):
                    yield from walk_datasets(c, f'{key}.{k}.{i}')
            else:
                yield from walk_datasets(child, f'{key}.{k}')


def leaf_datasets(node: Any, key: str) -> Iterator[Tuple[str, Any]]:
    """The datasets of :func:`walk_datasets` that wrap no other."""
    return ((k, n) for k, n in walk_datasets(node, key) if 'dataset' not in n and 'datasets' not in n)


def dataset_classes(dataset: Any, scope: str) -> Optional[Tuple[str, ...]]:
    """The class names a dataset config yields: its ``metainfo.classes``, else its type's ``METAINFO['classes']``;
    None when neither says (pose datasets count keypoints, not classes) or the type is not found."""
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        return tuple(metainfo['classes'])
    name = dataset.get('type')
    if isinstance(name, str):
        try:
            registry = importlib.import_module(f'{dataset.get("_scope_", scope)}.registry').DATASETS
            cls = registry.get(name)
        except Exception:  # diagnosis only: an unknown type is reported by the Runner, naming its key
            return None
    else:
        cls = name
    classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    return tuple(classes) if classes else None


def trained_model(cfg: Config) -> Tuple[str, Any]:
    """(config key, config) of the model the data trains or tests: a distillation recipe's student
    (``model.architecture``, its ``cfg_path`` form read from the config it names), else ``model``."""
    model = cfg.model
    if 'architecture' in model:
        node = model.architecture
        if isinstance(node, dict) and 'cfg_path' in node:
            from dfd_razor_tools.offline import resolve_cfg_path
            node = resolve_cfg_path(node)
        return 'model.architecture', node
    return 'model', model


def check_num_classes(cfg: Config, loaders: List[str]) -> None:
    """Raise a :class:`RecipeError` when the trained model's heads predict another number of classes than the
    datasets of ``loaders`` (``'train_dataloader'``, ...) hold, naming both keys, both counts and the fix."""
    key, model = trained_model(cfg)
    heads = head_class_counts(model, key)
    if not heads:
        return
    scope = cfg.get('default_scope') or 'mmengine'
    for loader in loaders:
        if cfg.get(loader) is None:
            continue
        for where, dataset in leaf_datasets(cfg[loader].get('dataset'), f'{loader}.dataset'):
            classes = dataset_classes(dataset, scope)
            if classes is None:
                continue
            wrong = [(k, v) for k, v in heads if v != len(classes)]
            if not wrong:
                continue
            shown = ', '.join(repr(c) for c in classes[:5]) + (', ...' if len(classes) > 5 else '')
            name = dataset.get('type') if isinstance(dataset.get('type'), str) else 'dataset'
            raise RecipeError(
                f'{", ".join(f"{k}={v}" for k, v in wrong)}, but {where} ({name}) has {len(classes)} classes '
                f'({shown}): the head would train on labels it does not fit. Set --cfg-options '
                + ' '.join(f'{k}={len(classes)}' for k, _ in wrong)
                + ' (or the dataset\'s metainfo.classes to the head\'s), or try the recipe on a bundled set with '
                '--data (tools/train.py, tools/inspect_distill.py), which sets both')
