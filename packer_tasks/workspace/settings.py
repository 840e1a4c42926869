"""The cache settings, resolved once per service (SPEC §2, §11, §11.1).

Local cache folder: `--cache-dir`, then PROMETEU_PACKER_CACHE, then the game's
`[tool.prometeu-packer] cache-dir` in pyproject.toml, then `.prometeu-cache/`.
Remote tier: `--remote-cache URL`, then PROMETEU_PACKER_REMOTE_CACHE, then `remote-cache`;
writes need `--remote-cache-write`, PROMETEU_PACKER_REMOTE_CACHE_WRITE=1 or
`remote-cache-write = true`. Credentials come from the environment only (a bearer token,
or a user and password), so nothing that is committed or printed ever holds them.

A pyproject.toml that cannot be read as TOML, an unknown key or a value of the wrong type
is reported as a warning (in `warnings`), never silently ignored and never fatal.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from prometeu_cache.remote import RemoteSettings, redact_url

from .project import DEFAULT_CACHE_DIR, Project

ENV_CACHE = "PROMETEU_PACKER_CACHE"
ENV_REMOTE = "PROMETEU_PACKER_REMOTE_CACHE"
ENV_REMOTE_WRITE = "PROMETEU_PACKER_REMOTE_CACHE_WRITE"
ENV_REMOTE_TOKEN = "PROMETEU_PACKER_REMOTE_CACHE_TOKEN"
ENV_REMOTE_USER = "PROMETEU_PACKER_REMOTE_CACHE_USER"
ENV_REMOTE_PASSWORD = "PROMETEU_PACKER_REMOTE_CACHE_PASSWORD"
ENV_REMOTE_TIMEOUT = "PROMETEU_PACKER_REMOTE_CACHE_TIMEOUT"
DEFAULT_REMOTE_TIMEOUT = 10.0  # seconds a remote request may take (connecting: at most 2)
DEFAULT_SIZE_LIMIT = 2 * 1024**3
TOOL_TABLE = "[tool.prometeu-packer]"
# Every key the packer reads from its pyproject table, with the type it must have.
KNOWN_KEYS: dict[str, type] = {
    "cache-dir": str,
    "cache-size-limit": int,
    "remote-cache": str,
    "remote-cache-write": bool,
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class RemoteCacheConfig:
    """The shared remote tier. `url` never holds credentials; they never enter `repr`."""

    url: str
    write: bool = False
    source: str = "default"
    token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_REMOTE_TIMEOUT

    @property
    def shown_url(self) -> str:
        return redact_url(self.url)

    def client_settings(self) -> RemoteSettings:
        return RemoteSettings(
            self.url,
            self.write,
            self.token,
            self.username,
            self.password,
            connect_timeout=min(2.0, self.timeout),
            read_timeout=self.timeout,
        )


@dataclass(frozen=True)
class CacheConfig:
    directory: Path | None  # None: caching disabled (`--no-cache`)
    size_limit: int = DEFAULT_SIZE_LIMIT
    source: str = "default"
    remote: RemoteCacheConfig | None = None  # None: no remote tier
    warnings: tuple[str, ...] = ()  # settings that were malformed and therefore ignored


def _tool_table(project: Project) -> tuple[dict[str, object], list[str]]:
    """The packer's table of pyproject.toml with only well-typed known keys, and a warning
    for everything else."""
    path = project.root / "pyproject.toml"
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"pyproject.toml cannot be read ({exc}); its {TOOL_TABLE} is ignored"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"pyproject.toml is not valid TOML ({exc}); its {TOOL_TABLE} is ignored"]
    tool = data.get("tool", {})
    table = tool.get("prometeu-packer", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        return {}, [f"pyproject.toml: {TOOL_TABLE} is not a table; it is ignored"]
    kept: dict[str, object] = {}
    warnings: list[str] = []
    for key, value in table.items():
        wanted = KNOWN_KEYS.get(key)
        if wanted is None:
            known = ", ".join(sorted(KNOWN_KEYS))
            warnings.append(f"pyproject.toml: unknown key {key!r} in {TOOL_TABLE} (known: {known})")
        elif type(value) is not wanted or (wanted is int and isinstance(value, int) and value <= 0):
            need = "a positive integer" if wanted is int else f"a {wanted.__name__}"
            warnings.append(
                f"pyproject.toml: {TOOL_TABLE} {key} must be {need}, not {value!r}; ignored"
            )
        else:
            kept[key] = value
    return kept, warnings


def resolve_cache(
    project: Project,
    cli_dir: Path | None = None,
    *,
    disabled: bool = False,
    remote_url: str | None = None,
    remote_write: bool = False,
) -> CacheConfig:
    table, warnings = _tool_table(project)
    size = table.get("cache-size-limit", DEFAULT_SIZE_LIMIT)
    size_limit = size if isinstance(size, int) else DEFAULT_SIZE_LIMIT
    if disabled:
        return CacheConfig(None, size_limit, "disabled", None, tuple(warnings))
    remote = _resolve_remote(table, remote_url, remote_write, warnings)
    directory, source = _local_directory(project, table, cli_dir)
    return CacheConfig(directory, size_limit, source, remote, tuple(warnings))


def _local_directory(
    project: Project, table: dict[str, object], cli_dir: Path | None
) -> tuple[Path, str]:
    if cli_dir is not None:
        return Path(os.path.abspath(cli_dir)), "--cache-dir"
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(os.path.abspath(env)), ENV_CACHE
    configured = table.get("cache-dir")
    if isinstance(configured, str) and configured:
        return (project.root / configured).absolute(), "pyproject.toml"
    return project.root / DEFAULT_CACHE_DIR, "default"


def _resolve_remote(
    table: dict[str, object], cli_url: str | None, cli_write: bool, warnings: list[str]
) -> RemoteCacheConfig | None:
    """The remote tier's URL and write switch, and the environment's credentials."""
    configured = table.get("remote-cache")
    env_url = os.environ.get(ENV_REMOTE)
    if cli_url:
        url, source = cli_url, "--remote-cache"
    elif env_url:
        url, source = env_url, ENV_REMOTE
    elif isinstance(configured, str) and configured:
        url, source = configured, "pyproject.toml"
    else:
        return None
    clean = _clean_url(url, source, warnings)
    if clean is None:
        return None
    write = cli_write or _env_flag(ENV_REMOTE_WRITE, warnings)
    write = write or table.get("remote-cache-write") is True
    return RemoteCacheConfig(
        clean,
        write,
        source,
        token=os.environ.get(ENV_REMOTE_TOKEN) or None,
        username=os.environ.get(ENV_REMOTE_USER) or None,
        password=os.environ.get(ENV_REMOTE_PASSWORD) or None,
        timeout=_env_seconds(ENV_REMOTE_TIMEOUT, DEFAULT_REMOTE_TIMEOUT, warnings),
    )


def _clean_url(url: str, source: str, warnings: list[str]) -> str | None:
    """An http(s) base URL without credentials, query or fragment; None (with a
    warning) when it is not one."""
    try:
        parts = urlsplit(url.strip())
        host, _port = parts.hostname, parts.port
    except ValueError:
        host = None
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not host:
        warnings.append(
            f"remote cache URL from {source} is not an http(s) URL "
            f"({redact_url(url)!r}); building without the remote tier"
        )
        return None
    if parts.username or parts.password:
        warnings.append(
            f"credentials in the remote cache URL from {source} are ignored; set "
            f"{ENV_REMOTE_TOKEN}, or {ENV_REMOTE_USER} and {ENV_REMOTE_PASSWORD}"
        )
    return redact_url(url.strip())


def _env_flag(name: str, warnings: list[str]) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value not in _FALSE:
        warnings.append(f"{name}={value!r} is not a yes/no value; remote writes stay off")
    return False


def _env_seconds(name: str, default: float, warnings: list[str]) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        warnings.append(f"{name}={text!r} is not a number of seconds (0-600]; using {default:g}")
        return default
    return value
