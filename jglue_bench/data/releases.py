"""What each JGLUE release contains: files, official record counts and pinned checksums.

Checksums are of the files at JGLUE's release tags (yahoojapan/JGLUE). sha256 where it was taken from the
file; for the three large train files only their git blob id is pinned (the id GitHub's tree shows,
`git hash-object FILE`), which pins the content just as firmly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

VERSIONS = ("1.1", "1.2", "1.3")
RELEASE_TAGS = {"1.1": "v1.1.0", "1.2": "v1.2.0", "1.3": "v1.3.0"}
TASK_DIRS = ("marc_ja", "jsts", "jnli", "jsquad", "jcommonsenseqa")
NOT_DISTRIBUTED = ("marc_ja",)  # Amazon withdrew MARC; build it with `jglue-bench data build-marc-ja`

OFFICIAL_COUNTS = {
    "marc_ja": {"train": 187528, "valid": 5654, "test": 5639},
    "jsts": {"train": 12451, "valid": 1457, "test": 1589},
    "jnli": {"train": 20073, "valid": 2434, "test": 2508},
    "jsquad": {"train": 62697, "valid": 4442, "test": 4420},
    "jcommonsenseqa": {"train": 8939, "valid": 1119, "test": 1118},
}
JSQUAD_TRAIN_BEFORE_1_3 = 62859  # v1.3 discarded low-quality training questions


@dataclass(frozen=True)
class ReleaseFile:
    dir_name: str
    version: str
    split: str
    official_count: int
    sha256: str | None = None
    git_blob: str | None = None

    @property
    def relative_path(self) -> str:
        return relative_path(self.dir_name, self.version, self.split)


def relative_path(dir_name: str, version: str, split: str) -> str:
    """JGLUE's datasets/ layout, which users' own tasks follow too."""
    return f"{dir_name}-v{version}/{split}-v{version}.json"


_SHA256 = {
    ("jcommonsenseqa", "train"): "9b55fae5ecb3aedd6f8ce5bc09196c3b629864668ec6c18eee4d65c0aa48229e",
    ("jcommonsenseqa", "valid"): "0d8d76f3bfa0d174866939882faccdd01fbc2bcd5a76c43748ba0c40a7b3b8d4",
    ("jcommonsenseqa", "test"): "ba91ef3907c91436a5e44fa9fccbbfa3df507577e2c681f4d7e39bd987f0186d",
    ("jnli", "valid", "1.1"): "39a41d5a112cc6c5baafa7d2464e579843e904a4b7206a4e905517a257f6459c",
    ("jnli", "valid"): "ca0353efc7c2eebfb6de4e13f16295053c8b1ee65e7b0849190c90426fbc495f",  # v1.2 relabelled 29 pairs
    ("jnli", "test"): "f40849584d4291ec172dcd869646800cc8c82457cde2260a0f45934eda307792",
    ("jsquad", "valid"): "fb0a57a35281ff03bbe7f0e878cff5b577985fbe6fcb242e7e8ddb63d1c0ab11",
    ("jsquad", "test"): "0078f3f2e1604a201700c24139e198344fa689e02282fc00adaa31687cce2aff",
    ("jsts", "train"): "db6bd653270ac9786759920413a48973164d322998f34dd4ae32202af5e66969",
    ("jsts", "valid"): "7c0bdcb381179f01096c635d058853d96da1e1248d23fe3f5c2beed5dc2d9b1a",
    ("jsts", "test"): "b31ff21e07f47d580b7eb90802da45bf6a60e34fec886e28df7a21faf4469089",
}
_GIT_BLOB = {
    ("jnli", "train"): "14d9948a80dc585cfd53eb358594b0722b937802",
    ("jsquad", "train", "1.1"): "20ce716ee531e3e23088f5840a3b0751ae803424",
    ("jsquad", "train", "1.2"): "20ce716ee531e3e23088f5840a3b0751ae803424",
    ("jsquad", "train"): "87b42821ac5487246164483d625b928bf8904344",
}


def release_files(version: str) -> list[ReleaseFile]:
    """Every file JGLUE publishes (or, for MARC-ja, that its recipe builds) at `version`."""
    version = normalize_version(version)
    splits = ("train", "valid", "test") if version == "1.3" else ("train", "valid")
    return [release_file(dir_name, version, split) for dir_name in TASK_DIRS for split in splits]


def release_file(dir_name: str, version: str, split: str) -> ReleaseFile | None:
    """The pinned release file, or None for a task JGLUE does not publish (a user's own)."""
    version = normalize_version(version)
    if dir_name not in OFFICIAL_COUNTS:
        return None
    count = OFFICIAL_COUNTS[dir_name][split]
    if dir_name == "jsquad" and split == "train" and version != "1.3":
        count = JSQUAD_TRAIN_BEFORE_1_3
    return ReleaseFile(
        dir_name,
        version,
        split,
        count,
        sha256=_SHA256.get((dir_name, split, version), _SHA256.get((dir_name, split))),
        git_blob=_GIT_BLOB.get((dir_name, split, version), _GIT_BLOB.get((dir_name, split))),
    )


@functools.lru_cache(maxsize=256)  # asked for every split read; the answer never changes
def release_file_at(relative: str) -> ReleaseFile | None:
    """The release file at a path relative to a datasets/ folder (`jnli-v1.3/valid-v1.3.json`), or None."""
    for version in VERSIONS:
        for release in release_files(version):
            if release.relative_path == relative:
                return release
    return None


def describe_releases() -> str:
    return "JGLUE v1.1 and v1.2 publish train and valid; v1.3 adds test"


def normalize_version(version: object) -> str:
    """Accept 1.3, "1.3", "v1.3" (Hydra parses `data.version=1.3` as a float)."""
    text = str(version).lstrip("v")
    if text not in VERSIONS:
        from jglue_bench.errors import UserError

        raise UserError(f"data.version is {version!r}; expected one of {', '.join(VERSIONS)}.")
    return text
