"""Downloads from a local HTTP server on 127.0.0.1: used only when the content matches the pinned checksum."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jglue_bench.config import compose_config
from jglue_bench.data.download import fetch_verified, file_sha256, git_blob_sha1
from jglue_bench.data.sources import locate_file
from jglue_bench.errors import ChecksumError, UserError
from jglue_bench.prepare.stage import task_spec


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    """A folder served at http://127.0.0.1:PORT/ for the duration of one test."""
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def release_tree(root: Path, real_data: Path, tampered: bool = False) -> None:
    """Lay out the JNLI v1.3 dev file where JGLUE's GitHub raw URL layout puts it."""
    target = root / "v1.3.0" / "datasets" / "jnli-v1.3" / "valid-v1.3.json"
    target.parent.mkdir(parents=True)
    shutil.copy(real_data / "jnli-v1.3" / "valid-v1.3.json", target)
    if tampered:
        with open(target, "ab") as handle:
            handle.write(b"\n")


def located(url: str, cache: Path, task: str = "jnli", split: str = "valid", *overrides: str):
    """The file of `split` as a run with data.source=download finds it."""
    cfg = compose_config(
        [
            f"task={task}",
            "data.source=download",
            f"data.download_url={url}",
            f"data.cache_dir={cache}",
            "data.version=1.3",
            *overrides,
        ]
    )
    spec = task_spec(cfg)
    return locate_file(spec.files[split], spec.source, cfg.data)


def test_download_is_verified_then_cached(served, real_data, tmp_path):
    root, url = served
    release_tree(root, real_data)
    split = located(url, tmp_path / "cache")
    assert split.sha256 == "ca0353efc7c2eebfb6de4e13f16295053c8b1ee65e7b0849190c90426fbc495f"
    assert split.matches_pin is True and split.origin == "download" and split.name == "jnli-v1.3/valid-v1.3.json"
    assert split.path.is_relative_to(tmp_path / "cache" / "downloads")
    (root / "v1.3.0").rename(root / "gone")  # a second call must use the verified cached copy
    assert located(url, tmp_path / "cache").path == split.path


def test_a_corrupt_download_is_discarded(served, real_data, tmp_path):
    root, url = served
    release_tree(root, real_data, tampered=True)
    with pytest.raises(ChecksumError, match="does not match its pinned checksum"):
        located(url, tmp_path / "cache")
    assert [path for path in (tmp_path / "cache").rglob("*") if path.is_file()] == []


def test_a_corrupt_cached_file_is_downloaded_again(served, real_data, tmp_path):
    root, url = served
    release_tree(root, real_data)
    cached = located(url, tmp_path / "cache").path
    cached.write_text("partial", encoding="utf-8")
    split = located(url, tmp_path / "cache")
    assert split.path == cached and split.matches_pin is True


def test_jcola_is_downloaded_at_its_pinned_commit_and_checked(served, tmp_path, jcola_dir):
    jcola = jcola_dir / "jcola-v1.0"
    root, url = served
    shutil.copytree(jcola, root / "data" / "jcola-v1.0")
    split = located(url, tmp_path / "cache", "jcola", "valid_out_of_domain", f"task.source.url={url}/data")
    assert split.matches_pin is True and split.sha256 == file_sha256(jcola / "out_of_domain_valid-v1.0.json")
    with open(root / "data" / "jcola-v1.0" / "in_domain_train-v1.0.json", "ab") as handle:
        handle.write(b"\n")
    with pytest.raises(ChecksumError, match="in_domain_train-v1.0.json does not match its pinned checksum"):
        located(url, tmp_path / "cache", "jcola", "train", f"task.source.url={url}/data")


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="Could not download http://127.0.0.1:9/"):
        fetch_verified("http://127.0.0.1:9/x.json", tmp_path / "x.json", sha256="0" * 64, timeout_s=5)


def test_marc_ja_cannot_be_downloaded(tmp_path):
    with pytest.raises(UserError, match="names no source.url to download it from"):
        located("http://127.0.0.1:9", tmp_path, "marc_ja")


def test_git_blob_id_matches_git_hash_object(tmp_path):
    # `printf 'hello\n' | git hash-object --stdin` = ce013625030ba8dba906f756967f9e9ca394464a
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert git_blob_sha1(path) == "ce013625030ba8dba906f756967f9e9ca394464a"
    # `printf 'hello\n' | sha256sum`
    assert file_sha256(path) == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
