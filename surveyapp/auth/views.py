from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    return "TODO"


@bp.post("/logout")
def logout():
    return "TODO"


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    return "TODO"
