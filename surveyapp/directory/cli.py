import click


@click.command("import-people")
def import_people_command():
    """TODO"""
