"""Subcommands that run networks (run, energy, raster, validate); registered by cli.build_parser."""
from __future__ import annotations


def register(sub, add_import_options) -> None:
    pass
