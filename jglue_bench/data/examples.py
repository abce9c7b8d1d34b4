"""Read one split of a task into validated Examples; the first bad record stops everything."""

from __future__ import annotations

from typing import Any, Mapping

from tqdm.auto import tqdm

from jglue_bench.data.files import SplitFile, locate_split
from jglue_bench.data.readers import read_records
from jglue_bench.errors import DataError
from jglue_bench.tasks import TaskSpec, kind_module
from jglue_bench.tasks.common import Example, check_unique_ids


def load_split(data_cfg: Mapping[str, Any], spec: TaskSpec, split: str,
               limit: int | None = None) -> tuple[list[Example], SplitFile]:
    """All examples of `split` (every record validated, even past `limit`), then the first `limit` kept."""
    split_file = locate_split(data_cfg, spec.dir_name, split)
    kind = kind_module(spec.kind)
    examples = []
    # A context manager, so the bar is cleared before an error message is printed on the same terminal.
    with tqdm(desc=f"read {spec.name} {split}", unit=" records", leave=False, disable=None) as bar:
        for where, record in read_records(split_file.path, spec.file_format):
            examples.append(kind.to_example(record, spec, split_file.path, where))
            bar.update()
    if not examples:
        raise DataError.at(split_file.path, None, None, "at least one record", found="an empty file")
    check_unique_ids(examples, split_file.path)
    return (examples[:limit] if limit else examples), split_file
