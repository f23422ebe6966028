"""requirements.txt, requirements/*.txt and tools/install.sh say the same thing, and the environment matches it."""
import os.path as osp
import re
from importlib import metadata

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
INSTALL = open(osp.join(ROOT, 'tools', 'install.sh')).read()
TOP = open(osp.join(ROOT, 'requirements.txt')).read()


def included(text, pattern):
    return set(re.findall(pattern, text))


def test_top_level_includes_what_install_sh_installs_with_plain_pip():
    by_install = included(INSTALL, r'-r "\$REPO/requirements/([\w-]+\.txt)"')
    assert by_install == {'build.txt', 'torch.txt', 'runtime.txt', 'nodeps-deps.txt', 'nodeps.txt', 'onnx.txt',
                          'dev.txt'}
    top = included(TOP, r'^-r requirements/([\w-]+\.txt)$'.replace('^', '(?m)^'))
    # nodeps.txt needs --no-deps, which a requirements file can't say; onnx.txt is the optional group; dev.txt the
    # linter, which a user of the library does not need
    assert top == by_install - {'nodeps.txt', 'onnx.txt', 'dev.txt'}
    assert 'requirements/nodeps.txt' in TOP and '--no-deps' in TOP
    mmcv = re.search(r'^MMCV_VERSION=([\d.]+)', INSTALL, re.M).group(1)
    assert f'mmcv=={mmcv}' in TOP
    assert re.search(r'xtcocotools==', INSTALL) and 'xtcocotools' in TOP


def pins():
    # not torch.txt: on a GPU machine tools/install.sh keeps the CUDA torch it finds (docs/install.md, "GPU machines")
    for name in ('build.txt', 'runtime.txt', 'nodeps.txt', 'onnx.txt', 'dev.txt'):
        for line in open(osp.join(ROOT, 'requirements', name)):
            line = line.split('#')[0].strip()
            if '==' in line:
                package, version = line.split('==')
                yield package, version


@pytest.mark.parametrize('package, version', list(pins()))
def test_installed_versions_are_the_pinned_ones(package, version):
    installed = metadata.version(package)
    assert installed.split('+')[0] == version, f'{package}: installed {installed}, pinned {version}'


def test_optional_onnx_group_pins_exactly_onnx_and_onnxruntime():
    lines = [ln.split('#')[0].strip() for ln in open(osp.join(ROOT, 'requirements', 'onnx.txt'))]
    pinned = dict(ln.split('==') for ln in lines if ln)
    assert sorted(pinned) == ['onnx', 'onnxruntime'] and all(re.fullmatch(r'[\d.]+', v) for v in pinned.values())
    # installed by tools/install.sh after the stack, held to its torch, a failure reported without stopping it
    assert re.search(r'pip_install -q -c "\$TORCH_PIN" -r "\$REPO/requirements/onnx.txt" \\\n  \|\| echo', INSTALL)


def test_the_pre_commit_hook_runs_the_pinned_ruff_and_ci_runs_the_lint():
    import yaml
    hooks = yaml.safe_load(open(osp.join(ROOT, '.pre-commit-config.yaml')))['repos']
    ruff = [r for r in hooks if r['repo'].endswith('/ruff-pre-commit')]
    assert len(ruff) == 1 and [h['id'] for h in ruff[0]['hooks']] == ['ruff']
    pinned = re.search(r'^ruff==([\d.]+)$', open(osp.join(ROOT, 'requirements', 'dev.txt')).read(), re.M).group(1)
    assert ruff[0]['rev'] == f'v{pinned}'
    ci = [line for line in open(osp.join(ROOT, '.ci', 'run')) if line.startswith('make ')]
    assert ci == ['make lint\n', 'make test\n']
    makefile = open(osp.join(ROOT, 'Makefile')).read()
    assert re.search(r'^lint: install\n\t\$\(PY\) -m ruff check \.$', makefile, re.M)
