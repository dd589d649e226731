"""The ``ionq-mcp`` dispatcher: subcommands, lazily loaded arguments, and guard flags reaching the server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ionq_mcp import cli
from ionq_mcp.server import ServerConfig


def test_every_subcommand_parses_its_own_arguments() -> None:
    minimal = {"call": ["call", "whoami"], "skills": ["skills", "export", "plugin-dir"]}
    for name in cli.SUBCOMMANDS:
        args = cli.build_parser(name).parse_args(minimal.get(name, [name]))
        assert args.command == name
        assert callable(args._run)


def test_guard_flags_become_the_server_policy() -> None:
    args = cli.build_parser("serve").parse_args(
        ["serve", "--allow-qpu", "--max-job-cost", "5", "--daily-budget", "20", "--confirm-above", "1.5"])
    policy = ServerConfig.from_args(args, environ={}).guard_policy
    assert policy.allow_qpu is True
    assert policy.max_job_cost_usd == 5
    assert policy.daily_budget_usd == 20
    assert policy.confirm_above_usd == 1.5


def test_without_guard_flags_the_environment_decides() -> None:
    args = cli.build_parser("serve").parse_args(["serve"])
    assert ServerConfig.from_args(args, environ={}).guard_policy is None


def test_bad_flag_value_names_the_flag() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser("serve").parse_args(["serve", "--max-job-cost", "lots"])


def test_top_level_help_does_not_import_the_sandbox() -> None:
    code = ("import sys; from ionq_mcp import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('numpy' in sys.modules, 'ionq_mcp.sandbox' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "serve" in capsys.readouterr().out
