"""The baseline the resolve bench compares against: Flask returning a constant JSON."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
@app.get("/healthz")
def constant():
    return jsonify(status="ok", service="platesvc")
