"""docs/extending.md is true: its file listings are the repository's files, its snippet prints what it shows, and
its commands name files that exist. (Its recipe trains in tests/test_recipes/test_recipe_smoke.py, like every
recipe.)"""
import contextlib
import io
import os.path as osp
import re

import pytest

from dfd_razor.testing import discover

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DOC = osp.join(ROOT, 'docs', 'extending.md')
FILE_TAG = '# file: '


def blocks():
    """(language, text) of every fenced block, in order."""
    return re.findall(r'```(\w+)\n(.*?)```', open(DOC).read(), flags=re.S)


def test_listings_are_the_repository_files():
    listed = [text for lang, text in blocks() if lang == 'python' and text.startswith(FILE_TAG)]
    assert len(listed) == 2
    for text in listed:
        path, body = text[len(FILE_TAG):].split('\n', 1)
        assert body == open(osp.join(ROOT, path)).read(), f'docs/extending.md shows an outdated {path}'
    recipe = 'recipes/extending/dfd_neck_rtmdet-ins-s_rtmdet-ins-tiny_300e_coco.py'
    assert osp.join(ROOT, recipe) in discover(osp.join(ROOT, 'recipes')), 'the smoke test would not train it'


def test_snippet_prints_what_the_guide_shows():
    found = blocks()
    i = next(i for i, (lang, text) in enumerate(found) if lang == 'python' and not text.startswith(FILE_TAG))
    assert found[i + 1][0] == 'text', 'the snippet must be followed by its output'
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(found[i][1], DOC, 'exec'), {'__name__': '__doc_snippet__'})
    assert out.getvalue() == found[i + 1][1]


@pytest.mark.parametrize('path', sorted({p for lang, text in blocks() if lang == 'bash'
                                         for p in re.findall(r'(?:recipes|tests|tools|configs)/\S+', text)}))
def test_commands_name_existing_files(path):
    assert osp.isfile(osp.join(ROOT, path)), path


def test_guide_names_existing_files():
    text = open(DOC).read()
    for path in re.findall(r'`((?:recipes|configs|tests|tools|dfd_razor)/[\w./-]+\.(?:py|md|yml))`', text):
        assert osp.isfile(osp.join(ROOT, path)), f'docs/extending.md names {path}, which does not exist'
