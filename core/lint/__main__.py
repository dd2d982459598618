"""`python -m core.lint > docs/findings.md`: print the findings catalogue as Markdown."""

from core.lint.findings import render_catalogue_markdown

print(render_catalogue_markdown())
