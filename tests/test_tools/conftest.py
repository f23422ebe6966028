import pytest

from tools_helpers import DEMO


@pytest.fixture(scope='session')
def teacher_ckpt(tmp_path_factory):
    """A teacher checkpoint of the CPU demo recipe, made from its config (random weights)."""
    from testing_helpers import load_recipe, make_teacher_checkpoint
    path = str(tmp_path_factory.mktemp('teacher') / 'teacher.pth')
    return make_teacher_checkpoint(load_recipe(DEMO), path)
