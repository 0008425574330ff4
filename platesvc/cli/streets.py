"""`platesvc streets`: the walkable street network made from the roads."""

import click
from flask.cli import AppGroup

from platesvc.reference import links, streets
from platesvc.store.database import db

streets_cli = AppGroup("streets", help="The walkable street network made from the roads.")


@streets_cli.command("rebuild")
def streets_rebuild():
    """Make the street network again from every road, and relink the buildings whose walks changed."""
    made = streets.rebuild_streets(db.session)
    relinked = links.refresh_after_street_change(db.session, made.changed)
    db.session.commit()
    click.echo(f"street network: {made.edges} edges in {made.components} connected components; "
               f"{len(made.gaps)} gaps closed; {len(made.changed)} edges changed; {relinked} buildings relinked")
    for gap in made.gaps:
        click.echo(f"  gap of {gap.metres:.1f} m closed between road {gap.road_id} and road {gap.other_road_id} "
                   f"at {gap.where[0]:.6f},{gap.where[1]:.6f}")
