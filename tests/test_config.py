"""The config file: where it is found, type checks with exact messages, and the token warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from trello_restore.config import config_path
from trello_restore.config_file import load_config
from trello_restore.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "trello_restore" / "config.example.toml"


def test_example_config_is_valid_and_documents_every_key() -> None:
    """config.example.toml parses and type-checks, and mentions every key the loader knows."""
    from trello_restore.config_file import CONFIG_KEYS

    loaded = load_config(EXAMPLE, explicit=True)
    assert loaded.get("trello", "api_url") == "https://api.trello.com/1"
    text = EXAMPLE.read_text()
    for section, keys in CONFIG_KEYS.items():
        assert f"[{section}]" in text
        for key in keys:
            assert f"{key} =" in text or f"# {key} =" in text, key


def test_the_config_errors_name_where_this_install_keeps_the_example(tmp_path: Path) -> None:
    """The errors that send a user to config.example.toml say where it is, and every install
    has it, in the package (``test_planfile``'s distribution test holds the wheel to it; R71c:
    a wheel had none, and the messages gave no path)."""
    import re

    from trello_restore.config_file import example

    said = re.fullmatch(r"config\.example\.toml \((/.+)\)", example())
    assert said is not None, example()
    assert Path(said.group(1)).read_text() == EXAMPLE.read_text()
    bad = tmp_path / "c.toml"
    bad.write_text("restore = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad, explicit=True)
    assert str(info.value).endswith(f"; see {example()}")


def test_flag_beats_environment(tmp_path: Path) -> None:
    """--config wins over TRELLO_RESTORE_CONFIG; both count as explicit."""
    env = {"TRELLO_RESTORE_CONFIG": str(tmp_path / "env.toml")}
    assert config_path(str(tmp_path / "flag.toml"), env) == (tmp_path / "flag.toml", True)
    assert config_path(None, env) == (tmp_path / "env.toml", True)


def test_missing_default_file_is_fine_but_missing_named_file_is_not(tmp_path: Path) -> None:
    """Only a file named explicitly must exist."""
    assert load_config(tmp_path / "none.toml", explicit=False).values == {}
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml", explicit=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[limits]\nworkers = 'eight'\n", "limits.workers must be a whole number, not 'eight'"),
        ("[limits]\nworkers = true\n", "limits.workers must be a whole number"),
        ("[restore]\nadd_to_board = 'yes'\n", "restore.add_to_board must be true or false"),
        ("[restore]\nmode = 'everything'\n", "restore.mode must be 'removed' or 'ever-added'"),
        ("[restore]\nboards = 'Team'\n", "restore.boards must be a list"),
        ("[restore]\nboards = [1, 2]\n", "restore.boards must be a list"),
        ("[trello]\ntoken = 12\n", "trello.token must be a string"),
        ("[trelo]\ntoken = 'x'\n", "unknown section [trelo] (did you mean [trello]?)"),
        ("[restor]\nsince = '7d'\n", "unknown section [restor] (did you mean [restore]?)"),
        ("[zzz]\nx = 1\n", "unknown section [zzz]; expected one of [trello], "),
        ("[trello]\ntokn = 'x'\n", "unknown key trello.tokn"),
        ("[trello\n", "is not valid TOML"),
    ],
)
def test_config_errors_name_file_key_and_type(tmp_path: Path, content: str, message: str) -> None:
    """A config error names the file, the key and the expected type, on one line."""
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_config(path, explicit=False)
    assert str(path) in str(err.value)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_token_in_a_readable_file_warns(tmp_path: Path) -> None:
    """A token in a group- or world-readable file gets a warning saying how to fix it."""
    path = tmp_path / "config.toml"
    path.write_text("[trello]\ntoken = 'ATTAsecret'\n")
    path.chmod(0o644)
    warnings = load_config(path, explicit=True).warnings
    assert len(warnings) == 1
    assert f"chmod 600 {path}" in warnings[0]
    assert "ATTAsecret" not in warnings[0]
    path.chmod(0o600)
    assert load_config(path, explicit=True).warnings == ()


def test_wrong_type_for_a_credential_never_echoes_it(tmp_path: Path) -> None:
    """A token given as a list is reported by type, not by value."""
    path = tmp_path / "config.toml"
    path.write_text("[trello]\ntoken = ['ATTAsecretvalue']\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, explicit=True)
    assert "trello.token must be a string, not a list" in str(err.value)
    assert "ATTAsecret" not in str(err.value)
