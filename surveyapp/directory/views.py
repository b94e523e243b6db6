from flask import Blueprint

bp = Blueprint("directory", __name__)


@bp.get("/teams")
def teams():
    return "TODO"


@bp.get("/people")
def people():
    return "TODO"


@bp.get("/people/import")
def import_people():
    return "TODO"


@bp.get("/my-teams")
def my_teams():
    return "TODO"
