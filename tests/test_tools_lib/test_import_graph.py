"""The layout of dfd_razor_tools: its import graph has no cycle, the benchmark package's modules import only those
below them, and tools/benchmark.py is a thin entry point.

The graph is computed here from the source with ``ast``, independently of the package's code: every ``import`` and
``from ... import`` of a ``dfd_razor_tools`` module anywhere in a file (a function's lazy import too) is an edge, to
the module named and to each package above it (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``). Imports
under ``if TYPE_CHECKING:`` never run, so they are no edge.
"""
import ast
import os
import os.path as osp
from typing import Dict, List, Set

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PACKAGE = 'dfd_razor_tools'
# dfd_razor_tools.benchmark's modules, top down: each may import only those of a lower rank.
LAYERS = [['cli'], ['protocol'], ['teacher', 'executors', 'report'], ['records', 'settings'],
          ['pair', 'weights', 'sweep'], ['errors']]


def modules() -> Dict[str, str]:
    """Module name -> its file, for every file of the package."""
    found = {}
    for folder, _, files in os.walk(osp.join(ROOT, PACKAGE)):
        for name in files:
            if name.endswith('.py'):
                parts = osp.relpath(osp.join(folder, name), ROOT)[:-3].split(os.sep)
                found['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = osp.join(folder, name)
    return found


def _runtime_nodes(tree: ast.AST) -> List[ast.AST]:
    """The import statements of a module that run: all but those under ``if TYPE_CHECKING:``."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.dump(node.test):
            todo += node.orelse
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        todo += list(ast.iter_child_nodes(node))
    return out


def imports(name: str, path: str, known: Set[str]) -> Set[str]:
    """The package's modules that module ``name`` (its file ``path``) imports, with the packages above each."""
    package = name if path.endswith('__init__.py') else name.rsplit('.', 1)[0]
    targets = set()
    for node in _runtime_nodes(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
            continue
        base = node.module or ''
        if node.level:  # relative: from the module's package, up level - 1
            base = '.'.join(package.split('.')[:len(package.split('.')) - node.level + 1] + ([base] if base else []))
        targets |= {base} | {f'{base}.{a.name}' for a in node.names if f'{base}.{a.name}' in known}
    edges = set()
    for target in targets:
        parts = target.split('.')
        edges |= {'.'.join(parts[:i]) for i in range(1, len(parts) + 1)} & known
    return edges - {name}


def graph() -> Dict[str, Set[str]]:
    known = modules()
    return {name: imports(name, path, set(known)) for name, path in known.items()}


def cycle(edges: Dict[str, Set[str]]) -> List[str]:
    """A cycle of the graph (its modules, the first repeated at the end), or [] when there is none."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_cycle_finder_finds_one():
    assert cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert cycle({'a': {'b', 'c'}, 'b': {'c'}, 'c': set()}) == []


def test_the_import_graph_has_no_cycle():
    edges = graph()
    assert 'dfd_razor_tools.benchmark.protocol' in edges['dfd_razor_tools.benchmark.cli']  # the graph is there
    assert 'dfd_razor_tools.benchmark.records' in edges['dfd_razor_tools.cpu_pairs'] or \
        'dfd_razor_tools.benchmark.sweep' in edges['dfd_razor_tools.cpu_pairs']
    assert cycle(edges) == []


def test_the_benchmark_modules_import_only_those_below():
    rank = {f'{PACKAGE}.benchmark.{m}': i for i, layer in enumerate(LAYERS) for m in layer}
    edges = graph()
    assert set(rank) == {m for m in edges if m.startswith(f'{PACKAGE}.benchmark.')}  # every module has its layer
    upward = [(m, t) for m in rank for t in edges[m] if t in rank and rank[t] <= rank[m]]
    assert upward == []
    assert edges[f'{PACKAGE}.benchmark'] == set()  # the package itself imports none of them


def test_the_benchmark_script_is_a_thin_entry_point():
    lines = open(osp.join(ROOT, 'tools', 'benchmark.py')).read().splitlines()
    assert len(lines) < 80
    assert 'from dfd_razor_tools.benchmark.cli import run' in '\n'.join(lines)
