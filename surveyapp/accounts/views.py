from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.get("/users")
def users():
    return "TODO"
