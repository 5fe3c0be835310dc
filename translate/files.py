"""Files that survive being killed mid-write: atomic writes of bytes, text, JSON and safetensors weights.

Importing it needs no torch (safetensors is imported when weights are read or written), so that downloads,
pulls and the CLI's quick commands can use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from translate.errors import CheckpointError

if TYPE_CHECKING:
    import torch

HOME_ENV = "TRANSLATE_HOME"
XDG_CACHE_ENV = "XDG_CACHE_HOME"


def home() -> Path:
    """translate's user cache (catalogue models, downloads and their hash pins, judges): `$TRANSLATE_HOME`, else
    `$XDG_CACHE_HOME/translate`, else `~/.cache/translate` (torch.hub and Hugging Face honour XDG_CACHE_HOME too)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    return Path(os.environ.get(XDG_CACHE_ENV) or Path.home() / ".cache") / "translate"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it and rename it over `path`.

    A reader sees either the old file or the whole new one, never a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private (0600); give it the mode an ordinary open() would.
    os.chmod(tmp, 0o666 & ~_umask())
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        commit(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    """fsync a folder, so that a rename inside it survives a crash (where the system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def commit(part: Path, dest: Path) -> None:
    """fsync `part`, rename it over `dest` and fsync the folder, so a crash leaves the old or the new file."""
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, dest)
    fsync_dir(dest.parent)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, naming the file when it is missing or broken."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e}); the file is damaged, use an earlier checkpoint") from None


def save_weights(path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save a flat name -> tensor dict as safetensors, atomically (tensors that share storage are copied)."""
    from safetensors.torch import save_file

    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    # safetensors refuses tensors sharing memory; copying only those spares copying every weight and Adam moment
    # (a second of a 256 px pix2pix checkpoint)
    seen: set[int] = set()
    for k, v in flat.items():
        where = v.untyped_storage().data_ptr()
        if where in seen:
            flat[k] = v.clone()
        seen.add(where)
    with atomic_path(path) as tmp:
        save_file(flat, str(tmp), metadata=metadata)


def load_weights(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Load a safetensors file, naming the file when it is not one."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None


def weight_names(path: str | os.PathLike[str]) -> list[str]:
    """The tensor names in a safetensors file, from its header alone (no tensor is read)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), "pt") as f:
            return list(f.keys())
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None


def prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Name every tensor `prefix.name`, to keep several networks in one file."""
    return {f"{prefix}.{k}": v for k, v in state.items()}


def unprefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors saved under `prefix.`, with the prefix taken off."""
    head = prefix + "."
    return {k[len(head):]: v for k, v in state.items() if k.startswith(head)}


def load_tensor_file(path: str | os.PathLike[str]) -> Any:
    """What a .pth/.pt file holds, read with torch's tensors-only unpickler: code in it is never run.

    Anything unreadable (not a torch file, truncated, or holding objects other than tensors) is a
    CheckpointError naming the file; torch's own advice to allow full unpickling is never passed on.
    """
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are noise to a user
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read a user's file is theirs to fix, in one line
        # torch's message advises retrying with weights_only=False, which would run the file's code: never
        # passed on. What it names as an unsupported global is worth saying; its other details are not.
        text = str(e)
        found = text.split("Unsupported global:", 1)[1].split()[:2] if "Unsupported global:" in text else []
        reason = (f"it holds Python objects besides tensors ({' '.join(found)}), which translate never unpickles"
                  if found else "it is not a torch checkpoint, or it is damaged")
        raise CheckpointError(f"{path}: not a PyTorch checkpoint of plain tensors ({reason})") from None
