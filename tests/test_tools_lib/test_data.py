"""dfd_razor_tools.data: root resolution order, checksum checks, and the download path on a local archive."""
import hashlib
import os
import shutil
import zipfile

import pytest

from dfd_razor_tools import data


def make_dataset(root, name, text='{"images": []}'):
    os.makedirs(root / name / 'annotations', exist_ok=True)
    (root / name / 'annotations' / 'a.json').write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()  # computed here, not by the code under test


def test_sha256_of_file_and_folder(tmp_path):
    digest = make_dataset(tmp_path, 'ds')
    assert data.sha256(str(tmp_path / 'ds' / 'annotations' / 'a.json')) == digest
    line = f'a.json {digest}\n'.encode()
    assert data.sha256(str(tmp_path / 'ds' / 'annotations')) == hashlib.sha256(line).hexdigest()


def test_fetch_extracts_converts_and_verifies_a_local_archive(tmp_path):
    src = tmp_path / 'src' / 'repo-master' / 'sub'
    digest = make_dataset(src, 'ds')
    archive = tmp_path / 'repo.zip'
    with zipfile.ZipFile(archive, 'w') as z:
        for path in (src / 'ds').rglob('*'):
            z.write(path, path.relative_to(tmp_path / 'src'))
    source = data.Source('https://example.invalid/repo.zip', 'sub/ds', {'annotations/a.json': digest})
    cache = tmp_path / 'cache'
    data.fetch('ds', str(cache), source, download=lambda url, dst: shutil.copy(archive, dst))
    assert (cache / 'ds' / 'annotations' / 'a.json').read_text() == '{"images": []}'
    assert data.verify(str(cache), 'ds', source) == []
    bad = data.Source(source.url, source.member, {'annotations/a.json': '0' * 64})
    with pytest.raises(RuntimeError, match='failed its checks.*sha256'):
        data.fetch('ds', str(tmp_path / 'cache2'), bad, download=lambda url, dst: shutil.copy(archive, dst))
    assert not (tmp_path / 'cache2' / 'ds').exists()  # nothing half-made is left behind
    missing = data.Source(source.url, 'sub/other', {})
    with pytest.raises(FileNotFoundError, match='has no folder sub/other'):
        data.fetch('ds', str(tmp_path / 'cache3'), missing, download=lambda url, dst: shutil.copy(archive, dst))


def test_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setitem(data.SOURCES, 'ds', data.Source('u', 'm', {'annotations/a.json': make_dataset(
        tmp_path / 'env', 'ds')}))
    make_dataset(tmp_path / 'given', 'ds')
    monkeypatch.setenv('DFD_DATA_ROOT', str(tmp_path / 'env'))
    assert data.resolve_data_root(['ds'], str(tmp_path / 'given')) == str(tmp_path / 'given')
    assert data.resolve_data_root(['ds']) == str(tmp_path / 'env')
    with pytest.raises(FileNotFoundError, match='--data-root .*nowhere'):
        data.resolve_data_root(['ds'], str(tmp_path / 'nowhere'))
    monkeypatch.setenv('DFD_DATA_ROOT', str(tmp_path / 'nowhere'))
    monkeypatch.setattr(data, 'USER_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setattr(data, 'REPO', str(tmp_path / 'repo'))
    with pytest.raises(FileNotFoundError, match='DFD_DATA_ROOT .*nowhere.*user cache'):
        data.resolve_data_root(['ds'], allow_download=False)


def test_shared_copy_matches_the_recorded_checksums():
    root = os.path.join(data.REPO, '..', 'shared', 'data')
    if not os.path.isdir(root):
        pytest.skip('no ../shared/data on this machine')
    for name in data.SOURCES:
        assert data.verify(root, name) == [], name
