"""tools/compare.py and tools/attention_maps.py."""
import json
import os.path as osp

import torch
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

from testing_helpers import load_recipe, make_teacher_checkpoint
from tools_helpers import DATA, DEMO, run


def write(path, metrics):
    path.write_text(json.dumps({'metrics': metrics}))
    return str(path)


def test_compare_table_and_chart(tmp_path):
    runs = {'student': (0.374, 0.200, 0.407, 0.497), 'PKD': (0.412, 0.230, 0.454, 0.556),
            'DFD': (0.417, 0.244, 0.460, 0.557)}
    keys = ('coco/bbox_mAP', 'coco/bbox_mAP_s', 'coco/bbox_mAP_m', 'coco/bbox_mAP_l')
    args = []
    for name, values in runs.items():
        (tmp_path / name).mkdir()
        write(tmp_path / name / 'test_metrics.json', dict(zip(keys, values)))
        args.append(f'{name}={tmp_path / name}')
    out, chart = tmp_path / 'table.md', tmp_path / 'chart.png'
    run(['tools/compare.py'] + args + ['--out', str(out), '--chart', str(chart)])
    lines = out.read_text().splitlines()
    assert lines[0] == '| method | mAP | APs | APm | APl |'
    assert lines[2] == '| student | 37.4 | 20.0 | 40.7 | 49.7 |'
    assert lines[3] == '| PKD | 41.2 (+3.8) | 23.0 | 45.4 | 55.6 |'
    assert lines[4] == '| DFD | 41.7 (+4.3) | 24.4 | 46.0 | 55.7 |'
    assert chart.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    bad = run(['tools/compare.py', f'x={tmp_path / "nowhere"}'], check=False)
    assert bad.returncode == 2 and 'metrics file' in bad.stderr + bad.stdout


def test_attention_maps_before_and_after(tmp_path):
    cfg = load_recipe(DEMO)
    teacher = make_teacher_checkpoint(cfg, str(tmp_path / 'teacher.pth'))
    cfg = load_recipe(DEMO, {'model.teacher_ckpt': teacher})
    init_default_scope('mmdet')
    algo = MODELS.build(cfg.model)
    algo.init_weights()
    with torch.no_grad():
        for p in algo.student.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    ckpt = str(tmp_path / 'distilled.pth')
    torch.save({'state_dict': algo.state_dict()}, ckpt)
    image = osp.join(DATA, 'tiny_coco', 'val2017', '000000000139.jpg')
    if not osp.isfile(image):
        import glob
        image = sorted(glob.glob(osp.join(DATA, 'tiny_coco', 'val2017', '*.jpg')))[0]
    proc = run(['tools/attention_maps.py', DEMO, image, '--checkpoint', ckpt, '--out-dir', str(tmp_path / 'maps')])
    written = [ln for ln in proc.stdout.splitlines() if ln.endswith('.png')]
    assert [osp.basename(p) for p in written] == [f'loss_dfd_fpn{i}.png' for i in range(5)]
    assert all(open(p, 'rb').read(8) == b'\x89PNG\r\n\x1a\n' for p in written)


BCCD = osp.join(osp.dirname(DEMO), 'dfd_fpn_retina-r18_retina-r18q_300i_bccd.py')


def test_attention_paper_figure_on_val_items(tmp_path):
    """--figure: one figure for one level, a row per val item, 7 panels (image, teacher, student alone, student
    with DFD, two disparities, HD mask); bad --level / --val-index are one line naming the value."""
    cfg = load_recipe(BCCD)
    teacher = make_teacher_checkpoint(cfg, str(tmp_path / 'teacher.pth'))
    cfg = load_recipe(BCCD, {'model.teacher_ckpt': teacher})
    init_default_scope('mmdet')
    algo = MODELS.build(cfg.model)
    algo.init_weights()
    before = str(tmp_path / 'student.pth')
    torch.save({'state_dict': algo.student.state_dict()}, before)
    with torch.no_grad():
        for p in algo.student.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    ckpt = str(tmp_path / 'distilled.pth')
    torch.save({'state_dict': algo.state_dict()}, ckpt)
    fig = str(tmp_path / 'fig.png')
    args = ['tools/attention_maps.py', BCCD, '--checkpoint', ckpt, '--before', before]
    proc = run(args + ['--val-index', '0', '6', '--figure', fig, '--level', '1'])
    assert proc.stdout.strip().splitlines()[-1] == fig
    from PIL import Image
    width, height = Image.open(fig).size
    assert width > 2.5 * height  # 7 panels side by side, 2 rows
    bad = run(args + ['--val-index', '0', '--figure', fig, '--level', '7'], check=False)
    assert bad.returncode == 2 and '--level 7: not a distilled level' in bad.stdout + bad.stderr
    assert 'loss_dfd_fpn4' in bad.stdout + bad.stderr
    bad = run(args + ['--val-index', '87', '--figure', fig], check=False)
    assert bad.returncode == 2
    assert '--val-index [87]: the test split of the recipe has 87 items' in bad.stdout + bad.stderr
    bad = run(args + ['--figure', fig], check=False)
    assert bad.returncode == 2 and 'give image files or --val-index' in bad.stdout + bad.stderr
