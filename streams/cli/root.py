"""The root `timeline` group, its help grouped in sections, and the settings every command reads."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError

from streams.registry import RegistryUnavailable
from streams.registry_files import RegistryFileError
from streams.settings import Settings

OTHER = "Other"


class SectionedGroup(click.Group):
    """A group whose help lists its commands in sections, in the order they were added.

    A command added without a section is listed under "Other", where the help
    test finds it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sections: dict[str, list[str]] = {}

    def add_command(self, cmd: click.Command, name: str | None = None, *, section: str = OTHER) -> None:
        super().add_command(cmd, name)
        name = name or cmd.name
        assert name is not None
        for names in self.sections.values():
            if name in names:
                names.remove(name)
        self.sections.setdefault(section, []).append(name)

    def invoke(self, context: click.Context) -> Any:
        """Any command: a broken registry file is one line per problem and its own exit code."""
        try:
            return super().invoke(context)
        except RegistryUnavailable as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_KAFKA)
        except RegistryFileError as error:
            for problem in error.problems:
                click.echo(f"error: {problem}", err=True)
            click.echo(
                f"{len(error.problems)} registry problem(s): fix the file(s) (TIMELINE_REGISTRY_FILES)",
                err=True,
            )
            sys.exit(EXIT_REGISTRY)

    def format_commands(self, context: click.Context, formatter: click.HelpFormatter) -> None:
        shown = {
            name: command
            for name in self.list_commands(context)
            if (command := self.get_command(context, name)) is not None and not command.hidden
        }
        if not shown:
            return
        widest = max(len(name) for name in shown)
        limit = formatter.width - 6 - widest
        for section, names in self.sections.items():
            rows = [(name, shown[name].get_short_help_str(limit)) for name in names if name in shown]
            if rows:
                with formatter.section(section):
                    # one column width for every section, so the descriptions line up
                    formatter.write_dl(rows, col_spacing=2 + widest - max(len(name) for name, _ in rows))


@click.group(cls=SectionedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(context: click.Context) -> None:
    """diplomatic-timeline: diplomatic events on Kafka, folded into stances.

    Settings come from TIMELINE_* environment variables (see README).
    """
    try:
        context.obj = Settings()
    except (ValidationError, SettingsError) as error:
        for problem in _setting_problems(error):
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_USAGE)


EXIT_USAGE = 2
"""A usage error: click's own code, also for a TIMELINE_* variable that cannot be read."""
EXIT_KAFKA = 4
"""Every command's exit code when Kafka cannot be reached or refuses the login."""
EXIT_REGISTRY = 5
"""Every command's exit code when a registry file is missing, not YAML, or holds an invalid entry."""


def _setting_problems(error: ValidationError | SettingsError) -> list[str]:
    """One line per unreadable TIMELINE_* variable, naming it."""
    if isinstance(error, SettingsError):
        return [str(error)]
    return [
        f"TIMELINE_{'_'.join(str(part) for part in problem['loc']).upper()}:"
        f" {str(problem['msg']).removeprefix('Value error, ')}"
        for problem in error.errors(include_url=False)
    ]


def reach_kafka(settings: Settings, hint: str | None = None) -> None:
    """Exit with one line naming the cause (no hang, no traceback) when Kafka cannot be reached;
    `hint`, at its end, says what works without it."""
    from streams.kafka.connection import ConnectionSettingsError
    from streams.kafka.preflight import KafkaUnreachableError, check_connection

    try:
        asyncio.run(check_connection(settings))
    except (KafkaUnreachableError, ConnectionSettingsError) as error:
        click.echo(f"error: {error}" + (f" ({hint})" if hint else ""), err=True)  # one line, always
        sys.exit(EXIT_KAFKA)


def settings_of(context: click.Context) -> Settings:
    """The settings the root group read from the environment."""
    settings: Settings = context.obj
    return settings
