"""Templated interpreters and report templates: turn results into text a domain expert can read."""
