"""`scanner-agent windows-task`: a Task Scheduler task that starts the agent at logon (Windows).

    scanner-agent windows-task [--user DOMAIN\\USER] [--config PATH] [--out FILE]

Raw Input (keyboard-mode scanners on Windows) delivers keys only to programs of the user's
interactive session, not to a service in session 0: on Windows the agent runs at logon in the
user's session. This prints the task definition to import with
`schtasks /Create /XML task.xml /TN scanner-agent`, as Microsoft's Task Scheduler examples
register a task defined in XML (https://learn.microsoft.com/windows/win32/taskschd/
logon-trigger-example--xml-).

The document follows the Task Scheduler schema
(https://learn.microsoft.com/windows/win32/taskschd/task-scheduler-schema, namespace
`http://schemas.microsoft.com/windows/2004/02/mit/task`, version 1.2):

- `LogonTrigger` with `UserId`: started when that user logs on (a user name or SID; without
  one, any user: not offered, the agent belongs to one desk's user).
- `Principal`: that user, `LogonType` `InteractiveToken` ("the task will be run only in an
  existing interactive session"), `RunLevel` `LeastPrivilege` (no elevation).
- `Settings`: `RestartOnFailure` every `PT1M` (the schema's minimum), `Count` 255 (an
  `unsignedByte`: 255 is the most it allows); `ExecutionTimeLimit` `PT0S` ("will enable the
  task to run indefinitely"; the default stops a task after 72 hours);
  `MultipleInstancesPolicy` `IgnoreNew` (one agent per session); `DisallowStartIfOnBatteries`
  and `StopIfGoingOnBatteries` false (laptops at the desk); `StartWhenAvailable`; `Priority` 4
  (normal process priority, I/O and memory priority: 4 to 6 are "used for interactive tasks",
  the default 7 is a background task's below-normal priority).
- `Exec`: this interpreter (`sys.executable`) with `-m scanner_agent serve`, and
  `--config ABSOLUTE_PATH` when `--config` is given (the task does not start in the current
  folder). Arguments are quoted as the Microsoft C runtime splits a command line
  (`subprocess.list2cmdline`), so a path with spaces stays one argument.

The user is `--user`; on Windows it defaults to the one running the command
(`%USERDOMAIN%\\%USERNAME%`). Elsewhere (writing the file for a desk from another machine)
`--user` is required: there is no Windows user to guess.

The document is UTF-8 with a declaration that says so (`schtasks /Query /XML` exports UTF-16,
but an XML declaration names the encoding), written as bytes, so that a redirection in
`cmd.exe` keeps it as is. In Windows PowerShell 5.1, `>` is `Out-File`, whose default encoding
is UTF-16 (Microsoft's `Out-File` and `about_Character_Encoding` pages): the file would hold
UTF-16 under a declaration that says UTF-8. Use `--out FILE` there. There is no `--json`: the
output is a document already.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from scanner_agent.commands._common import add_command

TASK_NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
RESTART_INTERVAL = "PT1M"
RESTART_COUNT = 255
PRIORITY = 4

EXIT_CODES = (
    "exit status: 0 the task printed (or written to --out), 2 no user to run it as (--user is "
    "required outside Windows), a configuration that cannot be read, or --out not writable"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "windows-task",
        help="print a Windows Task Scheduler task that starts the agent at logon",
        description="Print a Task Scheduler task definition (XML, UTF-8) that starts\n"
        "`python -m scanner_agent serve` when the user logs on, in the user's session (Raw\n"
        "Input, for keyboard-mode scanners, needs it: not a service), restarted every minute\n"
        "if it fails, with no time limit. Import it on the desk with:\n"
        "  schtasks /Create /XML task.xml /TN scanner-agent\n"
        "The user defaults to the one running the command on Windows (USERDOMAIN\\USERNAME);\n"
        "elsewhere --user is required. The output is an XML document, so there is no --json;\n"
        "in PowerShell use --out (its > re-encodes the output as UTF-16).",
        examples=(
            'scanner-agent windows-task --user "HOPITAL\\accueil1" > task.xml',
            'scanner-agent windows-task --user "HOPITAL\\accueil1" --out task.xml',
            'scanner-agent windows-task --user "HOPITAL\\accueil1" '
            "--config config/examples/demo.toml",
        ),
        exit_codes=EXIT_CODES,
    )
    parser.add_argument(
        "--user",
        metavar="DOMAIN\\USER",
        help="the Windows user whose logon starts the agent, and who runs it (default on "
        "Windows: USERDOMAIN\\USERNAME of this session; required elsewhere)",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the TOML file the agent is started with (checked now, passed as an absolute path)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="write the task to FILE instead of standard output (byte for byte)",
    )
    parser.set_defaults(func=run)


def default_user(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """The user running this command on Windows (`DOMAIN\\user`, or `user` without a domain);
    None elsewhere, or when the environment does not say."""
    if platform != "win32":
        return None
    name = environ.get("USERNAME", "").strip()
    if not name:
        return None
    domain = environ.get("USERDOMAIN", "").strip()
    return f"{domain}\\{name}" if domain else name


def agent_arguments(config: str | None) -> list[str]:
    """What the task passes to the interpreter: `-m scanner_agent serve [--config ABS]`."""
    arguments = ["-m", "scanner_agent", "serve"]
    if config:
        arguments += ["--config", config]
    return arguments


def command_line(arguments: Sequence[str]) -> str:
    """Arguments as one Windows command line (the Microsoft C runtime's quoting rules)."""
    import subprocess

    return subprocess.list2cmdline(list(arguments))


def task_xml(user: str, command: str, arguments: Sequence[str]) -> bytes:
    """The task definition (UTF-8, with its declaration): at `user`'s logon, in their
    interactive session, run `command` with `arguments`; restarted on failure, no time limit."""
    from xml.etree import ElementTree as ET

    ET.register_namespace("", TASK_NAMESPACE)

    def element(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        child = ET.SubElement(parent, f"{{{TASK_NAMESPACE}}}{tag}")
        if text is not None:
            child.text = text
        return child

    task = ET.Element(f"{{{TASK_NAMESPACE}}}Task", {"version": "1.2"})
    info = element(task, "RegistrationInfo")
    element(info, "Author", "scanner-agent")
    element(
        info,
        "Description",
        "scanner-agent: reads the DataMatrix of AMC attestations and serves them to the GAP "
        "on localhost. Started at logon in the user's session (Raw Input needs it).",
    )
    trigger = element(element(task, "Triggers"), "LogonTrigger")
    element(trigger, "Enabled", "true")
    element(trigger, "UserId", user)
    principal = element(element(task, "Principals"), "Principal")
    principal.set("id", "Author")
    element(principal, "UserId", user)
    element(principal, "LogonType", "InteractiveToken")
    element(principal, "RunLevel", "LeastPrivilege")
    settings = element(task, "Settings")
    element(settings, "MultipleInstancesPolicy", "IgnoreNew")
    element(settings, "DisallowStartIfOnBatteries", "false")
    element(settings, "StopIfGoingOnBatteries", "false")
    element(settings, "AllowHardTerminate", "true")
    element(settings, "StartWhenAvailable", "true")
    element(settings, "RunOnlyIfNetworkAvailable", "false")
    idle = element(settings, "IdleSettings")
    element(idle, "StopOnIdleEnd", "false")
    element(idle, "RestartOnIdle", "false")
    element(settings, "AllowStartOnDemand", "true")
    element(settings, "Enabled", "true")
    element(settings, "Hidden", "false")
    element(settings, "RunOnlyIfIdle", "false")
    element(settings, "WakeToRun", "false")
    element(settings, "ExecutionTimeLimit", "PT0S")
    element(settings, "Priority", str(PRIORITY))
    restart = element(settings, "RestartOnFailure")
    element(restart, "Interval", RESTART_INTERVAL)
    element(restart, "Count", str(RESTART_COUNT))
    actions = element(task, "Actions")
    actions.set("Context", "Author")
    execute = element(actions, "Exec")
    element(execute, "Command", command)
    element(execute, "Arguments", command_line(arguments))
    ET.indent(task, space="  ")
    body = ET.tostring(task, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def run(args: argparse.Namespace) -> int:
    user = args.user or default_user(os.environ)
    if not user:
        where = "outside Windows" if sys.platform != "win32" else "USERNAME is not set"
        print(f"scanner-agent: --user DOMAIN\\USER is required ({where})", file=sys.stderr)
        return 2
    config = None
    if args.config:
        from scanner_agent.config import load_settings

        load_settings(args.config)  # a configuration error stops here (exit 2), not at logon
        config = os.path.abspath(args.config)
    document = task_xml(user, sys.executable, agent_arguments(config))
    if args.out:
        try:
            with open(args.out, "wb") as fh:
                fh.write(document)
        except OSError as exc:
            print(f"scanner-agent: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return 2
        return 0
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(document)
        buffer.flush()
    else:  # a text-only stream (an embedding program): the same characters
        sys.stdout.write(document.decode("utf-8"))
    return 0
