"""The running agent's phase of the ROC roll-out: the `[roc]` section, read again when the
configuration files change, the phase in use kept when the new section does not load.

    config = RolloutConfig.of(settings, on_change=use)   # the phase of `settings` in use
    config.rollout        # the Rollout in use
    config.check()        # reads [roc] again when a configuration file changed; True: new phase
    config.start(5.0)     # ... every 5 s on a daemon thread, until `stop()`
    config.status(referential)   # phase, mirror AMC, whether the referential knows it, error

The files watched are those the settings were read from (`Settings.sources`: the defaults and
the `--config` file); the section is read again from them and the `SCANNER_AGENT_ROC__*`
variables, with their precedence and errors (`scanner_agent.config.load_roc_settings`).
`on_change(rollout)` is called with each new phase (the agent assigns it to
`ParseContext.rollout`, where every decision reads it); the change is logged at info
("phase ROC : ..."). A section that does not load (an unknown phase, `supervised` without
`mirror_amc`, a file that is not TOML or is gone) leaves the phase in use; its error stands in
`error` (and `/v1/health`, the self-test) until the section loads again. The same bad files are
not read again until their content changes. A change to another section is logged as needing
a restart. Settings built in code (no `sources`) have no file to watch: their phase never changes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner_agent.config import Settings, config_data, load_roc_settings
from scanner_agent.errors import ConfigError
from scanner_agent.polling import Poller
from scanner_agent.referential import Referential
from scanner_agent.rollout import Rollout

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RolloutStatus:
    """What `/v1/health` and the self-test say of the phase."""

    phase: str
    mirror_amc: str | None
    """The mirror AMC's number as configured (None when none is)."""
    mirror_known: bool | None
    """Whether the mirror AMC is in the referential in use (None when there is no mirror AMC)."""
    error: str | None
    """Why the `[roc]` section did not load again, while the previous phase stays in use."""
    changed_at: datetime | None
    """When the phase in use was read again (UTC; None: the phase of the start)."""
    load_errors: int
    """Reads of the section that failed since start."""

    def as_json(self) -> dict[str, Any]:
        """The keys of `/v1/health`'s `roc`."""
        return {
            "phase": self.phase,
            "mirror_amc": self.mirror_amc,
            "mirror_known": self.mirror_known,
            "error": self.error,
        }


class RolloutConfig:
    """The phase in use, the configuration files it comes from, and the last read's error.
    Thread-safe."""

    def __init__(
        self,
        rollout: Rollout,
        files: Sequence[Path] = (),
        *,
        path: Path | None = None,
        env: Mapping[str, str] | None = None,
        on_change: Callable[[Rollout], None] | None = None,
    ) -> None:
        """`rollout` was read from `files` (the defaults first; `path`, the `--config` file, is
        among them) and `env` (default: the process's environment)."""
        self._rollout = rollout
        self._files = tuple(files)
        self._path = path
        self._env = env
        self._on_change = on_change
        self._identity = self._identities()
        self._others = self._other_sections()
        self._error: str | None = None
        self._changed_at: datetime | None = None
        self._load_errors = 0
        self._lock = threading.Lock()
        self._poller = Poller(self.check, "roc-phase-reload", "ROC phase check failed")

    @classmethod
    def of(
        cls,
        settings: Settings,
        *,
        rollout: Rollout | None = None,
        env: Mapping[str, str] | None = None,
        on_change: Callable[[Rollout], None] | None = None,
    ) -> RolloutConfig:
        """The phase of `settings` (or `rollout`, the one in use), watched in the files the
        settings were read from."""
        files = [Path(source) for source in settings.sources]
        return cls(
            rollout if rollout is not None else Rollout.of(settings.roc),
            files,
            path=files[1] if len(files) > 1 else None,
            env=env,
            on_change=on_change,
        )

    @property
    def rollout(self) -> Rollout:
        return self._rollout

    @property
    def error(self) -> str | None:
        """The last read's error while it stands (None once the section loads)."""
        return self._error

    def check(self) -> bool:
        """Read the `[roc]` section again if a configuration file changed since the last read
        (or attempt); True when a new phase is now in use. A failed read keeps the phase in use
        and records the error."""
        with self._lock:
            identity = self._identities()
            if not self._files or identity == self._identity:
                return False
            self._identity = identity
            try:
                rollout = Rollout.of(load_roc_settings(self._path, env=self._environment()))
            except (ConfigError, ValueError) as exc:
                self._load_errors += 1
                if str(exc) != self._error:
                    log.warning(
                        "[roc] not read again, the ROC phase in use stays (%s): %s",
                        self._rollout.phase,
                        exc,
                    )
                self._error = str(exc)
                return False
            fixed, self._error = self._error is not None, None
            self._restart_needed()
            previous = self._rollout
            if rollout == previous:
                if fixed:
                    log.info(
                        "phase ROC : %s (%s), [roc] read again", rollout.describe(), rollout.phase
                    )
                return False
            self._rollout = rollout
            self._changed_at = datetime.now(UTC)
            if self._on_change is not None:
                self._on_change(rollout)
        log.info(
            "phase ROC : %s (%s), au lieu de : %s (%s)",
            rollout.describe(),
            rollout.phase,
            previous.describe(),
            previous.phase,
        )
        return True

    def status(self, referential: Referential | None = None) -> RolloutStatus:
        """The phase in use; `mirror_known` asked of `referential` (None without one)."""
        with self._lock:
            rollout, error = self._rollout, self._error
            changed_at, load_errors = self._changed_at, self._load_errors
        mirror = rollout.mirror_amc or None
        known = None
        if mirror is not None and referential is not None:
            known = referential.get(mirror) is not None
        return RolloutStatus(
            phase=rollout.phase,
            mirror_amc=mirror,
            mirror_known=known,
            error=error,
            changed_at=changed_at,
            load_errors=load_errors,
        )

    # --- the files --------------------------------------------------------------------------

    def _identities(self) -> tuple[bytes | None, ...]:
        """Each file's digest (None when it cannot be read): configuration files are small,
        and an edit within the file system's clock tick keeping the size is still seen."""
        out: list[bytes | None] = []
        for path in self._files:
            try:
                out.append(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
            except OSError:
                out.append(None)
        return tuple(out)

    def _environment(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    def _other_sections(self) -> dict[str, Any] | None:
        """The configuration as read, but `[roc]` (None when it cannot be read)."""
        if not self._files:
            return None
        try:
            data = config_data(self._path, env=self._environment())
        except ConfigError:
            return None
        data.pop("roc", None)
        return data

    def _restart_needed(self) -> None:
        """Log, once per change, that sections other than `[roc]` changed: they apply at the
        next start."""
        others = self._other_sections()
        if others is None or self._others is None or others == self._others:
            return
        changed = sorted(
            key
            for key in others.keys() | self._others.keys()
            if others.get(key) != self._others.get(key)
        )
        self._others = others
        log.warning(
            "configuration changed outside [roc] (%s): restart the agent to apply it; only [roc] "
            "applies while it runs",
            ", ".join(changed),
        )

    # --- polling ------------------------------------------------------------------------------

    def start(self, interval_s: float) -> None:
        """`check()` every `interval_s` seconds on a daemon thread (nothing when 0 or when there
        is no file to watch)."""
        if not self._files:
            return
        self._poller.start(interval_s)

    def stop(self) -> None:
        self._poller.stop()


__all__ = ["RolloutConfig", "RolloutStatus"]
