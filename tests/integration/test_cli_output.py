"""The listing commands are scriptable: piped tables keep whole values, and `--json` prints
stable keys, with stdout a pipe as in `lifeceo flags list | grep virtual`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lifeceo.platform.flags.defaults import PLATFORM_FLAGS
from lifeceo.platform.flags.schemas import Flag

LIFECEO = Path(sys.executable).with_name("lifeceo")
KEYS = {flag["key"] for flag in PLATFORM_FLAGS}
SECRET = "do-not-print-this-secret-key"


def piped(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The real command with stdout and stderr pipes, and no terminal width to go by."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in {"COLUMNS", "LINES"}}
    return subprocess.run([str(LIFECEO), *args], env={**environment, **env},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture
def database(database_url) -> str:
    """The migrated test database, which the commands find in LIFECEO_DATABASE_URL."""
    return database_url


def test_a_piped_flag_table_keeps_every_key_whole(database):
    listed = piped("flags", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "│" in line]
    shown = {row.split("│")[1].strip() for row in rows}
    assert KEYS <= shown, listed.stdout
    assert "…" not in listed.stdout


def test_flags_list_json_has_the_admin_apis_keys(database):
    listed = piped("flags", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    flags = json.loads(listed.stdout)
    assert {flag["key"] for flag in flags} == KEYS
    assert all(list(flag) == list(Flag.model_fields) for flag in flags)


def test_flags_set_and_kill_json_print_the_flag(database):
    changed = piped("flags", "set", "virtual-scrolling", "--rollout", "25", "--json")
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["rollout_percentage"] == 25.0
    killed = piped("flags", "kill", "virtual-scrolling", "--json")
    assert killed.returncode == 0, killed.stderr
    assert json.loads(killed.stdout)["killed"] is True
    cleared = piped("flags", "kill", "virtual-scrolling", "--clear", "--json")
    assert json.loads(cleared.stdout)["killed"] is False


def test_doctor_json_masks_secrets_and_lists_checks(database):
    checked = piped("doctor", "--json", LIFECEO_SECRET_KEY=SECRET)
    assert checked.returncode == 0, checked.stderr
    assert SECRET not in checked.stdout
    report = json.loads(checked.stdout)
    assert report["configuration"]["secret_key"] == "********"
    assert report["configuration"]["database_url"].endswith(database.rsplit("/", 1)[-1])
    assert {"database", "migrations"} <= {check["name"] for check in report["checks"]}
    assert all(set(check) == {"name", "ok", "detail"} and check["ok"]
               for check in report["checks"])


def test_a_piped_doctor_table_keeps_long_values_whole(database, tmp_path):
    data_dir = str(tmp_path / ("a-rather-long-directory-name-" * 4))
    checked = piped("doctor", LIFECEO_DATA_DIR=data_dir)
    assert data_dir in checked.stdout, checked.stdout
    assert "…" not in checked.stdout


def test_doctor_json_exits_1_when_a_check_fails():
    url = "postgresql://lifeceo:hunter2-password@127.0.0.1:9/lifeceo"
    checked = piped("doctor", "--json", LIFECEO_DATABASE_URL=url)
    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    assert "hunter2-password" not in checked.stdout
    assert not {check["name"]: check["ok"] for check in report["checks"]}["database"]
