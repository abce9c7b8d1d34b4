"""A writer process for the concurrent-store test: imports only the records store (no torch), so eight of them
start quickly."""

from __future__ import annotations

from jglue_bench.records.store import append_record


def write_records(store: str, writer: int, count: int) -> None:
    for number in range(count):
        append_record(
            store,
            {
                "task": {"name": "jnli"},
                "model": {"name": f"writer{writer}"},
                "metrics": {"accuracy": number},
                "payload": "あ" * (writer * 997 % 5000),
            },
        )  # lines of different lengths
