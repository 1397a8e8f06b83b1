"""The `[roc]` section read again while the agent runs (`load_roc_settings`, `RolloutConfig`):
the same sources, precedence and errors as at start; a bad section keeps the phase in use with
its error standing until fixed; a change is logged; the agent's decisions follow at once."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

import pytest

from scanner_agent.agent import Agent
from scanner_agent.config import RocSettings, Settings, load_roc_settings, load_settings
from scanner_agent.errors import ConfigError
from scanner_agent.layouts import Layout
from scanner_agent.parse_context import ParseContext
from scanner_agent.referential import AmcEntry, Referential
from scanner_agent.rollout import TRUST_CIRCLE, Rollout
from scanner_agent.rollout_config import RolloutConfig
from tests.helpers.samples import TODAY, VALID

SUPERVISED = '[roc]\nphase = "supervised"\nmirror_amc = "0999999990"\n'
NOT_STARTED = '[roc]\nphase = "not_started"\n'
TRUST = '[roc]\nphase = "trust_circle"\n'
REFERENTIAL = Referential(
    [
        AmcEntry("0775627391", "Mutuelle A", True, TODAY),
        AmcEntry("999999990", "Miroir", True, TODAY, test=True),
    ]
)


def replace(path: Path, text: str) -> None:
    """A new file renamed over the old one, as a deployment writes it."""
    new = path.with_suffix(".new")
    new.write_text(text)
    os.replace(new, path)


# --- load_roc_settings ------------------------------------------------------------------------


def test_the_roc_section_is_read_with_the_precedence_of_the_settings(tmp_path: Path):
    path = tmp_path / "agent.toml"
    assert load_roc_settings(env={}) == RocSettings()  # the defaults: trust_circle
    path.write_text(SUPERVISED + '[api]\nport = "not checked here"\n')
    assert load_roc_settings(path, env={}) == RocSettings(
        phase="supervised", mirror_amc="0999999990"
    )
    assert load_roc_settings(env={"SCANNER_AGENT_CONFIG": str(path)}).phase == "supervised"
    over = {"SCANNER_AGENT_ROC__PHASE": '"not_started"'}
    assert load_roc_settings(path, env=over) == RocSettings(
        phase="not_started", mirror_amc="0999999990"
    )


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('[roc]\nphase = "started"\n', ["roc.phase", "not_started"]),
        ('[roc]\nphase = "supervised"\n', ["roc:", "needs mirror_amc"]),
        ('[roc]\nmirror_amc = "12A"\n', ["roc.mirror_amc", "not an AMC number"]),
        ('[roc]\nphase = "supervised\n', ["not valid TOML"]),
        ("[roc]\nlevel = 3\n", ["roc.level", "Extra inputs"]),
    ],
)
def test_a_bad_roc_section_names_the_key_and_the_file(tmp_path: Path, text: str, names: list[str]):
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_roc_settings(path, env={})
    for name in [str(path), *names]:
        assert name in str(error.value)
    with pytest.raises(ConfigError) as same:  # as at start
        load_settings(path, env={})
    assert str(same.value) == str(error.value)


def test_a_file_gone_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_roc_settings(tmp_path / "none.toml", env={})


# --- RolloutConfig ----------------------------------------------------------------------------


def watched(tmp_path: Path, text: str = TRUST) -> tuple[RolloutConfig, Path, list[Rollout]]:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    seen: list[Rollout] = []
    config = RolloutConfig.of(load_settings(path, env={}), env={}, on_change=seen.append)
    return config, path, seen


def test_a_changed_section_is_read_again_and_handed_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    config, path, seen = watched(tmp_path)
    assert config.rollout == TRUST_CIRCLE
    assert config.check() is False  # unchanged: not read again
    caplog.set_level(logging.INFO, "scanner_agent.rollout_config")
    replace(path, SUPERVISED)
    assert config.check() is True
    assert seen == [Rollout("supervised", "0999999990")] == [config.rollout]
    assert (
        "phase ROC : production sous surveillance avec l'AMC miroir 0999999990 (supervised), au "
        "lieu de : cercle de confiance ROC (trust_circle)"
    ) in caplog.messages
    status = config.status(REFERENTIAL)
    assert status.as_json() == {
        "phase": "supervised",
        "mirror_amc": "0999999990",
        "mirror_known": True,
        "error": None,
    }
    assert status.changed_at is not None
    path.write_text(NOT_STARTED)  # written in place, within the same clock tick maybe
    assert config.check() is True
    assert config.rollout == Rollout("not_started", "")
    assert config.status(REFERENTIAL).as_json() == {
        "phase": "not_started",
        "mirror_amc": None,
        "mirror_known": None,
        "error": None,
    }


def test_the_mirror_absent_from_the_referential(tmp_path: Path):
    config, _, _ = watched(tmp_path, '[roc]\nphase = "supervised"\nmirror_amc = "42"\n')
    assert config.status(REFERENTIAL).mirror_known is False
    assert config.status(None).mirror_known is None


@pytest.mark.parametrize(
    "bad",
    [
        '[roc]\nphase = "started"\n',
        '[roc]\nphase = "supervised"\n',
        '[roc]\nphase = "not_started\n',
    ],
)
def test_a_bad_section_keeps_the_phase_in_use_until_fixed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: str
):
    config, path, seen = watched(tmp_path, SUPERVISED)
    replace(path, bad)
    assert config.check() is False
    assert config.rollout == Rollout("supervised", "0999999990")
    status = config.status(REFERENTIAL)
    assert status.phase == "supervised" and status.load_errors == 1
    assert status.error is not None and str(path) in status.error
    assert caplog.messages[-1].startswith(
        "[roc] not read again, the ROC phase in use stays (supervised): "
    )
    assert config.check() is False  # the same bad file is not read again
    assert config.status().load_errors == 1
    replace(path, NOT_STARTED)
    assert config.check() is True
    assert config.status().error is None
    assert seen == [Rollout("not_started")]


def test_a_file_gone_keeps_the_phase_and_a_fix_to_the_same_phase_clears_the_error(
    tmp_path: Path,
):
    config, path, seen = watched(tmp_path, NOT_STARTED)
    path.unlink()
    assert config.check() is False
    assert "not found" in (config.error or "")
    path.write_text(NOT_STARTED)
    assert config.check() is False  # the same phase: nothing to hand on
    assert config.error is None and seen == []


def test_other_sections_need_a_restart_and_say_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    config, path, seen = watched(tmp_path)
    replace(path, TRUST + "[api]\nport = 9001\n")
    assert seen == []
    assert config.check() is False
    restart = [m for m in caplog.messages if "restart the agent" in m]
    assert restart == [
        "configuration changed outside [roc] (api): restart the agent to apply it; only [roc] "
        "applies while it runs"
    ]
    replace(path, SUPERVISED + "[api]\nport = 9001\n")
    assert config.check() is True
    assert seen == [config.rollout]
    assert len([m for m in caplog.messages if "restart the agent" in m]) == 1


def test_settings_built_in_code_have_no_file_to_watch():
    config = RolloutConfig.of(Settings(roc=RocSettings(phase="supervised", mirror_amc="1")))
    assert config.rollout == Rollout("supervised", "1")
    assert config.check() is False
    config.start(0.01)
    assert not config._poller.running  # nothing polls
    config.stop()


# --- the agent --------------------------------------------------------------------------------


def test_the_agent_judges_with_the_phase_read_again(tmp_path: Path, layouts: list[Layout]):
    path = tmp_path / "agent.toml"
    path.write_text(f'[agent]\ndata_dir = "{tmp_path}"\n' + SUPERVISED)
    settings = load_settings(path, env={})
    context = ParseContext(
        layouts, REFERENTIAL, today=lambda: TODAY, rollout=Rollout.of(settings.roc)
    )
    agent = Agent(settings, context=context, storage=False)
    assert agent.rollout_status().as_json() == {
        "phase": "supervised",
        "mirror_amc": "0999999990",
        "mirror_known": True,
        "error": None,
    }

    def roc_now() -> tuple[str, str | None]:
        roc = agent.context.parse(VALID, date(2026, 3, 1)).roc
        return roc.status, roc.reason.value if roc.reason else None

    assert roc_now() == ("hors_roc", "supervised_production")
    replace(path, f'[agent]\ndata_dir = "{tmp_path}"\n' + TRUST)
    assert agent.rollout_config.check() is True
    assert agent.context.rollout == TRUST_CIRCLE
    assert roc_now() == ("roc", None)
    replace(path, f'[agent]\ndata_dir = "{tmp_path}"\n[roc]\nphase = "oops"\n')
    agent.rollout_config.check()
    assert roc_now() == ("roc", None)
    assert "roc.phase" in (agent.rollout_status().error or "")
