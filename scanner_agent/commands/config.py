"""`scanner-agent config`: check a configuration and show what the agent would run with."""

from __future__ import annotations

import argparse
import json

from scanner_agent.commands._common import (
    add_command,
    add_config_option,
    add_json_option,
    settings_from,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        sub,
        "config",
        help="check the configuration, layouts and referential; print the settings",
        description="Read the configuration exactly as `serve` would, load the layouts and the\n"
        "AMC referential, and print the result. A bad configuration exits 2 with the bad key\n"
        "and file named.",
        examples=(
            "scanner-agent config",
            "scanner-agent config --config config/examples/demo.toml --json",
        ),
        exit_codes="exit status: 0 the configuration, layouts and referential load, "
        "2 they do not (the message names the key and the file)",
    )
    add_json_option(parser, "print the settings as JSON")
    add_config_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scanner_agent.parse_context import ParseContext

    settings = settings_from(args)
    context = ParseContext.from_settings(settings)
    if args.json:
        print(json.dumps(settings.model_dump(mode="json"), indent=2))
        return 0
    print("configuration read from: " + ", ".join(settings.sources))
    print(f"data folder: {settings.data_dir}")
    print(f"API: http://{settings.api.host}:{settings.api.port}")
    print(f"storage: {settings.storage_url} (scans kept {settings.storage.retention_hours:g} h)")
    for layout in context.layouts:
        print(
            f"layout {layout.name} v{layout.version} ({layout.kind}, header {layout.header!r}) "
            f"from {layout.source}"
        )
    print(f"AMC referential: {len(context.referential)} insurers from {context.referential.source}")
    rollout = context.rollout
    print(f"ROC phase: {rollout.phase} ({rollout.describe()}; read again while running)")
    if not settings.devices:
        print("devices: none configured (`scanner-agent devices` lists what this machine has)")
    for device in settings.devices:
        print(f"device {device.id}: {device.type}" + ("" if device.enabled else " (disabled)"))
    return 0
