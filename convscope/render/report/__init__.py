"""The self-contained HTML report page (jinja2 template, embedded plotly)."""
