"""Every real JGLUE file present: the official record count, the pinned checksum, and a clean read."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from jglue_bench.data.releases import VERSIONS, release_files
from jglue_bench.data.verify import format_verify, verify_folder

ALL_FILES = [release for version in VERSIONS for release in release_files(version)]


@functools.cache
def verified(root: Path, version: str):
    """verify_folder once per version (it hashes every file): the parametrized test reads from it."""
    return tuple(verify_folder(root, [version]))


@pytest.mark.parametrize("release", ALL_FILES, ids=lambda release: release.relative_path)
def test_each_present_file_has_the_official_count_and_checksum(real_data, release):
    path = real_data / release.relative_path
    if not path.is_file():
        pytest.skip(
            f"{release.relative_path} is not in {real_data} (a subset such as ../shared lacks MARC-ja and "
            f"the large JNLI/JSQuAD train files)"
        )
    [status] = [item for item in verified(real_data, release.version) if item.release == release]
    assert status.records == release.official_count
    assert status.checksum_ok is True
    assert status.status == "ok"


def test_verify_lists_every_expected_file_and_the_missing_ones(real_data):
    statuses = verify_folder(real_data, list(VERSIONS))
    assert len(statuses) == 35  # v1.1, v1.2: 5 tasks x 2 splits; v1.3: 5 tasks x 3 splits
    # Whatever this folder holds (a full checkout or a subset): verify sees exactly the files on disk.
    on_disk = {release.relative_path for release in ALL_FILES if (real_data / release.relative_path).is_file()}
    assert {item.release.relative_path for item in statuses if item.present} == on_disk
    text = format_verify(statuses)
    assert f"{len(on_disk)} of 35 expected files present, {len(on_disk)} ok." in text
    missing = [release.relative_path for release in ALL_FILES if release.relative_path not in on_disk]
    assert ("Missing: " + ", ".join(missing) in text) if missing else "Missing:" not in text


def test_jnli_dev_v1_1_and_v1_2_differ_by_the_relabelled_pairs(real_data):
    import json

    def labels(version):
        path = real_data / f"jnli-v{version}" / f"valid-v{version}.json"
        return [json.loads(line)["label"] for line in path.read_text(encoding="utf-8").splitlines()]

    changed = sum(a != b for a, b in zip(labels("1.1"), labels("1.2")))
    assert changed == 29
