"""A bare Flask app: the ceiling that the survey pages are compared with, under the same gunicorn."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
