"""`platesvc demo`: the synthetic demo city."""

import sys

import click
from flask.cli import AppGroup

from gis.synthetic import DEFAULT_BUILDINGS, MIN_BUILDINGS
from platesvc.cli.output import fail_on_domain_error, stage_printer
from platesvc.intake import demo
from platesvc.store.database import db

demo_cli = AppGroup("demo", help="The synthetic demo city.")


@demo_cli.command("seed")
@click.option("--buildings", default=DEFAULT_BUILDINGS, show_default=True, type=click.IntRange(min=MIN_BUILDINGS),
              help="How many buildings to generate.")
@click.option("--seed", default=1, show_default=True, help="Random seed: the same seed gives the same city.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database already has buildings.")
def demo_seed(buildings, seed, if_empty):
    """Fill an empty database with a synthetic Yinchuan: divisions, roads, buildings, beats, services."""
    existing = demo.count_buildings(db.session)
    if existing and if_empty:
        click.echo(f"the database already holds {existing} buildings; nothing seeded")
        return
    with click.progressbar(length=buildings, label="buildings stored", file=sys.stderr) as bar:
        city = fail_on_domain_error(lambda: demo.seed_demo_city(
            db.session, buildings, seed, stage=stage_printer(), progress=bar.update))
    click.echo(
        f"seeded the demo city: {len(city.divisions)} divisions, {len(city.roads)} roads, "
        f"{len(city.building_table)} buildings, {len(city.beats)} police beats, "
        f"{len(city.services)} service points, {len(city.culture)} culture notes, "
        f"{len(city.assistance)} assistance offices")
    click.echo("next: `platesvc plates issue` gives every building its plate ID")
