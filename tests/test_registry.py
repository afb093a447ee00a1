"""The family registry: names once, unknown names answered with the choices."""

from dataclasses import dataclass

import click
import pytest
from click.testing import CliRunner

from specroof.app.choices import RegistryChoice
from specroof.errors import SpecroofError
from specroof.registry import Registry


@dataclass(frozen=True)
class Member:
    name: str


def test_registry_names_in_order_and_refuses_duplicates():
    reg: Registry[Member] = Registry("toy family", "--toy")
    reg.register(Member("b"))
    reg.register(Member("a"))
    assert reg.names() == ("b", "a")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(Member("a"))
    with pytest.raises(ValueError, match="without spaces"):
        reg.register(Member("a b"))
    with pytest.raises(SpecroofError, match=r"--toy 'c': unknown toy family.*choose one of b, a"):
        reg.get("c")


def test_registry_choice_sees_members_registered_after_the_command():
    reg: Registry[Member] = Registry("toy family")
    reg.register(Member("first"))

    @click.command()
    @click.option("--toy", type=RegistryChoice(reg))
    def cmd(toy):
        click.echo(toy)

    reg.register(Member("late"))
    runner = CliRunner()
    assert runner.invoke(cmd, ["--toy", "late"]).output == "late\n"
    assert "[first|late]" in runner.invoke(cmd, ["--help"]).output
    bad = runner.invoke(cmd, ["--toy", "nope"])
    assert bad.exit_code == 2 and "choose one of first, late" in bad.output
