"""`jglue-bench data verify` and `data stats`: what is in a JGLUE datasets/ folder, checked against the
pinned releases (record counts and checksums)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jglue_bench.data.download import file_sha256, matches_pin
from jglue_bench.data.readers import read_rows
from jglue_bench.data.releases import NOT_DISTRIBUTED, ReleaseFile, release_files

FORMATS = {"jsquad": "squad"}


@dataclass(frozen=True)
class FileStatus:
    release: ReleaseFile
    path: Path
    present: bool
    records: int | None = None
    sha256: str | None = None
    checksum_ok: bool | None = None  # None: no pinned checksum

    @property
    def status(self) -> str:
        if not self.present:
            return "missing (not distributed: build it)" if self.release.dir_name in NOT_DISTRIBUTED else "missing"
        problems = []
        if self.records != self.release.official_count:
            problems.append(f"count {self.records} != official {self.release.official_count}")
        if self.checksum_ok is False:
            problems.append("checksum differs from the release")
        return "; ".join(problems) if problems else "ok"


def verify_folder(root: Path, versions: list[str]) -> list[FileStatus]:
    statuses = []
    for version in versions:
        for release in release_files(version):
            path = root / release.relative_path
            if not path.is_file():
                statuses.append(FileStatus(release, path, present=False))
                continue
            records = sum(1 for _ in read_rows(path, FORMATS.get(release.dir_name, "jsonl")))
            sha256 = file_sha256(path)
            ok = matches_pin(path, sha256, release.sha256, release.git_blob)
            statuses.append(FileStatus(release, path, True, records, sha256, ok))
    return statuses


def format_verify(statuses: list[FileStatus]) -> str:
    lines = [f"{'file':<42} {'records':>8} {'official':>8}  {'sha256':<64}  status"]
    for item in statuses:
        records = "-" if item.records is None else str(item.records)
        lines.append(
            f"{item.release.relative_path:<42} {records:>8} {item.release.official_count:>8}  "
            f"{item.sha256 or '-':<64}  {item.status}"
        )
    missing = [item.release.relative_path for item in statuses if not item.present]
    present = len(statuses) - len(missing)
    lines.append(
        f"\n{present} of {len(statuses)} expected files present, {sum(item.status == 'ok' for item in statuses)} ok."
    )
    if missing:
        lines.append("Missing: " + ", ".join(missing))
    return "\n".join(lines)
