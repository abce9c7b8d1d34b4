"""Features (and validated examples) as columns: Arrow tables in the cache, read back memory-mapped.

A featurizer gives one dict per feature (input_ids, attention_mask, labels, QA offsets, ...). FeatureTable keeps
them as Arrow columns (never pickle), written atomically as an Arrow IPC file, and serves row `i` as a dict again:
token sequences as NumPy views into the column (no copy), the rest as plain values. So a cached split loads in
a fraction of the time it took to tokenize, and batches are padded straight from the arrays.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow  # at import, not at the first cache hit: the load time is then the load alone
import pyarrow.ipc

from jglue_bench.support.atomic import atomic_path
from jglue_bench.support.gc_pause import collector_paused

SEQUENCE_COLUMNS = ("input_ids", "attention_mask", "token_type_ids")


class FeatureTable(Sequence):
    """A split's features, row by row as dicts, backed by Arrow columns."""

    def __init__(self, table):
        self.table = table
        self._readers = {name: _row_reader(table.column(name).combine_chunks()) for name in table.column_names}

    @classmethod
    def from_rows(cls, rows: Sequence[dict]) -> FeatureTable:
        import pyarrow

        table = pyarrow.Table.from_pylist(list(rows))
        for name in SEQUENCE_COLUMNS:  # ids fit in 32 bits: half the cache, and the same values
            if name in table.column_names:
                table = table.set_column(
                    table.column_names.index(name),
                    name,
                    table.column(name).cast(_int32_like(table.schema.field(name).type)),
                )
        return cls(table)

    @classmethod
    def load(cls, path: Path) -> FeatureTable:
        return cls(read_arrow(path))

    def save(self, path: Path) -> None:
        write_arrow(self.table, path)

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return {name: read(index) for name, read in self._readers.items()}

    def lengths(self) -> list[int]:
        """Each feature's sequence length (multiple choice: its longest choice), from the column offsets."""
        ids = self.table.column("input_ids").combine_chunks()
        outer = numpy_view(ids.offsets)
        if not _is_nested(ids.type):
            return np.diff(outer).tolist()
        inner = numpy_view(ids.values.offsets)
        return [int(np.diff(inner[outer[i] : outer[i + 1] + 1]).max(initial=0)) for i in range(len(outer) - 1)]


def write_arrow(table, path: Path) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a cache entry."""
    with atomic_path(path) as temporary:
        with pyarrow.OSFile(str(temporary), "wb") as sink, pyarrow.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


def read_arrow(path: Path):
    with pyarrow.memory_map(str(path)) as source:
        return pyarrow.ipc.open_file(source).read_all()


def examples_table(examples: Sequence, extra: dict | None = None):
    """Validated examples as columns (a task's examples all have the same number of texts: one column each);
    labels and places (their type depends on the task kind) as one JSON list each in the table's metadata, with
    the split file's extra provenance (a carve): one parse reads them back."""
    texts = {
        f"text{position}": [example.texts[position] for example in examples]
        for position in range(len(examples[0].texts))
    }
    table = pyarrow.table({"id": [example.id for example in examples], **texts})
    return table.replace_schema_metadata(
        {
            "extra": json.dumps(extra or {}, ensure_ascii=False),
            "labels": json.dumps([example.label for example in examples], ensure_ascii=False),
            "where": json.dumps([example.where for example in examples], ensure_ascii=False),
        }
    )


def examples_from_table(table, example_type) -> tuple[list, dict]:
    """The examples (a NamedTuple type) back, QA answers as tuples again, and the extra provenance. Built by zip
    and map over whole columns, each example made by tuple.__new__ without a Python call of its own: a warm
    cache's cost is mostly this, once per split and run."""
    metadata = table.schema.metadata
    with collector_paused():
        labels = json.loads(metadata[b"labels"])
        if labels and isinstance(labels[0], list):  # a split's labels are all answer lists (QA) or all scalars
            labels = [_tuples(label) for label in labels]
        texts = zip(*(table.column(name).to_pylist() for name in table.column_names if name.startswith("text")))
        fields = zip(table.column("id").to_pylist(), texts, labels, json.loads(metadata[b"where"]))
        examples = list(map(tuple.__new__, repeat(example_type), fields))
    return examples, json.loads(metadata[b"extra"])


def _tuples(value: Any) -> Any:
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


def _row_reader(column) -> Callable[[int], Any]:
    import pyarrow

    kind = column.type
    if not pyarrow.types.is_list(kind):
        if column.null_count:
            return lambda i: column[i].as_py()
        values = numpy_view(column)
        return lambda i: values[i].item()
    if not _is_nested(kind) and column.values.null_count == 0:
        flat, offsets = numpy_view(column.values), numpy_view(column.offsets)
        return lambda i: flat[offsets[i] : offsets[i + 1]]
    if _is_nested(kind) and column.values.values.null_count == 0 and column.values.null_count == 0:
        flat = numpy_view(column.values.values)
        outer, inner = numpy_view(column.offsets), numpy_view(column.values.offsets)
        return lambda i: [flat[inner[j] : inner[j + 1]] for j in range(outer[i], outer[i + 1])]
    # QA offsets: (start, end) per token, null outside the context; read back as tuples and None
    return lambda i: [tuple(item) if isinstance(item, list) else item for item in column[i].as_py()]


def numpy_view(array) -> np.ndarray:
    """A null-free numeric or boolean Arrow array as NumPy, read from its buffer. (pyarrow's own to_numpy imports
    pandas, a third of a second that would make a warm cache look slow.)"""
    import pyarrow

    data = array.buffers()[1]
    if pyarrow.types.is_boolean(array.type):
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        return bits[array.offset : array.offset + len(array)].astype(bool)
    dtype = np.dtype(str(array.type))  # int32, int64, float, double: NumPy knows the same names
    return np.frombuffer(data, dtype=dtype)[array.offset : array.offset + len(array)]


def _is_nested(kind) -> bool:
    import pyarrow

    return pyarrow.types.is_list(kind) and pyarrow.types.is_list(kind.value_type)


def _int32_like(kind):
    import pyarrow

    return pyarrow.list_(_int32_like(kind.value_type)) if pyarrow.types.is_list(kind) else pyarrow.int32()
