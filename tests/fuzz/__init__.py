"""Fuzz targets: hypothesis in CI, atheris by hand."""
