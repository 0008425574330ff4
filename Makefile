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
GLYPHS := static/glyphs/Noto\ Sans\ CJK\ SC\ Regular/0-255.pbf

.PHONY: install fonts run test lint bench clean

$(BIN)/platesvc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/platesvc fonts $(VENDOR)/maplibre-gl.mjs $(GLYPHS) static/cache_manifest.json

# Every static file again under a name with its MD5, with gzip and brotli copies (static_files.py):
# pages name those, served with immutable caching.
static/cache_manifest.json: $(VENDOR)/maplibre-gl.mjs $(wildcard static/*.js static/*.css static/*.svg) | $(BIN)/platesvc
	$(BIN)/python -m platesvc.web.static_files

# The map's Latin and digit glyphs (signed distance fields), drawn from Debian's Noto Sans CJK;
# Chinese characters come from the phone's own font. Without the font (it is optional, as for
# printing) the map draws digits with the device's font too.
$(GLYPHS): platesvc/maps/glyphs.py | $(BIN)/platesvc fonts
	-$(BIN)/python -m platesvc.maps.glyphs static/glyphs

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
	$(BIN)/python bench/map_page.py
	$(BIN)/python bench/print_plates.py
	$(BIN)/python bench/search.py --addok
	$(BIN)/python bench/ogc_vs_pygeoapi.py
	$(BIN)/python bench/ogc_vs_tipg.py
	$(BIN)/python bench/scale.py

clean:
	find static \( -name '*.gz' -o -name '*.br' -o -regex '.*-[0-9a-f]\{32\}\.[a-z]*' \) -delete
	rm -f static/cache_manifest.json
	rm -rf $(VENV) .venv-pygeoapi .venv-tipg instance *.egg-info .pytest_cache .hypothesis node_modules static/vendor static/glyphs
