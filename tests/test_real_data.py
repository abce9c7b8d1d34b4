"""Every real JGLUE file present: the official record count, the pinned checksum, and a clean read."""

from __future__ import annotations

import pytest

from jglue_bench.data.releases import VERSIONS, release_files
from jglue_bench.data.verify import format_verify, verify_folder

ALL_FILES = [release for version in VERSIONS for release in release_files(version)]


@pytest.mark.parametrize("release", ALL_FILES, ids=lambda release: release.relative_path)
def test_each_present_file_has_the_official_count_and_checksum(real_data, release):
    path = real_data / release.relative_path
    if not path.is_file():
        pytest.skip(f"{release.relative_path} is not in {real_data} (JNLI/JSQuAD train and MARC-ja are absent there)")
    [status] = [item for item in verify_folder(real_data, [release.version]) if item.release == release]
    assert status.records == release.official_count
    assert status.checksum_ok is True
    assert status.status == "ok"


def test_verify_lists_every_expected_file_and_the_missing_ones(real_data):
    statuses = verify_folder(real_data, list(VERSIONS))
    present = [item for item in statuses if item.present]
    assert len(statuses) == 35  # v1.1, v1.2: 5 tasks x 2 splits; v1.3: 5 tasks x 3 splits
    assert len(present) == 22  # what ../shared holds (see its SOURCE.md)
    text = format_verify(statuses)
    assert "22 of 35 expected files present, 22 ok." in text
    assert "jnli-v1.3/train-v1.3.json" in text.split("Missing:")[1]
    assert "f40849584d4291ec172dcd869646800cc8c82457cde2260a0f45934eda307792" in text  # JNLI v1.3 test


def test_jnli_dev_v1_1_and_v1_2_differ_by_the_relabelled_pairs(real_data):
    import json

    def labels(version):
        path = real_data / f"jnli-v{version}" / f"valid-v{version}.json"
        return [json.loads(line)["label"] for line in path.read_text(encoding="utf-8").splitlines()]

    changed = sum(a != b for a, b in zip(labels("1.1"), labels("1.2")))
    assert changed == 29
