# The two commands a newcomer needs: `make run` serves the demo city, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Beyond Python: a CJK font to outline plate text with (printing), and for the tests Chromium
# (browser tests), poppler-utils (pdftoppm reads printed sheets back for the QR decoder) and
# gdal-bin (ogrinfo, a real OGC API - Features client), nginx (the reverse proxy example, run by a test).
FONT_PACKAGES := fonts-noto-cjk
TEST_PACKAGES := chromium poppler-utils gdal-bin nginx

# MapLibre GL JS for /map, from the npm registry (package-lock.json), served from static/vendor.
VENDOR := static/vendor/maplibre-gl
MAPLIBRE := node_modules/maplibre-gl

.PHONY: install fonts run test lint bench clean

$(BIN)/platesvc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/platesvc fonts $(VENDOR)/maplibre-gl.mjs

$(VENDOR)/maplibre-gl.mjs: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp $(MAPLIBRE)/dist/maplibre-gl.mjs $(MAPLIBRE)/dist/maplibre-gl-worker.mjs $(MAPLIBRE)/dist/maplibre-gl.css \
	   $(MAPLIBRE)/LICENSE.txt $(VENDOR)/

fonts:
	scripts/install-debian-packages --optional $(FONT_PACKAGES)

run: install
	$(BIN)/platesvc db upgrade
	$(BIN)/platesvc demo seed --if-empty
	$(BIN)/platesvc plates issue
	$(BIN)/platesvc serve --host $(HOST) --port $(PORT)

test: install
	scripts/install-debian-packages --optional $(TEST_PACKAGES)
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/seed_and_issue.py
	$(BIN)/python bench/links.py
	$(BIN)/python bench/import_buildings.py
	$(BIN)/python bench/resolve.py
	$(BIN)/python bench/lighthouse.py
	$(BIN)/python bench/print_plates.py
	$(BIN)/python bench/ogc_vs_pygeoapi.py
	$(BIN)/python bench/ogc_vs_tipg.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .venv-pygeoapi .venv-tipg instance *.egg-info .pytest_cache .hypothesis node_modules static/vendor
