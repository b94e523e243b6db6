"""Flask extensions, created unbound here and bound to the app in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .jobs import Jobs

# Named constraints, so that migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The models' base class. At run time it is db.Model, which mypy cannot use as a base (an
# attribute set in SQLAlchemy.__init__: python/mypy#8603). Flask-SQLAlchemy makes db.Model from
# Base's body (its metadata and registry) plus its own Model mixin (query, __fsa__), so mypy sees
# that same pair (the workaround in pallets-eco/flask-sqlalchemy#1186). DeclarativeBase types
# __table__ as any FromClause; every model here is mapped to a Table.
if TYPE_CHECKING:
    from typing import ClassVar

    from flask_sqlalchemy.model import Model as _FSAModel
    from sqlalchemy import Table

    class Model(_FSAModel, Base):
        __abstract__ = True
        __table__: ClassVar[Table]
else:
    Model = db.Model

migrate = Migrate()
jobs = Jobs()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"
