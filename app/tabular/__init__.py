"""Reading CSV/XLSX files into text rows, matching their headers, reporting bad lines.

Knows no domain: each import (site tree, roster) gives its own columns and rules.
"""
