import click


@click.command("create-admin")
def create_admin_command():
    """TODO"""
