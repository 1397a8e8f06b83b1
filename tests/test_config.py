from __future__ import annotations

import re
from pathlib import Path

import pytest

from decoders.base import DEFAULT_PASSES, PASS_NAMES
from scanner_agent.config import SerialDevice, load_settings
from scanner_agent.errors import ConfigError
from tests.helpers.samples import CONFIG


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_embedded_defaults_are_the_contract():
    s = load_settings(env={})
    assert (s.api.host, s.api.port, s.api.allowed_origins) == ("127.0.0.1", 8765, [])
    assert s.storage.url.startswith("sqlite:///")
    assert s.storage.retention_hours == 24
    assert s.devices == []
    assert s.layout_dirs == [CONFIG / "layouts"]
    assert s.referential_path == CONFIG / "amc_referential.csv"


def test_data_dir_follows_xdg(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = load_settings(env={})
    assert s.data_dir == tmp_path / "scanner-agent"
    assert s.storage_url == f"sqlite:///{tmp_path}/scanner-agent/scans.db"


def test_file_overrides_defaults_and_keeps_the_rest(tmp_path: Path):
    path = write(tmp_path, '[api]\nport = 9001\n[agent]\ndata_dir = "/srv/sa"\n')
    s = load_settings(path, env={})
    assert s.api.port == 9001
    assert s.api.host == "127.0.0.1"
    assert s.storage_url == "sqlite:////srv/sa/scans.db"
    assert s.sources[-1] == str(path)


def test_environment_overrides_file_and_flags_override_environment(tmp_path: Path):
    path = write(tmp_path, "[api]\nport = 9001\n")
    env = {
        "SCANNER_AGENT_API__PORT": "9002",
        "SCANNER_AGENT_API__ALLOWED_ORIGINS": '["https://gap.example"]',
        "SCANNER_AGENT_STORAGE__URL": "postgresql+psycopg://u@h/db",
    }
    s = load_settings(path, env=env)
    assert s.api.port == 9002
    assert s.api.allowed_origins == ["https://gap.example"]
    assert s.storage.url == "postgresql+psycopg://u@h/db"
    s = load_settings(path, env=env, overrides={"api": {"port": 9003}})
    assert s.api.port == 9003


def test_config_path_from_environment(tmp_path: Path):
    path = write(tmp_path, "[api]\nport = 9100\n")
    assert load_settings(env={"SCANNER_AGENT_CONFIG": str(path)}).api.port == 9100


def test_devices_of_every_kind(tmp_path: Path):
    path = write(
        tmp_path,
        """
[[devices]]
id = "s1"
type = "serial"
port = "/dev/ttyACM0"
suffix = "none"
idle_ms = 80
stopbits = 1.5
[[devices]]
id = "h1"
type = "hid_pos"
vid = "0c2e"
pid = "0b61"
[[devices]]
id = "k1"
type = "hid_keyboard"
layout = "fr"
[[devices]]
id = "c1"
type = "camera"
source = "/dev/video0"
[[devices]]
id = "r1"
type = "replay"
path = "rec.jsonl"
protocol = "hid_keyboard"
layout = "fr"
[[devices]]
id = "d1"
type = "demo"
""",
    )
    s = load_settings(path, env={})
    assert [d.type for d in s.devices] == [
        "serial",
        "hid_pos",
        "hid_keyboard",
        "camera",
        "replay",
        "demo",
    ]
    serial = s.devices[0]
    assert isinstance(serial, SerialDevice)
    assert (serial.baudrate, serial.suffix, serial.idle_ms, serial.stopbits) == (
        9600,
        "none",
        80,
        1.5,
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[api]\nport = 70000\n", "api.port"),
        ("[api]\nprot = 1\n", "api.prot"),
        ("[storage]\nretention_hours = 0\n", "storage.retention_hours"),
        (
            '[[devices]]\nid = "s1"\ntype = "serial"\nport = "x"\nsuffix = "lfcr"\n',
            "devices[0] (id 's1').suffix",
        ),
        (
            '[[devices]]\nid = "s1"\ntype = "serial"\nport = "x"\nstopbits = 3\n',
            "devices[0] (id 's1').stopbits",
        ),
        ('[[devices]]\nid = "s1"\ntype = "serial"\n', "set `port`"),
        ('[[devices]]\nid = "x"\ntype = "printer"\n', "devices[0] (id 'x')"),
        ('[[devices]]\nid = "a b"\ntype = "demo"\n', "devices[0] (id 'a b').id"),
        (
            '[[devices]]\nid = "a"\ntype = "demo"\n[[devices]]\nid = "a"\ntype = "demo"\n',
            "two devices have the id 'a'",
        ),
    ],
)
def test_bad_configuration_names_key_and_file(tmp_path: Path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert key in str(info.value)
    assert str(path) in str(info.value)


def test_unreadable_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "none.toml", env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[api\n"), env={})


# Keys whose default is a list the code owns (decoders.base.DEFAULT_PASSES): default.toml does
# not copy it; a comment that starts with the key's name documents it.
DEFAULTS_IN_CODE = {("decoder", "passes")}


def test_default_toml_documents_every_key():
    text = (CONFIG / "default.toml").read_text()
    s = load_settings(env={})
    for section, model in s:
        if section in ("devices", "sources"):
            continue
        for key in type(model).model_fields:
            if (section, key) in DEFAULTS_IN_CODE:
                assert f"\n# {key}: " in text, f"{section}.{key} is not documented in default.toml"
                assert f"\n{key} = " not in text, f"default.toml copies the default of {key}"
            else:
                assert f"\n{key} = " in text, f"{section}.{key} is not documented in default.toml"


def _comment_block(text: str, key: str) -> str:
    """The comment lines of default.toml from `# key:` to the next line that is not a comment."""
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"# {key}: ")))
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line)
    return "\n".join(block)


def test_default_toml_names_every_decoder_pass_and_no_other():
    block = _comment_block((CONFIG / "default.toml").read_text(), "passes")
    assert "DEFAULT_PASSES in decoders/base.py" in block
    named = set(re.findall(r"`([a-z_]+)`", block))
    assert named == set(PASS_NAMES), (
        f"not passes: {sorted(named - set(PASS_NAMES))}; "
        f"undocumented: {sorted(set(PASS_NAMES) - named)}"
    )


def test_decoder_passes_default_to_the_decoders_list():
    assert load_settings(env={}).decoder.passes == list(DEFAULT_PASSES)


def test_unknown_decoder_pass_names_the_key_and_the_passes(tmp_path: Path):
    path = write(tmp_path, '[decoder]\npasses = ["fixed", "magic"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert "decoder.passes" in message
    assert "'magic'" in message
    assert ", ".join(PASS_NAMES) in message
    assert str(path) in message
