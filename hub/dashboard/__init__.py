"""The live dashboard: static HTML, CSS and ES modules under ``static/``, served by the API at
``/dashboard/``; its front-end libraries are vendored into ``static/vendor/`` by
``scripts/vendor.sh``."""
