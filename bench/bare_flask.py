"""The baselines the benches compare against: Flask returning a constant JSON (resolve.py), and a page
with nothing on it (lighthouse.py)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
@app.get("/healthz")
def constant():
    return jsonify(status="ok", service="platesvc")


@app.get("/page")
def empty_page():
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Baseline</title></head>'
            "<body><main><h1>Baseline</h1><p>A page with nothing on it.</p></main></body></html>")
