"""Jinja2 templates shipped with podsmith; a user directory can override any of them."""
